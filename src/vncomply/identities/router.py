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
from vncomply.identities.enums import DENIAL_NOTES, Denial
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
from vncomply.kit.docs import doc
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
NO_IDENTITY = {404: "No identity is recorded for this account on this platform."}
REASONS = (
    "`reason` when refused, the first that applies: "
    + ", ".join(f"`{d}` ({DENIAL_NOTES[d]})" if d in DENIAL_NOTES else f"`{d}`" for d in Denial)
    + "."
)


class UnsupportedMediaType(DomainError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


@router.put(
    "/v1/identities/{account_id}",
    response_model=IdentityOut,
    tags=["identities"],
    **doc(
        summary="Record a verified identity (201 created, 200 replaced)",
        about="After your own verification: full name, date of birth, a Vietnamese mobile number "
        "(verified by one-time code) or, for a user who attests having none, the 12-digit personal "
        "ID number; under-16s with their guardian's identity. Stored encrypted; every answer is "
        "masked. The same `account_id` again replaces the record.",
        changes="Creates or replaces the identity (encrypted); audited as `identity.created` or "
        "`identity.replaced`, without the personal data.",
        rule="verified_actions.v1",
        next="The account may now act: `GET /v1/accounts/{account_id}/permissions`. Many at once? "
        "`POST /v1/identities/bulk`.",
        also={201: {"description": "recorded for the first time", "model": IdentityOut}},
    ),
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
    **doc(
        summary="A masked identity and its status",
        about="Name, phone and ID number are masked (`N***** V** A*`); a purged record keeps its "
        "status and dates only.",
        next="Withdraw the verification (`POST …/revoke`) or record the account's closure (`DELETE`).",
        errors=NO_IDENTITY,
    ),
)
async def get_identity(account_id: AccountPath, session: SessionDep, actor: Reader) -> IdentityOut:
    return await service.get_identity(session, actor, account_id)


@router.post(
    "/v1/identities/{account_id}/revoke",
    response_model=IdentityOut,
    tags=["identities"],
    **doc(
        summary="Verification withdrawn",
        about="The user's verification no longer holds (e.g. the number changed hands): the account "
        "may not post until verified again.",
        changes="Sets status `revoked`; audited as `identity.revoked`.",
        rule="verified_actions.v1",
        next="Verify the user again and record it with `PUT /v1/identities/{account_id}`.",
        errors={**NO_IDENTITY, 409: "The account is closed; a closed account cannot be revoked."},
    ),
)
async def revoke_identity(account_id: AccountPath, session: SessionDep, actor: PlatformKey) -> IdentityOut:
    return await service.revoke(session, actor, account_id)


@router.delete(
    "/v1/identities/{account_id}",
    response_model=IdentityOut,
    tags=["identities"],
    **doc(
        summary="Account closed (data kept; closed_at starts the retention clock)",
        about="The law keeps identity data for 24 months after an account closes: it is purged "
        "then, by itself.",
        changes="Sets status `closed` and `closed_at`; audited as `identity.closed`.",
        rule="retention.v1",
        next="Nothing; a reopened account is recorded again with `PUT`.",
        errors=NO_IDENTITY,
    ),
)
async def close_identity(account_id: AccountPath, session: SessionDep, actor: PlatformKey) -> IdentityOut:
    return await service.close(session, actor, account_id)


@router.post(
    "/v1/identities/search",
    response_model=SearchOut,
    tags=["identities"],
    **doc(
        summary="Accounts of this platform using a phone or ID number (officer)",
        about="A POST so that personal data never travels in a URL. Send one of `phone_number` or "
        "`national_id`; matching is exact (by blind index), across key rotations.",
        changes="Nothing but the audit trail: every search is recorded as `identity.searched` "
        "(how, and how many results; never the number searched).",
        next="Open an account with `GET /v1/identities/{account_id}`.",
    ),
)
async def search_identities(body: SearchIn, session: SessionDep, actor: Officer) -> SearchOut:
    return SearchOut(items=await service.search(session, actor, body))


@router.post(
    "/v1/identities/bulk",
    response_model=BulkOut,
    tags=["identities"],
    **doc(
        summary="Stream identities as NDJSON (one PUT body plus account_id per line)",
        about="`Content-Type: application/x-ndjson`, one identity per line: the `PUT` body plus "
        "`account_id`. Each line is handled on its own (a bad line is reported, the others are "
        "stored); lines are committed in chunks, so a failure never leaves half a line. Over "
        "`VNCOMPLY_BULK_MAX_BYTES` or `VNCOMPLY_BULK_MAX_LINES` the stream is cut: the 413 still "
        "reports the lines before the cut (`accepted`, `line_errors`, `lines_read`).",
        changes="Creates or replaces each valid line's identity, audited as `PUT` would.",
        rule="verified_actions.v1",
        next="Fix the lines listed in `errors` and send just those again.",
        errors={
            413: "Over the stream's byte or line cap: the lines before the cut are stored and "
            "reported, with `lines_read`.",
            415: "Send the identities as NDJSON with `Content-Type: application/x-ndjson`.",
        },
        request_body={
            "required": True,
            "content": {
                "application/x-ndjson": {
                    "schema": {"type": "string"},
                    "example": '{"account_id": "u-2002", "full_name": "Nguyễn Văn An", '
                    '"date_of_birth": "1990-05-17", "phone_number": "0912345678", '
                    '"verification": {"method": "sms_otp", "verified_at": "2026-11-20T02:00:00Z"}}\n',
                }
            },
        },
    ),
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
    **doc(
        summary="Send a one-time code to a Vietnamese mobile",
        about="Sends a 6-digit code by SMS: valid 5 minutes, 5 attempts; at most 3 codes per "
        "number per 15 minutes.",
        changes="Records the verification (the code only as a hash) and sends the SMS.",
        rule="verified_actions.v1",
        next="Ask the user for the code and confirm it with `POST /v1/phone-verifications/"
        "{verification_id}/confirm`; then record the identity with `verification.reference` = the id.",
        errors={
            429: "3 codes were already sent to this number in the last 15 minutes.",
            503: "The SMS gateway did not accept the message; nothing was saved, retry later.",
        },
    ),
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
    **doc(
        summary="Confirm the code (422 wrong code with attempts left; 410 expired or used up)",
        changes="Marks the verification confirmed (audited as `phone_verification.confirmed`); a "
        "wrong code spends an attempt.",
        next="Record the identity with `PUT /v1/identities/{account_id}`, method `sms_otp` and "
        "`verification.reference` = this verification's id.",
        errors={
            404: "No phone verification with this id is visible to this key.",
            410: "This code has expired, was already used, or has no attempts left; start a new one.",
            422: "The code is wrong; `attempts_left` says how many tries remain.",
        },
    ),
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
    **doc(
        summary="May this account post, comment, share, livestream, monetise?",
        about="Call it before every post: each action `allowed` or not, with the `reason`. "
        + REASONS
        + " Answered in well under a millisecond from memory for a known key.",
        rule=("verified_actions.v1", "lock.v1", "filing.v1"),
        next="Refuse the action when `allowed` is false and tell the user what to do (verify, wait "
        "for the block's end, …).",
    ),
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
    **doc(
        summary="The same for up to 1,000 accounts and one action",
        about="One answer per account, in the order sent. " + REASONS,
        changes="Nothing: a read, sent as a POST because 1,000 account ids do not fit in a URL.",
        rule=("verified_actions.v1", "lock.v1", "filing.v1"),
        next="Act on each result as for the single check.",
    ),
)
async def check_permissions(body: CheckIn, actor: PlatformKey) -> Response:
    results = await permissions.check_batch(actor.require_platform(), body.action.value, body.account_ids)
    return Response(orjson.dumps({"results": results}), media_type=JSON)
