"""Fan-out and signed delivery.

1. ``fan_out``: claim undispatched outbox events (``FOR UPDATE SKIP LOCKED``), add one delivery per
   subscribed enabled endpoint, mark the events dispatched — one transaction.
2. ``claim``: take due deliveries ``FOR UPDATE SKIP LOCKED``, a fair share per platform, interleaved
   platform by platform; mark them ``delivering`` with a lease that covers the row's place in the
   batch (``next_attempt_at``), count the attempt, commit. Nothing is held open while we talk to
   the network.
3. ``send`` (``sender``): POST concurrently (bounded lanes, in the claimed order), to the address
   the SSRF guard checked.
4. ``record`` (``recording``): each result is committed as it completes (group commit), not at
   the end of the batch.

At least once: a worker that dies between 2 and 4 leaves its unrecorded rows ``delivering`` with
an expiring lease; they become due again and are sent again. Only the deliveries in flight (at most
one per lane) can have reached the receiver unrecorded. Receivers dedupe by ``webhook-id``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import orjson
from sqlalchemy import Row, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.config import get_settings
from vncomply.events import signing
from vncomply.events.enums import DeliveryKind, DeliveryStatus
from vncomply.events.models import Event, WebhookEndpoint
from vncomply.events.recording import CycleStats, Recorder, done_row, next_delay, record, save_rows
from vncomply.events.sender import CONCURRENCY, Job, Outcome, Sender
from vncomply.kit import clock
from vncomply.kit.crypto import DecryptionError
from vncomply.kit.db import session_scope
from vncomply.kit.logs import get_logger

__all__ = [
    "CLAIM_BATCH",
    "CycleStats",
    "Job",
    "Outcome",
    "Sender",
    "claim",
    "fan_out",
    "lease_slot",
    "next_delay",
    "record",
    "run_cycle",
]

log = get_logger("vncomply.events")

FANOUT_BATCH = 1000
CLAIM_BATCH = 500
# A lease covers the worst case of the row's place in the batch: the rounds of lanes ahead of it,
# each at most one timeout (+1 s, the sender's hard bound) plus the wait for its record, and a margin
# for the claim's own commit and clock skew between workers.
RECORD_ALLOWANCE = timedelta(seconds=4)
LEASE_MARGIN = timedelta(seconds=30)


def lease_slot(timeout: float) -> timedelta:
    """The most one lane spends on one delivery: send (bounded by the sender) and record."""
    return timedelta(seconds=timeout + 1) + RECORD_ALLOWANCE


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
        (id, event_id, endpoint_id, platform_id, status, kind, attempts, next_attempt_at, created_at)
    SELECT gen_random_uuid(), ev.id, ep.id, ev.platform_id, :initial, :kind, 0, :now, :now
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
    return (await _fan_out(session, now, limit))[0]


async def _fan_out(session: AsyncSession, now: datetime, limit: int) -> tuple[int, int]:
    """(deliveries created, events dispatched)."""
    params = {"limit": limit, "now": now, "initial": DeliveryStatus.pending, "kind": DeliveryKind.event}
    row = (await session.execute(_FAN_OUT, params)).one()
    return int(row[0]), int(row[1])


# Fair claim, one statement:
# - plats: platforms with something due, those waiting longest first (at most :limit of them);
# - due: each platform's oldest due rows, an equal share of :limit each (SKIP LOCKED);
# - ordered: round-robin order (each platform's 1st row, then each one's 2nd, ...), so a platform
#   with thousands queued (or a receiver that hangs) does not hold the lanes before others start;
# - the lease of the row at position p: (p / lanes + 1) lane rounds after the margin.
_CLAIM = text("""
WITH plats AS (
    SELECT p.id FROM platforms p
    CROSS JOIN LATERAL (
        SELECT w.next_attempt_at FROM webhook_deliveries w
        WHERE w.platform_id = p.id AND w.next_attempt_at <= :now
        ORDER BY w.next_attempt_at LIMIT 1
    ) oldest
    ORDER BY oldest.next_attempt_at
    LIMIT :limit
), share AS (
    SELECT greatest(1, :limit / greatest(count(*), 1)) AS n FROM plats
), due AS (
    SELECT x.id, x.platform_id, x.next_attempt_at FROM plats CROSS JOIN LATERAL (
        SELECT w.id, w.platform_id, w.next_attempt_at FROM webhook_deliveries w
        WHERE w.platform_id = plats.id AND w.next_attempt_at <= :now
        ORDER BY w.next_attempt_at
        LIMIT (SELECT n FROM share)
        FOR UPDATE SKIP LOCKED
    ) x
), ordered AS (
    SELECT id, row_number() OVER (ORDER BY rn, platform_id) - 1 AS pos FROM (
        SELECT id, platform_id,
               row_number() OVER (PARTITION BY platform_id ORDER BY next_attempt_at, id) AS rn
        FROM due
    ) r
)
UPDATE webhook_deliveries d
SET status = :leased, attempts = d.attempts + 1,
    next_attempt_at = :lease_base + (ordered.pos / :lanes + 1) * :slot
