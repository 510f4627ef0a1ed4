"""The blocks' timed transitions on the shared deadline engine (vncomply.deadlines).

Registered at import; the registry finds this module by its name so the worker knows it. Two
transitions per block, both recorded once: ``block.apply_overdue`` when ``apply_by`` passes without
the platform's confirmation, and ``block.ended`` at ``ends_at``. Neither changes whether the block
is active: that is computed from the clock at read time (vncomply.blocks.status).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.blocks.models import AccountBlock
from vncomply.blocks.records import announce
from vncomply.deadlines.engine import register

HANDLER_NAME = "blocks.account_block"


def next_action(b: AccountBlock) -> datetime | None:
    """The next instant the sweep has something to record for ``b`` (None: nothing)."""
    if b.lifted_at is not None:
        return None
    due: list[datetime] = []
    if b.applied_at is None and b.apply_overdue_at is None:
        due.append(b.apply_by)
    if b.ends_at is not None and b.end_recorded_at is None:
        due.append(b.ends_at)
    return min(due, default=None)


async def transition(session: AsyncSession, b: AccountBlock, now: datetime) -> None:
    """Record what fell due by ``now`` (apply overdue, expiry), each once, by the system actor;
    then set the next ``next_action_at``. Idempotent."""
    if b.lifted_at is None:
        if b.applied_at is None and b.apply_overdue_at is None and now >= b.apply_by:
            b.apply_overdue_at = now
            await announce(session, None, b, "block.apply_overdue", {"apply_by": b.apply_by.isoformat()})
        if b.ends_at is not None and b.end_recorded_at is None and now >= b.ends_at:
            b.end_recorded_at = now
            await announce(session, None, b, "block.ended", {"ends_at": b.ends_at.isoformat()})
    b.next_action_at = next_action(b)
    await session.flush()


def stuck(now: datetime) -> ColumnElement[bool]:
    """Unfinished blocks without a next action (backed by ix_account_blocks_unscheduled)."""
    return and_(
        AccountBlock.next_action_at.is_(None),
        AccountBlock.lifted_at.is_(None),
        AccountBlock.end_recorded_at.is_(None),
        or_(
            and_(AccountBlock.applied_at.is_(None), AccountBlock.apply_overdue_at.is_(None)),
            AccountBlock.ends_at.is_not(None),
        ),
    )


handler = register(HANDLER_NAME, AccountBlock, transition, stuck=stuck)
