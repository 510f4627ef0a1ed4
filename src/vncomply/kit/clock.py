"""The one source of "now" (UTC). Tests move it; code never calls datetime.now() itself.

Deadlines are legal facts computed from this clock and stored in PostgreSQL; SQL `now()` is never used
so that a test can move time across a 90-day window without sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

_frozen: datetime | None = None
_offset = timedelta(0)


def now() -> datetime:
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC) + _offset


def set_now(value: datetime) -> None:
    """Freeze the clock at ``value`` (must be timezone-aware)."""
    global _frozen
    if value.tzinfo is None:
        raise ValueError("clock.set_now needs a timezone-aware datetime")
    _frozen = value.astimezone(UTC)


def advance(delta: timedelta) -> datetime:
    """Move the clock forward (frozen or not) and return the new now."""
    global _frozen, _offset
    if _frozen is not None:
        _frozen = _frozen + delta
    else:
        _offset = _offset + delta
    return now()


def reset() -> None:
    global _frozen, _offset
    _frozen = None
    _offset = timedelta(0)


def today_vn() -> datetime:
    return now().astimezone(VN_TZ)
