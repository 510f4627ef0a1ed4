"""Reports: the compliance and annual reports, frozen snapshots and the monthly freeze.

A report is generated in the caller's transaction from SQL aggregates (``figures``/``queries``) and
serialised once (``encode``); a snapshot stores exactly those bytes, with their SHA-256 and the audit
chain heads they were generated against, audited and announced in the same transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.events.outbox import emit
from vncomply.kit import clock
from vncomply.kit.clock import VN_TZ
from vncomply.kit.errors import InvalidInput, NotFound
from vncomply.kit.pagination import created_id_after
from vncomply.kit.principal import Principal, Role
from vncomply.platforms import service as platforms
from vncomply.reports import figures
from vncomply.reports.enums import Kind
from vncomply.reports.models import ReportSnapshot
from vncomply.reports.queries import Window
from vncomply.reports.schemas import (
    AnnualReport,
    AuditChain,
    ComplianceReport,
    PeriodOut,
    PlatformRef,
    Service,
    SnapshotCreate,
    SnapshotOut,
)

# Beat's monthly freeze reads every platform as an admin would; its records name the system actor.
SYSTEM = Principal(uuid.UUID(int=0), Role.admin, None, None)
MAX_DAYS = 400
DEFAULT_DAYS = 30
# Reports cover Decree-era records; the bounds keep every Vietnam midnight representable.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(9998, 12, 31)


@dataclass(frozen=True, slots=True)
class Period:
    """Vietnam calendar days ``first`` to ``last``, both inclusive."""

    first: date
    last: date
    year: int | None = None

    @property
    def start(self) -> datetime:
        return vn_midnight(self.first)

    @property
    def end(self) -> datetime:
        return vn_midnight(self.last + timedelta(days=1))

    def out(self) -> PeriodOut:
        return PeriodOut(from_=self.first, to=self.last)


def vn_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=VN_TZ).astimezone(UTC)


def today_vn() -> date:
    return clock.now().astimezone(VN_TZ).date()


def _check_day(value: date | None, name: str) -> None:
    if value is not None and not FIRST_DAY <= value <= LAST_DAY:
        raise InvalidInput(
            f"`{name}` must be between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}", field=name
        )


def compliance_period(first: date | None, last: date | None) -> Period:
    _check_day(first, "from")
    _check_day(last, "to")
    last = last or today_vn()
    first = first or last - timedelta(days=DEFAULT_DAYS)
    if first > last:
        raise InvalidInput("`from` is after `to`; send a `from` on or before `to`", field="from")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(
            f"the period is {(last - first).days + 1} days; a report covers at most {MAX_DAYS} "
            "(use the annual report for a calendar year)",
            field="from",
        )
    return Period(first, last)


def annual_period(year: int) -> Period:
    if year > today_vn().year:
        raise InvalidInput(f"{year} has not started yet (Vietnam time); ask for {today_vn().year} or earlier")
    return Period(date(year, 1, 1), date(year, 12, 31), year)


async def build(
    session: AsyncSession, actor: Principal, platform_id: uuid.UUID, kind: Kind, period: Period
) -> ComplianceReport:
    """The report as of now; another tenant's platform id is a 404."""
    p = await platforms.get(session, actor, platform_id)
    now = clock.now()
    w = Window(p.id, period.start, period.end, now, now.astimezone(VN_TZ).date())
    common: dict[str, Any] = {
        "kind": kind,
        "platform": PlatformRef(id=p.id, name=p.name),
        "period": period.out(),
        "generated_at": now,
        "takedowns": await figures.takedowns(session, w, period.first, period.last),
        "blocks": await figures.blocks(session, w),
        "disclosures": await figures.disclosures(session, w),
        "identities": await figures.identities(session, w),
        "webhooks": await figures.webhooks(session, w),
        "audit_chain": await figures.audit_chain(session, p.id),
    }
    if kind is Kind.compliance:
        return ComplianceReport(**common)
    year_end = Window(p.id, period.start, min(period.end, now), now, w.today)
    return AnnualReport(
        **common,
        service=Service(
            legal_name=p.legal_name,
            contact_point=p.contact_point,
            monthly_vn_visits=p.monthly_vn_visits,
            stores_data_in_vn=p.stores_data_in_vn,
            in_scope_since=p.in_scope_since,
            contact_filed_at=p.contact_filed_at,
            accounts_by_method_at_year_end=await figures.accounts_at(session, year_end),
        ),
    )


def encode(report: ComplianceReport) -> bytes:
    """The one serialisation of a report: what is served as JSON and what a snapshot stores."""
    return orjson.dumps(report.model_dump(mode="json", by_alias=True))


def decode(body: bytes) -> dict[str, Any]:
    value: dict[str, Any] = orjson.loads(body)
    return value


# ---- snapshots -------------------------------------------------------------------------------


