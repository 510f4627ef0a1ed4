"""The disclosure clock, run by the shared deadline engine (docs/deadlines.md).

One row carries one ``next_action_at``: the next reminder, the deadline itself, or the user-notice
time the officer set. ``fire_due`` is idempotent: it fires whatever is due as of ``now``, records it
on the row (so a second call fires nothing), and schedules the next action.

Reads never wait for it: ``is_overdue`` is computed from the clock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.deadlines.engine import register
from vncomply.disclosures.models import DisclosureRequest
from vncomply.disclosures.schemas import OPEN_STATUSES, RELEASED_STATUSES
from vncomply.events import outbox

HANDLER = "disclosures.clock"
# Warnings at these fractions of the statutory window (as for takedowns).
REMINDER_FRACTIONS: tuple[float, ...] = (0.5, 0.75, 0.9)
RESOURCE = "disclosure_request"


def is_overdue(req: DisclosureRequest, now: datetime) -> bool:
    return req.status in OPEN_STATUSES and req.due_at is not None and now >= req.due_at


def _reminder_at(req: DisclosureRequest, i: int) -> datetime:
    assert req.due_at is not None
    return req.received_at + (req.due_at - req.received_at) * REMINDER_FRACTIONS[i]


def next_action(req: DisclosureRequest) -> datetime | None:
    candidates: list[datetime] = []
    if req.status in OPEN_STATUSES and req.due_at is not None and req.breached_at is None:
        if req.reminders_sent < len(REMINDER_FRACTIONS):
            candidates.append(_reminder_at(req, req.reminders_sent))
        candidates.append(req.due_at)
    if (
        req.status in RELEASED_STATUSES
        and req.notify_user_after is not None
        and req.user_notice_sent_at is None
    ):
        candidates.append(req.notify_user_after)
    return min(candidates) if candidates else None


def _base(req: DisclosureRequest) -> dict[str, object]:
    return {
        "request_id": str(req.id),
        "reference_no": req.reference_no,
        "authority_id": str(req.authority_id),
        "urgency": req.urgency,
        "due_at": req.due_at.isoformat() if req.due_at else None,
    }


async def fire_due(session: AsyncSession, req: DisclosureRequest, now: datetime) -> None:
    """Apply every step due at ``now`` (at most one event of each kind) and reschedule."""
    if req.status in OPEN_STATUSES and req.due_at is not None and req.breached_at is None:
        if now >= req.due_at:
            req.breached_at = req.due_at
            req.reminders_sent = len(REMINDER_FRACTIONS)  # no warning after the breach
            audit.record(
                session, None, "disclosure.overdue", RESOURCE, req.id, req.platform_id,
                {"due_at": req.due_at.isoformat(), "status": req.status},
            )  # fmt: skip
            await outbox.emit(
                session, req.platform_id, "disclosure.overdue",
                {**_base(req), "breached_at": req.due_at.isoformat(), "status": req.status},
            )  # fmt: skip
        else:
            passed = [
                i for i in range(req.reminders_sent, len(REMINDER_FRACTIONS)) if now >= _reminder_at(req, i)
            ]
            if passed:
                # Several thresholds passed at once (a late sweep): one warning, for the latest.
                req.reminders_sent = passed[-1] + 1
                remaining = int((req.due_at - now).total_seconds())
                audit.record(
                    session, None, "disclosure.deadline_approaching", RESOURCE, req.id,
                    req.platform_id, {"remaining_seconds": remaining,
                                      "threshold": REMINDER_FRACTIONS[passed[-1]]},
                )  # fmt: skip
                await outbox.emit(
                    session, req.platform_id, "disclosure.deadline_approaching",
                    {**_base(req), "remaining_seconds": remaining,
                     "threshold": REMINDER_FRACTIONS[passed[-1]]},
                )  # fmt: skip
    if (
        req.status in RELEASED_STATUSES
        and req.notify_user_after is not None
        and req.user_notice_sent_at is None
        and now >= req.notify_user_after
    ):
        req.user_notice_sent_at = now
        audit.record(
            session, None, "disclosure.user_notice_due", RESOURCE, req.id, req.platform_id,
            {"accounts": len(req.matched_account_ids)},
        )  # fmt: skip
        # The platform tells its users; it needs their (its own) account ids, never identity data.
        await outbox.emit(
            session, req.platform_id, "disclosure.user_notice_due",
            {**_base(req), "account_ids": list(req.matched_account_ids),
             "approved_fields": list(req.approved_fields or []),
             "notify_user_after": req.notify_user_after.isoformat()},
        )  # fmt: skip
    req.next_action_at = next_action(req)


register(HANDLER, DisclosureRequest, fire_due)
