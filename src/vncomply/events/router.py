from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from vncomply.auth.deps import require
from vncomply.events import service
from vncomply.events.enums import DeliveryStatus
from vncomply.events.schemas import (
    DeliveryOut,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointUpdate,
    EventOut,
    RedeliverIn,
    RedeliverOut,
    SecretRotated,
)
from vncomply.idempotency.route import IdempotentRoute, idempotent
from vncomply.kit.db import SessionDep
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params, seq_cursor
from vncomply.kit.principal import Principal, Role
from vncomply.kit.types import SINGLE_LINE

router = APIRouter(tags=["events"], route_class=IdempotentRoute)
Member = Annotated[Principal, Depends(require(Role.platform, Role.officer))]
EP = "/v1/webhook-endpoints"


@router.post(
    EP,
    status_code=201,
    response_model=EndpointCreated,
    summary="Register a webhook endpoint (the signing secret is shown once)",
)
@idempotent(secrets=("secret",))
async def create_webhook_endpoint(
    body: EndpointCreate, session: SessionDep, actor: Member
) -> EndpointCreated:
    e, secret = await service.create_endpoint(session, actor, body)
    return EndpointCreated(**service.to_out(e).model_dump(), secret=secret)


@router.get(EP, response_model=Page[EndpointOut], summary="List webhook endpoints")
async def list_webhook_endpoints(
    session: SessionDep, actor: Member, page: Annotated[PageParams, Depends(page_params)]
) -> Page[EndpointOut]:
    rows = await service.list_endpoints(session, actor, page.cursor, page.limit)
    nxt = (
        encode_cursor([rows[-1].created_at.isoformat(), str(rows[-1].id)])
        if len(rows) == page.limit
        else None
    )
    return Page(items=[service.to_out(e) for e in rows], next_cursor=nxt)


@router.get(
    EP + "/{endpoint_id}",
    response_model=EndpointOut,
    summary="A webhook endpoint (and why it is disabled, if it is)",
)
async def get_webhook_endpoint(endpoint_id: uuid.UUID, session: SessionDep, actor: Member) -> EndpointOut:
    return service.to_out(await service.get_endpoint(session, actor, endpoint_id))


@router.patch(
    EP + "/{endpoint_id}",
    response_model=EndpointOut,
    summary="Change URL, event types, description; enable or disable",
)
async def update_webhook_endpoint(
    endpoint_id: uuid.UUID, body: EndpointUpdate, session: SessionDep, actor: Member
) -> EndpointOut:
    return service.to_out(await service.update_endpoint(session, actor, endpoint_id, body))


@router.delete(
    EP + "/{endpoint_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a webhook endpoint (pending deliveries are dropped)",
)
async def delete_webhook_endpoint(endpoint_id: uuid.UUID, session: SessionDep, actor: Member) -> Response:
    await service.delete_endpoint(session, actor, endpoint_id)
    return Response(status_code=204)


@router.post(
    EP + "/{endpoint_id}/rotate-secret",
    response_model=SecretRotated,
    summary="New signing secret; the old one also signs for 24 h",
)
@idempotent(secrets=("secret",))
async def rotate_webhook_secret(endpoint_id: uuid.UUID, session: SessionDep, actor: Member) -> SecretRotated:
    e, secret = await service.rotate_secret(session, actor, endpoint_id)
    return SecretRotated(secret=secret, previous_secret_expires_at=e.previous_secret_expires_at)


@router.get(
    EP + "/{endpoint_id}/deliveries",
    response_model=Page[DeliveryOut],
    summary="Deliveries to this endpoint, newest first",
)
async def list_webhook_deliveries(
    endpoint_id: uuid.UUID,
    session: SessionDep,
    actor: Member,
    page: Annotated[PageParams, Depends(page_params)],
    status: DeliveryStatus | None = None,
) -> Page[DeliveryOut]:
    rows = await service.list_deliveries(session, actor, endpoint_id, status, page.cursor, page.limit)
    nxt = (
        encode_cursor([rows[-1][0].created_at.isoformat(), str(rows[-1][0].id)])
        if len(rows) == page.limit
        else None
    )
    return Page(items=[service.delivery_out(d, t) for d, t in rows], next_cursor=nxt)


@router.get(
    "/v1/events",
    response_model=Page[EventOut],
    summary="The pull feed: this platform's events in `seq` order",
)
async def list_events(
    session: SessionDep,
    actor: Member,
    page: Annotated[PageParams, Depends(page_params)],
    type: Annotated[
        str | None, Query(max_length=1000, description="event type(s), comma-separated"), SINGLE_LINE
    ] = None,
    after_seq: Annotated[int, Query(ge=0, le=2**63 - 1, description="start after this seq")] = 0,
) -> Page[EventOut]:
    after = seq_cursor(page.cursor) if page.cursor else after_seq
    rows = await service.list_events(session, actor, type, after, page.limit)
    nxt = encode_cursor([rows[-1].seq]) if len(rows) == page.limit else None
    return Page(items=[service.event_out(e) for e in rows], next_cursor=nxt)


@router.get("/v1/events/{event_id}", response_model=EventOut, summary="One event")
async def get_event(event_id: uuid.UUID, session: SessionDep, actor: Member) -> EventOut:
    return service.event_out(await service.get_event(session, actor, event_id))


@router.post(
    "/v1/events/{event_id}/redeliver",
    status_code=202,
    response_model=RedeliverOut,
    summary="Send an event again (to one endpoint or every subscribed one)",
)
@idempotent
async def redeliver_event(
    event_id: uuid.UUID, session: SessionDep, actor: Member, body: RedeliverIn | None = None
) -> RedeliverOut:
    ev, rows = await service.redeliver(session, actor, event_id, body.endpoint_id if body else None)
    return RedeliverOut(event_id=ev.id, deliveries=[service.delivery_out(d, ev.type) for d in rows])
