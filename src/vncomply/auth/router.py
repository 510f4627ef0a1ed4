from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from vncomply.auth import service
from vncomply.auth.deps import Admin
from vncomply.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.kit.db import SessionDep
from vncomply.kit.docs import doc
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params

router = APIRouter(prefix="/v1/api-keys", tags=["api-keys"], route_class=IdempotentRoute)


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyCreated,
    **doc(
        summary="Issue an API key (the key is shown once)",
        about="Roles: `platform` (a platform's backend) and `officer` (its compliance officers) need "
        "`platform_id`; `authority` needs `authority_id`; `admin` neither. `key` is in this reply only: "
        "it is stored as a hash, and a replay of this request (Idempotency-Key) does not show it again.",
        changes="Creates the key; audited as `api_key.created` (without the secret).",
        next="Hand the key over securely; its holder sends it as `Authorization: Bearer vnc_…`. "
        "Revoke it with `DELETE /v1/api-keys/{key_id}`.",
    ),
)
@idempotent(secrets=("key",))
async def create_api_key(body: ApiKeyCreate, session: SessionDep, actor: Admin) -> ApiKeyCreated:
    key, raw = await service.create_key(
        session,
        actor,
        role=body.role,
        name=body.name,
        holder=body.holder,
        platform_id=body.platform_id,
        authority_id=body.authority_id,
        expires_at=body.expires_at,
    )
    return ApiKeyCreated.model_validate(
        {**ApiKeyOut.model_validate(key, from_attributes=True).model_dump(), "key": raw}
    )


@router.get(
    "",
    response_model=Page[ApiKeyOut],
    **doc(
        summary="List API keys (no secrets)",
        about="Oldest first, in pages; each key shows its `prefix`, the start of the key itself.",
        next="Revoke a key that is lost or no longer needed with `DELETE /v1/api-keys/{key_id}`.",
    ),
)
async def list_api_keys(
    session: SessionDep, actor: Admin, page: Annotated[PageParams, Depends(page_params)]
) -> Page[ApiKeyOut]:
    rows = await service.list_keys(session, page.cursor, page.limit)
    nxt = (
        encode_cursor([rows[-1].created_at.isoformat(), str(rows[-1].id)])
        if len(rows) == page.limit
        else None
    )
    return Page(items=[ApiKeyOut.model_validate(k, from_attributes=True) for k in rows], next_cursor=nxt)


@router.delete(
    "/{key_id}",
    response_model=ApiKeyOut,
    **doc(
        summary="Revoke an API key",
        changes="Revokes the key; audited as `api_key.revoked`. This process refuses it at once, other "
        "API processes within `VNCOMPLY_KEY_CACHE_SECONDS`.",
        next="Requests with it answer 401; issue a replacement with `POST /v1/api-keys`.",
        errors={404: "No API key with this id."},
    ),
)
async def revoke_api_key(key_id: uuid.UUID, session: SessionDep, actor: Admin) -> ApiKeyOut:
    return ApiKeyOut.model_validate(await service.revoke_key(session, actor, key_id), from_attributes=True)
