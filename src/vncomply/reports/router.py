from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from vncomply.auth.deps import require
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.kit.db import ReadSessionDep, SessionDep
from vncomply.kit.docs import doc
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params
from vncomply.kit.principal import Principal, Role
from vncomply.kit.types import BoundedDate
from vncomply.reports import render, service
from vncomply.reports.enums import Format, Kind, Lang
from vncomply.reports.schemas import AnnualReport, ComplianceReport, SnapshotCreate, SnapshotOut

router = APIRouter(
    prefix="/v1/platforms/{platform_id}/reports", tags=["reports"], route_class=IdempotentRoute
)
Reader = Annotated[Principal, Depends(require(Role.admin, Role.officer))]
FormatQ = Annotated[Format, Query(description="json (the document), csv (one row per figure) or html")]
LangQ = Annotated[Lang, Query(description="labels and headings of csv/html: en or vi")]

# The page loads nothing and runs nothing: inline CSS and inline SVG only.
HTML_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
NO_PLATFORM = "No platform with this id is visible to this key."
REPORT_RULES = ("takedown.standard.v1", "takedown.emergency.v2", "lock.v1", "disclosure.standard.v2")
FORMATS: dict[int, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}},
        }
    }
}


def _respond(body: bytes, fmt: Format, lang: Lang, name: str) -> Response:
    """JSON is served as the stored bytes; CSV and HTML are rendered from them."""
    if fmt is Format.json:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        # RFC 9530: the receiver can check the bytes it got against the snapshot's sha256.
        return Response(body, media_type="application/json", headers={"Repr-Digest": f"sha-256=:{digest}:"})
    doc = service.decode(body)
    if fmt is Format.csv:
        return Response(
            render.to_csv(doc).encode(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        render.to_html(doc, lang).encode(),
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": HTML_POLICY, "X-Frame-Options": "DENY"},
    )


def _name(platform_id: uuid.UUID, period: service.Period, kind: Kind) -> str:
    return f"vncomply-{kind.value}-{platform_id}-{period.first.isoformat()}-{period.last.isoformat()}"


@router.get(
    "/compliance",
    response_model=ComplianceReport,
    **doc(
        summary="The compliance report for a period (Vietnam dates, both inclusive)",
        about="What the regulator asks about, for one platform and period (at most a year): "
        "takedowns (on time or late, judged on when each resolution reached vncomply; time to "
        "removal; backdated resolutions; contested), blocks, disclosures, verification coverage, "
        "webhooks, and the audit chains' heads. `format=json` (the document), `csv` (one row per "
        "figure) or `html` (printable, `lang=en` or `vi`).",
        rule=REPORT_RULES,
        next="Freeze it for the file with `POST /v1/platforms/{platform_id}/reports`: a frozen "
        "report never changes and carries its SHA-256.",
        errors={404: NO_PLATFORM},
        also=FORMATS,
    ),
)
async def compliance_report(
    platform_id: uuid.UUID,
    session: ReadSessionDep,
    actor: Reader,
    from_: Annotated[
        BoundedDate | None, Query(alias="from", description="default: 30 days before `to`")
    ] = None,
    to: Annotated[BoundedDate | None, Query(description="default: today in Vietnam")] = None,
    format: FormatQ = Format.json,
    lang: LangQ = Lang.en,
) -> Response:
    period = service.compliance_period(from_, to)
    report = await service.build(session, actor, platform_id, Kind.compliance, period)
    return _respond(service.encode(report), format, lang, _name(platform_id, period, Kind.compliance))


@router.get(
    "/annual",
    response_model=AnnualReport,
    **doc(
        summary="The annual report (Decree 147): a Vietnam calendar year, with the service profile",
        about="The compliance report for a calendar year (Vietnam time) plus the service profile "
        "(legal name, contact point, reach from Vietnam, accounts by verification method at year "
        "end). The official due date of the annual report was not found: see the rulebook.",
        rule=("filing.v1", *REPORT_RULES),
        next="Freeze it (`POST …/reports` with `kind` annual) and hand the frozen one over.",
        errors={404: NO_PLATFORM},
        also=FORMATS,
    ),
)
async def annual_report(
    platform_id: uuid.UUID,
    session: ReadSessionDep,
    actor: Reader,
    year: Annotated[int, Query(ge=2000, le=9999)],
    format: FormatQ = Format.json,
    lang: LangQ = Lang.en,
) -> Response:
    period = service.annual_period(year)
    report = await service.build(session, actor, platform_id, Kind.annual, period)
    return _respond(service.encode(report), format, lang, _name(platform_id, period, Kind.annual))


@router.post(
    "",
    status_code=201,
    response_model=SnapshotOut,
    **doc(
        summary="Freeze a report (stored byte for byte)",
        about='`{"kind": "compliance", "from": "2026-11-01", "to": "2026-11-30"}` or `{"kind": '
        '"annual", "year": 2026}`. The report is generated now and stored as it is, with its '
        "SHA-256 and the audit chains' heads; every month is also frozen by itself.",
        changes="Stores the report; audited and announced as `report.snapshot_created`.",
        next="Fetch it with `GET /v1/platforms/{platform_id}/reports/{report_id}` (check its "
        "`Repr-Digest` against `sha256`).",
        errors={404: NO_PLATFORM},
    ),
)
@idempotent
async def create_snapshot(
    platform_id: uuid.UUID, body: SnapshotCreate, session: SessionDep, actor: Reader
) -> SnapshotOut:
    return service.snapshot_out(await service.create_snapshot(session, actor, platform_id, body))


@router.get(
    "",
    response_model=Page[SnapshotOut],
    **doc(
        summary="Frozen reports (oldest first)",
        next="Fetch one with `GET /v1/platforms/{platform_id}/reports/{report_id}`.",
        errors={404: NO_PLATFORM},
    ),
)
async def list_snapshots(
    platform_id: uuid.UUID,
    session: SessionDep,
    actor: Reader,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[SnapshotOut]:
    rows = await service.list_snapshots(session, actor, platform_id, page.cursor, page.limit)
    nxt = (
        encode_cursor([rows[-1].created_at.isoformat(), str(rows[-1].id)])
        if len(rows) == page.limit
        else None
    )
    return Page(items=[service.snapshot_out(s) for s in rows], next_cursor=nxt)


@router.get(
    "/{report_id}",
    response_model=ComplianceReport | AnnualReport,
    **doc(
        summary="A frozen report: the stored JSON byte for byte, or its figures as csv/html",
        about="The JSON is the stored bytes (`Repr-Digest: sha-256=…` lets the receiver check them); "
        "CSV and HTML are rendered from them.",
        next="Hand it to the regulator; its `sha256` and audit chain heads let them check it later.",
        errors={404: "No report with this id for this platform is visible to this key."},
        also=FORMATS,
    ),
)
async def get_snapshot(
    platform_id: uuid.UUID,
    report_id: uuid.UUID,
    session: SessionDep,
    actor: Reader,
    format: FormatQ = Format.json,
    lang: LangQ = Lang.en,
) -> Response:
    s = await service.get_snapshot(session, actor, platform_id, report_id)
    period = service.Period(s.period_from, s.period_to)
    return _respond(s.body, format, lang, _name(platform_id, period, Kind(s.kind)))
