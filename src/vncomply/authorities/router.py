from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from vncomply.auth.deps import Admin
from vncomply.authorities import service
from vncomply.authorities.schemas import AuthorityCreate, AuthorityOut, AuthorityUpdate
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.kit.db import SessionDep
from vncomply.kit.docs import doc
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params

router = APIRouter(prefix="/v1/authorities", tags=["authorities"], route_class=IdempotentRoute)


@router.post(
    "",
    status_code=201,
    response_model=AuthorityOut,
    **doc(
        summary="Register an authority",
        about="Authorities are data, not a fixed list: ABEI, MPS A05, a provincial department. "
        '`platforms` lists those it may address, or is "all".',
        changes="Creates the authority; audited as `authority.created`.",
        next="Issue its key with `POST /v1/api-keys` (role `authority`, its `authority_id`).",
        errors={409: "An authority with this code already exists."},
    ),
)
@idempotent
async def create_authority(body: AuthorityCreate, session: SessionDep, actor: Admin) -> AuthorityOut:
    return service.to_out(await service.create(session, actor, body))


@router.get(
    "",
    response_model=Page[AuthorityOut],
    **doc(
        summary="List authorities",
        about="Oldest first, in pages (`limit`, then `cursor` = the previous page's `next_cursor`).",
        next="Open one with `GET /v1/authorities/{authority_id}`.",
    ),
)
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


@router.get(
    "/{authority_id}",
    response_model=AuthorityOut,
    **doc(
        summary="An authority and the platforms it may address",
        next="Change whom it may address with `PATCH /v1/authorities/{authority_id}`.",
        errors={404: "No authority with this id."},
    ),
)
async def get_authority(authority_id: uuid.UUID, session: SessionDep, actor: Admin) -> AuthorityOut:
    return service.to_out(await service.get(session, authority_id))


@router.patch(
    "/{authority_id}",
    response_model=AuthorityOut,
    **doc(
        summary="Update an authority",
        about='Send only the members to change. `platforms` replaces the list (or "all").',
        changes="Updates the authority; audited as `authority.updated`. Orders it sent before stay valid.",
        next="Its key now addresses the platforms listed.",
        errors={404: "No authority with this id."},
    ),
)
async def update_authority(
    authority_id: uuid.UUID, body: AuthorityUpdate, session: SessionDep, actor: Admin
) -> AuthorityOut:
    return service.to_out(await service.update(session, actor, authority_id, body))
