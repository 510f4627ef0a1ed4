"""The reminder rule every statutory clock shares: reminders at fixed instants before the deadline,
fired in order; after a late sweep only the latest one passed fires (stale reminders are skipped,
never replayed), and none fires once the deadline itself has passed.

Rows remember how many reminders they have had (``reminders_sent``), not the instants, so a clock's
reminder list may only be changed with its order kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime


def at_fractions(start: datetime, due: datetime, fractions: Sequence[float]) -> list[datetime]:
    """Reminder instants at ``fractions`` of the window ``start`` → ``due``."""
    window = due - start
    return [start + window * f for f in fractions]


def latest_passed(times: Sequence[datetime], sent: int, now: datetime) -> int | None:
    """The index of the reminder to fire at ``now`` (the latest passed and not yet sent), or None."""
    passed = [i for i in range(sent, len(times)) if times[i] <= now]
    return passed[-1] if passed else None


def next_instant(times: Sequence[datetime], sent: int, due: datetime) -> datetime:
    """The next instant to look at a pending clock that has not gone overdue: its next reminder, or
    the deadline once every reminder was sent."""
    return times[sent] if sent < len(times) else due
