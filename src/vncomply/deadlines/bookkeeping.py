"""The sweep's bookkeeping write: the ``deadline_sweeps`` row of each handler after a run
(docs/deadlines.md, "Operations"; read by ``vncomply.deadlines.metrics``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from vncomply.deadlines import claims
from vncomply.kit import clock
from vncomply.kit.db import json_rows

if TYPE_CHECKING:
    from vncomply.deadlines.engine import HandlerResult

# Bookkeeping only, so no wait for the WAL flush: set_config(…, true) is SET LOCAL inside the one
# statement, whose own transaction (autocommit) then commits asynchronously. One round trip, which
# keeps the idle sweeps that write it (one every RECORD_IDLE_EVERY) cheap.
_RECORD = text(
    """
    WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true))
    INSERT INTO deadline_sweeps (handler, last_started_at, last_finished_at, last_duration_seconds,
                                 last_processed, last_failed, last_repaired)
    SELECT r.handler, r.last_started_at, r.last_finished_at, r.last_duration_seconds,
           r.last_processed, r.last_failed, r.last_repaired
    FROM async_commit, jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
        handler text, last_started_at timestamptz, last_finished_at timestamptz,
        last_duration_seconds float8, last_processed int, last_failed int, last_repaired int)
    ORDER BY r.handler
    ON CONFLICT (handler) DO UPDATE SET
        last_started_at = excluded.last_started_at, last_finished_at = excluded.last_finished_at,
        last_duration_seconds = excluded.last_duration_seconds,
        last_processed = excluded.last_processed, last_failed = excluded.last_failed,
        last_repaired = excluded.last_repaired
    """
)


async def record_run(
    factory: async_sessionmaker[AsyncSession], results: list[HandlerResult], now: datetime
) -> None:
    if not results:
        return
    finished = clock.now()
    values = [
        {
            "handler": hr.handler,
            "last_started_at": now,
            "last_finished_at": finished,
            "last_duration_seconds": hr.duration_seconds,
            "last_processed": hr.processed,
            "last_failed": hr.failed,
            "last_repaired": hr.repaired,
        }
        for hr in results
    ]
    async with factory() as session:
        conn = await claims.autocommit(session)
        await conn.execute(_RECORD, {"rows": json_rows(values)})
        if not isinstance(session.bind, AsyncEngine):
            await session.commit()  # a test session: its savepoint
