"""Ministry-requested violations and the Decree 147 lock rules they feed (docs/blocks.md).

A violation is recorded under its subject's advisory lock (vncomply.blocks.subjects), then the lock
rule in force is evaluated in the same transaction; when it fires, a block starts.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.authorities.service import addressable
from vncomply.blocks.enums import BlockStatus, Origin, SubjectType
from vncomply.blocks.lifecycle import start_block
from vncomply.blocks.models import AccountBlock, Violation
from vncomply.blocks.records import announce
from vncomply.blocks.schemas import ViolationCreate, ViolationOut
from vncomply.blocks.status import status_at
from vncomply.blocks.subjects import has_active_block, lock_subject, of_subject, temporary_locks
from vncomply.kit import clock
from vncomply.kit.errors import InvalidInput, NotFound
from vncomply.kit.pagination import time_id_cursor
from vncomply.kit.principal import Principal
from vncomply.kit.tenancy import scoped
from vncomply.platforms.models import Platform
from vncomply.rulebook import rules as rulebook


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
    if subject_type not in SubjectType.__members__.values():
        raise InvalidInput(f"`subject_type` must be one of {', '.join(SubjectType)}", field="subject_type")
    await lock_subject(session, platform_id, subject_type, subject_id)
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
    if await has_active_block(session, platform_id, subject_type, subject_id, now):
        return None  # already locked: violations accumulate toward the next lock
    rule = rulebook.in_force("lock", now)
    p = rule.params
    thresholds: list[dict[str, Any]] = p["thresholds"]
    base: list[ColumnElement[bool]] = [
        of_subject(Violation, platform_id, subject_type, subject_id),
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
    before = await temporary_locks(session, platform_id, subject_type, subject_id)
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
        origin=Origin.rule,
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
    await start_block(session, actor, b, now, rule)
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
    await lock_subject(session, v.platform_id, v.subject_type, v.subject_id)
    await session.refresh(v, with_for_update=True)
    if v.withdrawn_at is not None:
        return v
    now = clock.now()
    v.withdrawn_at = now
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
    if v.consumed_by_block_id is not None:
        await _flag_for_review(session, actor, v, now)
    return v


async def _flag_for_review(
    session: AsyncSession, actor: Principal | None, v: Violation, now: datetime
) -> None:
    """The lock ``v`` counted toward is flagged for an officer: it stays in force (it was lawful
    when applied) until the officer lifts or keeps it. A lock already lifted or ended is left."""
    b = await session.get(AccountBlock, v.consumed_by_block_id, with_for_update=True)
    if b is None or status_at(b, now) not in (BlockStatus.active, BlockStatus.scheduled):
        return
    b.review_requested_at, b.review_closed_at = now, None
    b.review_reason = f"violation {v.id} ({v.reference_no}) withdrawn: {v.withdrawn_reason}"
    await session.flush()
    await announce(
        session,
        actor,
        b,
        "block.review_needed",
        {"violation_id": str(v.id), "reason": b.review_reason},
        {"violation_id": str(v.id), "review_requested_at": now.isoformat()},
    )


async def record_manual_violation(
    session: AsyncSession, actor: Principal, body: ViolationCreate
) -> Violation:
    """An officer records a violation for an order handled outside vncomply. The authority named
    must be one that may address this platform (the same check as for the authority's own orders):
    otherwise it could not have sent the order, and it is a 404 as there."""
    platform_id = actor.require_platform()
    await addressable(session, body.authority_id, platform_id)
    return await record_violation(
        session,
        platform_id=platform_id,
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
    subject_type: SubjectType | None,
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
        subject_type=v.subject_type,
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
