from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from vncomply.auth.deps import Admin, require
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.kit.db import SessionDep
from vncomply.kit.docs import doc
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params
from vncomply.kit.principal import Principal, Role
from vncomply.platforms import service
from vncomply.platforms.schemas import PlatformCreate, PlatformOut, PlatformUpdate

router = APIRouter(prefix="/v1/platforms", tags=["platforms"], route_class=IdempotentRoute)
Reader = Annotated[Principal, Depends(require(Role.admin, Role.platform, Role.officer))]


@router.post(
    "",
    status_code=201,
    response_model=PlatformOut,
    **doc(
        summary="Register a platform",
        about="A platform is a tenant: its identities, orders, blocks and audit trail are its own. "
        "`in_scope` and `filing_due_at` are computed from the rules in force.",
        changes="Creates the platform; audited as `platform.created`.",
        rule=("scope.v1", "filing.v1"),
        next="Issue its keys with `POST /v1/api-keys`: role `platform` for its backend, `officer` for "
        "each compliance officer. Let the authorities that may address it know "
        "(`PATCH /v1/authorities/{authority_id}`).",
    ),
)
@idempotent
async def create_platform(body: PlatformCreate, session: SessionDep, actor: Admin) -> PlatformOut:
    return service.to_out(await service.create(session, actor, body))


@router.get(
    "",
    response_model=Page[PlatformOut],
    **doc(
        summary="List platforms",
        about="Oldest first, in pages (`limit`, then `cursor` = the previous page's `next_cursor`).",
        next="Open one with `GET /v1/platforms/{platform_id}`.",
    ),
)
async def list_platforms(
    session: SessionDep, actor: Admin, page: Annotated[PageParams, Depends(page_params)]
) -> Page[PlatformOut]:
    rows = await service.list_platforms(session, page.cursor, page.limit)
    nxt = (
        encode_cursor([rows[-1].created_at.isoformat(), str(rows[-1].id)])
        if len(rows) == page.limit
        else None
    )
    return Page(items=[service.to_out(p) for p in rows], next_cursor=nxt)


@router.get(
    "/{platform_id}",
    response_model=PlatformOut,
    **doc(
        summary="A platform and its scope status",
        about="Platform and officer keys see their own platform only.",
        rule=("scope.v1", "filing.v1"),
        next="If `filing_overdue` is true, file Form No. 10 with ABEI and record it with "
        "`PATCH /v1/platforms/{platform_id}` (`contact_filed_at`): livestreams stay refused until then.",
        errors={404: "No platform with this id is visible to this key."},
    ),
)
async def get_platform(platform_id: uuid.UUID, session: SessionDep, actor: Reader) -> PlatformOut:
    return service.to_out(await service.get(session, actor, platform_id))


@router.patch(
    "/{platform_id}",
    response_model=PlatformOut,
    **doc(
        summary="Update a platform",
        about="Send only the members to change; leaving one out keeps it.",
        changes="Updates the platform; audited as `platform.updated`. A new `contact_filed_at` "
        "stops the Form No. 10 clock and allows livestreams.",
        rule=("scope.v1", "filing.v1", "lock.v1"),
        next="Read the result's `in_scope`, `filing_due_at` and `livestream_allowed`.",
        errors={404: "No platform with this id."},
    ),
)
async def update_platform(
    platform_id: uuid.UUID, body: PlatformUpdate, session: SessionDep, actor: Admin
) -> PlatformOut:
    return service.to_out(await service.update(session, actor, platform_id, body))
