from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from vncomply.auth.deps import require
from vncomply.disclosures import package, review, service
from vncomply.disclosures.enums import Status
from vncomply.disclosures.schemas import DecisionIn, DisclosureRequestCreate, DisclosureRequestOut, PackageOut
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.kit.db import SessionDep
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params
from vncomply.kit.principal import Principal, Role

router = APIRouter(prefix="/v1/disclosure-requests", tags=["disclosures"], route_class=IdempotentRoute)
Authority = Annotated[Principal, Depends(require(Role.authority))]
Officer = Annotated[Principal, Depends(require(Role.officer))]
Reader = Annotated[Principal, Depends(require(Role.officer, Role.authority, Role.admin))]


@router.post(
    "",
    status_code=201,
    response_model=DisclosureRequestOut,
    summary="Ask a platform for a user's identity",
    responses={200: {"model": DisclosureRequestOut, "description": "an identical retry"}},
)
@idempotent
async def create_disclosure_request(
    body: DisclosureRequestCreate, session: SessionDep, actor: Authority, response: Response
) -> DisclosureRequestOut:
    res = await service.create(session, actor, body)
    response.status_code = res.status_code
    return service.to_out(res.resource, actor)


@router.get("", response_model=Page[DisclosureRequestOut], summary="List disclosure requests")
async def list_disclosure_requests(
    session: SessionDep,
    actor: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[list[Status] | None, Query()] = None,
    overdue: bool | None = None,
    platform_id: Annotated[uuid.UUID | None, Query(description="admin only")] = None,
) -> Page[DisclosureRequestOut]:
    rows = await service.list_requests(
        session,
        actor,
        statuses=status,
        overdue=overdue,
        platform_id=platform_id if actor.is_admin else None,
        cursor=page.cursor,
        limit=page.limit,
    )
    nxt = (
        encode_cursor([rows[-1].received_at.isoformat(), str(rows[-1].id)])
        if len(rows) == page.limit
        else None
    )
    return Page(items=[service.to_out(r, actor) for r in rows], next_cursor=nxt)


@router.get("/{request_id}", response_model=DisclosureRequestOut, summary="A disclosure request")
async def get_disclosure_request(
    request_id: uuid.UUID, session: SessionDep, actor: Reader
) -> DisclosureRequestOut:
    return service.to_out(await service.get(session, actor, request_id), actor)


@router.post(
    "/{request_id}/decision",
    response_model=DisclosureRequestOut,
    summary="Approve, partially approve or reject (compliance officer)",
)
async def decide_disclosure_request(
    request_id: uuid.UUID, body: DecisionIn, session: SessionDep, actor: Officer
) -> DisclosureRequestOut:
    return service.to_out(await review.decide(session, actor, request_id, body), actor)


@router.get(
    "/{request_id}/package",
    response_model=PackageOut,
    summary="The approved data (requesting authority only; every fetch is audited)",
)
async def get_disclosure_package(
    request_id: uuid.UUID, session: SessionDep, actor: Authority, response: Response
) -> PackageOut:
    result = await package.package(session, actor, request_id)  # a refusal: 409/410, still audited
    # Decrypted PII: never cached by a browser or proxy.
    response.headers["Cache-Control"] = "no-store"
    return result
