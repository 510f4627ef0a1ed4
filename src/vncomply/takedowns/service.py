"""Takedown orders as the API shows them: reads and serialisation.

The rest of the domain's logic, by what it does: ``intake`` records an order (and replays one
under the same reference number), ``lifecycle`` takes the platform's answers (acknowledgement,
resolutions, completion), ``verdict`` holds the statutory rule, ``deadline`` the clock. Services
never commit: the request owns the transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.kit import clock
from vncomply.kit.pagination import by_deadline
from vncomply.kit.principal import Principal
from vncomply.kit.tenancy import get_scoped, scoped
from vncomply.rulebook.schemas import RuleRef
from vncomply.takedowns import verdict
from vncomply.takedowns.enums import OrderStatus, Urgency
from vncomply.takedowns.models import TakedownItem, TakedownOrder
from vncomply.takedowns.schemas import ItemOut, OrderOut, OrderSummary

WHAT = "takedown order"


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order with its items, in position order."""

    order: TakedownOrder
    items: list[TakedownItem]


# ---- reads ---------------------------------------------------------------------------------


async def items_of(session: AsyncSession, order_id: uuid.UUID) -> list[TakedownItem]:
    stmt = select(TakedownItem).where(TakedownItem.order_id == order_id).order_by(TakedownItem.position)
    return list((await session.scalars(stmt)).all())


async def view(session: AsyncSession, order: TakedownOrder) -> OrderView:
    return OrderView(order, await items_of(session, order.id))


async def get(session: AsyncSession, actor: Principal, order_id: uuid.UUID) -> OrderView:
    return await view(session, await get_scoped(session, TakedownOrder, order_id, actor, WHAT))


@dataclass
class ListFilters:
    status: OrderStatus | None = None
    urgency: Urgency | None = None
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
    o = TakedownOrder
    stmt: Select[Any] = scoped(select(o), o, actor)
    if f.status:
        stmt = stmt.where(o.status == f.status)
    if f.urgency:
        stmt = stmt.where(o.urgency == f.urgency)
    if f.authority_id:
        stmt = stmt.where(o.authority_id == f.authority_id)
    if f.platform_id:
        stmt = stmt.where(o.platform_id == f.platform_id)
    stmt = by_deadline(
        stmt, due_at=o.due_at, id_=o.id, settled=o.status == OrderStatus.completed,
        overdue=f.overdue, due_before=f.due_before, cursor=cursor, limit=limit, now=now,
    )  # fmt: skip
    return list((await session.scalars(stmt)).all())


# ---- serialisation -------------------------------------------------------------------------


def _summary_fields(o: TakedownOrder, now: datetime) -> dict[str, Any]:
    done = o.status is OrderStatus.completed
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
        # Computed from the clock at read time: right even if no sweep has run (house rule 5).
        "remaining_seconds": None if done else int((o.due_at - now).total_seconds()),
        "overdue": (not done) and now >= o.due_at,
        "acknowledged_at": o.acknowledged_at,
        "completed_at": o.completed_at,
        "verdict": o.verdict,
        "on_time": o.on_time,
        "breached_at": o.breached_at,
        "items_total": o.items_total,
        "items_pending": o.items_pending,
        "items_backdated": o.items_backdated,
        "created_at": o.created_at,
    }


def to_summary(o: TakedownOrder, now: datetime | None = None) -> OrderSummary:
    return OrderSummary.model_validate(_summary_fields(o, now or clock.now()))


def _item_out(i: TakedownItem, due_at: datetime) -> ItemOut:
    return ItemOut(
        id=i.id,
        position=i.position,
        content_url=i.content_url,
        content_id=i.content_id,
        account_id=i.account_id,
        subject_type=i.subject_type,
        note=i.note,
        status=i.status,
        actioned_at=i.actioned_at,
        resolved_at=i.resolved_at,
        reported_late=verdict.reported_late(i, due_at),
        backdated=verdict.backdated(i, due_at),
        resolution_note=i.resolution_note,
        evidence_url=i.evidence_url,
        reason=i.reason,
    )


def to_out(v: OrderView, now: datetime | None = None) -> OrderOut:
    o = v.order
    return OrderOut.model_validate(
        {
            **_summary_fields(o, now or clock.now()),
            "legal_basis": o.legal_basis,
            "description": o.description,
            "items": [_item_out(i, o.due_at) for i in v.items],
        }
    )
