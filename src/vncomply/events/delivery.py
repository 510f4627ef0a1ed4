"""Fan-out and signed delivery.

1. ``fan_out``: claim undispatched outbox events (``FOR UPDATE SKIP LOCKED``), add one delivery per
   subscribed enabled endpoint, mark the events dispatched — one transaction.
2. ``claim``: take due deliveries ``FOR UPDATE SKIP LOCKED``, mark them ``delivering`` with a lease
   (``next_attempt_at = now + lease()``), count the attempt, commit. Nothing is held open while we
   talk to the network.
3. ``send``: POST concurrently (bounded), to the address the SSRF guard checked.
4. ``record``: delivered, or the next attempt on the backoff schedule, or failed; endpoints that
   have failed everything for 24 h are disabled.

At least once: a worker that dies between 2 and 4 leaves its rows ``delivering`` with an expiring
lease; they become due again and are sent again. Receivers dedupe by ``webhook-id`` (the event id).
"""

from __future__ import annotations

import asyncio
import random
import ssl
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
import orjson
from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.config import get_settings
from vncomply.events import signing, ssrf
from vncomply.events.models import Event, WebhookDelivery, WebhookEndpoint
from vncomply.kit import clock
from vncomply.kit.db import session_scope
from vncomply.kit.logs import get_logger

log = get_logger("vncomply.events")

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
FANOUT_BATCH = 1000
CLAIM_BATCH = 500
CONCURRENCY = 50
MAX_RESPONSE_BYTES = 64 * 1024


_ssl: ssl.SSLContext | None = None


def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~40 ms; do it once per process, not per tick.
    global _ssl
    if _ssl is None:
        _ssl = httpx.create_ssl_context()
    return _ssl


def lease() -> timedelta:
    """How long a claimed delivery belongs to its sender (``VNCOMPLY_WEBHOOK_LEASE_SECONDS``)."""
    return timedelta(seconds=get_settings().webhook_lease_seconds)


