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
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params
from vncomply.kit.principal import Principal, Role
from vncomply.kit.types import ZonedDateTime

router = APIRouter(
    prefix="/v1/platforms/{platform_id}/filings", tags=["filings"], route_class=IdempotentRoute
)
Officer = Annotated[Principal, Depends(require(Role.officer, Role.admin))]


@router.get("", response_model=Page[FilingOut], summary="What the platform must file, soonest due first")
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
    summary="Open an impact assessment filing",
    description="`dpia` or `transfer_impact`, due 60 days after `starts_at` by the rule in force then "
    "(PDPL 91/2025, Decree 356/2025). The contact point and the annual reports are opened by "
    "vncomply when the platform comes in scope.",
)
@idempotent
async def create_filing(
    platform_id: uuid.UUID, body: FilingCreate, session: SessionDep, actor: Officer
) -> FilingOut:
    return service.to_out(await service.create(session, actor, platform_id, body))


@router.get("/{filing_id}", response_model=FilingOut, summary="One filing")
async def get_filing(
    platform_id: uuid.UUID, filing_id: uuid.UUID, session: SessionDep, actor: Officer
) -> FilingOut:
    return service.to_out(await service.get(session, actor, platform_id, filing_id))


@router.post(
    "/{filing_id}/filed",
    response_model=FilingOut,
    summary="Record that it was filed",
    description="`filed_at` (not in the future) and the authority's `reference`. Filing the contact "
    "point sets the platform's `contact_filed_at`. A second call is a 409.",
)
async def mark_filed(
    platform_id: uuid.UUID, filing_id: uuid.UUID, body: FiledIn, session: SessionDep, actor: Officer
) -> FilingOut:
    return service.to_out(await service.mark_filed(session, actor, platform_id, filing_id, body))
