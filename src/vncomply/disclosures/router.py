from __future__ import annotations

import uuid
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from vncomply.auth.deps import require
from vncomply.disclosures import package, review, service
from vncomply.disclosures.enums import Status
from vncomply.disclosures.schemas import DecisionIn, DisclosureRequestCreate, DisclosureRequestOut, PackageOut
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.kit.db import SessionDep
from vncomply.kit.docs import doc
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params
from vncomply.kit.principal import Principal, Role

# Tagged per route: asking and fetching are the authorities' (`orders`), reviewing the officers'.
router = APIRouter(prefix="/v1/disclosure-requests", route_class=IdempotentRoute)
TAGS: list[str | Enum] = ["disclosures"]
RULES = ("disclosure.standard.v2", "disclosure.emergency.v2")
Authority = Annotated[Principal, Depends(require(Role.authority))]
# An officer records a request that came by phone or in writing (vncomply.authorities.receipt).
Requester = Annotated[Principal, Depends(require(Role.authority, Role.officer))]
Officer = Annotated[Principal, Depends(require(Role.officer))]
Reader = Annotated[Principal, Depends(require(Role.officer, Role.authority, Role.admin))]


@router.post(
    "",
    status_code=201,
    response_model=DisclosureRequestOut,
    tags=["orders"],
    **doc(
        summary="Ask a platform for a user's identity",
        about="An authority key asks a platform it may address; an officer key records a request its "
        "platform received by phone or in writing (`authority_id`, `channel`, optional "
        "`received_at` at most 7 days back). The subject is an account id, a phone number or a "
        "personal ID number; `fields` are "
        "the identity data asked for, with the `legal_basis` and `reason`. Nothing is released until "
        "the platform's compliance officer approves, and then only the approved fields. `due_at` "
        "comes from the rule in force at `received_at` (24 h, 3 h emergency, from 2026-07-01). A "
        "`reference_no` is unique per authority and platform: the same one with the same content "
        "returns the existing request (200).",
        changes="Records the request and starts its clock; audited as `disclosure.received`, "
        "announced to the platform as the `disclosure.received` event.",
        rule=RULES,
        next="Follow it with `GET /v1/disclosure-requests/{request_id}`; once `package_available` is "
        "true, fetch the data with `GET /v1/disclosure-requests/{request_id}/package`.",
        errors={
            404: "No platform with this id is addressable by this authority.",
            409: "This authority's request with this reference_no to this platform already exists "
            "with different content.",
        },
        also={200: {"description": "an identical earlier request", "model": DisclosureRequestOut}},
    ),
)
@idempotent
async def create_disclosure_request(
    body: DisclosureRequestCreate, session: SessionDep, actor: Requester, response: Response
) -> DisclosureRequestOut:
    res = await service.create(session, actor, body)
    response.status_code = res.status_code
    return service.to_out(res.resource, actor)


@router.get(
    "",
    response_model=Page[DisclosureRequestOut],
    tags=TAGS,
    **doc(
        summary="List disclosure requests",
        about="Newest first. An officer sees its platform's requests (with the accounts they match), "
        "an authority those it sent, an admin all (or one `platform_id`). `status=pending_review` "
        "(repeatable) for what awaits a decision, `overdue=true` for those past `due_at`.",
        rule=RULES,
        next="Review one with `GET /v1/disclosure-requests/{request_id}`, then decide it.",
    ),
)
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


@router.get(
    "/{request_id}",
    response_model=DisclosureRequestOut,
    tags=TAGS,
    **doc(
        summary="A disclosure request",
        about="The subject is shown masked; an officer also sees `matched_account_ids`, the "
        "platform's accounts the subject designates.",
        rule=RULES,
        next="An officer decides it with `POST /v1/disclosure-requests/{request_id}/decision` "
        "before `due_at`.",
        errors={404: "No disclosure request with this id is visible to this key."},
    ),
)
async def get_disclosure_request(
    request_id: uuid.UUID, session: SessionDep, actor: Reader
) -> DisclosureRequestOut:
    return service.to_out(await service.get(session, actor, request_id), actor)


@router.post(
    "/{request_id}/decision",
    response_model=DisclosureRequestOut,
    tags=TAGS,
    **doc(
        summary="Approve, partially approve or reject (compliance officer)",
        about='Send `{"decision": "approve"}`; `{"decision": "partially_approve", "fields": [a strict '
        'subset], "reason": "…"}`; or `{"decision": "reject", "reason": "…"}`. A platform that '
        "requires two officers records the first approval and waits for a second officer (another "
        "person) to confirm. A decision is final.",
        changes="Records the decision (audited as `disclosure.decided`, or "
        "`disclosure.first_approval`); an approval makes the package available to the requesting "
        "authority for 7 days; announced as `disclosure.decided`.",
        rule=RULES,
        next="The authority fetches the package; read every fetch in the audit trail "
        "(`GET /v1/audit-events?resource_id={request_id}`).",
        errors={
            403: "This platform requires two different officers, and this officer key names no holder.",
            404: "No disclosure request with this id is visible to this key.",
            409: "This request is already decided; a decision is final.",
        },
    ),
)
async def decide_disclosure_request(
    request_id: uuid.UUID, body: DecisionIn, session: SessionDep, actor: Officer
) -> DisclosureRequestOut:
    return service.to_out(await review.decide(session, actor, request_id, body), actor)


@router.get(
    "/{request_id}/package",
    response_model=PackageOut,
    tags=["orders"],
    **doc(
        summary="The approved data (requesting authority only; every fetch is audited)",
        about="Only the approved fields of the matched accounts, in plain text, never cached "
        "(`Cache-Control: no-store`); available for 7 days after the decision.",
        changes="Counts the fetch; audited as `disclosure.package_fetched` (a refused fetch as "
        "`disclosure.package_refused`).",
        rule=RULES,
        next="Keep the data under your own rules; the platform sees that it was fetched.",
        errors={
            404: "No disclosure request with this id is visible to this key.",
            409: "No package: the request is pending_review; a package exists only once approved.",
            410: "The package for this request has expired.",
        },
    ),
)
async def get_disclosure_package(
    request_id: uuid.UUID, session: SessionDep, actor: Authority, response: Response
) -> PackageOut:
    result = await package.package(session, actor, request_id)  # a refusal: 409/410, still audited
    # Decrypted PII: never cached by a browser or proxy.
    response.headers["Cache-Control"] = "no-store"
    return result
