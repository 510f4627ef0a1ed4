"""Opening filings: the ones vncomply opens by itself, and the row every filing starts as.

A platform that comes in scope gets its Form No. 10 contact-point filing — exactly once, ever (a
partial unique index backs it) — and the annual report on the current year; each annual report
opens the next year's when its year ends, while the platform is still in scope. ``platforms.service``
calls ``open_for_platform`` after every create and update; the deadline handler calls
``roll_over``. Nothing here commits.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.filings import timing
from vncomply.filings.enums import FilingKind, FilingStatus
from vncomply.filings.models import Filing
from vncomply.kit.clock import VN_TZ
from vncomply.kit.principal import Principal
from vncomply.platforms.models import Platform
from vncomply.platforms.scope import in_scope
from vncomply.rulebook.rules import Rule

RESOURCE = "filing"


def new_filing(
    platform_id: uuid.UUID,
    kind: FilingKind,
    timed: tuple[Rule, datetime, datetime],
    now: datetime,
    actor: Principal | None,
    *,
    period_year: int | None = None,
    description: str | None = None,
) -> Filing:
    """A pending filing timed by ``timed`` = (rule, clock start, due_at), its next action set."""
    rule, start, due = timed
    f = Filing(
        id=uuid.uuid4(),
        platform_id=platform_id,
        kind=kind,
        period_year=period_year,
        description=description,
        starts_at=start,
        rule_id=rule.id,
        due_at=due,
        status=FilingStatus.pending,
        reminders_sent=0,
        created_by_key_id=actor.key_id if actor else None,
        created_at=now,
        updated_at=now,
    )
    f.next_action_at = timing.next_action(f)
    return f


def record_opened(session: AsyncSession, actor: Principal | None, f: Filing) -> None:
    audit.record(
        session, actor, "filing.opened", RESOURCE, f.id, f.platform_id,
        {"kind": f.kind.value, "period_year": f.period_year, "due_at": f.due_at.isoformat(),
         "rule_id": f.rule_id, "status": f.status.value},
    )  # fmt: skip


async def _insert_once(session: AsyncSession, actor: Principal | None, f: Filing) -> bool:
    """Insert ``f`` unless its platform already has that contact point or that year's report."""
    values = {c.key: getattr(f, c.key) for c in Filing.__table__.columns}
    res = await session.execute(insert(Filing).values(values).on_conflict_do_nothing().returning(Filing.id))
    if res.first() is None:
        return False
    record_opened(session, actor, f)
    return True


def annual_years(in_scope_since: date, now: datetime) -> list[int]:
    """The years whose annual report a platform coming in scope at ``now`` owes: the current year,
    and the last one if it was in scope then and its report is not yet due. Years whose report was
    due before vncomply knew the platform are not opened (docs/filings.md)."""
    current = timing.year_of(now)
    if in_scope_since.year > current:  # in scope from a later year: its first year
        return [in_scope_since.year]
    return [
        y for y in (current - 1, current) if y >= in_scope_since.year and timing.annual_report_due(y)[2] > now
    ]


async def open_for_platform(
    session: AsyncSession, actor: Principal | None, p: Platform, now: datetime
) -> None:
    """Open what a platform in scope owes and has not got yet (idempotent)."""
    if not in_scope(p, now):
        return
    if p.in_scope_since is None:
        # In scope without a date: vncomply records the day it saw it (an admin may correct it,
        # which re-times a pending contact filing).
        p.in_scope_since = now.astimezone(VN_TZ).date()
    contact = new_filing(
        p.id, FilingKind.contact_point, timing.contact_point_due(p.in_scope_since), now, actor
    )
    if p.contact_filed_at is not None:  # registered as already filed
        contact.status = FilingStatus.filed
        contact.filed_at = p.contact_filed_at
        contact.filed_recorded_at = now
        contact.note = "filed before registration with vncomply (the platform's contact_filed_at)"
        contact.next_action_at = timing.next_action(contact)
    await _insert_once(session, actor, contact)
    for year in annual_years(p.in_scope_since, now):
        annual = new_filing(
            p.id, FilingKind.annual_report, timing.annual_report_due(year), now, actor, period_year=year
        )
        await _insert_once(session, actor, annual)


async def retime_contact(session: AsyncSession, actor: Principal, p: Platform, now: datetime) -> None:
    """A corrected ``in_scope_since`` moves a pending contact filing's clock (a fact changed, not the
    law: the rule is the one in force at the new start). One already found overdue keeps its
    record: the breach stands."""
    if p.in_scope_since is None:
        return
    stmt = (
        select(Filing)
        .where(Filing.platform_id == p.id, Filing.kind == FilingKind.contact_point)
        .with_for_update()
    )
    f = (await session.scalars(stmt)).first()
    if f is None or f.status is not FilingStatus.pending or f.overdue_at is not None:
        return
    rule, start, due = timing.contact_point_due(p.in_scope_since)
    if (start, due) == (f.starts_at, f.due_at):
        return
    before = f.due_at
    f.starts_at, f.due_at, f.rule_id = start, due, rule.id
    f.reminders_sent = 0  # reminders already passed fire once, for the latest (as after a late sweep)
    f.next_action_at = timing.next_action(f)
    audit.record(
        session, actor, "filing.retimed", RESOURCE, f.id, f.platform_id,
        {"due_at_before": before.isoformat(), "due_at": due.isoformat(), "rule_id": rule.id},
    )  # fmt: skip


async def roll_over(session: AsyncSession, f: Filing, now: datetime) -> None:
    """An annual report's year has ended: open the next year's while the platform is in scope."""
    assert f.period_year is not None
    f.rolled_over_at = now
    p = await session.get(Platform, f.platform_id)
    if p is None or not in_scope(p, now):
        return  # back in scope later, the platform update opens the year then
    nxt = f.period_year + 1
    annual = new_filing(
        f.platform_id, FilingKind.annual_report, timing.annual_report_due(nxt), now, None, period_year=nxt
    )
    await _insert_once(session, None, annual)
