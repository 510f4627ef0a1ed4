"""Filings as the API shows them: the list, the assessments an officer opens, and ``filed``.

The clocks are ``timing`` (pure) and ``deadline`` (the engine); the rows vncomply opens by itself
are ``calendar``'s. Services never commit: the request owns the transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.events.outbox import emit
from vncomply.filings import calendar, timing
from vncomply.filings.deadline import event_base
from vncomply.filings.enums import FilingKind, FilingStatus
from vncomply.filings.models import Filing
from vncomply.filings.schemas import FiledIn, FilingCreate, FilingOut, FilingRule
from vncomply.kit import clock
from vncomply.kit.errors import IllegalTransition, InvalidInput, NotFound
from vncomply.kit.pagination import by_deadline
from vncomply.kit.principal import Principal
from vncomply.platforms import service as platforms
from vncomply.platforms.models import Platform
from vncomply.rulebook import rules as rulebook

# How far ahead an assessment may be opened for a processing or transfer that has not started.
MAX_AHEAD = timedelta(days=366)


async def _filing(
    session: AsyncSession, actor: Principal, platform_id: uuid.UUID, filing_id: uuid.UUID
) -> tuple[Platform, Filing]:
    p = await platforms.get(session, actor, platform_id)  # another tenant's platform is a 404
    stmt = select(Filing).where(Filing.id == filing_id, Filing.platform_id == p.id).with_for_update()
    f = (await session.scalars(stmt)).first()
    if f is None:
        raise NotFound(f"No filing with id {filing_id} for platform {platform_id}.")
    return p, f


async def get(
    session: AsyncSession, actor: Principal, platform_id: uuid.UUID, filing_id: uuid.UUID
) -> Filing:
    p = await platforms.get(session, actor, platform_id)
    f = await session.scalar(select(Filing).where(Filing.id == filing_id, Filing.platform_id == p.id))
    if f is None:
        raise NotFound(f"No filing with id {filing_id} for platform {platform_id}.")
    return f


@dataclass
class ListFilters:
    kind: FilingKind | None = None
    status: FilingStatus | None = None
    overdue: bool | None = None
    due_before: datetime | None = None


async def list_filings(
    session: AsyncSession,
    actor: Principal,
    platform_id: uuid.UUID,
    f: ListFilters,
    cursor: list[Any] | None,
    limit: int,
) -> list[Filing]:
    p = await platforms.get(session, actor, platform_id)
    now = clock.now()
    stmt: Select[Any] = select(Filing).where(Filing.platform_id == p.id)
    if f.kind:
        stmt = stmt.where(Filing.kind == f.kind)
    if f.status:
        stmt = stmt.where(Filing.status == f.status)
    stmt = by_deadline(
        stmt, due_at=Filing.due_at, id_=Filing.id, settled=Filing.status == FilingStatus.filed,
        overdue=f.overdue, due_before=f.due_before, cursor=cursor, limit=limit, now=now,
    )  # fmt: skip
    return list((await session.scalars(stmt)).all())


async def create(
    session: AsyncSession, actor: Principal, platform_id: uuid.UUID, body: FilingCreate
) -> Filing:
    p = await platforms.get(session, actor, platform_id)
    now = clock.now()
    if body.starts_at > now + MAX_AHEAD:
        raise InvalidInput("`starts_at` can be at most a year ahead", field="starts_at")
    kind = FilingKind(body.kind)
    f = calendar.new_filing(
        p.id, kind, timing.assessment_due(kind, body.starts_at), now, actor, description=body.description
    )
    session.add(f)
    await session.flush()
    calendar.record_opened(session, actor, f)
    return f


async def mark_filed(
    session: AsyncSession, actor: Principal, platform_id: uuid.UUID, filing_id: uuid.UUID, body: FiledIn
) -> Filing:
    p, f = await _filing(session, actor, platform_id, filing_id)
    if f.status is FilingStatus.filed:
        assert f.filed_at is not None
        raise IllegalTransition(
            f"This filing was already recorded as filed (filed_at {f.filed_at.isoformat()}); a filing "
            "is filed once",
            current_state=f.status.value,
        )
    now = clock.now()
    if body.filed_at > now:
        raise InvalidInput("`filed_at` cannot be in the future", field="filed_at")
    if body.report_id is not None and f.kind is not FilingKind.annual_report:
        raise InvalidInput("`report_id` links a report snapshot to an annual_report only", field="report_id")
    f.status = FilingStatus.filed
    f.filed_at, f.reference, f.note, f.report_id = body.filed_at, body.reference, body.note, body.report_id
    f.filed_by_key_id, f.filed_recorded_at, f.updated_at = actor.key_id, now, now
    f.next_action_at = timing.next_action(f)
    if f.kind is FilingKind.contact_point:
        # Today's field, and still the permission check's input (livestream, monetise, …).
        p.contact_filed_at = body.filed_at
    await session.flush()
    late = body.filed_at >= f.due_at
    details = {
        "filed_at": body.filed_at.isoformat(),
        "reference": body.reference,
        "late": late,
        "report_id": str(body.report_id) if body.report_id else None,
    }
    audit.record(session, actor, "filing.filed", calendar.RESOURCE, f.id, f.platform_id, details)
    await emit(session, f.platform_id, "filing.filed", {**event_base(f), **details})
    return f


def to_out(f: Filing, now: datetime | None = None) -> FilingOut:
    now = now or clock.now()
    rule = rulebook.rule_by_id(f.rule_id)
    filed = f.status is FilingStatus.filed
    return FilingOut(
        id=f.id,
        platform_id=f.platform_id,
        kind=f.kind,
        period_year=f.period_year,
        description=f.description,
        starts_at=f.starts_at,
        due_at=f.due_at,
        rule=FilingRule(id=rule.id, days=rule.params.get("days"), confidence=rule.confidence),
        status=f.status,
        # Computed from the clock at read time: right even if no sweep has run (house rule 5).
        remaining_seconds=None if filed else int((f.due_at - now).total_seconds()),
        overdue=timing.is_overdue(f, now),
        overdue_at=f.overdue_at,
        filed_at=f.filed_at,
        filed_late=(f.filed_at >= f.due_at) if f.filed_at is not None else None,
        reference=f.reference,
        note=f.note,
        report_id=f.report_id,
        created_at=f.created_at,
        updated_at=f.updated_at,
    )
