"""The reminder rule every statutory clock runs (``deadlines.reminders.fire``), as properties: for
any window, any reminder fractions and any sequence of sweep instants, a clock fires each reminder
at most once and in order, never a stale one after a later one, never one at or after the deadline,
and the deadline exactly once when a sweep reaches it; a repeated sweep fires nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from vncomply.deadlines import reminders

START = datetime(2026, 7, 1, tzinfo=UTC)

fractions = st.lists(
    st.floats(min_value=0.01, max_value=0.99, allow_nan=False), min_size=0, max_size=5, unique=True
).map(sorted)
windows = st.integers(min_value=60, max_value=90 * 86_400).map(lambda s: timedelta(seconds=s))
# Sweep instants as offsets from the start, up to twice the window, in order (a clock only moves on).
offsets = st.lists(st.floats(min_value=0, max_value=2, allow_nan=False), max_size=12).map(sorted)


def run(window: timedelta, fr: list[float], at: list[float]) -> list[tuple[datetime, reminders.Fired]]:
    """Sweep a clock at the given instants as a handler does; what fired, and when."""
    due = START + window
    times = reminders.at_fractions(START, due, fr)
    sent, fired = 0, []
    for x in at:
        now = START + window * x
        f = reminders.fire(times, sent, due, now)
        if f is None:
            continue
        fired.append((now, f))
        if f.reminder is None:
            break  # the handler marks the row overdue, which stops its clock
        sent = f.sent
        assert reminders.fire(times, sent, due, now) is None, "a repeated sweep fires nothing"
    return fired


@given(windows, fractions, offsets)
def test_reminders_fire_once_in_order_and_never_after_the_deadline(
    window: timedelta, fr: list[float], at: list[float]
) -> None:
    due = START + window
    times = reminders.at_fractions(START, due, fr)
    fired = run(window, fr, at)
    indexes = [f.reminder for _, f in fired if f.reminder is not None]
    assert indexes == sorted(set(indexes)), "each reminder at most once, in order"
    for now, f in fired:
        if f.reminder is None:
            assert now >= due
            assert f.sent == len(times)
            assert f.remaining_seconds == 0
        else:
            assert times[f.reminder] <= now < due, "a reminder fires once its time passed, not late"
            assert f.sent == f.reminder + 1
            assert f.remaining_seconds == int((due - now).total_seconds())
            # The latest passed: no later reminder's time had passed too (stale ones are skipped).
            assert all(t > now for t in times[f.reminder + 1 :])
    deadline_fired = [f for _, f in fired if f.reminder is None]
    reached = any(START + window * x >= due for x in at)
    assert len(deadline_fired) == (1 if reached else 0), "the deadline fires exactly once when reached"
    if reached:
        assert fired[-1][1].reminder is None, "nothing fires after the deadline"


@given(windows, fractions)
def test_a_sweep_at_every_reminder_fires_every_reminder(window: timedelta, fr: list[float]) -> None:
    due = START + window
    times = reminders.at_fractions(START, due, fr)
    sent, seen = 0, []
    for t in [*times, due]:
        f = reminders.fire(times, sent, due, t)
        if f is not None:
            sent = f.sent
            seen.append(f.reminder)
    # Two fractions may land on one instant (microsecond rounding): the later of them fires.
    expected = [i for i in range(len(times)) if i == len(times) - 1 or times[i] < times[i + 1]]
    assert seen == [*expected, None]
    assert sent == len(times)


def test_a_late_sweep_fires_only_the_latest_passed_reminder() -> None:
    due = START + timedelta(hours=24)
    times = reminders.at_fractions(START, due, [0.5, 0.75, 0.9])
    f = reminders.fire(times, 0, due, START + timedelta(hours=22))  # past 0.5, 0.75 and 0.9
    assert f == reminders.Fired(sent=3, reminder=2, remaining_seconds=2 * 3600)
    assert reminders.fire(times, 3, due, START + timedelta(hours=23)) is None
    assert reminders.fire(times, 3, due, due) == reminders.Fired(sent=3, reminder=None, remaining_seconds=0)