def snapshot_out(s: ReportSnapshot) -> SnapshotOut:
    return SnapshotOut(
        id=s.id,
        kind=Kind(s.kind),
        period=PeriodOut(from_=s.period_from, to=s.period_to),
        generated_at=s.generated_at,
        sha256=s.sha256,
        audit_chain=AuditChain.model_validate(s.audit_heads),
        scheduled=s.scheduled,
    )


def period_of(body: SnapshotCreate) -> Period:
    if body.kind is Kind.annual:
        assert body.year is not None  # the schema requires it
        return annual_period(body.year)
    return compliance_period(body.from_, body.to)


async def _store(
    session: AsyncSession,
    actor: Principal,
    platform_id: uuid.UUID,
    kind: Kind,
    period: Period,
    *,
    scheduled: bool,
) -> ReportSnapshot | None:
    """Generate, store and audit one snapshot. None: a scheduled one for that period exists."""
    report = await build(session, actor, platform_id, kind, period)
    body = encode(report)
    digest = hashlib.sha256(body).hexdigest()
    heads = report.audit_chain.model_dump(mode="json")
    snapshot_id = uuid.uuid4()
    stmt = insert(ReportSnapshot).values(
        id=snapshot_id,
        platform_id=platform_id,
        kind=kind.value,
        period_from=period.first,
        period_to=period.last,
        year=period.year,
        generated_at=report.generated_at,
        body=body,
        sha256=digest,
        audit_heads=heads,
        scheduled=scheduled,
        created_by_key_id=None if actor is SYSTEM else actor.key_id,
        created_at=clock.now(),
    )
    if scheduled:  # a second beat tick (or worker) for the same month stores nothing
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["platform_id", "kind", "period_from", "period_to"],
            index_where=text("scheduled"),  # the index predicate, as written in models
        )
    if (await session.execute(stmt.returning(ReportSnapshot.id))).first() is None:
        return None
    details = {
        "kind": kind.value,
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "sha256": digest,
        "audit_chain": heads,
        "scheduled": scheduled,
    }
    who = None if actor is SYSTEM else actor  # beat's snapshots are the system's
    audit.record(session, who, "report.snapshot_created", "report", snapshot_id, platform_id, details)
    await emit(session, platform_id, "report.snapshot_created", {"report_id": str(snapshot_id), **details})
    snapshot = await session.get(ReportSnapshot, snapshot_id)
    assert snapshot is not None
    return snapshot


async def create_snapshot(
    session: AsyncSession, actor: Principal, platform_id: uuid.UUID, body: SnapshotCreate
) -> ReportSnapshot:
    snapshot = await _store(session, actor, platform_id, body.kind, period_of(body), scheduled=False)
    assert snapshot is not None  # only scheduled snapshots can collide
    return snapshot


async def list_snapshots(
    session: AsyncSession, actor: Principal, platform_id: uuid.UUID, cursor: list[Any] | None, limit: int
) -> list[ReportSnapshot]:
    await platforms.get(session, actor, platform_id)  # another tenant's id: 404
    stmt = (
        select(ReportSnapshot)
        .where(ReportSnapshot.platform_id == platform_id)
        .order_by(ReportSnapshot.created_at, ReportSnapshot.id)
        .limit(limit)
    )
    if cursor:
        stmt = stmt.where(created_id_after(ReportSnapshot, cursor))
    return list((await session.scalars(stmt)).all())


async def get_snapshot(
    session: AsyncSession, actor: Principal, platform_id: uuid.UUID, report_id: uuid.UUID
) -> ReportSnapshot:
    await platforms.get(session, actor, platform_id)
    s = (
        await session.scalars(
            select(ReportSnapshot).where(
                ReportSnapshot.id == report_id, ReportSnapshot.platform_id == platform_id
            )
        )
    ).first()
    if s is None:
        raise NotFound(f"No report {report_id} for platform {platform_id} is visible to this key.")
    return s


# ---- the monthly freeze (beat) -----------------------------------------------------------------


def previous_month(today: date) -> Period:
    last = today.replace(day=1) - timedelta(days=1)
    return Period(last.replace(day=1), last)


async def platforms_due(session: AsyncSession, period: Period) -> list[uuid.UUID]:
    """Platforms in scope, registered before the month ended, without that month's frozen report."""
    frozen = set(
        (
            await session.scalars(
                select(ReportSnapshot.platform_id).where(
                    ReportSnapshot.scheduled.is_(True),
                    ReportSnapshot.kind == Kind.compliance.value,
                    ReportSnapshot.period_from == period.first,
                    ReportSnapshot.period_to == period.last,
                )
            )
        ).all()
    )
    return [p for p in await platforms.in_scope_ids(session, period.end) if p not in frozen]


async def freeze_month(session: AsyncSession, platform_id: uuid.UUID, period: Period) -> bool:
    snapshot = await _store(session, SYSTEM, platform_id, Kind.compliance, period, scheduled=True)
    return snapshot is not None
