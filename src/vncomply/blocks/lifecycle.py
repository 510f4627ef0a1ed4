"""A block's life: it starts (from the lock rules or an order), the platform confirms it applied
it, an officer or the ordering authority may lift it early; the clock does the rest
(vncomply.blocks.deadline)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.blocks.deadline import next_action
from vncomply.blocks.enums import BlockStatus
from vncomply.blocks.models import AccountBlock
from vncomply.blocks.records import RESOURCE, announce
from vncomply.blocks.status import status_at
from vncomply.kit import clock
from vncomply.kit.errors import IllegalTransition
from vncomply.kit.principal import Principal
from vncomply.kit.tenancy import get_scoped
from vncomply.rulebook import rules as rulebook

WHAT = "account block"


async def start_block(
    session: AsyncSession, actor: Principal | None, b: AccountBlock, start: datetime, rule: rulebook.Rule
) -> AccountBlock:
    """Start ``b`` at ``start`` (now, or an order's receipt) under ``rule``: a permanent lock has no
    end, a temporary one ends ``duration_days`` later (the CHECK constraint holds the two
    together), and the platform applies it within the rule's hours of ``start``."""
    b.starts_at = start
    b.apply_by = start + timedelta(hours=rule.params["apply_within_hours"])
    b.ends_at = None if b.permanent else start + timedelta(days=b.duration_days or 0)
    b.rule_id = rule.id
    b.next_action_at = next_action(b)
    session.add(b)
    await session.flush()
    await announce(
        session,
        actor,
        b,
        "block.started",
        {
            "origin": b.origin.value,
            "permanent": b.permanent,
            "duration_days": b.duration_days,
            "subject_type": b.subject_type.value,
            "subject_id": b.subject_id,
            # How an order arrived; the audit record's actor is the key that recorded it.
            "channel": b.channel.value if b.channel else None,
        },
    )
    return b


async def confirm_applied(session: AsyncSession, actor: Principal, block_id: uuid.UUID) -> AccountBlock:
    b = await get_scoped(session, AccountBlock, block_id, actor, WHAT, for_update=True)
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
    b.next_action_at = next_action(b)
    audit.record(session, actor, "block.applied", RESOURCE, b.id, b.platform_id, {"late": now > b.apply_by})
    await session.flush()
    return b


async def lift(session: AsyncSession, actor: Principal, block_id: uuid.UUID, reason: str) -> AccountBlock:
    """An officer of the block's platform, or the authority that ordered it, lifts it early. The
    block keeps its ``ends_at`` (and so its kind): lifting ends it by ``lifted_at``."""
    b = await get_scoped(session, AccountBlock, block_id, actor, WHAT, for_update=True)
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
    if b.review_requested_at is not None and b.review_closed_at is None:
        b.review_closed_at = now  # lifting is the review's other outcome
    await session.flush()
    await announce(
        session,
        actor,
        b,
        "block.lifted",
        {"reason": reason},
        {"lifted_at": now.isoformat(), "reason": reason},
    )
    return b


async def keep_after_review(
    session: AsyncSession, actor: Principal, block_id: uuid.UUID, reason: str
) -> AccountBlock:
    """An officer reviewed a lock flagged because a violation it counted was withdrawn, and keeps it
    (the other outcome is ``lift``)."""
    b = await get_scoped(session, AccountBlock, block_id, actor, WHAT, for_update=True)
    if b.review_requested_at is None or b.review_closed_at is not None:
        raise IllegalTransition(
            f"Block {b.id} is not waiting for a review; only a lock flagged after a withdrawn "
            "violation is reviewed.",
            current_state="no_review_pending",
        )
    now = clock.now()
    b.review_closed_at = now
    await session.flush()
    audit.record(session, actor, "block.review_kept", RESOURCE, b.id, b.platform_id, {"reason": reason})
    return b


def needs_review(b: AccountBlock, now: datetime) -> bool:
    """Flagged for the officer's review, not yet reviewed, and still in force or to come."""
    return (
        b.review_requested_at is not None
        and b.review_closed_at is None
        and status_at(b, now) in (BlockStatus.active, BlockStatus.scheduled)
    )
