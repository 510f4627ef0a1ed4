"""The blocks' timed transitions on the shared deadline engine (vncomply.deadlines).

Registered at import; the registry finds this module by its name so the worker knows
it. Two transitions per block, both recorded once: ``block.apply_overdue`` when ``apply_by`` passes
without the platform's confirmation, and ``block.ended`` at ``ends_at``. Neither changes whether the
block is active: that is computed from the clock at read time (vncomply.blocks.status).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.blocks import service
from vncomply.blocks.models import AccountBlock
from vncomply.deadlines.engine import register

NAME = "blocks.account_block"


async def transition(session: AsyncSession, block: AccountBlock, now: datetime) -> None:
    await service.advance(session, block, now)


def stuck(now: datetime) -> Any:
    """Unfinished blocks without a next action (backed by ix_account_blocks_unscheduled)."""
    return and_(
        AccountBlock.next_action_at.is_(None),
        AccountBlock.lifted_at.is_(None),
        AccountBlock.end_recorded_at.is_(None),
        or_(
            and_(AccountBlock.applied_at.is_(None), AccountBlock.apply_overdue_at.is_(None)),
            AccountBlock.permanent.is_(False),
        ),
    )


HANDLER = register(NAME, AccountBlock, transition, stuck=stuck)
