"""Recording delivery outcomes: delivered, the next attempt on the backoff schedule, or failed;
endpoints that have failed everything for 24 h are disabled.

``Recorder`` saves outcomes while the batch is still being sent (group commit: whatever completed
while the previous write ran goes in the next one), so a worker that dies mid-batch re-sends only
what was in flight, not what receivers had already acknowledged.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.events.enums import ENDPOINT_RESOURCE, AuditAction, DeliveryStatus, DisabledReason
from vncomply.events.models import WebhookEndpoint
from vncomply.events.sender import Outcome
from vncomply.kit import clock
from vncomply.kit.db import json_rows, session_scope

BACKOFF = [
    timedelta(seconds=5),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=24),
]
MAX_ATTEMPTS = 1 + len(BACKOFF)
DISABLE_AFTER = timedelta(hours=24)


def next_delay(attempts: int) -> timedelta | None:
    """Delay before the next attempt after ``attempts`` failed ones (±20 % jitter), or None."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return BACKOFF[attempts - 1] * random.uniform(0.8, 1.2)


@dataclass
class CycleStats:
    fanned_out: int = 0
    sent: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    endpoints_disabled: list[uuid.UUID] = field(default_factory=list)

    def add(self, other: CycleStats) -> None:
        self.fanned_out += other.fanned_out
        self.sent += other.sent
        self.delivered += other.delivered
        self.failed_attempts += other.failed_attempts
        self.endpoints_disabled += other.endpoints_disabled


# All of a group commit's rows in one statement and one JSON parameter (as in ``events.batch``):
# one round trip, where an executemany costs one per row. Guarded by (attempts, status): a row whose
# lease expired and was re-claimed is left to its new owner.
_DONE = text("""
UPDATE webhook_deliveries d
SET status = r.status, next_attempt_at = r.next_at, last_status_code = r.code,
    last_error = r.error, delivered_at = r.delivered_at
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
    id uuid, attempts int, status text, next_at timestamptz, code int, error text, delivered_at timestamptz
)
WHERE d.id = r.id AND d.attempts = r.attempts AND d.status = :leased
""")
# The usual group commit (something was delivered): ``_DONE`` and the end of the delivering
# endpoints' failure clocks in one statement, one round trip instead of two.
_DONE_OK = text("""
WITH done AS (
    UPDATE webhook_deliveries d
    SET status = r.status, next_attempt_at = r.next_at, last_status_code = r.code,
        last_error = r.error, delivered_at = r.delivered_at
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
        id uuid, attempts int, status text, next_at timestamptz, code int, error text,
        delivered_at timestamptz
    )
    WHERE d.id = r.id AND d.attempts = r.attempts AND d.status = :leased
    RETURNING 1
), healed AS (
    UPDATE webhook_endpoints SET failing_since = NULL
    WHERE id = ANY(CAST(:ok AS uuid[])) AND failing_since IS NOT NULL
    RETURNING 1
)
SELECT (SELECT count(*) FROM done), (SELECT count(*) FROM healed)
""")


def done_row(
    delivery_id: uuid.UUID,
    attempts: int,
    status: DeliveryStatus,
    *,
    next_at: datetime | None = None,
    code: int | None = None,
    error: str | None = None,
    delivered_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "id": delivery_id,
        "attempts": attempts,
        "status": status,
        "next_at": next_at,
        "code": code,
        "error": None if error is None else error[:500],
        "delivered_at": delivered_at,
    }


async def save_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Write ``done_row``s of leased deliveries."""
    if rows:
        await session.execute(_DONE, {"rows": json_rows(rows), "leased": DeliveryStatus.delivering})


async def record(session: AsyncSession, outcomes: Sequence[Outcome], now: datetime) -> CycleStats:
    stats = CycleStats(sent=len(outcomes))
    params = []
    ok_eps: set[uuid.UUID] = set()
    bad_eps: set[uuid.UUID] = set()
    for o in outcomes:
        if o.ok:
            stats.delivered += 1
            ok_eps.add(o.job.endpoint_id)
            params.append(
                done_row(
                    o.job.delivery_id,
                    o.job.attempts,
                    DeliveryStatus.delivered,
                    code=o.status_code,
                    delivered_at=now,
                )
            )
            continue
        stats.failed_attempts += 1
        bad_eps.add(o.job.endpoint_id)
        delay = next_delay(o.job.attempts)
        params.append(
            done_row(
                o.job.delivery_id,
                o.job.attempts,
                DeliveryStatus.failed if delay is None else DeliveryStatus.pending,
                next_at=None if delay is None else now + delay,
                code=o.status_code,
                error=o.error,
            )
        )
    if ok_eps:
        await session.execute(
            _DONE_OK,
            {"rows": json_rows(params), "leased": DeliveryStatus.delivering, "ok": list(ok_eps)},
        )
    else:
        await save_rows(session, params)
    only_bad = bad_eps - ok_eps
    if only_bad:
        stats.endpoints_disabled = await _mark_failing(session, only_bad, now)
    return stats


async def _mark_failing(
    session: AsyncSession, endpoint_ids: set[uuid.UUID], now: datetime
) -> list[uuid.UUID]:
    """Start the failure clock of these endpoints; disable those failing for 24 h."""
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id.in_(endpoint_ids), WebhookEndpoint.failing_since.is_(None))
        .values(failing_since=now)
    )
    reason = DisabledReason.failing
    disabled = (
        await session.execute(
            update(WebhookEndpoint)
            .where(
                WebhookEndpoint.id.in_(endpoint_ids),
                WebhookEndpoint.enabled,
                WebhookEndpoint.failing_since <= now - DISABLE_AFTER,
            )
            .values(enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now)
            .returning(WebhookEndpoint.id, WebhookEndpoint.platform_id)
        )
    ).all()
    for ep_id, platform_id in disabled:
        audit.record(
            session,
            None,
            AuditAction.endpoint_disabled,
            ENDPOINT_RESOURCE,
            ep_id,
            platform_id,
            {"reason": reason.value},
        )
    return [ep_id for ep_id, _ in disabled]


class Recorder:
    """One writer task per batch. ``save`` returns once the outcome is committed; outcomes that
    complete while a write runs are queued and go together in the next write, so a fast receiver
    does not cost a transaction per delivery and a slow one waits one round trip, not a batch."""

    def __init__(self) -> None:
        self.stats = CycleStats()
        self._queue: list[tuple[Outcome, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._error: Exception | None = None
        self._task = asyncio.create_task(self._run())

    async def save(self, outcome: Outcome) -> None:
        if self._error is not None:
            raise self._error
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((outcome, fut))
        self._wake.set()
        await fut

    async def _run(self) -> None:
        while not (self._closing and not self._queue):
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    async with session_scope() as s:
                        st = await record(s, [o for o, _ in batch], clock.now())
                except Exception as exc:  # the lanes waiting on it see it; the batch stops
                    self._error = exc
                    for _, fut in batch + self._queue:
                        if not fut.done():
                            fut.set_exception(exc)
                    self._queue = []
                    return
                self.stats.add(st)
                for _, fut in batch:
                    if not fut.done():  # a lane cancelled while waiting has cancelled its future
                        fut.set_result(None)

    async def aclose(self) -> None:
        """Write what is still queued (also when the batch was cancelled), then stop; raise the
        write error, if there was one."""
        self._closing = True
        self._wake.set()
        await asyncio.shield(self._task)
        if self._error is not None:
            raise self._error
