"""One subject's violations and blocks: the advisory lock that serialises work on a subject, and the
small queries the lock rules and block orders share.

Everything that touches one subject's violations or blocks first takes a transaction-level
advisory lock on (platform, subject type, subject id): two violations recorded at the same moment
are evaluated one after the other, so they create one block, not two.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.blocks.models import AccountBlock
from vncomply.blocks.status import active_clause
from vncomply.kit.db import advisory_lock

# Advisory-lock namespace (two-int form, so it never meets the single-bigint locks elsewhere).
_LOCK_NS = 0x0B10C


async def lock(session: AsyncSession, key: str) -> None:
    await advisory_lock(session, _LOCK_NS, key)


async def lock_subject(
    session: AsyncSession, platform_id: uuid.UUID, subject_type: str, subject_id: str
) -> None:
    await lock(session, f"subject:{platform_id}:{subject_type}:{subject_id}")


def of_subject(model: Any, platform_id: uuid.UUID, subject_type: str, subject_id: str) -> ColumnElement[bool]:
    """Rows of ``model`` (blocks or violations) about this subject."""
    return (  # type: ignore[no-any-return]
        (model.platform_id == platform_id)
        & (model.subject_type == subject_type)
        & (model.subject_id == subject_id)
    )


async def temporary_locks(
    session: AsyncSession, platform_id: uuid.UUID, subject_type: str, subject_id: str
) -> int:
    # Every temporary lock ever imposed counts, lifted early or not (docs/blocks.md).
    stmt = select(func.count()).where(
        of_subject(AccountBlock, platform_id, subject_type, subject_id),
        AccountBlock.permanent.is_(False),
    )
    return int((await session.execute(stmt)).scalar_one())


async def has_active_block(
    session: AsyncSession, platform_id: uuid.UUID, subject_type: str, subject_id: str, now: datetime
) -> bool:
    stmt = select(AccountBlock.id).where(
        of_subject(AccountBlock, platform_id, subject_type, subject_id), active_clause(now)
    )
    return (await session.execute(stmt.limit(1))).first() is not None
