from __future__ import annotations

import uuid
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from vncomply.auth.deps import require
from vncomply.blocks import service
from vncomply.blocks.enums import Kind, Origin, SubjectType
from vncomply.blocks.models import Violation
from vncomply.blocks.schemas import (
    BlockOrder,
    BlockOut,
    LiftBody,
    ReviewBody,
    ViolationCreate,
    ViolationOut,
)
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.kit import clock
from vncomply.kit.db import SessionDep
from vncomply.kit.docs import doc
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params
from vncomply.kit.principal import Principal, Role
from vncomply.kit.types import SINGLE_LINE

# Tagged per route: ordering a block is the authorities' (`orders`), the rest the platform's (`blocks`).
router = APIRouter(prefix="/v1", route_class=IdempotentRoute)
TAGS: list[str | Enum] = ["blocks"]

Officer = Annotated[Principal, Depends(require(Role.officer))]
Reader = Annotated[Principal, Depends(require(Role.platform, Role.officer, Role.authority))]
OrderKey = Annotated[Principal, Depends(require(Role.authority, Role.officer))]
Confirmer = Annotated[Principal, Depends(require(Role.platform, Role.officer))]
Lifter = Annotated[Principal, Depends(require(Role.officer, Role.authority))]
Pages = Annotated[PageParams, Depends(page_params)]
PlatformFilter = Annotated[
    uuid.UUID | None, Query(description="narrow to one platform (authority keys see several)")
]


def _violation_page(rows: list[Violation], limit: int) -> Page[ViolationOut]:
    nxt = encode_cursor([rows[-1].occurred_at.isoformat(), str(rows[-1].id)]) if len(rows) == limit else None
    return Page(items=[service.violation_out(v) for v in rows], next_cursor=nxt)


@router.post(
    "/violations",
    status_code=201,
    response_model=ViolationOut,
    tags=TAGS,
    **doc(
        summary="Record a violation for an order handled outside vncomply",
        about="A ministry-requested removal that did not come through `POST /v1/takedown-orders` "
        "(a letter handled by hand, say) still counts toward the lock rules: record it here. "
        "Removals resolved through vncomply are recorded by themselves.",
        changes="Records the violation (audited as `violation.recorded`) and applies the lock rules "
        "at once: it may start a temporary or permanent lock (`block.started`).",
        rule="lock.v1",
        next="See whether a lock started with `GET /v1/account-blocks?subject_id=…&origin=rule`.",
        errors={404: "No authority with this id addresses this platform."},
    ),
)
@idempotent
async def create_violation(body: ViolationCreate, session: SessionDep, actor: Officer) -> ViolationOut:
    return service.violation_out(await service.record_manual_violation(session, actor, body))


@router.get(
    "/violations",
    response_model=Page[ViolationOut],
    tags=TAGS,
    **doc(
        summary="Violations by subject (those that count toward the lock rules)",
        about="Newest first. A platform or officer key sees its platform's, an authority key those "
        "on the platforms it may address (narrow with `platform_id`).",
        rule="lock.v1",
        next="`consumed_by_block_id` names the lock a violation counted toward.",
    ),
)
async def list_violations(
    session: SessionDep,
    actor: Reader,
    page: Pages,
    subject_type: SubjectType | None = None,
    subject_id: Annotated[str | None, Query(max_length=128), SINGLE_LINE] = None,
    platform_id: PlatformFilter = None,
) -> Page[ViolationOut]:
    rows = await service.list_violations(
        session,
        actor,
        subject_type=subject_type,
        subject_id=subject_id,
        platform_id=platform_id,
        cursor=page.cursor,
        limit=page.limit,
    )
    return _violation_page(rows, page.limit)


@router.get(
    "/accounts/{account_id}/violations",
    response_model=Page[ViolationOut],
    tags=TAGS,
    **doc(
        summary="An account's ministry-requested violations",
        about="The violations recorded against one account (an unknown account has none: an empty "
        "page, not a 404).",
        rule="lock.v1",
        next="Five in 30 days or ten in 90 days start a temporary lock; see its blocks with "
        "`GET /v1/account-blocks?subject_type=account&subject_id=…`.",
    ),
)
async def account_violations(
    account_id: Annotated[str, Path(max_length=128), SINGLE_LINE],
    session: SessionDep,
    actor: Reader,
    page: Pages,
    platform_id: PlatformFilter = None,
) -> Page[ViolationOut]:
    rows = await service.list_violations(
        session,
        actor,
        subject_type=SubjectType.account,
        subject_id=account_id,
        platform_id=platform_id,
        cursor=page.cursor,
        limit=page.limit,
    )
    return _violation_page(rows, page.limit)


@router.post(
    "/account-blocks",
    status_code=201,
    response_model=BlockOut,
    tags=["orders"],
    **doc(
        summary="Order a block (authority, or an officer recording a phone or written order)",
        about="An authority key orders a block for a platform it may address; an officer key records "
        "one its platform received by phone or in writing (`authority_id`, `channel`, optional "
        "`received_at` at most 7 days back): the block runs, and must be applied, from "
        "`received_at`. 7-30 days (`duration_days`), or `permanent` for national-security content or "
        "a subject with three temporary locks; the platform applies it by `apply_by` (24 h). A "
        "`reference_no` is unique per authority and platform: the same one with the same content "
        "returns the existing block (200).",
        changes="Records the block; audited and announced to the platform as `block.started`.",
        rule="lock.v1",
        next="The platform applies it and confirms (`POST /v1/account-blocks/{block_id}/applied`); "
        "follow it with `GET /v1/account-blocks/{block_id}`.",
        errors={
            404: "No platform with this id is addressable by this authority.",
            409: "This authority's block with this reference_no to this platform already exists with "
            "different content.",
        },
        also={200: {"description": "an identical earlier order", "model": BlockOut}},
    ),
)
@idempotent
async def order_block(body: BlockOrder, session: SessionDep, actor: OrderKey, response: Response) -> BlockOut:
    res = await service.order_block(session, actor, body)
    response.status_code = res.status_code
    return service.block_out(res.resource)


