"""Retention of the outbox: events whose deliveries have all ended, older than
``VNCOMPLY_EVENT_RETENTION_DAYS``, are deleted with their deliveries.

An event stays while any of its deliveries is still pending or in flight, or was made within the
retention window (a recent redelivery of an old event keeps it, and its history, until that
delivery is old too). ``event_sequences`` is untouched, so a platform's ``seq`` never repeats.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.events.enums import EVENT_RESOURCE, DeliveryStatus

BATCH = 5000
_DUE = """
    e.occurred_at < :cutoff AND e.dispatched_at IS NOT NULL
    AND NOT EXISTS (
        SELECT 1 FROM webhook_deliveries d
        WHERE d.event_id = e.id AND (d.status IN (:open_1, :open_2) OR d.created_at >= :cutoff)
    )
"""
DUE_SQL = f"SELECT count(*) FROM events e WHERE {_DUE}"  # noqa: S608 (constant SQL; values bound)
# The oldest due events, locked; their deliveries first, then the events (one statement).
PURGE_SQL = f"""
WITH doomed AS (
    SELECT e.id FROM events e WHERE {_DUE}
    ORDER BY e.occurred_at LIMIT :batch FOR UPDATE SKIP LOCKED
), deliveries AS (
    DELETE FROM webhook_deliveries WHERE event_id IN (SELECT id FROM doomed) RETURNING 1
), gone AS (
    DELETE FROM events WHERE id IN (SELECT id FROM doomed) RETURNING 1
)
SELECT (SELECT count(*) FROM gone) AS events, (SELECT count(*) FROM deliveries) AS deliveries
"""  # noqa: S608 (constant SQL; values are bound)


# Deliveries still in progress keep their event.
_OPEN = {"open_1": DeliveryStatus.pending.value, "open_2": DeliveryStatus.delivering.value}


def cutoff(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


async def due(session: AsyncSession, now: datetime, days: int) -> int:
    n = await session.scalar(text(DUE_SQL), {"cutoff": cutoff(now, days), **_OPEN})
    return int(n or 0)


async def purge_batch(session: AsyncSession, now: datetime, days: int, batch: int = BATCH) -> int:
    """Delete up to ``batch`` due events and their deliveries; returns how many events."""
    row: Any = (
        await session.execute(text(PURGE_SQL), {"cutoff": cutoff(now, days), "batch": batch, **_OPEN})
    ).one()
    if row.events:
        audit.record(
            session,
            None,
            "events.retention_purged",
            EVENT_RESOURCE,
            "retention",
            None,
            {"events": row.events, "deliveries": row.deliveries, "retention_days": days},
        )
    return int(row.events)
