"""Writing, sealing, listing and verifying the audit trail.

Chain scheme (docs/audit.md): one chain per platform (plus one for platform-less actions). Writers
only INSERT; a single sealer (guarded by a transaction-level advisory lock) takes unsealed rows in
``seq`` order and, per platform, sets ``chain_seq``, ``prev_hash`` and
``hash = SHA-256(prev_hash || canonical(record))``. Verification recomputes every chain.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit.models import AuditEvent
from vncomply.kit import clock
from vncomply.kit.principal import Principal

GENESIS = b"\x00" * 32
SEAL_LOCK = 0x5EA1  # advisory lock id: one sealer at a time
SEAL_BATCH = 5000


def columns(
    actor: Principal | None,
    action: str,
    resource_type: str,
    resource_id: object,
    platform_id: uuid.UUID | None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An audit row's column values. ``details`` must never hold plaintext PII.

    No actor (a worker) and the system actor (an operator command) are both recorded as the
    `system` actor, without a key; the system actor adds where it came from as ``details.via``."""
    details = dict(details or {})
    keyed = actor if actor is not None and not actor.is_system else None
    if actor is not None and actor.via is not None:
        details["via"] = actor.via
    return {
        "at": clock.now(),
        "actor_key_id": keyed.key_id if keyed else None,
        "actor_role": keyed.role.value if keyed else "system",
        "actor_platform_id": keyed.platform_id if keyed else None,
        "actor_authority_id": keyed.authority_id if keyed else None,
        "action": action,
        "resource_type": resource_type,
        "resource_id": str(resource_id),
        "platform_id": platform_id,
        "details": details,
    }


