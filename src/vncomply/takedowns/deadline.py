"""The takedown clock as a deadline-engine handler: reminders at fractions of the window, then
overdue at ``due_at``. One idempotent step per call; stale reminders are skipped, never replayed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
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
from vncomply.takedowns.enums import OrderStatus
from vncomply.takedowns.models import TakedownOrder

HANDLER_NAME = "takedowns.clock"
# Fractions of the window (received_at → due_at) at which `takedown.deadline_approaching` fires.
# Orders remember how many reminders they have had (``reminders_sent``), not the fractions, so change
# this only with the fractions kept in ascending order.
REMINDER_FRACTIONS: tuple[float, ...] = (0.5, 0.75, 0.9)


def reminder_times(order: TakedownOrder) -> list[datetime]:
    return reminders.at_fractions(order.received_at, order.due_at, REMINDER_FRACTIONS)


def next_action(order: TakedownOrder) -> datetime | None:
    if order.status is OrderStatus.completed or order.breached_at is not None:
        return None
    return reminders.next_instant(reminder_times(order), order.reminders_sent, order.due_at)


def _event_base(order: TakedownOrder) -> dict[str, Any]:
    return {
        "order_id": str(order.id),
        "authority_id": str(order.authority_id),
        "reference_no": order.reference_no,
        "urgency": order.urgency.value,
        "due_at": order.due_at.isoformat(),
        "items_pending": order.items_pending,
    }


@dataclass
class Step:
    event: str
    data: dict[str, Any]
    audit_details: dict[str, Any]


def step(order: TakedownOrder, now: datetime) -> Step | None:
    """Apply one step to ``order`` in memory; return what must be announced (None: nothing)."""
    out: Step | None = None
    if order.status is not OrderStatus.completed:
        times = reminder_times(order)
        if order.breached_at is None and now >= order.due_at:
            order.breached_at = order.due_at
            order.reminders_sent = len(times)  # reminders for a passed deadline are moot
            data = {
                **_event_base(order),
                "breached_at": order.breached_at.isoformat(),
                "detected_at": now.isoformat(),
            }
            out = Step("takedown.overdue", data, {"due_at": data["due_at"]})
        else:
            k = reminders.latest_passed(times, order.reminders_sent, now)
            if k is not None:
                order.reminders_sent = k + 1
                remaining = int((order.due_at - now).total_seconds())
                fraction = REMINDER_FRACTIONS[k]
                data = {**_event_base(order), "remaining_seconds": remaining, "fraction": fraction}
                out = Step(
                    "takedown.deadline_approaching",
                    data,
                    {"fraction": fraction, "remaining_seconds": remaining},
                )
    order.next_action_at = next_action(order)
    return out


async def transition(session: AsyncSession, order: TakedownOrder, now: datetime) -> None:
    s = step(order, now)
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


async def transition_batch(session: AsyncSession, orders: Sequence[TakedownOrder], now: datetime) -> None:
    """``transition`` for a whole claimed batch: three array statements instead of four round trips
    per order (see ``vncomply.events.batch`` and ``vncomply.audit.batch``)."""
    events: list[PendingEvent] = []
    audits: list[PendingAudit] = []
    for order in orders:
        s = step(order, now)
        # The batch UPDATE below writes the new state; keep the unit of work from writing it again.
        session.expunge(order)
        if s is not None:
            events.append(PendingEvent(order.platform_id, s.event, s.data))
            audits.append(
                PendingAudit(s.event, "takedown_order", order.id, order.platform_id, s.audit_details)
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


def stuck(now: datetime) -> ColumnElement[bool]:
    return and_(
        TakedownOrder.status != OrderStatus.completed,
        TakedownOrder.breached_at.is_(None),
        TakedownOrder.next_action_at.is_(None),
    )


handler = register(HANDLER_NAME, TakedownOrder, transition, stuck=stuck, transition_batch=transition_batch)
