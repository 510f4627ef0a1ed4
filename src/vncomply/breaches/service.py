"""Breaches: recording one (the clock from the rule in force at detection), the notice to A05, reads.
Services never commit: the request owns the transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.breaches import deadline
from vncomply.breaches.enums import BreachStatus
from vncomply.breaches.models import Breach
from vncomply.breaches.schemas import BreachCreate, BreachOut, BreachSummary, NotifiedIn
from vncomply.events.outbox import emit
from vncomply.kit import clock
from vncomply.kit.errors import Checks, IllegalTransition, InvalidInput
from vncomply.kit.pagination import by_deadline
from vncomply.kit.principal import Principal
from vncomply.kit.tenancy import get_scoped, scoped
from vncomply.rulebook import rules as rulebook
from vncomply.rulebook.schemas import RuleRef

WHAT = "breach"
TOPIC = "breach_notice"


async def create(session: AsyncSession, actor: Principal, body: BreachCreate) -> Breach:
    now = clock.now()
    checks = Checks()
    if body.detected_at > now:
        checks.add("detected_at", "`detected_at` cannot be in the future")
    if body.occurred_at is not None and body.occurred_at > body.detected_at:
        checks.add("occurred_at", "`occurred_at` cannot be after `detected_at`")
    checks.raise_if_any()
    try:
        rule, due_at = rulebook.deadline(TOPIC, body.detected_at)
    except LookupError:
        first = rulebook.first_in_force(TOPIC).effective_from
        raise InvalidInput(
            f"no breach-notice rule was in force before {first.isoformat()} (Decree 13/2023); "
            "`detected_at` is earlier",
            field="detected_at",
        ) from None
    assert due_at is not None  # every breach-notice rule sets hours
    b = Breach(
        id=uuid.uuid4(),
        platform_id=actor.require_platform(),
        detected_at=body.detected_at,
        occurred_at=body.occurred_at,
        description=body.description,
        data_categories=sorted({c.value for c in body.data_categories}),
        subjects_affected=None if body.subjects_affected == "unknown" else body.subjects_affected,
        measures=body.measures,
        rule_id=rule.id,
        rule_hours=int(rule.params["hours"]),
        due_at=due_at,
        status=BreachStatus.open,
        reminders_sent=0,
        created_by_key_id=actor.key_id,
        created_at=now,
        updated_at=now,
    )
    b.next_action_at = deadline.next_action(b)
    session.add(b)
    await session.flush()
    audit.record(
        session, actor, "breach.recorded", deadline.RESOURCE, b.id, b.platform_id,
        {"detected_at": b.detected_at.isoformat(), "due_at": due_at.isoformat(), "rule_id": rule.id,
         "data_categories": b.data_categories, "subjects_affected": b.subjects_affected},
    )  # fmt: skip
    return b


async def get(session: AsyncSession, actor: Principal, breach_id: uuid.UUID) -> Breach:
    return await get_scoped(session, Breach, breach_id, actor, WHAT)


async def notified(session: AsyncSession, actor: Principal, breach_id: uuid.UUID, body: NotifiedIn) -> Breach:
    b = await get_scoped(session, Breach, breach_id, actor, WHAT, for_update=True)
    if b.status is BreachStatus.notified:
        raise IllegalTransition(
            "The notice to A05 for this breach is already recorded; it is recorded once",
            current_state=b.status.value,
        )
    now = clock.now()
    checks = Checks()
    if body.notified_at > now:
        checks.add("notified_at", "`notified_at` cannot be in the future")
    elif body.notified_at < b.detected_at:
        checks.add("notified_at", "`notified_at` cannot be before the breach was detected")
    late = body.notified_at >= b.due_at
    if late and body.late_reason is None:
        checks.add(
            "late_reason",
            f"`late_reason` is required: the notice was due by {b.due_at.isoformat()} "
            f"({b.rule_hours} hours from detection, rule {b.rule_id}) and notified_at is after it",
            "missing",
        )
    checks.raise_if_any()
    b.status = BreachStatus.notified
    b.notified_at, b.notice_reference, b.late_reason = body.notified_at, body.reference, body.late_reason
    b.notified_by_key_id, b.notified_recorded_at, b.updated_at = actor.key_id, now, now
    b.next_action_at = deadline.next_action(b)
    await session.flush()
    details = {
        "notified_at": body.notified_at.isoformat(),
        "reference": body.reference,
        "late": late,
        "backdated": _backdated(b),
    }
    audit.record(session, actor, "breach.notified", deadline.RESOURCE, b.id, b.platform_id, details)
    await emit(session, b.platform_id, "breach.notified", {**deadline.event_base(b), **details})
    return b


@dataclass
class ListFilters:
    status: BreachStatus | None = None
    overdue: bool | None = None
    due_before: datetime | None = None
    detected_after: datetime | None = None
    platform_id: uuid.UUID | None = None


async def list_breaches(
    session: AsyncSession, actor: Principal, f: ListFilters, cursor: list[Any] | None, limit: int
) -> list[Breach]:
    now = clock.now()
    b = Breach
    stmt: Select[Any] = scoped(select(b), b, actor)
    if f.status:
        stmt = stmt.where(b.status == f.status)
    if f.detected_after:
        stmt = stmt.where(b.detected_at >= f.detected_after)
    if f.platform_id:
        stmt = stmt.where(b.platform_id == f.platform_id)
    stmt = by_deadline(
        stmt, due_at=b.due_at, id_=b.id, settled=b.status == BreachStatus.notified,
        overdue=f.overdue, due_before=f.due_before, cursor=cursor, limit=limit, now=now,
    )  # fmt: skip
    return list((await session.scalars(stmt)).all())


def _backdated(b: Breach) -> bool | None:
    if b.notified_at is None or b.notified_recorded_at is None:
        return None
    return b.notified_recorded_at >= b.due_at and b.notified_at < b.due_at


def _summary_fields(b: Breach, now: datetime) -> dict[str, Any]:
    open_ = b.status is BreachStatus.open
    return {
        "id": b.id,
        "platform_id": b.platform_id,
        "status": b.status,
        "detected_at": b.detected_at,
        "occurred_at": b.occurred_at,
        "data_categories": b.data_categories,
        "subjects_affected": "unknown" if b.subjects_affected is None else b.subjects_affected,
        "due_at": b.due_at,
        "rule": RuleRef(id=b.rule_id, hours=b.rule_hours),
        # Computed from the clock at read time: right even if no sweep has run (house rule 5).
        "remaining_seconds": int((b.due_at - now).total_seconds()) if open_ else None,
        "overdue": open_ and now >= b.due_at,
        "overdue_at": b.overdue_at,
        "notified_at": b.notified_at,
        "notified_late": None if b.notified_at is None else b.notified_at >= b.due_at,
        "backdated": _backdated(b),
        "created_at": b.created_at,
    }


def to_summary(b: Breach, now: datetime | None = None) -> BreachSummary:
    return BreachSummary.model_validate(_summary_fields(b, now or clock.now()))


def to_out(b: Breach, now: datetime | None = None) -> BreachOut:
    return BreachOut.model_validate(
        {
            **_summary_fields(b, now or clock.now()),
            "description": b.description,
            "measures": b.measures,
            "reference": b.notice_reference,
            "late_reason": b.late_reason,
            "updated_at": b.updated_at,
        }
    )
