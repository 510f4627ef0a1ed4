"""Account blocks: authority block orders and reads (docs/blocks.md).

The rest of the domain: violations and the lock rules in ``vncomply.blocks.violations``, a block's
start / applied / lift in ``vncomply.blocks.lifecycle``, its clock in ``vncomply.blocks.deadline``,
and what "active" means in ``vncomply.blocks.status``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, not_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.authorities import receipt
from vncomply.blocks.enums import BlockStatus, Kind, Origin, SubjectType
from vncomply.blocks.lifecycle import WHAT, confirm_applied, keep_after_review, lift, needs_review
from vncomply.blocks.lifecycle import start_block as _start_block
from vncomply.blocks.models import AccountBlock
from vncomply.blocks.records import kind_of
from vncomply.blocks.schemas import BlockOrder, BlockOut
from vncomply.blocks.status import active_clause, status_at
from vncomply.blocks.subjects import lock_subject as _lock_subject
from vncomply.blocks.subjects import temporary_locks as _temporary_locks
from vncomply.blocks.violations import (
    evaluate_lock_rules,
    list_violations,
    record_manual_violation,
    record_violation,
    violation_out,
    withdraw_violation,
)
from vncomply.kit import clock, references
from vncomply.kit.errors import InvalidInput
from vncomply.kit.pagination import time_id_cursor
from vncomply.kit.principal import Principal
from vncomply.kit.references import Created
from vncomply.kit.tenancy import get_scoped, scoped
from vncomply.rulebook import rules as rulebook

# The domain's service surface in one place (routers and other domains import it from here).
__all__ = [
    "NATIONAL_SECURITY",
    "block_out",
    "confirm_applied",
    "evaluate_lock_rules",
    "get_block",
    "keep_after_review",
    "lift",
    "list_blocks",
    "list_violations",
    "order_block",
    "record_manual_violation",
    "record_violation",
    "violation_out",
    "withdraw_violation",
]

NATIONAL_SECURITY = "national_security"


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
    """A block order: from the authority's key, or recorded by an officer when it came by phone or
    in writing (``vncomply.authorities.receipt``; the block then runs from the order's receipt).
    Unique per (authority, platform, reference number): a retry of the same order returns the
    existing block, other content under the number is a 409 (``vncomply.kit.references``)."""
    now = clock.now()
    parties = await receipt.resolve(session, actor, now, body, what="block order")
    platform_id, authority_id = parties.platform_id, parties.authority_id
    rule = rulebook.in_force("lock", parties.received_at)
    _check_duration(body, rule.params)
    digest = references.fingerprint(body, platform_id=platform_id, authority_id=authority_id)
    ref = references.Reference(authority_id, platform_id, body.reference_no)
    prior = await references.claim(session, AccountBlock, ref, digest, "block order")
    if prior is not None:
        return Created(prior, created=False)
    await _lock_subject(session, platform_id, body.subject_type.value, body.subject_id)
    before = await _temporary_locks(session, platform_id, body.subject_type.value, body.subject_id)
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
        platform_id=platform_id,
        subject_type=body.subject_type.value,
        subject_id=body.subject_id,
        origin=Origin.order.value,
        permanent=body.permanent,
        duration_days=None if body.permanent else body.duration_days,
        temporary_lock_no=None if body.permanent else before + 1,
        authority_id=authority_id,
        reference_no=body.reference_no,
        channel=parties.channel,
        category=body.category,
        reason=body.reason,
        legal_basis=body.legal_basis,
        payload_hash=digest,
    )
    return Created(await _start_block(session, actor, b, parties.received_at, rule), created=True)


# -- reads -------------------------------------------------------------------------------------


async def get_block(session: AsyncSession, actor: Principal, block_id: uuid.UUID) -> AccountBlock:
    return await get_scoped(session, AccountBlock, block_id, actor, WHAT)


async def list_blocks(
    session: AsyncSession,
    actor: Principal,
    *,
    active: bool | None,
    subject_type: SubjectType | None,
    subject_id: str | None,
    origin: Origin | None,
    kind: Kind | None,
    platform_id: uuid.UUID | None,
    cursor: list[Any] | None,
    limit: int,
    needs_review: bool | None = None,
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
        stmt = stmt.where(AccountBlock.permanent.is_(kind is Kind.permanent))
    if platform_id is not None:
        stmt = stmt.where(AccountBlock.platform_id == platform_id)
    if needs_review is not None:
        flagged = and_(
            AccountBlock.review_requested_at.is_not(None),
            AccountBlock.review_closed_at.is_(None),
            # in force or to come (lifecycle.needs_review)
            AccountBlock.lifted_at.is_(None),
            or_(AccountBlock.ends_at.is_(None), AccountBlock.ends_at > now),
        )
        stmt = stmt.where(flagged if needs_review else not_(flagged))
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
        subject_type=b.subject_type,
        subject_id=b.subject_id,
        origin=b.origin,
        kind=kind_of(b),
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
        channel=b.channel,
        category=b.category,
        reason=b.reason,
        legal_basis=b.legal_basis,
        rule_id=b.rule_id,
        temporary_lock_no=b.temporary_lock_no,
        trigger=b.trigger,
        needs_review=needs_review(b, now),
        review_requested_at=b.review_requested_at,
        review_reason=b.review_reason,
        review_closed_at=b.review_closed_at,
        created_at=b.created_at,
        updated_at=b.updated_at,
    )