def record(
    session: AsyncSession,
    actor: Principal | None,
    action: str,
    resource_type: str,
    resource_id: object,
    platform_id: uuid.UUID | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an audit row (``columns``) to the caller's transaction; it is written at the flush. A
    statement that writes its own audit row in the same round trip (the identity upsert) uses
    ``columns`` directly."""
    session.add(AuditEvent(**columns(actor, action, resource_type, resource_id, platform_id, details)))


def canonical(row: AuditEvent) -> bytes:
    return orjson.dumps(
        [
            row.seq,
            row.at.isoformat(),
            str(row.actor_key_id) if row.actor_key_id else None,
            row.actor_role,
            str(row.actor_platform_id) if row.actor_platform_id else None,
            str(row.actor_authority_id) if row.actor_authority_id else None,
            row.action,
            row.resource_type,
            row.resource_id,
            str(row.platform_id) if row.platform_id else None,
            row.details,
            row.chain_seq,
        ],
        option=orjson.OPT_SORT_KEYS,
    )


def chain_hash(prev: bytes, row: AuditEvent) -> bytes:
    return hashlib.sha256(prev + canonical(row)).digest()


async def seal(session: AsyncSession, batch: int = SEAL_BATCH) -> int:
    """Chain up to ``batch`` unsealed rows. Returns how many were sealed."""
    got = (await session.execute(text("select pg_try_advisory_xact_lock(:k)"), {"k": SEAL_LOCK})).scalar()
    if not got:
        return 0
    rows = (
        await session.scalars(
            select(AuditEvent).where(AuditEvent.hash.is_(None)).order_by(AuditEvent.seq).limit(batch)
        )
    ).all()
    heads: dict[uuid.UUID | None, tuple[int, bytes]] = {}
    for row in rows:
        if row.platform_id not in heads:
            last = (
                await session.execute(
                    select(AuditEvent.chain_seq, AuditEvent.hash)
                    .where(
                        AuditEvent.platform_id.is_(None)
                        if row.platform_id is None
                        else AuditEvent.platform_id == row.platform_id,
                        AuditEvent.hash.is_not(None),
                    )
                    .order_by(AuditEvent.chain_seq.desc())
                    .limit(1)
                )
            ).first()
            heads[row.platform_id] = (last[0], last[1]) if last else (0, GENESIS)
        n, prev = heads[row.platform_id]
        row.chain_seq = n + 1
        row.prev_hash = prev
        row.hash = chain_hash(prev, row)
        heads[row.platform_id] = (n + 1, row.hash)
    await session.flush()
    return len(rows)


VERIFY_LIMIT = 10_000  # rows per call by default
VERIFY_MAX = 50_000


@dataclass
class Verification:
    ok: bool
    checked: int
    first_broken_seq: int | None
    unsealed: int
    # Where the next call continues: (chain, last chain_seq checked); None when every chain is done.
    resume: tuple[uuid.UUID | None, int] | None = None


def _chain(platform_id: uuid.UUID | None) -> Any:
    return AuditEvent.platform_id.is_(None) if platform_id is None else AuditEvent.platform_id == platform_id


async def _next_chain(session: AsyncSession, after: uuid.UUID | None, first: bool) -> uuid.UUID | bool | None:
    """The chain after ``after`` in verification order (the platform-less chain first, then by
    platform id); False when there is none."""
    if first and await session.scalar(select(AuditEvent.seq).where(_chain(None)).limit(1)) is not None:
        return None
    # ORDER BY … LIMIT 1, not min(): PostgreSQL has no min(uuid); this walks the chain index.
    stmt = select(AuditEvent.platform_id).where(AuditEvent.platform_id.is_not(None))
    if after is not None:
        stmt = stmt.where(AuditEvent.platform_id > after)
    found = await session.scalar(stmt.order_by(AuditEvent.platform_id).limit(1))
    return found if found is not None else False


async def verify(
    session: AsyncSession,
    platform_id: uuid.UUID | None,
    everything: bool,
    *,
    resume: tuple[uuid.UUID | None, int] | None = None,
    limit: int = VERIFY_LIMIT,
) -> Verification:
    """Recompute at most ``limit`` sealed rows of the chain(s), in chain order: one platform's
    chain, or every chain when ``everything`` (admin). ``resume`` (from the previous answer)
    continues after the last row checked; each row's link to the one before it is checked across
    calls, so walking every page verifies the whole chain with bounded work per request."""
    chain: uuid.UUID | bool | None
    if resume is not None:
        chain, after = resume
    elif everything:
        chain, after = await _next_chain(session, None, first=True), 0
    else:
        chain, after = platform_id, 0
    checked = 0
    broken: int | None = None
    while chain is not False and checked < limit:
        assert not isinstance(chain, bool)
        prev = GENESIS
        if after:
            found = await session.scalar(
                select(AuditEvent.hash).where(_chain(chain), AuditEvent.chain_seq == after)
            )
            prev = found or b""  # a missing predecessor breaks the first row below
        rows = (
            await session.scalars(
                select(AuditEvent)
                .where(_chain(chain), AuditEvent.chain_seq > after)
                .order_by(AuditEvent.chain_seq)
                .limit(limit - checked)
            )
        ).all()
        for row in rows:
            bad = row.chain_seq != after + 1 or row.prev_hash != prev or row.hash != chain_hash(prev, row)
            if bad and (broken is None or row.seq < broken):
                broken = row.seq
            after, prev = int(row.chain_seq or 0), row.hash or GENESIS
        checked += len(rows)
        if checked >= limit:
            break
        if not everything:
            chain = False
            break
        chain, after = await _next_chain(session, chain, first=False), 0
    unsealed_q = select(func.count()).select_from(AuditEvent).where(AuditEvent.hash.is_(None))
    if not everything:
        unsealed_q = unsealed_q.where(AuditEvent.platform_id == platform_id)
    unsealed = (await session.execute(unsealed_q)).scalar_one()
    more = chain is not False and checked >= limit
    return Verification(
        ok=broken is None,
        checked=checked,
        first_broken_seq=broken,
        unsealed=unsealed,
        resume=(chain, after) if more and not isinstance(chain, bool) else None,
    )


async def list_events(
    session: AsyncSession,
    platform_id: uuid.UUID | None,
    everything: bool,
    *,
    resource_type: str | None,
    resource_id: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    after_seq: int | None,
    limit: int,
) -> list[AuditEvent]:
    conds = []
    if not everything:
        conds.append(AuditEvent.platform_id == platform_id)
    if resource_type:
        conds.append(AuditEvent.resource_type == resource_type)
    if resource_id:
        conds.append(AuditEvent.resource_id == resource_id)
    if action:
        conds.append(AuditEvent.action == action)
    if since:
        conds.append(AuditEvent.at >= since)
    if until:
        conds.append(AuditEvent.at < until)
    if after_seq is not None:
        conds.append(AuditEvent.seq > after_seq)
    stmt = select(AuditEvent).where(*conds).order_by(AuditEvent.seq).limit(limit)
    return list((await session.scalars(stmt)).all())
