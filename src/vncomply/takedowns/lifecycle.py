"""The platform's answers to a takedown order: acknowledgement, item resolutions, completion.

State machine: ``open ──acknowledge──▶ acknowledged ──last item resolved──▶ completed`` (resolving
an item of an open order acknowledges it implicitly). A resolution is final for the platform; a
compliance officer may change it with a reason. The verdict is recorded on completion and kept
current through an officer's changes (``vncomply.takedowns.verdict``).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.blocks.service import record_violation, withdraw_violation
from vncomply.events.outbox import emit
from vncomply.kit import clock
from vncomply.kit.errors import Checks, IllegalTransition, NotFound
from vncomply.kit.principal import Principal, Role
from vncomply.kit.tenancy import get_scoped
from vncomply.takedowns import verdict
from vncomply.takedowns.enums import LOCKABLE_SUBJECTS, ItemStatus, OrderStatus, Outcome
from vncomply.takedowns.models import TakedownItem, TakedownOrder
from vncomply.takedowns.schemas import ResolutionIn
from vncomply.takedowns.service import WHAT, OrderView, items_of, view

# How far before receipt a platform may say it acted (content already gone when the order came).
MAX_ACTIONED_BEFORE_RECEIPT = timedelta(days=7)
# The blocks domain's subject type for the violations a removal records.
VIOLATION_SUBJECT = "account"


def _acknowledge(
    session: AsyncSession, actor: Principal, order: TakedownOrder, now: datetime, *, implicit: bool
) -> None:
    order.status = OrderStatus.acknowledged
    order.acknowledged_at = now
    audit.record(
        session,
        actor,
        "takedown.acknowledged",
        "takedown_order",
        order.id,
        order.platform_id,
        {"implicit": implicit},
    )


async def acknowledge(session: AsyncSession, actor: Principal, order_id: uuid.UUID) -> OrderView:
    order = await get_scoped(session, TakedownOrder, order_id, actor, WHAT, for_update=True)
    if order.status is not OrderStatus.open:
        raise IllegalTransition(
            f"This order is already {order.status}; only an open order can be acknowledged.",
            current_state=order.status,
        )
    _acknowledge(session, actor, order, clock.now(), implicit=False)
    await session.flush()
    return await view(session, order)


async def _record_violation(
    session: AsyncSession,
    actor: Principal,
    order: TakedownOrder,
    subject_type: str,
    subject_id: str,
) -> uuid.UUID:
    """A ministry-requested violation of one subject, in the caller's transaction; the blocks domain
    applies its lock rules to it there and then. It counts from the day the authority's request was
    received (Decree 147), not from when the platform acted."""
    v = await record_violation(
        session,
        platform_id=order.platform_id,
        subject_type=subject_type,
        subject_id=subject_id,
        authority_id=order.authority_id,
        reference_no=order.reference_no,
        category=order.category.value,
        occurred_at=order.received_at,
        actor=actor,
    )
    return v.id


async def _record_violations(
    session: AsyncSession, actor: Principal, order: TakedownOrder, item: TakedownItem
) -> None:
    """The account named, and a page, group or channel that is the item's subject."""
    if item.account_id and item.violation_id is None:
        item.violation_id = await _record_violation(session, actor, order, VIOLATION_SUBJECT, item.account_id)
    if item.subject_type in LOCKABLE_SUBJECTS and item.content_id and item.subject_violation_id is None:
        item.subject_violation_id = await _record_violation(
            session, actor, order, item.subject_type.value, item.content_id
        )


async def _withdraw_violations(session: AsyncSession, actor: Principal, item: TakedownItem, why: str) -> None:
    for vid in (item.violation_id, item.subject_violation_id):
        if vid is not None:
            await withdraw_violation(session, actor, vid, why)
    item.violation_id = item.subject_violation_id = None


def _check_resolution(
    actor: Principal, order: TakedownOrder, item: TakedownItem, body: ResolutionIn, now: datetime
) -> datetime:
    """The stated ``actioned_at``, or a 409 (a final resolution the caller may not change) or a 422
    listing every problem of the body."""
    if item.status is not ItemStatus.pending and actor.role is not Role.officer:
        raise IllegalTransition(
            f"This item is already resolved as {item.status}; a resolution is final. A compliance "
            "officer may change it, giving a `reason`.",
            current_state=item.status,
        )
    checks = Checks()
    actioned_at = body.actioned_at or now
    if actioned_at > now:
        checks.add("actioned_at", "`actioned_at` cannot be in the future")
    elif actioned_at < order.received_at - MAX_ACTIONED_BEFORE_RECEIPT:
        checks.add("actioned_at", "`actioned_at` is more than 7 days before the order was received")
    if body.outcome is Outcome.contested and not body.reason:
        checks.add("reason", "A contested item needs a `reason` (why the platform declines)", "missing")
    elif item.status is not ItemStatus.pending and not body.reason:
        checks.add("reason", "Changing a final resolution needs a `reason` (it is audited)", "missing")
    checks.raise_if_any()
    return actioned_at