@router.get(
    "/account-blocks",
    response_model=Page[BlockOut],
    tags=TAGS,
    **doc(
        summary="List account blocks",
        about="`active=true` for the blocks in force right now (by the clock, whatever the workers "
        "did); `origin` rule (the lock rules) or order (an authority's). A platform or officer key "
        "sees its platform's, an authority key those on platforms it may address.",
        rule="lock.v1",
        next="Apply each active block the platform has not confirmed (`applied_at` null) and confirm it.",
    ),
)
async def list_blocks(
    session: SessionDep,
    actor: Reader,
    page: Pages,
    active: Annotated[bool | None, Query(description="active right now (by the clock)")] = None,
    subject_type: SubjectType | None = None,
    subject_id: Annotated[str | None, Query(max_length=128), SINGLE_LINE] = None,
    origin: Annotated[Origin | None, Query(description="rule (lock rules) or order")] = None,
    kind: Kind | None = None,
    platform_id: PlatformFilter = None,
    needs_review: Annotated[
        bool | None, Query(description="flagged for review: a violation it counted was withdrawn")
    ] = None,
) -> Page[BlockOut]:
    rows = await service.list_blocks(
        session,
        actor,
        active=active,
        subject_type=subject_type,
        subject_id=subject_id,
        origin=origin,
        kind=kind,
        platform_id=platform_id,
        cursor=page.cursor,
        limit=page.limit,
        needs_review=needs_review,
    )
    now = clock.now()
    nxt = (
        encode_cursor([rows[-1].created_at.isoformat(), str(rows[-1].id)])
        if len(rows) == page.limit
        else None
    )
    return Page(items=[service.block_out(b, now) for b in rows], next_cursor=nxt)


@router.get(
    "/account-blocks/{block_id}",
    response_model=BlockOut,
    tags=TAGS,
    **doc(
        summary="An account block",
        about="`status` and `active` are computed from the clock when read.",
        rule="lock.v1",
        next="Confirm it is applied, or (an officer, or the ordering authority) lift it early.",
        errors={404: "No account block with this id is visible to this key."},
    ),
)
async def get_block(block_id: uuid.UUID, session: SessionDep, actor: Reader) -> BlockOut:
    return service.block_out(await service.get_block(session, actor, block_id))


@router.post(
    "/account-blocks/{block_id}/applied",
    response_model=BlockOut,
    tags=TAGS,
    **doc(
        summary="Confirm the platform has applied the block on its side",
        changes="Sets `applied_at`; audited as `block.applied` (noting whether it was late).",
        rule="lock.v1",
        next="Nothing: the block ends by itself at `ends_at` (`block.ended`).",
        errors={
            404: "No account block with this id is visible to this key.",
            409: "This block is lifted (or ended); there is nothing left to apply.",
        },
    ),
)
async def confirm_applied(block_id: uuid.UUID, session: SessionDep, actor: Confirmer) -> BlockOut:
    return service.block_out(await service.confirm_applied(session, actor, block_id))


@router.post(
    "/account-blocks/{block_id}/lift",
    response_model=BlockOut,
    tags=TAGS,
    **doc(
        summary="Lift an active block early",
        about="An officer of the platform, or the authority that ordered it, ends a block before "
        '`ends_at`. Send the reason: `{"reason": "Authority withdrew the order by letter 55/2026"}`.',
        changes="Sets `lifted_at` and `lift_reason`; audited and announced as `block.lifted`. The "
        "violations behind a rule-based lock stay recorded.",
        rule="lock.v1",
        next="The account may act again at once (`GET /v1/accounts/{account_id}/permissions`).",
        errors={
            404: "No account block with this id is visible to this key.",
            409: "This block is lifted (or ended); only an active block can be lifted.",
        },
    ),
)
async def lift_block(block_id: uuid.UUID, body: LiftBody, session: SessionDep, actor: Lifter) -> BlockOut:
    return service.block_out(await service.lift(session, actor, block_id, body.reason))


@router.post(
    "/account-blocks/{block_id}/review",
    response_model=BlockOut,
    tags=TAGS,
    **doc(
        summary="Keep a lock flagged for review (officer)",
        about="A lock a withdrawn violation counted toward is flagged (`needs_review`); the officer "
        'either lifts it (`/lift`) or keeps it here, with a reason: `{"reason": "…"}`.',
        changes="Closes the review and keeps the lock; audited as `block.review_kept`.",
        rule="lock.v1",
        next="Nothing: the lock runs to its end.",
        errors={
            404: "No account block with this id is visible to this key.",
            409: "This block is not flagged for review.",
        },
    ),
)
async def keep_block(block_id: uuid.UUID, body: ReviewBody, session: SessionDep, actor: Officer) -> BlockOut:
    return service.block_out(await service.keep_after_review(session, actor, block_id, body.reason))
