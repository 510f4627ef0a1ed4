from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from vncomply.auth.deps import Admin
from vncomply.authorities import service
from vncomply.authorities.schemas import AuthorityCreate, AuthorityOut, AuthorityUpdate
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.kit.db import SessionDep
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params

router = APIRouter(prefix="/v1/authorities", tags=["authorities"], route_class=IdempotentRoute)


@router.post("", status_code=201, response_model=AuthorityOut, summary="Register an authority")
@idempotent
async def create_authority(body: AuthorityCreate, session: SessionDep, actor: Admin) -> AuthorityOut:
    return service.to_out(await service.create(session, actor, body))


@router.get("", response_model=Page[AuthorityOut], summary="List authorities")
async def list_authorities(
    session: SessionDep, actor: Admin, page: Annotated[PageParams, Depends(page_params)]
) -> Page[AuthorityOut]:
    rows = await service.list_authorities(session, page.cursor, page.limit)
    nxt = (
        encode_cursor([rows[-1].created_at.isoformat(), str(rows[-1].id)])
        if len(rows) == page.limit
        else None
    )
    return Page(items=[service.to_out(a) for a in rows], next_cursor=nxt)


@router.get("/{authority_id}", response_model=AuthorityOut, summary="An authority")
async def get_authority(authority_id: uuid.UUID, session: SessionDep, actor: Admin) -> AuthorityOut:
    return service.to_out(await service.get(session, authority_id))


@router.patch("/{authority_id}", response_model=AuthorityOut, summary="Update an authority")
async def update_authority(
    authority_id: uuid.UUID, body: AuthorityUpdate, session: SessionDep, actor: Admin
) -> AuthorityOut:
    return service.to_out(await service.update(session, actor, authority_id, body))
