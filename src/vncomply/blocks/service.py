"""Violations, the Decree 147 lock rules and account blocks (docs/blocks.md).

Everything that touches one subject's violations or blocks first takes a transaction-level
advisory lock on (platform, subject type, subject id): two violations recorded at the same moment
are evaluated one after the other, so they create one block, not two.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, not_, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.authorities import service as authorities
from vncomply.authorities.models import Authority
from vncomply.blocks.models import AccountBlock, Violation
from vncomply.blocks.schemas import (
    BlockOrder,
    BlockOut,
    BlockStatus,
    Kind,
    Origin,
    SubjectType,
    ViolationCreate,
    ViolationOut,
)
from vncomply.blocks.status import active_clause, next_action_at, status_at
from vncomply.events import outbox
from vncomply.kit import clock, references
from vncomply.kit.errors import IllegalTransition, InvalidInput, NotFound
from vncomply.kit.pagination import time_id_cursor
from vncomply.kit.principal import Principal
from vncomply.kit.references import Created
from vncomply.kit.tenancy import get_scoped, scoped
from vncomply.platforms.models import Platform
from vncomply.rulebook import rules as rulebook

NATIONAL_SECURITY = "national_security"
# Advisory-lock namespace (two-int form, so it never meets the single-bigint locks elsewhere).
_LOCK_NS = 0x0B10C


async def _lock(session: AsyncSession, key: str) -> None:
    await session.execute(
        text("SELECT pg_advisory_xact_lock(CAST(:ns AS integer), hashtext(CAST(:k AS text)))"),
        {"ns": _LOCK_NS, "k": key},
    )


async def _lock_subject(
    session: AsyncSession, platform_id: uuid.UUID, subject_type: str, subject_id: str
) -> None:
    await _lock(session, f"subject:{platform_id}:{subject_type}:{subject_id}")


def _subject(model: Any, platform_id: uuid.UUID, subject_type: str, subject_id: str) -> Any:
    return (
        (model.platform_id == platform_id)
        & (model.subject_type == subject_type)
        & (model.subject_id == subject_id)
    )


async def _temporary_locks(
    session: AsyncSession, platform_id: uuid.UUID, subject_type: str, subject_id: str
) -> int:
    # Every temporary lock ever imposed counts, lifted early or not (docs/blocks.md).
    stmt = select(func.count()).where(
        _subject(AccountBlock, platform_id, subject_type, subject_id),
        AccountBlock.permanent.is_(False),
    )
    return int((await session.execute(stmt)).scalar_one())


async def _has_active_block(
    session: AsyncSession, platform_id: uuid.UUID, subject_type: str, subject_id: str, now: datetime
) -> bool:
    stmt = select(AccountBlock.id).where(
        _subject(AccountBlock, platform_id, subject_type, subject_id), active_clause(now)
    )
    return (await session.execute(stmt.limit(1))).first() is not None


def _event_data(b: AccountBlock) -> dict[str, Any]:
    return {
        "block_id": str(b.id),
        "subject_type": b.subject_type,
        "subject_id": b.subject_id,
        "origin": b.origin,
        "kind": Kind.permanent.value if b.permanent else Kind.temporary.value,
        "starts_at": b.starts_at.isoformat(),
        "ends_at": b.ends_at.isoformat() if b.ends_at else None,
        "apply_by": b.apply_by.isoformat(),
        "authority_id": str(b.authority_id) if b.authority_id else None,
        "reference_no": b.reference_no,
    }


async def _start_block(
    session: AsyncSession, actor: Principal | None, b: AccountBlock, now: datetime, rule: rulebook.Rule
) -> AccountBlock:
    b.starts_at = now
    b.apply_by = now + timedelta(hours=rule.params["apply_within_hours"])
    b.ends_at = None if b.permanent else now + timedelta(days=b.duration_days or 0)
    b.rule_id = rule.id
    b.next_action_at = next_action_at(b)
    session.add(b)
    await session.flush()
    audit.record(
        session,
        actor,
        "block.started",
        "account_block",
        b.id,
        b.platform_id,
        {
            "origin": b.origin,
            "permanent": b.permanent,
            "duration_days": b.duration_days,
            "subject_type": b.subject_type,
            "subject_id": b.subject_id,
        },
    )
    await outbox.emit(session, b.platform_id, "block.started", _event_data(b))
    return b


# -- violations and the lock rules ------------------------------------------------------------


async def record_violation(
    session: AsyncSession,
    *,
    platform_id: uuid.UUID,
    subject_type: str,
    subject_id: str,
    authority_id: uuid.UUID | None,
    reference_no: str,
    category: str,
    occurred_at: datetime,
    actor: Principal | None = None,
) -> Violation:
    """Record a ministry-requested violation and apply the lock rules in the caller's transaction.

    Returns the violation; ``consumed_by_block_id`` is set when it triggered a lock.
    """
    now = clock.now()
    if occurred_at.tzinfo is None:
        raise InvalidInput("`occurred_at` needs a timezone (send UTC, e.g. …Z)", field="occurred_at")
    if occurred_at > now:
        raise InvalidInput(
            f"`occurred_at` is in the future; send a time at or before {now.isoformat()}",
            field="occurred_at",
        )
    if subject_type not in SubjectType.__members__:
        raise InvalidInput(
            "`subject_type` must be one of account, page, group, channel", field="subject_type"
        )
    await _lock_subject(session, platform_id, subject_type, subject_id)
    v = Violation(
        id=uuid.uuid4(),
        platform_id=platform_id,
        subject_type=subject_type,
        subject_id=subject_id,
        authority_id=authority_id,
        reference_no=reference_no,
        category=category,
        occurred_at=occurred_at,
        recorded_at=now,
    )
    session.add(v)
    await session.flush()
    audit.record(
        session,
        actor,
        "violation.recorded",
        "violation",
        v.id,
        platform_id,
        {
            "subject_type": subject_type,
            "subject_id": subject_id,
            "category": category,
            "reference_no": reference_no,
        },
    )
    block = await evaluate_lock_rules(session, platform_id, subject_type, subject_id, now, actor)
    if block is not None:
        await session.refresh(v, ["consumed_by_block_id"])
    return v


async def evaluate_lock_rules(
    session: AsyncSession,
    platform_id: uuid.UUID,
    subject_type: str,
    subject_id: str,
    now: datetime,
    actor: Principal | None = None,
) -> AccountBlock | None:
    """Apply the lock rule in force at ``now`` to the subject; the caller holds the subject lock.

    Everything that varies by law (thresholds, lengths, consumption, the permanent step) comes
    from the rule's params, so switching to another profile is a rulebook change, not code.
    """
    if await _has_active_block(session, platform_id, subject_type, subject_id, now):
        return None  # already locked: violations accumulate toward the next lock
    rule = rulebook.in_force("lock", now)
    p = rule.params
    thresholds: list[dict[str, Any]] = p["thresholds"]
    base: list[ColumnElement[bool]] = [
        _subject(Violation, platform_id, subject_type, subject_id),
        Violation.occurred_at <= now,
        Violation.withdrawn_at.is_(None),
    ]
    if not p["count_consumed_violations"]:
        base.append(Violation.consumed_by_block_id.is_(None))
    counts = (
        await session.execute(
            select(
                *(
                    func.count().filter(Violation.occurred_at > now - timedelta(days=t["days"]))
                    for t in thresholds
                )
            ).where(*base)
        )
    ).one()
    met = [t for t, n in zip(thresholds, counts, strict=True) if n >= t["count"]]
    if not met:
        return None
    widest = max(met, key=lambda t: t["days"])
    before = await _temporary_locks(session, platform_id, subject_type, subject_id)
    permanent = before >= p["permanent_after_temporary"]
    days: int | None = None
    if not permanent:
        platform = await session.get(Platform, platform_id)
        if platform is None:
            raise NotFound(f"No platform with id {platform_id}.")
        lengths = platform.lock_days or p["default_days"]
        ceiling = min(t.get("max_days", p["max_days"]) for t in met)
        days = max(p["min_days"], min(lengths[min(before, len(lengths) - 1)], ceiling))
    b = AccountBlock(
        id=uuid.uuid4(),
        platform_id=platform_id,
        subject_type=subject_type,
        subject_id=subject_id,
        origin=Origin.rule.value,
        permanent=permanent,
        duration_days=days,
        temporary_lock_no=None if permanent else before + 1,
        trigger={
            "rule_id": rule.id,
            "counts": [
                {"count": t["count"], "days": t["days"], "found": int(n)}
                for t, n in zip(thresholds, counts, strict=True)
            ],
            "met": {"count": widest["count"], "days": widest["days"]},
            "temporary_locks_before": before,
        },
    )
    await _start_block(session, actor, b, now, rule)
    # The violations that triggered the lock are marked; with count_consumed_violations False
    # they no longer count toward the next one.
    await session.execute(
        update(Violation)
        .where(
            *base,
            Violation.consumed_by_block_id.is_(None),
            Violation.occurred_at > now - timedelta(days=widest["days"]),
        )
        .values(consumed_by_block_id=b.id)
        .execution_options(synchronize_session=False)
    )
    return b


async def withdraw_violation(
    session: AsyncSession, actor: Principal, violation_id: uuid.UUID, reason: str
) -> Violation | None:
    """Withdraw a violation in the caller's transaction: it stays on record and stops counting
    toward locks. A lock it already helped trigger stays in force (it was lawful when applied);
    the audit record names it so an officer can decide to lift it. Idempotent."""
    v = await session.get(Violation, violation_id)
    if v is None or v.withdrawn_at is not None:
        return v
    # The subject lock first, as record_violation takes it: the same order everywhere, no deadlock.
    await _lock_subject(session, v.platform_id, v.subject_type, v.subject_id)
    await session.refresh(v, with_for_update=True)
    if v.withdrawn_at is not None:
        return v
    v.withdrawn_at = clock.now()
    v.withdrawn_reason = reason
    audit.record(
        session,
        actor,
        "violation.withdrawn",
        "violation",
        v.id,
        v.platform_id,
        {
            "reason": reason,
            "counted_toward_block_id": str(v.consumed_by_block_id) if v.consumed_by_block_id else None,
        },
    )
    await session.flush()
    return v


async def record_manual_violation(
    session: AsyncSession, actor: Principal, body: ViolationCreate
) -> Violation:
    """An officer records a violation for an order handled outside vncomply."""
    if await session.get(Authority, body.authority_id) is None:
        raise InvalidInput(
            f"No authority with id {body.authority_id}; send the id of a registered authority",
            field="authority_id",
        )
    return await record_violation(
        session,
        platform_id=actor.require_platform(),
        subject_type=body.subject_type.value,
        subject_id=body.subject_id,
        authority_id=body.authority_id,
        reference_no=body.reference_no,
        category=body.category,
        occurred_at=body.occurred_at,
        actor=actor,
    )


async def list_violations(
    session: AsyncSession,
    actor: Principal,
    *,
    subject_type: str | None,
    subject_id: str | None,
    platform_id: uuid.UUID | None,
    cursor: list[Any] | None,
    limit: int,
) -> list[Violation]:
    stmt = scoped(select(Violation), Violation, actor)
    if subject_type is not None:
        stmt = stmt.where(Violation.subject_type == subject_type)
    if subject_id is not None:
        stmt = stmt.where(Violation.subject_id == subject_id)
    if platform_id is not None:
        stmt = stmt.where(Violation.platform_id == platform_id)
    if cursor:
        stmt = stmt.where(tuple_(Violation.occurred_at, Violation.id) > time_id_cursor(cursor))
    stmt = stmt.order_by(Violation.occurred_at, Violation.id).limit(limit)
    return list((await session.scalars(stmt)).all())


def violation_out(v: Violation) -> ViolationOut:
    return ViolationOut(
        id=v.id,
        platform_id=v.platform_id,
        subject_type=SubjectType(v.subject_type),
        subject_id=v.subject_id,
        authority_id=v.authority_id,
        reference_no=v.reference_no,
        category=v.category,
        occurred_at=v.occurred_at,
        recorded_at=v.recorded_at,
        consumed_by_block_id=v.consumed_by_block_id,
        withdrawn_at=v.withdrawn_at,
        withdrawn_reason=v.withdrawn_reason,
    )


# -- authority block orders -------------------------------------------------------------------


def _check_duration(body: BlockOrder, p: dict[str, Any]) -> None:
    legal = (
        f"a temporary lock lasts {p['min_days']}-{p['max_days']} days (Decree 147); send "
        f"`duration_days` in that range, or `permanent: true` for national-security content or a "
        f"subject with {p['permanent_after_temporary']} temporary locks"
    )
    if body.permanent and body.duration_days is not None:
        raise InvalidInput(
            f"send either `duration_days` or `permanent`, not both: {legal}", field="duration_days"
        )
    if not body.permanent and (
        body.duration_days is None or not p["min_days"] <= body.duration_days <= p["max_days"]
    ):
        raise InvalidInput(
            f"`duration_days` must be between {p['min_days']} and {p['max_days']}: {legal}",
            field="duration_days",
            extra={"min_days": p["min_days"], "max_days": p["max_days"]},
        )


async def order_block(session: AsyncSession, actor: Principal, body: BlockOrder) -> Created[AccountBlock]:
    """An authority's block order, unique per (authority, platform, reference number): a retry of
    the same order returns the existing block, other content under the number is a 409
    (``vncomply.kit.references``)."""
    authority_id = actor.require_authority()
    await authorities.addressable(session, authority_id, body.platform_id)
    now = clock.now()
    rule = rulebook.in_force("lock", now)
    _check_duration(body, rule.params)
    digest = references.fingerprint(body, authority_id=authority_id)
    ref = references.Reference(authority_id, body.platform_id, body.reference_no)
    prior = await references.claim(session, AccountBlock, ref, digest, "block order")
    if prior is not None:
        return Created(prior, created=False)
    await _lock_subject(session, body.platform_id, body.subject_type.value, body.subject_id)
    before = await _temporary_locks(session, body.platform_id, body.subject_type.value, body.subject_id)
    step = rule.params["permanent_after_temporary"]
    if body.permanent and body.category != NATIONAL_SECURITY and before < step:
        raise InvalidInput(
            f"a permanent lock needs category {NATIONAL_SECURITY} or a subject with {step} temporary "
            f"locks (this one has {before}); otherwise send `duration_days` between "
            f"{rule.params['min_days']} and {rule.params['max_days']} (Decree 147)",
            field="permanent",
        )
    b = AccountBlock(
        id=uuid.uuid4(),
        platform_id=body.platform_id,
        subject_type=body.subject_type.value,
        subject_id=body.subject_id,
        origin=Origin.order.value,
        permanent=body.permanent,
        duration_days=None if body.permanent else body.duration_days,
        temporary_lock_no=None if body.permanent else before + 1,
        authority_id=authority_id,
        reference_no=body.reference_no,
        category=body.category,
        reason=body.reason,
        legal_basis=body.legal_basis,
        payload_hash=digest,
    )
    return Created(await _start_block(session, actor, b, now, rule), created=True)


# -- lifecycle ----------------------------------------------------------------------------------


async def get_block(session: AsyncSession, actor: Principal, block_id: uuid.UUID) -> AccountBlock:
    return await get_scoped(session, AccountBlock, block_id, actor, "account block")


async def confirm_applied(session: AsyncSession, actor: Principal, block_id: uuid.UUID) -> AccountBlock:
    b = await get_scoped(session, AccountBlock, block_id, actor, "account block", for_update=True)
    if b.applied_at is not None:
        return b
    now = clock.now()
    state = status_at(b, now)
    if state in (BlockStatus.lifted, BlockStatus.expired):
        raise IllegalTransition(
            f"Block {b.id} is {state.value}; there is nothing left to apply.",
            current_state=state.value,
        )
    b.applied_at = now
    b.next_action_at = next_action_at(b)
    audit.record(
        session,
        actor,
        "block.applied",
        "account_block",
        b.id,
        b.platform_id,
        {"late": now > b.apply_by},
    )
    await session.flush()
    return b


async def lift(session: AsyncSession, actor: Principal, block_id: uuid.UUID, reason: str) -> AccountBlock:
    """An officer of the block's platform, or the authority that ordered it, lifts it early."""
    b = await get_scoped(session, AccountBlock, block_id, actor, "account block", for_update=True)
    now = clock.now()
    state = status_at(b, now)
    if state is not BlockStatus.active:
        raise IllegalTransition(
            f"Block {b.id} is {state.value}; only an active block can be lifted.",
            current_state=state.value,
        )
    b.lifted_at = now
    b.lift_reason = reason
    b.next_action_at = None
    audit.record(session, actor, "block.lifted", "account_block", b.id, b.platform_id, {"reason": reason})
    await session.flush()
    await outbox.emit(
        session,
        b.platform_id,
        "block.lifted",
        {**_event_data(b), "lifted_at": now.isoformat(), "reason": reason},
    )
    return b


