from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from vncomply.auth.deps import require
from vncomply.blocks import service
from vncomply.blocks.enums import Kind, Origin, SubjectType
from vncomply.blocks.models import Violation
from vncomply.blocks.schemas import BlockOrder, BlockOut, LiftBody, ViolationCreate, ViolationOut
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.kit import clock
from vncomply.kit.db import SessionDep
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params
from vncomply.kit.principal import Principal, Role
from vncomply.kit.types import SINGLE_LINE

router = APIRouter(prefix="/v1", tags=["blocks"], route_class=IdempotentRoute)

Officer = Annotated[Principal, Depends(require(Role.officer))]
Reader = Annotated[Principal, Depends(require(Role.platform, Role.officer, Role.authority))]
AuthorityKey = Annotated[Principal, Depends(require(Role.authority))]
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
    summary="Record a violation for an order handled outside vncomply",
)
@idempotent
async def create_violation(body: ViolationCreate, session: SessionDep, actor: Officer) -> ViolationOut:
    return service.violation_out(await service.record_manual_violation(session, actor, body))


@router.get(
    "/violations",
    response_model=Page[ViolationOut],
    summary="Violations by subject (those that count toward the lock rules)",
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
    summary="An account's ministry-requested violations",
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
    summary="Order a block (authority); a retry with the same reference_no returns it (200)",
    description="A `reference_no` is unique per authority and platform: the same one with the same "
    "content returns the existing block (200); with other content it is a 409.",
)
@idempotent
async def order_block(
    body: BlockOrder, session: SessionDep, actor: AuthorityKey, response: Response
) -> BlockOut:
    res = await service.order_block(session, actor, body)
    response.status_code = res.status_code
    return service.block_out(res.resource)


@router.get("/account-blocks", response_model=Page[BlockOut], summary="List account blocks")
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
    )
    now = clock.now()
    nxt = (
        encode_cursor([rows[-1].created_at.isoformat(), str(rows[-1].id)])
        if len(rows) == page.limit
        else None
    )
    return Page(items=[service.block_out(b, now) for b in rows], next_cursor=nxt)


@router.get("/account-blocks/{block_id}", response_model=BlockOut, summary="An account block")
async def get_block(block_id: uuid.UUID, session: SessionDep, actor: Reader) -> BlockOut:
    return service.block_out(await service.get_block(session, actor, block_id))


@router.post(
    "/account-blocks/{block_id}/applied",
    response_model=BlockOut,
    summary="Confirm the platform has applied the block on its side",
)
async def confirm_applied(block_id: uuid.UUID, session: SessionDep, actor: Confirmer) -> BlockOut:
    return service.block_out(await service.confirm_applied(session, actor, block_id))


@router.post(
    "/account-blocks/{block_id}/lift",
    response_model=BlockOut,
    summary="Lift an active block early (officer of the platform or the ordering authority)",
)
async def lift_block(block_id: uuid.UUID, body: LiftBody, session: SessionDep, actor: Lifter) -> BlockOut:
    return service.block_out(await service.lift(session, actor, block_id, body.reason))
