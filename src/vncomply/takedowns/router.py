from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from vncomply.auth.deps import require
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.kit.db import SessionDep
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params
from vncomply.kit.principal import Principal, Role
from vncomply.kit.types import ZonedDateTime
from vncomply.takedowns import intake, lifecycle, service
from vncomply.takedowns import metrics as _metrics  # noqa: F401  (registers the collectors)
from vncomply.takedowns.enums import OrderStatus, Urgency
from vncomply.takedowns.schemas import OrderOut, OrderSummary, ResolutionIn, TakedownCreate

router = APIRouter(prefix="/v1/takedown-orders", tags=["takedowns"], route_class=IdempotentRoute)

Submitter = Annotated[Principal, Depends(require(Role.authority, Role.officer))]
Reader = Annotated[Principal, Depends(require(Role.admin, Role.platform, Role.officer, Role.authority))]
Actor = Annotated[Principal, Depends(require(Role.platform, Role.officer))]


@router.post(
    "",
    status_code=201,
    response_model=OrderOut,
    summary="Submit a takedown order",
    description="An authority key submits for a platform it may address; an officer key records an "
    "order that arrived by phone or in writing (`authority_id`, optional `received_at`). `due_at` "
    "comes from the rule in force at `received_at`. A `reference_no` is unique per authority and "
    "platform: the same one with the same payload returns the existing order (200); with a "
    "different payload it is a 409.",
    responses={200: {"description": "an identical earlier submission", "model": OrderOut}},
)
@idempotent
async def create_order(
    body: TakedownCreate, session: SessionDep, actor: Submitter, response: Response
) -> OrderOut:
    res = await intake.create(session, actor, body)
    response.status_code = res.status_code
    return service.to_out(res.resource)


@router.get("", response_model=Page[OrderSummary], summary="Takedown orders, soonest due first")
async def list_orders(
    session: SessionDep,
    actor: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    status: OrderStatus | None = None,
    urgency: Urgency | None = None,
    overdue: Annotated[bool | None, Query(description="due_at passed and not completed")] = None,
    due_before: Annotated[ZonedDateTime | None, Query(description="due_at earlier than")] = None,
    authority_id: uuid.UUID | None = None,
    platform_id: Annotated[uuid.UUID | None, Query(description="admin: one platform's orders")] = None,
) -> Page[OrderSummary]:
    filters = service.ListFilters(
        status=status,
        urgency=urgency,
        overdue=overdue,
        due_before=due_before,
        authority_id=authority_id,
        platform_id=platform_id,
    )
    rows = await service.list_orders(session, actor, filters, page.cursor, page.limit)
    nxt = encode_cursor([rows[-1].due_at.isoformat(), str(rows[-1].id)]) if len(rows) == page.limit else None
    return Page(items=[service.to_summary(o) for o in rows], next_cursor=nxt)


@router.get("/{order_id}", response_model=OrderOut, summary="A takedown order with its items")
async def get_order(order_id: uuid.UUID, session: SessionDep, actor: Reader) -> OrderOut:
    return service.to_out(await service.get(session, actor, order_id))


@router.post("/{order_id}/acknowledge", response_model=OrderOut, summary="Acknowledge an order")
async def acknowledge(order_id: uuid.UUID, session: SessionDep, actor: Actor) -> OrderOut:
    return service.to_out(await lifecycle.acknowledge(session, actor, order_id))


@router.post(
    "/{order_id}/items/{item_id}/resolution",
    response_model=OrderOut,
    summary="Resolve an item",
    description="Outcome removed | restricted (blocked for Vietnam only) | not_found | contested "
    "(with `reason`). The last resolution completes the order. A resolution is final; an officer "
    "may change it with a `reason` (audited).",
)
async def resolve_item(
    order_id: uuid.UUID, item_id: uuid.UUID, body: ResolutionIn, session: SessionDep, actor: Actor
) -> OrderOut:
    return service.to_out(await lifecycle.resolve(session, actor, order_id, item_id, body))
