"""Takedown orders: creation (idempotent per authority + reference number), lifecycle, reads.

Services never commit: the request owns the transaction, so an order, its audit record, its
outbox event and any violation it records commit together or not at all.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Select, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.authorities.service import addressable
from vncomply.blocks.service import record_violation, withdraw_violation
from vncomply.events.outbox import emit
from vncomply.kit import clock
from vncomply.kit.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from vncomply.kit.pagination import time_id_cursor
from vncomply.kit.principal import Principal, Role
from vncomply.kit.tenancy import get_scoped, scoped
from vncomply.rulebook import rules as rulebook
from vncomply.rulebook.schemas import RuleRef
from vncomply.takedowns import deadline
from vncomply.takedowns.models import TakedownItem, TakedownOrder
from vncomply.takedowns.schemas import (
    Channel,
    ItemOut,
    OrderOut,
    OrderSummary,
    ResolutionIn,
    TakedownCreate,
)

MAX_BACKDATE = timedelta(days=7)
# How far before receipt a platform may say it acted (content already gone when the order came).
MAX_ACTIONED_BEFORE_RECEIPT = timedelta(days=7)
ACTIONED_OUTCOMES = frozenset({"removed", "restricted", "not_found"})
VIOLATION_OUTCOMES = frozenset({"removed", "restricted"})


# ---- serialisation -------------------------------------------------------------------------


def _summary_fields(o: TakedownOrder, now: datetime) -> dict[str, Any]:
    done = o.status == "completed"
    return {
        "id": o.id,
        "platform_id": o.platform_id,
        "authority_id": o.authority_id,
        "reference_no": o.reference_no,
        "channel": o.channel,
        "urgency": o.urgency,
        "category": o.category,
        "status": o.status,
        "issued_at": o.issued_at,
        "received_at": o.received_at,
        "due_at": o.due_at,
        "rule": RuleRef(id=o.rule_id, hours=o.rule_hours),
        # Computed from the clock at read time: right even if no sweep has run (DESIGN rule 5).
        "remaining_seconds": None if done else int((o.due_at - now).total_seconds()),
        "overdue": (not done) and now >= o.due_at,
        "acknowledged_at": o.acknowledged_at,
        "completed_at": o.completed_at,
        "on_time": o.on_time,
        "breached_at": o.breached_at,
        "items_total": o.items_total,
        "items_pending": o.items_pending,
        "created_at": o.created_at,
    }


def to_summary(o: TakedownOrder, now: datetime | None = None) -> OrderSummary:
    return OrderSummary.model_validate(_summary_fields(o, now or clock.now()))


def to_out(o: TakedownOrder, items: list[TakedownItem], now: datetime | None = None) -> OrderOut:
    return OrderOut.model_validate(
        {
            **_summary_fields(o, now or clock.now()),
            "legal_basis": o.legal_basis,
            "description": o.description,
            "items": [
                ItemOut.model_validate({k: getattr(i, k) for k in ItemOut.model_fields}) for i in items
            ],
        }
    )


# ---- creation ------------------------------------------------------------------------------


def payload_hash(body: TakedownCreate, platform_id: uuid.UUID, authority_id: uuid.UUID) -> str:
    """SHA-256 of the canonical payload (parsed, normalised, keys sorted, nulls dropped)."""
    data = body.model_dump(mode="json", exclude_none=True)
    data["platform_id"], data["authority_id"] = str(platform_id), str(authority_id)
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass
class Created:
    order: TakedownOrder
    items: list[TakedownItem]
    created: bool  # False: an identical earlier submission, returned as is


async def _resolve_parties(
    session: AsyncSession, actor: Principal, body: TakedownCreate, now: datetime
) -> tuple[uuid.UUID, uuid.UUID, datetime]:
    if actor.role is Role.authority:
        authority_id = actor.require_authority()
        if body.platform_id is None:
            raise InvalidInput(
                "`platform_id` is required: the platform this order is addressed to", field="platform_id"
            )
        if body.authority_id is not None and body.authority_id != authority_id:
            raise InvalidInput(
                "Authority keys submit orders in their own name; omit `authority_id`", field="authority_id"
            )
        if body.received_at is not None:
            raise InvalidInput(
                "`received_at` is set by vncomply on receipt; only an officer "
                "recording a phone or written order may send it",
                field="received_at",
            )
        await addressable(session, authority_id, body.platform_id)
        return body.platform_id, authority_id, now
    platform_id = actor.require_platform()
    if body.authority_id is None:
        raise InvalidInput(
            "`authority_id` is required: the authority that gave the order", field="authority_id"
        )
    if body.platform_id is not None and body.platform_id != platform_id:
        raise InvalidInput(
            "Officer keys record orders for their own platform; omit `platform_id`", field="platform_id"
        )
    if body.channel is Channel.electronic:
        raise InvalidInput(
            "Officers record orders received by `phone` or `written`; electronic "
            "orders are submitted with the authority's own key",
            field="channel",
        )
    received_at = body.received_at or now
    if received_at > now:
        raise InvalidInput("`received_at` cannot be in the future", field="received_at")
    if received_at < now - MAX_BACKDATE:
        raise InvalidInput("`received_at` can be at most 7 days back", field="received_at")
    await addressable(session, body.authority_id, platform_id)
    return platform_id, body.authority_id, received_at


async def _by_reference(
    session: AsyncSession, authority_id: uuid.UUID, reference_no: str
) -> TakedownOrder | None:
    stmt = select(TakedownOrder).where(
        TakedownOrder.authority_id == authority_id, TakedownOrder.reference_no == reference_no
    )
    return (await session.scalars(stmt)).first()


async def items_of(session: AsyncSession, order_id: uuid.UUID) -> list[TakedownItem]:
    stmt = select(TakedownItem).where(TakedownItem.order_id == order_id).order_by(TakedownItem.position)
    return list((await session.scalars(stmt)).all())


async def _replay(session: AsyncSession, existing: TakedownOrder, digest: str) -> Created:
    if existing.payload_hash != digest:
        raise Conflict(
            f"Reference number {existing.reference_no!r} was already used by this authority for a "
            "different order; send the original payload to fetch it, or use a new reference_no.",
        )
    return Created(existing, await items_of(session, existing.id), created=False)


async def create(session: AsyncSession, actor: Principal, body: TakedownCreate) -> Created:
    now = clock.now()
    platform_id, authority_id, received_at = await _resolve_parties(session, actor, body, now)
    if body.issued_at is not None and body.issued_at > received_at:
        raise InvalidInput("`issued_at` cannot be after the order was received", field="issued_at")
    digest = payload_hash(body, platform_id, authority_id)
    existing = await _by_reference(session, authority_id, body.reference_no)
    if existing is not None:
        return await _replay(session, existing, digest)

    rule, due_at = rulebook.deadline(f"takedown.{body.urgency.value}", received_at)
    if due_at is None:  # every takedown rule sets hours; guard a future rulebook mistake
        raise RuntimeError(f"rule {rule.id} sets no takedown deadline")
    order = TakedownOrder(
        id=uuid.uuid4(),
        platform_id=platform_id,
        authority_id=authority_id,
        reference_no=body.reference_no,
        payload_hash=digest,
        channel=body.channel.value,
        urgency=body.urgency.value,
        category=body.category.value,
        legal_basis=body.legal_basis,
        description=body.description,
        issued_at=body.issued_at,
        received_at=received_at,
        rule_id=rule.id,
        rule_hours=int(rule.params["hours"]),
        due_at=due_at,
        status="open",
        reminders_sent=0,
        items_total=len(body.items),
        items_pending=len(body.items),
        created_by_key_id=actor.key_id,
        created_at=now,
        updated_at=now,
    )
    order.next_action_at = deadline.next_action(order)
    items = [
        TakedownItem(
            id=uuid.uuid4(),
            order_id=order.id,
            position=n,
            content_url=i.content_url,
            content_id=i.content_id,
            account_id=i.account_id,
            subject_type=i.subject_type.value,
            note=i.note,
            status="pending",
            created_at=now,
            updated_at=now,
        )
        for n, i in enumerate(body.items)
    ]
    try:
        async with session.begin_nested():
            session.add(order)
            await session.flush()
            session.add_all(items)
            await session.flush()
    except IntegrityError:  # a concurrent submission with the same reference_no won
        existing = await _by_reference(session, authority_id, body.reference_no)
        if existing is None:
            raise
        return await _replay(session, existing, digest)

    audit.record(
        session,
        actor,
        "takedown.created",
        "takedown_order",
        order.id,
        platform_id,
        {
            "reference_no": order.reference_no,
            "authority_id": str(authority_id),
            "urgency": order.urgency,
            "rule_id": order.rule_id,
            "items": len(items),
            "channel": order.channel,
        },
    )
    await emit(
        session,
        platform_id,
        "takedown.received",
        {
            "order_id": str(order.id),
            "authority_id": str(authority_id),
            "reference_no": order.reference_no,
            "urgency": order.urgency,
            "category": order.category,
            "channel": order.channel,
            "received_at": received_at.isoformat(),
            "due_at": due_at.isoformat(),
            "rule": {"id": rule.id, "hours": order.rule_hours},
            "items": len(items),
        },
    )
    return Created(order, items, created=True)


# ---- reads ---------------------------------------------------------------------------------


async def get(session: AsyncSession, actor: Principal, order_id: uuid.UUID) -> Created:
    order = await get_scoped(session, TakedownOrder, order_id, actor, "takedown order")
    return Created(order, await items_of(session, order.id), created=False)


@dataclass
class ListFilters:
    status: str | None = None
    urgency: str | None = None
    overdue: bool | None = None
    due_before: datetime | None = None
    authority_id: uuid.UUID | None = None
    platform_id: uuid.UUID | None = None


async def list_orders(
    session: AsyncSession,
    actor: Principal,
    f: ListFilters,
    cursor: list[Any] | None,
    limit: int,
    now: datetime | None = None,
) -> list[TakedownOrder]:
    now = now or clock.now()
    stmt: Select[Any] = scoped(select(TakedownOrder), TakedownOrder, actor)
    if f.status:
        stmt = stmt.where(TakedownOrder.status == f.status)
    if f.urgency:
        stmt = stmt.where(TakedownOrder.urgency == f.urgency)
    if f.overdue is True:
        stmt = stmt.where(TakedownOrder.status != "completed", TakedownOrder.due_at <= now)
    elif f.overdue is False:
        stmt = stmt.where(or_(TakedownOrder.status == "completed", TakedownOrder.due_at > now))
    if f.due_before:
        stmt = stmt.where(TakedownOrder.due_at < f.due_before)
    if f.authority_id:
        stmt = stmt.where(TakedownOrder.authority_id == f.authority_id)
    if f.platform_id:
        stmt = stmt.where(TakedownOrder.platform_id == f.platform_id)
    if cursor:
        stmt = stmt.where(tuple_(TakedownOrder.due_at, TakedownOrder.id) > time_id_cursor(cursor))
    stmt = stmt.order_by(TakedownOrder.due_at, TakedownOrder.id).limit(limit)
    return list((await session.scalars(stmt)).all())


# ---- lifecycle -----------------------------------------------------------------------------


def _acknowledge(
    session: AsyncSession, actor: Principal, order: TakedownOrder, now: datetime, *, implicit: bool
) -> None:
    order.status = "acknowledged"
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


async def acknowledge(session: AsyncSession, actor: Principal, order_id: uuid.UUID) -> Created:
    order = await get_scoped(session, TakedownOrder, order_id, actor, "takedown order", for_update=True)
    if order.status != "open":
        raise IllegalTransition(
            f"This order is already {order.status}; only an open order can be acknowledged.",
            current_state=order.status,
        )
    _acknowledge(session, actor, order, clock.now(), implicit=False)
    await session.flush()
    return Created(order, await items_of(session, order.id), created=False)


async def _record_violation(
    session: AsyncSession, actor: Principal, order: TakedownOrder, item: TakedownItem
) -> uuid.UUID:
    """A ministry-requested violation for the item's account, in the caller's transaction; the
    blocks domain applies its lock rules to it there and then."""
    assert item.account_id is not None
    assert item.actioned_at is not None
    v = await record_violation(
        session,
        platform_id=order.platform_id,
        subject_type="account",
        subject_id=item.account_id,
        authority_id=order.authority_id,
        reference_no=order.reference_no,
        category=order.category,
        occurred_at=item.actioned_at,
        actor=actor,
    )
    return v.id


async def resolve(
    session: AsyncSession,
    actor: Principal,
    order_id: uuid.UUID,
    item_id: uuid.UUID,
    body: ResolutionIn,
) -> Created:
    now = clock.now()
    # The order row lock serialises resolutions of one order: the last one completes it exactly once.
    order = await get_scoped(session, TakedownOrder, order_id, actor, "takedown order", for_update=True)
    item = (
        await session.scalars(
            select(TakedownItem)
            .where(TakedownItem.id == item_id, TakedownItem.order_id == order.id)
            .with_for_update()
        )
    ).first()
    if item is None:
        raise NotFound(f"No item {item_id} in takedown order {order_id}.")
    actioned_at = body.actioned_at or now
    if actioned_at > now:
        raise InvalidInput("`actioned_at` cannot be in the future", field="actioned_at")
    if actioned_at < order.received_at - MAX_ACTIONED_BEFORE_RECEIPT:
        raise InvalidInput(
            "`actioned_at` is more than 7 days before the order was received", field="actioned_at"
        )
    if body.outcome.value == "contested" and not body.reason:
        raise InvalidInput("A contested item needs a `reason` (why the platform declines)", field="reason")
    previous = item.status
    changing = previous != "pending"
    if changing:
        if actor.role is not Role.officer:
            raise IllegalTransition(
                f"This item is already resolved as {previous}; a resolution is final. A compliance "
                "officer may change it, giving a `reason`.",
                current_state=previous,
            )
        if not body.reason:
            raise InvalidInput("Changing a final resolution needs a `reason` (it is audited)", field="reason")
    if order.status == "open":
        _acknowledge(session, actor, order, now, implicit=True)

    item.status = body.outcome.value
    item.actioned_at = actioned_at
    item.resolved_at = now
    item.resolved_by_key_id = actor.key_id
    item.resolution_note = body.note
    item.evidence_url = body.evidence_url
    item.reason = body.reason
    if item.status in VIOLATION_OUTCOMES and item.account_id and item.violation_id is None:
        item.violation_id = await _record_violation(session, actor, order, item)
    elif item.status not in VIOLATION_OUTCOMES and item.violation_id is not None:
        # An officer corrected removed/restricted to not_found/contested: the violation it recorded
        # no longer stands and must not count toward a lock.
        await withdraw_violation(
            session, actor, item.violation_id, f"takedown resolution changed to {item.status}: {body.reason}"
        )
        item.violation_id = None
    details: dict[str, Any] = {
        "item_id": str(item.id),
        "outcome": item.status,
        "actioned_at": actioned_at.isoformat(),
    }
    if changing:
        details.update({"previous": previous, "reason": body.reason})
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
    if order.items_pending == 0:
        on_time = all(
            i.actioned_at is not None and i.actioned_at <= order.due_at
            for i in items
            if i.status in ACTIONED_OUTCOMES
        )
        if order.status != "completed":
            await _complete(session, actor, order, now, on_time)
        elif order.on_time != on_time:  # an officer's change moved the verdict; keep the trail
            audit.record(
                session,
                actor,
                "takedown.on_time_changed",
                "takedown_order",
                order.id,
                order.platform_id,
                {"from": order.on_time, "to": on_time},
            )
            order.on_time = on_time
    await session.flush()
    return Created(order, items, created=False)


async def _complete(
    session: AsyncSession, actor: Principal, order: TakedownOrder, now: datetime, on_time: bool
) -> None:
    order.status = "completed"
    order.completed_at = now
    order.on_time = on_time
    order.next_action_at = None
    if not on_time and order.breached_at is None:
        order.breached_at = order.due_at
    audit.record(
        session,
        actor,
        "takedown.completed",
        "takedown_order",
        order.id,
        order.platform_id,
        {"on_time": on_time},
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
            "on_time": on_time,
            "items_total": order.items_total,
        },
    )
