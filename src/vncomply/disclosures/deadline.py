"""The disclosure clock, run by the shared deadline engine (docs/deadlines.md).

One row carries one ``next_action_at``: the next reminder, the deadline itself, or the user-notice
time the officer set. ``transition`` is idempotent: it fires whatever is due as of ``now``, records
it on the row (so a second call fires nothing), and schedules the next action.

Reads never wait for it: ``is_overdue`` is computed from the clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.deadlines import reminders
from vncomply.deadlines.engine import register
from vncomply.disclosures.enums import OPEN_STATUSES, RELEASED_STATUSES
from vncomply.disclosures.models import DisclosureRequest
from vncomply.events import outbox

HANDLER_NAME = "disclosures.clock"
# Warnings at these fractions of the statutory window (as for takedowns).
REMINDER_FRACTIONS: tuple[float, ...] = (0.5, 0.75, 0.9)
RESOURCE = "disclosure_request"


def is_overdue(req: DisclosureRequest, now: datetime) -> bool:
    return req.status in OPEN_STATUSES and req.due_at is not None and now >= req.due_at


def _reminder_times(req: DisclosureRequest) -> list[datetime]:
    assert req.due_at is not None
    return reminders.at_fractions(req.received_at, req.due_at, REMINDER_FRACTIONS)


def _clock_runs(req: DisclosureRequest) -> bool:
    return req.status in OPEN_STATUSES and req.due_at is not None and req.breached_at is None


def _notice_pending(req: DisclosureRequest) -> bool:
    return (
        req.status in RELEASED_STATUSES
        and req.notify_user_after is not None
        and req.user_notice_sent_at is None
    )


def next_action(req: DisclosureRequest) -> datetime | None:
    candidates: list[datetime] = []
    if _clock_runs(req):
        assert req.due_at is not None
        candidates.append(reminders.next_instant(_reminder_times(req), req.reminders_sent, req.due_at))
    if _notice_pending(req):
        assert req.notify_user_after is not None
        candidates.append(req.notify_user_after)
    return min(candidates) if candidates else None


def _base(req: DisclosureRequest) -> dict[str, Any]:
    return {
        "request_id": str(req.id),
        "reference_no": req.reference_no,
        "authority_id": str(req.authority_id),
        "urgency": req.urgency,
        "due_at": req.due_at.isoformat() if req.due_at else None,
    }


async def _announce(
    session: AsyncSession, req: DisclosureRequest, name: str, details: dict[str, Any], data: dict[str, Any]
) -> None:
    audit.record(session, None, name, RESOURCE, req.id, req.platform_id, details)
    await outbox.emit(session, req.platform_id, name, {**_base(req), **data})


async def transition(session: AsyncSession, req: DisclosureRequest, now: datetime) -> None:
    """Apply every step due at ``now`` (at most one event of each kind) and reschedule."""
    if _clock_runs(req):
        assert req.due_at is not None
        fired = reminders.fire(_reminder_times(req), req.reminders_sent, req.due_at, now)
        if fired is not None:
            req.reminders_sent = fired.sent
            if fired.reminder is None:
                req.breached_at = req.due_at
                await _announce(
                    session, req, "disclosure.overdue",
                    {"due_at": req.due_at.isoformat(), "status": req.status},
                    {"breached_at": req.due_at.isoformat(), "status": req.status},
                )  # fmt: skip
            else:
                warning = {
                    "remaining_seconds": fired.remaining_seconds,
                    "threshold": REMINDER_FRACTIONS[fired.reminder],
                }
                await _announce(session, req, "disclosure.deadline_approaching", warning, warning)
    if _notice_pending(req):
        assert req.notify_user_after is not None
        if now >= req.notify_user_after:
            req.user_notice_sent_at = now
            # The platform tells its users; it needs their (its own) account ids, never identity data.
            await _announce(
                session, req, "disclosure.user_notice_due",
                {"accounts": len(req.matched_account_ids)},
                {"account_ids": list(req.matched_account_ids),
                 "approved_fields": list(req.approved_fields or []),
                 "notify_user_after": req.notify_user_after.isoformat()},
            )  # fmt: skip
    req.next_action_at = next_action(req)


def stuck(now: datetime) -> ColumnElement[bool]:
    """Requests that should have a next action but lost it (backed by
    ix_disclosure_requests_unscheduled, normally empty)."""
    r = DisclosureRequest
    return and_(
        r.next_action_at.is_(None),
        or_(
            and_(r.status.in_(OPEN_STATUSES), r.due_at.is_not(None), r.breached_at.is_(None)),
            and_(
                r.status.in_(RELEASED_STATUSES),
                r.notify_user_after.is_not(None),
                r.user_notice_sent_at.is_(None),
            ),
        ),
    )


handler = register(HANDLER_NAME, DisclosureRequest, transition, stuck=stuck)
