from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from vncomply.auth.deps import Admin, require
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.kit.db import SessionDep
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params
from vncomply.kit.principal import Principal, Role
from vncomply.platforms import service
from vncomply.platforms.schemas import PlatformCreate, PlatformOut, PlatformUpdate

router = APIRouter(prefix="/v1/platforms", tags=["platforms"], route_class=IdempotentRoute)
Reader = Annotated[Principal, Depends(require(Role.admin, Role.platform, Role.officer))]


@router.post("", status_code=201, response_model=PlatformOut, summary="Register a platform")
@idempotent
async def create_platform(body: PlatformCreate, session: SessionDep, actor: Admin) -> PlatformOut:
    return service.to_out(await service.create(session, actor, body))


@router.get("", response_model=Page[PlatformOut], summary="List platforms")
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


@router.get("/{platform_id}", response_model=PlatformOut, summary="A platform and its scope status")
async def get_platform(platform_id: uuid.UUID, session: SessionDep, actor: Reader) -> PlatformOut:
    return service.to_out(await service.get(session, actor, platform_id))


@router.patch("/{platform_id}", response_model=PlatformOut, summary="Update a platform")
async def update_platform(
    platform_id: uuid.UUID, body: PlatformUpdate, session: SessionDep, actor: Admin
) -> PlatformOut:
    return service.to_out(await service.update(session, actor, platform_id, body))
