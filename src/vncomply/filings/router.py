from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from vncomply.auth.deps import require
from vncomply.filings import service
from vncomply.filings.enums import FilingKind, FilingStatus
from vncomply.filings.schemas import FiledIn, FilingCreate, FilingOut
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.kit.db import SessionDep
from vncomply.kit.docs import doc
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params
from vncomply.kit.principal import Principal, Role
from vncomply.kit.types import ZonedDateTime

router = APIRouter(
    prefix="/v1/platforms/{platform_id}/filings", tags=["filings"], route_class=IdempotentRoute
)
Officer = Annotated[Principal, Depends(require(Role.officer, Role.admin))]


@router.get(
    "",
    response_model=Page[FilingOut],
    **doc(
        summary="What the platform must file, soonest due first",
        about="The contact point (Form No. 10, opened when the platform comes in scope), the annual "
        "reports, and the impact assessments (DPIA, transfer impact) the officers opened; each with "
        "`due_at` from the rule in force when its clock started. `overdue=true` for those past due.",
        rule=("filing.v1", "annual_report.v1", "dpia.v1", "transfer_impact.v1"),
        next="File what is due with the authority, then record it "
        "(`POST /v1/platforms/{platform_id}/filings/{filing_id}/filed`).",
        errors={404: "No platform with this id is visible to this key."},
    ),
)
async def list_filings(
    platform_id: uuid.UUID,
    session: SessionDep,
    actor: Officer,
    page: Annotated[PageParams, Depends(page_params)],
    kind: FilingKind | None = None,
    status: FilingStatus | None = None,
    overdue: Annotated[bool | None, Query(description="due_at passed and not filed")] = None,
    due_before: Annotated[ZonedDateTime | None, Query(description="due_at earlier than")] = None,
) -> Page[FilingOut]:
    filters = service.ListFilters(kind=kind, status=status, overdue=overdue, due_before=due_before)
    rows = await service.list_filings(session, actor, platform_id, filters, page.cursor, page.limit)
    nxt = encode_cursor([rows[-1].due_at.isoformat(), str(rows[-1].id)]) if len(rows) == page.limit else None
    return Page(items=[service.to_out(f) for f in rows], next_cursor=nxt)


@router.post(
    "",
    status_code=201,
    response_model=FilingOut,
    **doc(
        summary="Open an impact assessment filing",
        about="`dpia` or `transfer_impact`, due 60 days after `starts_at` by the rule in force then "
        "(PDPL 91/2025, Decree 356/2025). The contact point and the annual reports are opened by "
        "vncomply when the platform comes in scope.",
        changes="Opens the filing and its clock; audited as `filing.opened`; reminders follow as "
        "`filing.due_soon`, then `filing.overdue`.",
        rule=("dpia.v1", "transfer_impact.v1"),
        next="Prepare the dossier, file it with MPS (A05) before `due_at`, and record it as filed.",
        errors={404: "No platform with this id is visible to this key."},
    ),
)
@idempotent
async def create_filing(
    platform_id: uuid.UUID, body: FilingCreate, session: SessionDep, actor: Officer
) -> FilingOut:
    return service.to_out(await service.create(session, actor, platform_id, body))


@router.get(
    "/{filing_id}",
    response_model=FilingOut,
    **doc(
        summary="One filing",
        rule=("filing.v1", "annual_report.v1", "dpia.v1", "transfer_impact.v1"),
        next="Record it as filed once it is (`…/filed`).",
        errors={404: "No filing with this id for this platform."},
    ),
)
async def get_filing(
    platform_id: uuid.UUID, filing_id: uuid.UUID, session: SessionDep, actor: Officer
) -> FilingOut:
    return service.to_out(await service.get(session, actor, platform_id, filing_id))


@router.post(
    "/{filing_id}/filed",
    response_model=FilingOut,
    **doc(
        summary="Record that it was filed",
        about="`filed_at` (not in the future) and the authority's `reference`; an annual report may "
        "name the frozen report filed (`report_id`). Filing the contact point sets the platform's "
        "`contact_filed_at`, which allows livestreams and monetisation.",
        changes="Marks the filing filed (`filed_late` if at or after `due_at`); audited as "
        "`filing.filed`, announced as the `filing.filed` event.",
        rule=("filing.v1", "annual_report.v1", "dpia.v1", "transfer_impact.v1"),
        next="Nothing more for this filing; the next annual report opens by itself.",
        errors={
            404: "No filing with this id for this platform.",
            409: "This filing is already recorded as filed.",
        },
    ),
)
async def mark_filed(
    platform_id: uuid.UUID, filing_id: uuid.UUID, body: FiledIn, session: SessionDep, actor: Officer
) -> FilingOut:
    return service.to_out(await service.mark_filed(session, actor, platform_id, filing_id, body))
