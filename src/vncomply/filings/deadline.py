"""The filing clock on the deadline engine: ``filing.due_soon`` 30, 7 and 1 days before ``due_at``,
``filing.overdue`` at ``due_at``, and — for an annual report — the next year's filing opened when
its year ends. One idempotent step per call; stale reminders are skipped, never replayed (after a
late sweep, one reminder for the latest threshold passed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.deadlines import reminders
from vncomply.deadlines.engine import register
from vncomply.events.outbox import emit
from vncomply.filings import calendar, timing
from vncomply.filings.enums import FilingKind, FilingStatus
from vncomply.filings.models import Filing

HANDLER_NAME = "filings.clock"
next_action = timing.next_action  # the engine's shape: the row's next instant (pure, in timing)


def event_base(f: Filing) -> dict[str, Any]:
    return {
        "filing_id": str(f.id),
        "kind": f.kind.value,
        "period_year": f.period_year,
        "due_at": f.due_at.isoformat(),
        "rule_id": f.rule_id,
    }


async def _announce(session: AsyncSession, f: Filing, event: str, data: dict[str, Any]) -> None:
    await emit(session, f.platform_id, event, data)
    details = {k: v for k, v in data.items() if k not in ("filing_id", "kind")}
    audit.record(session, None, event, calendar.RESOURCE, f.id, f.platform_id, details)


async def transition(session: AsyncSession, f: Filing, now: datetime) -> None:
    if f.status is FilingStatus.pending and f.overdue_at is None:
        fired = reminders.fire(timing.reminder_times(f), f.reminders_sent, f.due_at, now)
        if fired is not None:
            f.reminders_sent = fired.sent
            if fired.reminder is None:
                f.overdue_at = f.due_at
                data = {**event_base(f), "overdue_at": f.due_at.isoformat()}
                await _announce(session, f, "filing.overdue", data)
            else:
                data = {
                    **event_base(f),
                    "days_before": timing.REMINDER_DAYS[fired.reminder],
                    "remaining_seconds": fired.remaining_seconds,
                }
                await _announce(session, f, "filing.due_soon", data)
    roll = timing.rollover_at(f)
    if roll is not None and f.rolled_over_at is None and now >= roll:
        await calendar.roll_over(session, f, now)
    f.next_action_at = next_action(f)


def stuck(now: datetime) -> ColumnElement[bool]:
    """Active rows without a next action (backed by ix_filings_stuck)."""
    return and_(
        Filing.next_action_at.is_(None),
        or_(
            and_(Filing.status == FilingStatus.pending, Filing.overdue_at.is_(None)),
            and_(Filing.kind == FilingKind.annual_report, Filing.rolled_over_at.is_(None)),
        ),
    )


handler = register(HANDLER_NAME, Filing, transition, stuck=stuck)