async def resolve(
    session: AsyncSession,
    actor: Principal,
    order_id: uuid.UUID,
    item_id: uuid.UUID,
    body: ResolutionIn,
) -> OrderView:
    # The resolution is judged on its receipt: this instant, not the platform's actioned_at.
    now = clock.now()
    # The order row lock serialises resolutions of one order: the last one completes it exactly once.
    order = await get_scoped(session, TakedownOrder, order_id, actor, WHAT, for_update=True)
    item = (
        await session.scalars(
            select(TakedownItem)
            .where(TakedownItem.id == item_id, TakedownItem.order_id == order.id)
            .with_for_update()
        )
    ).first()
    if item is None:
        raise NotFound(f"No item {item_id} in takedown order {order_id}.")
    actioned_at = _check_resolution(actor, order, item, body, now)
    previous = item.status
    changing = previous is not ItemStatus.pending
    if order.status is OrderStatus.open:
        _acknowledge(session, actor, order, now, implicit=True)

    outcome = body.outcome
    item.status = ItemStatus(outcome.value)
    item.actioned_at = actioned_at
    item.resolved_at = now
    item.resolved_by_key_id = actor.key_id
    item.resolution_note = body.note
    item.evidence_url = body.evidence_url
    item.reason = body.reason
    if outcome.violation:
        await _record_violations(session, actor, order, item)
    else:
        # An officer corrected removed/restricted to not_found/contested: the violations it recorded
        # no longer stand and must not count toward a lock.
        await _withdraw_violations(
            session, actor, item, f"takedown resolution changed to {outcome}: {body.reason}"
        )
    details: dict[str, Any] = {
        "item_id": str(item.id),
        "outcome": outcome.value,
        "actioned_at": actioned_at.isoformat(),
        "reported_at": now.isoformat(),
    }
    if changing:
        details.update({"previous": previous.value, "reason": body.reason})
        audit.record(
            session,
            actor,
            "takedown.item.resolution_changed",
            "takedown_order",
            order.id,
            order.platform_id,
            details,
        )
    else:
        order.items_pending -= 1
        audit.record(
            session, actor, "takedown.item.resolved", "takedown_order", order.id, order.platform_id, details
        )
    await session.flush()

    items = await items_of(session, order.id)
    before = order.verdict
    after = verdict.record(order, items)
    if after is not None:
        if order.status is not OrderStatus.completed:
            await _complete(session, actor, order, now)
        elif before is not after:  # an officer's change moved the verdict; keep the trail
            audit.record(
                session,
                actor,
                "takedown.verdict_changed",
                "takedown_order",
                order.id,
                order.platform_id,
                {"from": before.value if before else None, "to": after.value, "on_time": order.on_time},
            )
    await session.flush()
    return OrderView(order, items)


async def _complete(session: AsyncSession, actor: Principal, order: TakedownOrder, now: datetime) -> None:
    """The last pending item was resolved (its verdict already recorded): close the clock."""
    assert order.verdict is not None
    order.status = OrderStatus.completed
    order.completed_at = now
    order.next_action_at = None
    audit.record(
        session,
        actor,
        "takedown.completed",
        "takedown_order",
        order.id,
        order.platform_id,
        {"verdict": order.verdict.value, "on_time": order.on_time, "items_backdated": order.items_backdated},
    )
    await emit(
        session,
        order.platform_id,
        "takedown.completed",
        {
            "order_id": str(order.id),
            "authority_id": str(order.authority_id),
            "reference_no": order.reference_no,
            "due_at": order.due_at.isoformat(),
            "completed_at": now.isoformat(),
            "verdict": order.verdict.value,
            "on_time": order.on_time,
            "breached_at": order.breached_at.isoformat() if order.breached_at else None,
            "items_total": order.items_total,
            "items_backdated": order.items_backdated,
        },
    )
