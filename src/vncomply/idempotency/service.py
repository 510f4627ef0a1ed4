"""Retention of idempotency records: they are only needed while a retry may arrive."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.config import get_settings
from vncomply.idempotency.models import IdempotencyRecord
from vncomply.kit.db import delete_batch

PURGE_BATCH = 5000


def ttl() -> timedelta:
    return timedelta(seconds=get_settings().idempotency_ttl_seconds)


async def purge_expired(session: AsyncSession, now: datetime, batch: int = PURGE_BATCH) -> int:
    """Delete up to ``batch`` records older than the TTL (a replay would no longer be answered
    from them anyway). Returns how many went."""
    return await delete_batch(session, IdempotencyRecord, IdempotencyRecord.created_at < now - ttl(), batch)
