"""The reminder rule every statutory clock shares: reminders at fixed instants before the deadline,
fired in order; after a late sweep only the latest one passed fires (stale reminders are skipped,
never replayed), and none fires once the deadline itself has passed.

Rows remember how many reminders they have had (``reminders_sent``), not the instants, so a clock's
reminder list may only be changed with its order kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


def at_fractions(start: datetime, due: datetime, fractions: Sequence[float]) -> list[datetime]:
    """Reminder instants at ``fractions`` of the window ``start`` → ``due``."""
    window = due - start
    return [start + window * f for f in fractions]


@dataclass(frozen=True, slots=True)
class Fired:
    """What a running clock fires at one instant."""

    sent: int  # the row's new ``reminders_sent``
    reminder: int | None  # the index of the reminder fired; None: the deadline itself passed
    remaining_seconds: int  # until the deadline (0 once it passed)


def fire(times: Sequence[datetime], sent: int, due: datetime, now: datetime) -> Fired | None:
    """What a clock that still runs (not done, not yet overdue) fires at ``now``, or None.

    At or past ``due``: the deadline, and every reminder counts as sent (a reminder for a passed
    deadline is moot). Before it: the latest reminder passed and not yet sent; the earlier ones a
    late sweep passed over are skipped, never replayed. The caller records ``sent`` on the row (so
    a second call at the same instant fires no reminder) and, for the deadline, that the row is
    overdue (which stops its clock)."""
    if now >= due:
        return Fired(len(times), None, 0)
    passed = [i for i in range(sent, len(times)) if times[i] <= now]
    if not passed:
        return None
    return Fired(passed[-1] + 1, passed[-1], int((due - now).total_seconds()))


def next_instant(times: Sequence[datetime], sent: int, due: datetime) -> datetime:
    """The next instant to look at a pending clock that has not gone overdue: its next reminder, or
    the deadline once every reminder was sent."""
    return times[sent] if sent < len(times) else due
