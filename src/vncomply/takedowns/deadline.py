"""The takedown clock as a deadline-engine handler: reminders at fractions of the window, then
overdue at ``due_at``. One idempotent step per call; stale reminders are skipped, never replayed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, and_, text
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.audit.batch import PendingAudit, record_many
from vncomply.deadlines import reminders
from vncomply.deadlines.engine import register
from vncomply.events.batch import PendingEvent, emit_many
from vncomply.events.outbox import emit
from vncomply.kit import clock
from vncomply.kit.db import json_rows
from vncomply.takedowns.enums import OrderStatus, Urgency
from vncomply.takedowns.models import TakedownOrder

HANDLER_NAME = "takedowns.clock"
# Fractions of the window (received_at → due_at) at which `takedown.deadline_approaching` fires.
# Orders remember how many reminders they have had (``reminders_sent``), not the fractions, so change
# this only with the fractions kept in ascending order.
REMINDER_FRACTIONS: tuple[float, ...] = (0.5, 0.75, 0.9)


@dataclass(slots=True)
class OrderClock:
    """What the clock reads and writes of an order. ``step`` works on this, so the per-row path (an
    ORM order) and the batch path (a claimed driver row: no ORM object to hydrate, track and flush)
    run the same rule."""

    id: uuid.UUID
    platform_id: uuid.UUID
    authority_id: uuid.UUID
    reference_no: str
    urgency: Urgency
    status: OrderStatus
    received_at: datetime
    due_at: datetime
    breached_at: datetime | None
    reminders_sent: int
    items_pending: int
    next_action_at: datetime | None

    @classmethod
    def of(cls, order: TakedownOrder) -> OrderClock:
        return cls(*(getattr(order, f) for f in CLOCK_COLUMNS))

    @classmethod
    def of_rows(cls, rows: Sequence[Any]) -> list[OrderClock]:
        """The engine's claimed rows (named tuples from the driver, enums as text), by position."""
        if not rows:
            return []
        names = list(rows[0]._fields)
        pick = itemgetter(*(names.index(f) for f in CLOCK_COLUMNS))
        out = [cls(*pick(r)) for r in rows]
        for o in out:
            o.urgency, o.status = _URGENCIES[o.urgency], _STATUSES[o.status]
        return out

    def write_to(self, order: TakedownOrder) -> None:
        order.breached_at = self.breached_at
        order.reminders_sent = self.reminders_sent
        order.next_action_at = self.next_action_at


# The columns the batch path claims (the engine's ``batch_columns``): no more than the step reads.
CLOCK_COLUMNS = tuple(f.name for f in fields(OrderClock))
# Text → member by dict lookup (a member finds itself too: a StrEnum member hashes as its value).
_URGENCIES: dict[str, Urgency] = {u.value: u for u in Urgency}
_STATUSES: dict[str, OrderStatus] = {s.value: s for s in OrderStatus}


def reminder_times(order: TakedownOrder | OrderClock) -> list[datetime]:
    return reminders.at_fractions(order.received_at, order.due_at, REMINDER_FRACTIONS)


def next_action(order: TakedownOrder | OrderClock) -> datetime | None:
    if order.status is OrderStatus.completed or order.breached_at is not None:
        return None
    return reminders.next_instant(reminder_times(order), order.reminders_sent, order.due_at)


def _event_base(order: OrderClock) -> dict[str, Any]:
    return {
        "order_id": str(order.id),
        "authority_id": str(order.authority_id),
        "reference_no": order.reference_no,
        "urgency": order.urgency.value,
        "due_at": order.due_at.isoformat(),
        "items_pending": order.items_pending,
    }


@dataclass(slots=True)
class Step:
    event: str
    data: dict[str, Any]
    audit_details: dict[str, Any]


