from __future__ import annotations

import uuid
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from vncomply.auth.deps import require
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.kit.db import SessionDep
from vncomply.kit.docs import doc
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params
from vncomply.kit.principal import Principal, Role
from vncomply.kit.types import ZonedDateTime
from vncomply.takedowns import intake, lifecycle, service
from vncomply.takedowns import metrics as _metrics  # noqa: F401  (registers the collectors)
from vncomply.takedowns.enums import OrderStatus, Urgency
from vncomply.takedowns.schemas import OrderOut, OrderSummary, ResolutionIn, TakedownCreate

# Tagged per route: submitting is the authorities' (`orders`), the rest the platform's (`takedowns`).
router = APIRouter(prefix="/v1/takedown-orders", route_class=IdempotentRoute)
TAGS: list[str | Enum] = ["takedowns"]

Submitter = Annotated[Principal, Depends(require(Role.authority, Role.officer))]
Reader = Annotated[Principal, Depends(require(Role.admin, Role.platform, Role.officer, Role.authority))]
Actor = Annotated[Principal, Depends(require(Role.platform, Role.officer))]


@router.post(
    "",
    status_code=201,
    response_model=OrderOut,
    tags=["orders"],
    **doc(
        summary="Submit a takedown order",
        about="An authority key submits for a platform it may address (`platform_id`); an officer "
        "key records an order that arrived by phone or in writing (`authority_id`, optional "
        "`received_at`, at most 7 days back). `due_at` comes from the rule in force at `received_at`: "
        "24 h, or 6 h for an emergency from 2026-07-01. A `reference_no` is unique per authority and "
        "platform: the same one with the same content returns the existing order (200).",
        changes="Records the order and its items, starts its clock; audited as `takedown.created`, "
        "announced to the platform as the `takedown.received` event.",
        rule=("takedown.standard.v1", "takedown.emergency.v2"),
        next="The platform resolves every item before `due_at` "
        "(`POST /v1/takedown-orders/{order_id}/items/{item_id}/resolution`); follow it with "
        "`GET /v1/takedown-orders/{order_id}`.",
        errors={
            404: "No platform with this id is addressable by this authority.",
            409: "This authority's order with this reference_no to this platform already exists with "
            "different content.",
        },
        also={200: {"description": "an identical earlier submission", "model": OrderOut}},
    ),
)
@idempotent
async def create_order(
    body: TakedownCreate, session: SessionDep, actor: Submitter, response: Response
) -> OrderOut:
    res = await intake.create(session, actor, body)
    response.status_code = res.status_code
    return service.to_out(res.resource)


@router.get(
    "",
    response_model=Page[OrderSummary],
    tags=TAGS,
    **doc(
        summary="Takedown orders, soonest due first",
        about="What is due next: `overdue=true` for those past `due_at`, `status=open` for those "
        "nobody has acknowledged, `due_before` for a horizon. A platform or officer key sees its "
        "platform's orders, an authority key those it sent, an admin all (or one `platform_id`).",
        rule=("takedown.standard.v1", "takedown.emergency.v2"),
        next="Open an order with `GET /v1/takedown-orders/{order_id}` to see its items.",
    ),
)
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


@router.get(
    "/{order_id}",
    response_model=OrderOut,
    tags=TAGS,
    **doc(
        summary="A takedown order with its items",
        about="`remaining_seconds` counts down to `due_at`; `verdict` is set once every item is "
        "resolved, judged on when each resolution reached vncomply.",
        rule=("takedown.standard.v1", "takedown.emergency.v2"),
        next="Acknowledge it (`POST …/acknowledge`), then resolve each item before `due_at`.",
        errors={404: "No takedown order with this id is visible to this key."},
    ),
)
async def get_order(order_id: uuid.UUID, session: SessionDep, actor: Reader) -> OrderOut:
    return service.to_out(await service.get(session, actor, order_id))


@router.post(
    "/{order_id}/acknowledge",
    response_model=OrderOut,
    tags=TAGS,
    **doc(
        summary="Acknowledge an order",
        about="Says the platform has seen the order; the clock runs on regardless (resolving an item "
        "acknowledges an open order too).",
        changes="Sets `acknowledged_at` and status `acknowledged`; audited as `takedown.acknowledged`.",
        next="Resolve each item before `due_at`.",
        errors={
            404: "No takedown order with this id is visible to this key.",
            409: "This order is already acknowledged; only an open order can be acknowledged.",
        },
    ),
)
async def acknowledge(order_id: uuid.UUID, session: SessionDep, actor: Actor) -> OrderOut:
    return service.to_out(await lifecycle.acknowledge(session, actor, order_id))


@router.post(
    "/{order_id}/items/{item_id}/resolution",
    response_model=OrderOut,
    tags=TAGS,
    **doc(
        summary="Resolve an item",
        about="Outcome `removed`, `restricted` (blocked for Vietnam only), `not_found`, or "
        "`contested` (with `reason`). `actioned_at` is the platform's statement of when it acted; the "
        "verdict is judged on when this resolution reaches vncomply. A resolution is final; an officer "
        "may change it with a `reason`.",
        changes="Records the resolution (audited as `takedown.item.resolved`); a removal or "
        "restriction counts a violation against the item's account (and may start a lock); the last "
        "one completes the order, records its verdict and announces `takedown.completed`.",
        rule=("takedown.standard.v1", "lock.v1"),
        next="When `items_pending` is 0 the order is complete; check `verdict`.",
        errors={
            404: "No takedown order with this id is visible to this key, or it has no such item.",
            409: "This item is already resolved; a resolution is final. A compliance officer may "
            "change it, giving a `reason`.",
        },
    ),
)
async def resolve_item(
    order_id: uuid.UUID, item_id: uuid.UUID, body: ResolutionIn, session: SessionDep, actor: Actor
) -> OrderOut:
    return service.to_out(await lifecycle.resolve(session, actor, order_id, item_id, body))
