"""A block's state, computed from the clock (DESIGN rule 5: reads never wait for a worker).

``active_clause`` is the SQL form of ``is_active``; the permission check and the list filter use it
so that both agree to the second at ``ends_at``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_

from vncomply.blocks.models import AccountBlock
from vncomply.blocks.schemas import BlockStatus


def status_at(b: AccountBlock, now: datetime) -> BlockStatus:
    if b.lifted_at is not None:
        return BlockStatus.lifted
    if now < b.starts_at:
        return BlockStatus.scheduled
    if b.permanent or (b.ends_at is not None and now < b.ends_at):
        return BlockStatus.active
    return BlockStatus.expired


def is_active(b: AccountBlock, now: datetime) -> bool:
    return status_at(b, now) is BlockStatus.active


def active_clause(now: datetime) -> Any:
    return and_(
        AccountBlock.lifted_at.is_(None),
        AccountBlock.starts_at <= now,
        or_(AccountBlock.permanent.is_(True), AccountBlock.ends_at > now),
    )


def next_action_at(b: AccountBlock) -> datetime | None:
    """The next instant the deadline sweep has something to record for ``b`` (None: nothing)."""
    if b.lifted_at is not None:
        return None
    due: list[datetime] = []
    if b.applied_at is None and b.apply_overdue_at is None:
        due.append(b.apply_by)
    if not b.permanent and b.ends_at is not None and b.end_recorded_at is None:
        due.append(b.ends_at)
    return min(due, default=None)