def step(order: OrderClock, now: datetime, now_iso: str | None = None) -> Step | None:
    """Apply one step to ``order`` in memory; return what must be announced (None: nothing).
    ``now_iso`` is ``now.isoformat()`` when the caller has it (a batch formats it once)."""
    out: Step | None = None
    if order.status is not OrderStatus.completed and order.breached_at is None:
        fired = reminders.fire(reminder_times(order), order.reminders_sent, order.due_at, now)
        if fired is not None:
            order.reminders_sent = fired.sent
            data = _event_base(order)
            if fired.reminder is None:
                order.breached_at = order.due_at
                data["breached_at"] = data["due_at"]  # breached_at is due_at
                data["detected_at"] = now_iso or now.isoformat()
                out = Step("takedown.overdue", data, {"due_at": data["due_at"]})
            else:
                remaining, fraction = fired.remaining_seconds, REMINDER_FRACTIONS[fired.reminder]
                data["remaining_seconds"], data["fraction"] = remaining, fraction
                out = Step(
                    "takedown.deadline_approaching",
                    data,
                    {"fraction": fraction, "remaining_seconds": remaining},
                )
    order.next_action_at = next_action(order)
    return out


async def transition(session: AsyncSession, order: TakedownOrder, now: datetime) -> None:
    state = OrderClock.of(order)
    s = step(state, now)
    state.write_to(order)
    if s is not None:
        await emit(session, order.platform_id, s.event, s.data)
        audit.record(session, None, s.event, "takedown_order", order.id, order.platform_id, s.audit_details)


_BATCH_UPDATE = text(
    """
    UPDATE takedown_orders AS t
    SET breached_at = v.breached_at, reminders_sent = v.reminders_sent,
        next_action_at = v.next_action_at, updated_at = :now
    FROM jsonb_to_recordset(CAST(:rows AS jsonb))
         AS v(id uuid, breached_at timestamptz, reminders_sent int, next_action_at timestamptz)
    WHERE t.id = v.id
    """
)


async def transition_batch(
    session: AsyncSession, rows: Sequence[Any], now: datetime
) -> list[datetime | None]:
    """``transition`` for a whole claimed batch (driver rows, see ``engine.register``): four array
    statements instead of four round trips per order (see ``vncomply.events.batch`` and
    ``vncomply.audit.batch``). Returns the orders' new ``next_action_at``."""
    events: list[PendingEvent] = []
    audits: list[PendingAudit] = []
    orders = OrderClock.of_rows(rows)
    now_iso = now.isoformat()
    for order in orders:
        s = step(order, now, now_iso)
        if s is not None:
            events.append(PendingEvent(order.platform_id, s.event, s.data))
            audits.append(
                # the order id as the event already spells it (record_many stores str(resource_id))
                PendingAudit(
                    s.event, "takedown_order", s.data["order_id"], order.platform_id, s.audit_details
                )
            )
    await session.execute(
        _BATCH_UPDATE,
        {
            "now": clock.now(),
            "rows": json_rows(
                [
                    {
                        "id": o.id,
                        "breached_at": o.breached_at,
                        "reminders_sent": o.reminders_sent,
                        "next_action_at": o.next_action_at,
                    }
                    for o in orders
                ]
            ),
        },
    )
    await record_many(session, audits)
    await emit_many(session, events)
    return [o.next_action_at for o in orders]


def stuck(now: datetime) -> ColumnElement[bool]:
    return and_(
        TakedownOrder.status != OrderStatus.completed,
        TakedownOrder.breached_at.is_(None),
        TakedownOrder.next_action_at.is_(None),
    )


def lock_order(order: Any) -> tuple[int, int]:
    """The engine's default order (platform id, then id, as text) without formatting two UUIDs per
    row: a UUID's integer orders as its canonical text does."""
    return (order.platform_id.int, order.id.int)


handler = register(
    HANDLER_NAME,
    TakedownOrder,
    transition,
    stuck=stuck,
    lock_order=lock_order,
    transition_batch=transition_batch,
)