async def advance(session: AsyncSession, b: AccountBlock, now: datetime) -> list[str]:
    """The sweep's idempotent transition for one claimed block: record what fell due by ``now``
    (apply overdue, expiry), emit each event once, set the next ``next_action_at``."""
    emitted: list[str] = []

    async def fired(name: str, details: dict[str, Any]) -> None:  # the system actor's record + event
        audit.record(session, None, name, "account_block", b.id, b.platform_id, details)
        await outbox.emit(session, b.platform_id, name, _event_data(b))
        emitted.append(name)

    if b.lifted_at is None:
        if b.applied_at is None and b.apply_overdue_at is None and now >= b.apply_by:
            b.apply_overdue_at = now
            await fired("block.apply_overdue", {"apply_by": b.apply_by.isoformat()})
        if not b.permanent and b.ends_at is not None and b.end_recorded_at is None and now >= b.ends_at:
            b.end_recorded_at = now
            await fired("block.ended", {"ends_at": b.ends_at.isoformat()})
    b.next_action_at = next_action_at(b)
    await session.flush()
    return emitted


# -- reads -------------------------------------------------------------------------------------


async def list_blocks(
    session: AsyncSession,
    actor: Principal,
    *,
    active: bool | None,
    subject_type: str | None,
    subject_id: str | None,
    origin: str | None,
    kind: str | None,
    platform_id: uuid.UUID | None,
    cursor: list[Any] | None,
    limit: int,
) -> list[AccountBlock]:
    now = clock.now()
    stmt = scoped(select(AccountBlock), AccountBlock, actor)
    if active is not None:
        stmt = stmt.where(active_clause(now) if active else not_(active_clause(now)))
    if subject_type is not None:
        stmt = stmt.where(AccountBlock.subject_type == subject_type)
    if subject_id is not None:
        stmt = stmt.where(AccountBlock.subject_id == subject_id)
    if origin is not None:
        stmt = stmt.where(AccountBlock.origin == origin)
    if kind is not None:
        stmt = stmt.where(AccountBlock.permanent.is_(kind == Kind.permanent.value))
    if platform_id is not None:
        stmt = stmt.where(AccountBlock.platform_id == platform_id)
    if cursor:
        stmt = stmt.where(tuple_(AccountBlock.created_at, AccountBlock.id) > time_id_cursor(cursor))
    stmt = stmt.order_by(AccountBlock.created_at, AccountBlock.id).limit(limit)
    return list((await session.scalars(stmt)).all())


def block_out(b: AccountBlock, now: datetime | None = None) -> BlockOut:
    now = now or clock.now()
    state = status_at(b, now)
    return BlockOut(
        id=b.id,
        platform_id=b.platform_id,
        subject_type=SubjectType(b.subject_type),
        subject_id=b.subject_id,
        origin=Origin(b.origin),
        kind=Kind.permanent if b.permanent else Kind.temporary,
        status=state,
        active=state is BlockStatus.active,
        starts_at=b.starts_at,
        ends_at=b.ends_at,
        duration_days=b.duration_days,
        apply_by=b.apply_by,
        applied_at=b.applied_at,
        apply_overdue=b.applied_at is None and state is not BlockStatus.lifted and now >= b.apply_by,
        lifted_at=b.lifted_at,
        lift_reason=b.lift_reason,
        authority_id=b.authority_id,
        reference_no=b.reference_no,
        category=b.category,
        reason=b.reason,
        legal_basis=b.legal_basis,
        rule_id=b.rule_id,
        temporary_lock_no=b.temporary_lock_no,
        trigger=b.trigger,
        created_at=b.created_at,
        updated_at=b.updated_at,
    )