FROM ordered WHERE d.id = ordered.id
RETURNING d.id, d.event_id, d.endpoint_id, d.attempts, ordered.pos
""")

CANNOT_SIGN = (
    "not sent: this endpoint's signing secret cannot be decrypted (its encryption key is missing "
    "from the key ring, or the stored value is damaged); rotate the secret "
    "(POST /v1/webhook-endpoints/{id}/rotate-secret) or ask the operator to restore the key"
)


def _unseal(ep: WebhookEndpoint, blob: bytes, which: str) -> str | None:
    """The plaintext secret, or None (logged without the secret) when it cannot be decrypted."""
    try:
        return signing.unseal(blob, ep.platform_id, ep.id)
    except DecryptionError as exc:
        log.warning(
            "webhook secret unreadable",
            endpoint_id=str(ep.id),
            platform_id=str(ep.platform_id),
            which=which,
            error=str(exc),  # says which key id is missing or that the tag failed; never the value
        )
        return None


def _signing_secrets(ep: WebhookEndpoint, now: datetime) -> list[str]:
    """Current secret first, then the rotated-out one while it is valid. Empty when the current
    one is unreadable: this endpoint's deliveries fail, nobody else's."""
    current = _unseal(ep, ep.secret_enc, "current")
    if current is None:
        return []
    keys = [current]
    if (
        ep.previous_secret_enc is not None
        and ep.previous_secret_expires_at is not None
        and ep.previous_secret_expires_at > now
    ):
        previous = _unseal(ep, ep.previous_secret_enc, "previous")
        if previous is not None:
            keys.append(previous)
    return keys


async def claim(
    session: AsyncSession,
    now: datetime,
    limit: int = CLAIM_BATCH,
    *,
    lanes: int = CONCURRENCY,
    send_timeout: float | None = None,
) -> list[Job]:
    """Lease due deliveries (the caller commits before sending) and build their requests, in the
    order they must be sent (their leases assume it). ``lanes`` and ``send_timeout`` are the
    sender's."""
    timeout = get_settings().webhook_timeout_seconds if send_timeout is None else send_timeout
    slot = lease_slot(timeout)
    params = {
        "now": now,
        "limit": limit,
        "lanes": lanes,
        "slot": slot,
        "lease_base": now + LEASE_MARGIN,
        "leased": DeliveryStatus.delivering,
    }
    leased = sorted((await session.execute(_CLAIM, params)).all(), key=lambda r: r[4])
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
    keys = {ep.id: _signing_secrets(ep, now) for ep in endpoints.values() if ep.enabled}
    jobs, dead = _jobs(leased, endpoints, events, keys)
    await save_rows(session, dead)
    return jobs


def _jobs(
    leased: Sequence[Row[tuple[uuid.UUID, uuid.UUID, uuid.UUID, int, int]]],
    endpoints: dict[uuid.UUID, WebhookEndpoint],
    events: dict[uuid.UUID, Row[tuple[uuid.UUID, str, datetime, int, dict[str, object]]]],
    keys: dict[uuid.UUID, list[str]],
) -> tuple[list[Job], list[dict[str, object]]]:
    jobs: list[Job] = []
    dead: list[dict[str, object]] = []
    for delivery_id, event_id, endpoint_id, attempts, _pos in leased:
        ep = endpoints[endpoint_id]
        if not ep.enabled:
            error = f"endpoint disabled: {ep.disabled_reason or 'disabled'}"
            dead.append(done_row(delivery_id, attempts, DeliveryStatus.failed, error=error))
            continue
        _, type_, occurred_at, seq, data = events[event_id]
        body = orjson.dumps(
            {"id": str(event_id), "type": type_, "occurred_at": occurred_at, "seq": seq, "data": data}
        )
        secrets = keys[endpoint_id]
        jobs.append(
            Job(
                delivery_id=delivery_id,
                endpoint_id=endpoint_id,
                attempts=attempts,
                url=ep.url,
                msg_id=str(event_id),
                body=body,
                secrets=secrets,
                refused=None if secrets else CANNOT_SIGN.format(id=endpoint_id),
            )
        )
    return jobs, dead


async def run_cycle(
    *, max_batches: int = 20, claim_batch: int = CLAIM_BATCH, sender: Sender | None = None
) -> CycleStats:
    """One beat tick: fan out the outbox, then send due deliveries batch by batch.

    The outbox is fanned out again whenever a claim comes back short while the last fan-out took a
    full ``FANOUT_BATCH`` of events, so one tick can drain more than one fan-out's worth (a tick
    every ~2 s would otherwise cap delivery at ``FANOUT_BATCH`` events per tick).

    Each step is its own short transaction; HTTP happens outside any transaction, and each
    delivery's result is committed as it completes.
    """
    total = CycleStats()
    own = sender is None
    snd = sender or Sender()

    async def fan() -> bool:
        """Fan out once; whether the outbox may hold more."""
        async with session_scope() as s:
            created, taken = await _fan_out(s, clock.now(), FANOUT_BATCH)
        total.fanned_out += created
        return taken >= FANOUT_BATCH

    async def take() -> list[Job]:
        async with session_scope() as s:
            now = clock.now()
            return await claim(s, now, claim_batch, lanes=snd.concurrency, send_timeout=snd.timeout)

    backlog = short = True  # before the first claim: the outbox may hold anything
    try:
        for _ in range(max_batches):
            if backlog and short:
                backlog = await fan()
            jobs = await take()
            if not jobs and backlog:  # the last full claim took exactly what was fanned out
                backlog = await fan()
                jobs = await take()
            short = len(jobs) < claim_batch
            if not jobs:
                if backlog:
                    continue  # a full fan-out for endpoints that subscribe to none of it
                break
            recorder = Recorder()
            try:
                await snd.send_all(jobs, recorder.save)
            finally:
                await recorder.aclose()
                total.add(recorder.stats)
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