def next_delay(attempts: int) -> timedelta | None:
    """Delay before the next attempt after ``attempts`` failed ones (±20 % jitter), or None."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return BACKOFF[attempts - 1] * random.uniform(0.8, 1.2)


# One statement: lock a batch of undispatched events (SKIP LOCKED, so several workers share the
# outbox), add a delivery per subscribed enabled endpoint, mark the events dispatched.
_FAN_OUT = text("""
WITH ev AS (
    SELECT id, platform_id, type FROM events
    WHERE dispatched_at IS NULL
    ORDER BY occurred_at
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
), ins AS (
    INSERT INTO webhook_deliveries
        (id, event_id, endpoint_id, platform_id, status, attempts, next_attempt_at, created_at)
    SELECT gen_random_uuid(), ev.id, ep.id, ev.platform_id, 'pending', 0, :now, :now
    FROM ev JOIN webhook_endpoints ep
      ON ep.platform_id = ev.platform_id AND ep.enabled
     AND (ep.event_types ? '*' OR ep.event_types ? ev.type)
    RETURNING 1
), upd AS (
    UPDATE events SET dispatched_at = :now FROM ev WHERE events.id = ev.id RETURNING 1
)
SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM upd)
""")


async def fan_out(session: AsyncSession, now: datetime, limit: int = FANOUT_BATCH) -> int:
    """Deliveries created (0 also when there were events but no subscribed endpoint)."""
    row = (await session.execute(_FAN_OUT, {"limit": limit, "now": now})).one()
    return int(row[0])


@dataclass
class Job:
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    attempts: int
    url: str
    msg_id: str
    body: bytes
    secrets: list[str]


@dataclass
class Outcome:
    job: Job
    ok: bool
    status_code: int | None = None
    error: str | None = None


@dataclass
class CycleStats:
    fanned_out: int = 0
    sent: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    endpoints_disabled: list[uuid.UUID] = field(default_factory=list)


_deliveries = cast(Table, WebhookDelivery.__table__)
# Core (not ORM) UPDATE so one executemany carries the whole batch.
_DONE = (
    update(_deliveries)
    .where(
        _deliveries.c.id == bindparam("b_id"),
        _deliveries.c.attempts == bindparam("b_attempts"),
        _deliveries.c.status == "delivering",
    )
    .values(
        status=bindparam("b_status"),
        next_attempt_at=bindparam("b_next"),
        last_status_code=bindparam("b_code"),
        last_error=bindparam("b_error"),
        delivered_at=bindparam("b_delivered"),
    )
)


_CLAIM = text("""
WITH due AS (
    SELECT id FROM webhook_deliveries
    WHERE next_attempt_at <= :now
    ORDER BY next_attempt_at
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
)
UPDATE webhook_deliveries d
SET status = 'delivering', attempts = d.attempts + 1, next_attempt_at = :lease
FROM due WHERE d.id = due.id
RETURNING d.id, d.event_id, d.endpoint_id, d.attempts
""")


async def claim(session: AsyncSession, now: datetime, limit: int = CLAIM_BATCH) -> list[Job]:
    """Lease due deliveries (the caller commits before sending) and build their requests."""
    leased = (await session.execute(_CLAIM, {"now": now, "limit": limit, "lease": now + lease()})).all()
    if not leased:
        return []
    endpoints = {
        ep.id: ep
        for ep in await session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.id.in_({r[2] for r in leased}))
        )
    }
    events = {
        r[0]: r
        for r in await session.execute(
            select(Event.id, Event.type, Event.occurred_at, Event.seq, Event.data).where(
                Event.id.in_({r[1] for r in leased})
            )
        )
    }
    keys: dict[uuid.UUID, list[str]] = {}
    for ep in endpoints.values():
        if not ep.enabled:
            continue
        keys[ep.id] = [signing.unseal(ep.secret_enc, ep.platform_id, ep.id)]
        if (
            ep.previous_secret_enc is not None
            and ep.previous_secret_expires_at is not None
            and ep.previous_secret_expires_at > now
        ):
            keys[ep.id].append(signing.unseal(ep.previous_secret_enc, ep.platform_id, ep.id))
    jobs: list[Job] = []
    dead: list[dict[str, Any]] = []
    for delivery_id, event_id, endpoint_id, attempts in leased:
        ep = endpoints[endpoint_id]
        if not ep.enabled:
            error = f"endpoint disabled: {ep.disabled_reason or 'disabled'}"[:500]
            dead.append(
                {
                    "b_id": delivery_id,
                    "b_attempts": attempts,
                    "b_status": "failed",
                    "b_next": None,
                    "b_code": None,
                    "b_error": error,
                    "b_delivered": None,
                }
            )
            continue
        _, type_, occurred_at, seq, data = events[event_id]
        body = orjson.dumps(
            {"id": str(event_id), "type": type_, "occurred_at": occurred_at, "seq": seq, "data": data}
        )
        jobs.append(
            Job(
                delivery_id=delivery_id,
                endpoint_id=endpoint_id,
                attempts=attempts,
                url=ep.url,
                msg_id=str(event_id),
                body=body,
                secrets=keys[endpoint_id],
            )
        )
    if dead:
        await session.execute(_DONE, dead)
    return jobs


class Sender:
    """Sends jobs through ``concurrency`` lanes. Each lane sends one request at a time and keeps
    its own keep-alive client per host: httpcore's shared pool scans every connection on every
    request (quadratic under load), and per-host clients keep TLS SNI and pooled connections from
    mixing hosts that share an address. The SSRF check runs once per URL per batch."""

    def __init__(self, concurrency: int = CONCURRENCY) -> None:
        self._lanes: list[dict[str, httpx.AsyncClient]] = [{} for _ in range(concurrency)]
        self._timeout = get_settings().webhook_timeout_seconds

    def _client(self, lane: dict[str, httpx.AsyncClient], key: str) -> httpx.AsyncClient:
        c = lane.get(key)
        if c is None:
            c = lane[key] = httpx.AsyncClient(
                timeout=self._timeout,
                verify=_ssl_context(),
                follow_redirects=False,
                trust_env=False,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                headers={"user-agent": "vncomply-webhooks/1"},
            )
        return c

    async def aclose(self) -> None:
        for lane in self._lanes:
            for c in lane.values():
                await c.aclose()
            lane.clear()

    async def send_all(self, jobs: Sequence[Job]) -> list[Outcome]:
        checks: dict[str, asyncio.Task[ssrf.Target]] = {}
        for j in jobs:
            if j.url not in checks:
                checks[j.url] = asyncio.ensure_future(ssrf.check(j.url))
        results: list[Outcome | None] = [None] * len(jobs)
        todo = iter(range(len(jobs)))

        async def lane_loop(lane: dict[str, httpx.AsyncClient]) -> None:
            for i in todo:  # a shared iterator: each lane takes the next job when free
                results[i] = await self._send(lane, jobs[i], checks[jobs[i].url])

        await asyncio.gather(*(lane_loop(lane) for lane in self._lanes[: len(jobs)]))
        return [r for r in results if r is not None]

    async def _send(
        self, lane: dict[str, httpx.AsyncClient], job: Job, check: asyncio.Task[ssrf.Target]
    ) -> Outcome:
        try:
            target = await asyncio.shield(check)
        except ssrf.UnsafeUrl as exc:
            return Outcome(job, ok=False, error=f"refused by the SSRF guard: {exc}")
        url = httpx.URL(job.url)
        hdrs = signing.headers(job.secrets, job.msg_id, int(clock.now().timestamp()), job.body)
        # Connect to the checked address; the name stays in Host (and in SNI for https).
        hdrs["host"] = url.netloc.decode("ascii")
        ext: dict[str, Any] = {}
        if target.scheme == "https":
            ext["sni_hostname"] = target.host
        client = self._client(lane, f"{target.scheme}://{target.host}:{target.port}")
        try:
            async with asyncio.timeout(self._timeout + 1):
                req = client.build_request(
                    "POST", url.copy_with(host=target.ip), content=job.body, headers=hdrs, extensions=ext
                )
                resp = await client.send(req, stream=True)
                try:
                    read = 0
                    async for chunk in resp.aiter_raw():
                        read += len(chunk)
                        if read > MAX_RESPONSE_BYTES:
                            break
                finally:
                    await resp.aclose()
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            return Outcome(job, ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        ok = 200 <= resp.status_code < 300
        return Outcome(
            job, ok=ok, status_code=resp.status_code, error=None if ok else f"HTTP {resp.status_code}"
        )


async def record(session: AsyncSession, outcomes: Sequence[Outcome], now: datetime) -> CycleStats:
    stats = CycleStats(sent=len(outcomes))
    params = []
    ok_eps: set[uuid.UUID] = set()
    bad_eps: set[uuid.UUID] = set()
    for o in outcomes:
        nxt: datetime | None = None
        delivered: datetime | None = None
        if o.ok:
            stats.delivered += 1
            ok_eps.add(o.job.endpoint_id)
            status, nxt, delivered = "delivered", None, now
        else:
            stats.failed_attempts += 1
            bad_eps.add(o.job.endpoint_id)
            delay = next_delay(o.job.attempts)
            status = "failed" if delay is None else "pending"
            nxt = None if delay is None else now + delay
        # Guarded by (attempts, status): a row whose lease expired and was re-claimed is left to
        # its new owner.
        params.append(
            {
                "b_id": o.job.delivery_id,
                "b_attempts": o.job.attempts,
                "b_status": status,
                "b_next": nxt,
                "b_code": o.status_code,
                "b_error": o.error,
                "b_delivered": delivered,
            }
        )
    if params:
        await session.execute(_DONE, params)
    if ok_eps:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(ok_eps), WebhookEndpoint.failing_since.is_not(None))
            .values(failing_since=None)
        )
    only_bad = bad_eps - ok_eps
    if only_bad:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(only_bad), WebhookEndpoint.failing_since.is_(None))
            .values(failing_since=now)
        )
        reason = "every delivery failed for 24 hours"
        disabled = (
            await session.execute(
                update(WebhookEndpoint)
                .where(
                    WebhookEndpoint.id.in_(only_bad),
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
                "webhook_endpoint.disabled",
                "webhook_endpoint",
                ep_id,
                platform_id,
                {"reason": reason},
            )
            stats.endpoints_disabled.append(ep_id)
    return stats


async def run_cycle(
    *, max_batches: int = 20, claim_batch: int = CLAIM_BATCH, sender: Sender | None = None
) -> CycleStats:
    """One beat tick: fan out the outbox, then send due deliveries batch by batch.

    Each step is its own short transaction; HTTP happens outside any transaction.
    """
    total = CycleStats()
    async with session_scope() as s:
        total.fanned_out = await fan_out(s, clock.now())
    own = sender is None
    snd = sender or Sender()
    try:
        for _ in range(max_batches):
            async with session_scope() as s:
                jobs = await claim(s, clock.now(), claim_batch)
            if not jobs:
                break
            outcomes = await snd.send_all(jobs)
            async with session_scope() as s:
                st = await record(s, outcomes, clock.now())
            total.sent += st.sent
            total.delivered += st.delivered
            total.failed_attempts += st.failed_attempts
            total.endpoints_disabled += st.endpoints_disabled
            if len(jobs) < claim_batch:
                break
    finally:
        if own:
            await snd.aclose()
    if total.sent or total.fanned_out:
        log.info(
            "webhooks",
            fanned_out=total.fanned_out,
            sent=total.sent,
            delivered=total.delivered,
            failed_attempts=total.failed_attempts,
        )
    return total
