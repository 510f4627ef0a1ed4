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
from vncomply.kit.docs import doc
from vncomply.kit.pagination import Page, PageParams, encode_cursor, page_params, seq_cursor
from vncomply.kit.principal import Principal, Role
from vncomply.kit.types import SINGLE_LINE

router = APIRouter(tags=["events"], route_class=IdempotentRoute)
Member = Annotated[Principal, Depends(require(Role.platform, Role.officer))]
EP = "/v1/webhook-endpoints"
NOT_FOUND_ENDPOINT = {404: "No webhook endpoint with this id is visible to this key."}


@router.post(
    EP,
    status_code=201,
    response_model=EndpointCreated,
    **doc(
        summary="Register a webhook endpoint (the signing secret is shown once)",
        about="Events are POSTed to `url` (https; a public address) signed the Standard Webhooks "
        "way (`webhook-id`, `webhook-timestamp`, `webhook-signature`), retried with backoff; 24 h of "
        'failures disables the endpoint. `event_types` is a list, or `["*"]` for all. `secret` is '
        "in this reply only (an idempotent replay has `secret: null`).",
        changes="Creates the endpoint with its signing secret (stored encrypted); audited as "
        "`webhook_endpoint.created`.",
        next="Verify each delivery's signature with the secret (any Standard Webhooks library), "
        "answer 2xx quickly, and deduplicate on `webhook-id`; see `docs/integration.md`.",
        errors={409: "This platform already has the most webhook endpoints allowed."},
    ),
)
@idempotent(secrets=("secret",))
async def create_webhook_endpoint(
    body: EndpointCreate, session: SessionDep, actor: Member
) -> EndpointCreated:
    e, secret = await service.create_endpoint(session, actor, body)
    return EndpointCreated(**service.to_out(e).model_dump(), secret=secret)


@router.get(
    EP,
    response_model=Page[EndpointOut],
    **doc(
        summary="List webhook endpoints",
        about="This platform's endpoints, oldest first (never their secrets).",
        next="Check `enabled` and `disabled_reason`; re-enable a disabled one with `PATCH`.",
    ),
)
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
    **doc(
        summary="A webhook endpoint (and why it is disabled, if it is)",
        next="See what was sent to it with `GET /v1/webhook-endpoints/{endpoint_id}/deliveries`.",
        errors=NOT_FOUND_ENDPOINT,
    ),
)
async def get_webhook_endpoint(endpoint_id: uuid.UUID, session: SessionDep, actor: Member) -> EndpointOut:
    return service.to_out(await service.get_endpoint(session, actor, endpoint_id))


@router.patch(
    EP + "/{endpoint_id}",
    response_model=EndpointOut,
    **doc(
        summary="Change URL, event types, description; enable or disable",
        about="Send only the members to change. Re-enabling clears `disabled_reason` and the failure clock.",
        changes="Updates the endpoint; audited as `webhook_endpoint.updated`.",
        next="Missed events while it was disabled? Redeliver them (`POST /v1/events/{event_id}/"
        "redeliver`) or read them from `GET /v1/events`.",
        errors=NOT_FOUND_ENDPOINT,
    ),
)
async def update_webhook_endpoint(
    endpoint_id: uuid.UUID, body: EndpointUpdate, session: SessionDep, actor: Member
) -> EndpointOut:
    return service.to_out(await service.update_endpoint(session, actor, endpoint_id, body))


@router.delete(
    EP + "/{endpoint_id}",
    status_code=204,
    response_class=Response,
    **doc(
        summary="Delete a webhook endpoint (pending deliveries are dropped)",
        changes="Deletes the endpoint and its pending deliveries; audited as `webhook_endpoint.deleted`.",
        next="Events stay readable from the pull feed (`GET /v1/events`).",
        errors=NOT_FOUND_ENDPOINT,
    ),
)
async def delete_webhook_endpoint(endpoint_id: uuid.UUID, session: SessionDep, actor: Member) -> Response:
    await service.delete_endpoint(session, actor, endpoint_id)
    return Response(status_code=204)


@router.post(
    EP + "/{endpoint_id}/rotate-secret",
    response_model=SecretRotated,
    **doc(
        summary="New signing secret; the old one also signs for 24 h",
        about="For 24 h each delivery carries two signatures (new, then old): accept a request if "
        "any matches, switch your receiver to the new secret, and the old one retires by itself.",
        changes="Replaces the signing secret; audited as `webhook_endpoint.secret_rotated`.",
        next="Deploy the new secret to your receiver before `previous_secret_expires_at`.",
        errors=NOT_FOUND_ENDPOINT,
    ),
)
@idempotent(secrets=("secret",))
async def rotate_webhook_secret(endpoint_id: uuid.UUID, session: SessionDep, actor: Member) -> SecretRotated:
    e, secret = await service.rotate_secret(session, actor, endpoint_id)
    return SecretRotated(secret=secret, previous_secret_expires_at=e.previous_secret_expires_at)


@router.get(
    EP + "/{endpoint_id}/deliveries",
    response_model=Page[DeliveryOut],
    **doc(
        summary="Deliveries to this endpoint, newest first",
        about="Each with its status (`pending`, `delivering`, `delivered`, `failed`), attempts, the "
        "last HTTP status or error, and the next attempt.",
        next="Fix what `last_error` says, then redeliver a failed one "
        "(`POST /v1/events/{event_id}/redeliver`).",
        errors=NOT_FOUND_ENDPOINT,
    ),
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
    **doc(
        summary="The pull feed: this platform's events in `seq` order",
        about="For platforms that cannot take inbound HTTP, or to catch up: every event of this "
        "platform in `seq` order (gap-free). Remember the last `seq` you handled and pass it as "
        "`after_seq`; narrow with `type` (comma-separated).",
        next="Poll again with `after_seq` = the last `seq` you handled (or follow `next_cursor`).",
    ),
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


@router.get(
    "/v1/events/{event_id}",
    response_model=EventOut,
    **doc(
        summary="One event",
        next="Fetch the resource it names (an order, a block, a request) for the details.",
        errors={404: "No event with this id is visible to this key."},
    ),
)
async def get_event(event_id: uuid.UUID, session: SessionDep, actor: Member) -> EventOut:
    return service.event_out(await service.get_event(session, actor, event_id))


@router.post(
    "/v1/events/{event_id}/redeliver",
    status_code=202,
    response_model=RedeliverOut,
    **doc(
        summary="Send an event again (to one endpoint or every subscribed one)",
        about="Queues new deliveries now, with the same `webhook-id` (deduplicate on it); the "
        "history of earlier ones is kept. Redeliveries per platform per hour are limited.",
        changes="Adds delivery rows of kind `redelivery`; audited as `event.redelivered`.",
        next="Watch them with `GET /v1/webhook-endpoints/{endpoint_id}/deliveries`.",
        errors={
            404: "No event with this id is visible to this key (or no such endpoint).",
            409: "No enabled webhook endpoint subscribes to this event's type.",
            429: "This platform has queued the most redeliveries allowed in the last hour.",
        },
    ),
)
@idempotent
async def redeliver_event(
    event_id: uuid.UUID, session: SessionDep, actor: Member, body: RedeliverIn | None = None
) -> RedeliverOut:
    ev, rows = await service.redeliver(session, actor, event_id, body.endpoint_id if body else None)
    return RedeliverOut(event_id=ev.id, deliveries=[service.delivery_out(d, ev.type) for d in rows])
