"""The breach-notice clock on the deadline engine: ``breach.deadline_approaching`` at 50, 75 and 90 %
of the window (detected_at → due_at), ``breach.overdue`` at ``due_at``. One idempotent step per call;
stale reminders are skipped, never replayed (vncomply.deadlines.reminders)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.breaches.enums import BreachStatus
from vncomply.breaches.models import Breach
from vncomply.deadlines import reminders
from vncomply.deadlines.engine import register
from vncomply.events.outbox import emit

HANDLER_NAME = "breaches.clock"
REMINDER_FRACTIONS: tuple[float, ...] = (0.5, 0.75, 0.9)
RESOURCE = "breach"


def reminder_times(b: Breach) -> list[datetime]:
    return reminders.at_fractions(b.detected_at, b.due_at, REMINDER_FRACTIONS)


def next_action(b: Breach) -> datetime | None:
    if b.status is not BreachStatus.open or b.overdue_at is not None:
        return None
    return reminders.next_instant(reminder_times(b), b.reminders_sent, b.due_at)


def event_base(b: Breach) -> dict[str, Any]:
    return {
        "breach_id": str(b.id),
        "detected_at": b.detected_at.isoformat(),
        "due_at": b.due_at.isoformat(),
        "rule_id": b.rule_id,
    }


async def _announce(session: AsyncSession, b: Breach, event: str, data: dict[str, Any]) -> None:
    await emit(session, b.platform_id, event, data)
    details = {k: v for k, v in data.items() if k != "breach_id"}
    audit.record(session, None, event, RESOURCE, b.id, b.platform_id, details)


async def transition(session: AsyncSession, b: Breach, now: datetime) -> None:
    if b.status is BreachStatus.open and b.overdue_at is None:
        fired = reminders.fire(reminder_times(b), b.reminders_sent, b.due_at, now)
        if fired is not None:
            b.reminders_sent = fired.sent
            if fired.reminder is None:
                b.overdue_at = b.due_at
                data = {**event_base(b), "overdue_at": b.due_at.isoformat()}
                await _announce(session, b, "breach.overdue", data)
            else:
                data = {
                    **event_base(b),
                    "fraction": REMINDER_FRACTIONS[fired.reminder],
                    "remaining_seconds": fired.remaining_seconds,
                }
                await _announce(session, b, "breach.deadline_approaching", data)
    b.next_action_at = next_action(b)


def stuck(now: datetime) -> ColumnElement[bool]:
    """Open, not overdue, and no next action (backed by ix_breaches_stuck)."""
    return and_(
        Breach.status == BreachStatus.open,
        Breach.overdue_at.is_(None),
        Breach.next_action_at.is_(None),
    )


handler = register(HANDLER_NAME, Breach, transition, stuck=stuck)
