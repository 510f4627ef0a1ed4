"""HTTP edges for identities, phone verifications and the permission check (thin: parse, call
one service function, serialise)."""

from __future__ import annotations

import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Path, Request, Response

from vncomply.auth.deps import require
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.identities import bulk, otp, permissions, service
from vncomply.identities.schemas import (
    BulkOut,
    CheckIn,
    CheckOut,
    ConfirmIn,
    ConfirmOut,
    IdentityIn,
    IdentityOut,
    PermissionsOut,
    PhoneVerificationIn,
    PhoneVerificationOut,
    SearchIn,
    SearchOut,
)
from vncomply.identities.validation import ACCOUNT_ID_MAX, ACCOUNT_ID_PATTERN
from vncomply.kit.db import SessionDep
from vncomply.kit.errors import DomainError
from vncomply.kit.principal import Principal, Role

router = APIRouter(route_class=IdempotentRoute)

PlatformKey = Annotated[Principal, Depends(require(Role.platform))]
Reader = Annotated[Principal, Depends(require(Role.platform, Role.officer))]
Officer = Annotated[Principal, Depends(require(Role.officer))]
AccountPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=ACCOUNT_ID_MAX,
        pattern=ACCOUNT_ID_PATTERN,
        description="the platform's own account id (1-128 of A-Z a-z 0-9 . _ : @ -)",
    ),
]
JSON = "application/json"
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "application/jsonlines"})


class UnsupportedMediaType(DomainError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


@router.put(
    "/v1/identities/{account_id}",
    response_model=IdentityOut,
    tags=["identities"],
    summary="Record a verified identity (201 created, 200 replaced)",
    responses={201: {"model": IdentityOut}},
)
async def put_identity(
    account_id: AccountPath,
    body: IdentityIn,
    session: SessionDep,
    actor: PlatformKey,
    response: Response,
) -> IdentityOut:
    out, created = await service.put_identity(session, actor, account_id, body)
    response.status_code = 201 if created else 200
    return out


@router.get(
    "/v1/identities/{account_id}",
    response_model=IdentityOut,
    tags=["identities"],
    summary="A masked identity and its status",
)
async def get_identity(account_id: AccountPath, session: SessionDep, actor: Reader) -> IdentityOut:
    return await service.get_identity(session, actor, account_id)


@router.post(
    "/v1/identities/{account_id}/revoke",
    response_model=IdentityOut,
    tags=["identities"],
    summary="Verification withdrawn",
)
async def revoke_identity(account_id: AccountPath, session: SessionDep, actor: PlatformKey) -> IdentityOut:
    return await service.revoke(session, actor, account_id)


@router.delete(
    "/v1/identities/{account_id}",
    response_model=IdentityOut,
    tags=["identities"],
    summary="Account closed (data kept; closed_at starts the retention clock)",
)
async def close_identity(account_id: AccountPath, session: SessionDep, actor: PlatformKey) -> IdentityOut:
    return await service.close(session, actor, account_id)


@router.post(
    "/v1/identities/search",
    response_model=SearchOut,
    tags=["identities"],
    summary="Accounts of this platform using a phone or ID number (officer)",
)
async def search_identities(body: SearchIn, session: SessionDep, actor: Officer) -> SearchOut:
    return SearchOut(items=await service.search(session, actor, body))


@router.post(
    "/v1/identities/bulk",
    response_model=BulkOut,
    tags=["identities"],
    summary="Stream identities as NDJSON (one PUT body plus account_id per line)",
    responses={
        413: {
            "description": "Over VNCOMPLY_BULK_MAX_BYTES / _LINES: the lines before the cut are "
            "stored and reported as usual, with `lines_read`"
        }
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        }
    },
)
async def bulk_identities(request: Request, actor: PlatformKey) -> BulkOut:
    # No request session: each chunk is its own transaction (identities/bulk.py).
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in NDJSON_TYPES:
        raise UnsupportedMediaType(
            "Send the identities as NDJSON (one JSON object per line) with "
            "`Content-Type: application/x-ndjson`."
        )
    return await bulk.ingest(actor, request.stream())


@router.post(
    "/v1/phone-verifications",
    status_code=201,
    response_model=PhoneVerificationOut,
    tags=["identities"],
    summary="Send a one-time code to a Vietnamese mobile",
)
@idempotent
async def start_phone_verification(
    body: PhoneVerificationIn, session: SessionDep, actor: PlatformKey
) -> PhoneVerificationOut:
    row = await otp.start(session, actor, body.account_id, body.phone_number)
    return PhoneVerificationOut(id=row.id, expires_at=row.expires_at)


@router.post(
    "/v1/phone-verifications/{verification_id}/confirm",
    response_model=ConfirmOut,
    tags=["identities"],
    summary="Confirm the code (422 wrong code with attempts left; 410 expired or used up)",
)
async def confirm_phone_verification(
    verification_id: uuid.UUID, body: ConfirmIn, session: SessionDep, actor: PlatformKey
) -> ConfirmOut:
    await otp.confirm(session, actor, verification_id, body.code)  # a wrong code: 422, attempt kept
    return ConfirmOut(status="confirmed")


@router.get(
    "/v1/accounts/{account_id}/permissions",
    response_model=PermissionsOut,
    tags=["permissions"],
    summary="May this account post, comment, share, livestream?",
)
async def account_permissions(account_id: AccountPath, actor: PlatformKey) -> Response:
    # Most calls never get here: identities/fastpath.py answers them in front of the router and hands
    # on only what needs this route (an uncached key, a bad id, a 429). Both serialise the same way;
    # by hand, as the shape is fixed (PermissionsOut documents it).
    result = await permissions.check_account(actor.require_platform(), account_id)
    return Response(orjson.dumps(result, option=orjson.OPT_UTC_Z), media_type=JSON)


@router.post(
    "/v1/permissions/check",
    response_model=CheckOut,
    tags=["permissions"],
    summary="The same for up to 1,000 accounts and one action",
)
async def check_permissions(body: CheckIn, actor: PlatformKey) -> Response:
    results = await permissions.check_batch(actor.require_platform(), body.action.value, body.account_ids)
    return Response(orjson.dumps({"results": results}), media_type=JSON)
