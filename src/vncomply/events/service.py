"""Webhook endpoints, the pull feed and redelivery (the HTTP-facing logic; sending is in
``delivery``). Services never commit."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.config import get_settings
from vncomply.events import signing, ssrf
from vncomply.events.enums import (
    ENDPOINT_RESOURCE,
    EVENT_RESOURCE,
    AuditAction,
    DeliveryKind,
    DeliveryStatus,
    DisabledReason,
)
from vncomply.events.models import Event, WebhookDelivery, WebhookEndpoint
from vncomply.events.schemas import (
    DeliveryOut,
    EndpointCreate,
    EndpointOut,
    EndpointUpdate,
    EventOut,
)
from vncomply.kit import clock
from vncomply.kit.crypto import DecryptionError
from vncomply.kit.db import advisory_lock
from vncomply.kit.errors import Conflict, InvalidInput, RateLimited
from vncomply.kit.pagination import time_id_cursor
from vncomply.kit.principal import Principal
from vncomply.kit.tenancy import get_scoped, scoped
from vncomply.registry import event_types

ROTATION_GRACE = timedelta(hours=24)
REDELIVERY_WINDOW = timedelta(hours=1)
# Advisory-lock namespace (two-int form): endpoint creation and redelivery are serialised per
# platform, so two concurrent requests cannot both pass a cap.
_LOCK_NS = 0x3E7E


async def _lock_platform(session: AsyncSession, platform_id: uuid.UUID, what: str) -> None:
    await advisory_lock(session, _LOCK_NS, f"{what}:{platform_id}")


def to_out(e: WebhookEndpoint) -> EndpointOut:
    return EndpointOut(
        id=e.id,
        url=e.url,
        description=e.description,
        event_types=e.event_types,
        enabled=e.enabled,
        disabled_reason=e.disabled_reason,
        disabled_at=e.disabled_at,
        failing_since=e.failing_since,
        previous_secret_expires_at=e.previous_secret_expires_at,
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


def delivery_out(d: WebhookDelivery, event_type: str) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        event_id=d.event_id,
        event_type=event_type,
        endpoint_id=d.endpoint_id,
        status=d.status,
        kind=d.kind,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        delivered_at=d.delivered_at,
        created_at=d.created_at,
    )


def event_out(e: Event) -> EventOut:
    return EventOut(id=e.id, seq=e.seq, type=e.type, occurred_at=e.occurred_at, data=e.data)


def _event_types(types: list[str]) -> list[str]:
    wanted = list(dict.fromkeys(types))
    if "*" in wanted:
        if len(wanted) > 1:
            raise InvalidInput(
                '`["*"]` means every event type; do not list others with it', field="event_types"
            )
        return wanted
    unknown = [t for t in wanted if t not in event_types()]
    if unknown:
        raise InvalidInput(
            f"unknown event type(s): {', '.join(unknown)}; "
            f'known: {", ".join(sorted(event_types()))} or ["*"]',
            field="event_types",
        )
    return wanted


async def _safe_url(url: str) -> str:
    try:
        await ssrf.check(url)
    except ssrf.UnsafeUrl as exc:
        raise InvalidInput(f"This webhook URL is refused: {exc}.", field="url") from None
    return url


async def create_endpoint(
    session: AsyncSession, actor: Principal, body: EndpointCreate
) -> tuple[WebhookEndpoint, str]:
    platform_id = actor.require_platform()
    types = _event_types(body.event_types)
    url = await _safe_url(body.url)
    await _check_endpoint_cap(session, platform_id)
    secret = signing.new_secret()
    endpoint_id = uuid.uuid4()
    e = WebhookEndpoint(
        id=endpoint_id,
        platform_id=platform_id,
        url=url,
        description=body.description,
        event_types=types,
        enabled=True,
        secret_enc=signing.seal(secret, platform_id, endpoint_id),
    )
    session.add(e)
    await session.flush()
    audit.record(
        session,
        actor,
        AuditAction.endpoint_created,
        ENDPOINT_RESOURCE,
        e.id,
        platform_id,
        {"url": url, "event_types": types},
    )
    return e, secret


async def list_endpoints(
    session: AsyncSession, actor: Principal, cursor: list[Any] | None, limit: int
) -> list[WebhookEndpoint]:
    stmt = scoped(select(WebhookEndpoint), WebhookEndpoint, actor)
    if cursor:
        stmt = stmt.where(tuple_(WebhookEndpoint.created_at, WebhookEndpoint.id) > time_id_cursor(cursor))
    stmt = stmt.order_by(WebhookEndpoint.created_at, WebhookEndpoint.id).limit(limit)
    return list((await session.scalars(stmt)).all())


async def get_endpoint(
    session: AsyncSession, actor: Principal, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint:
    return await get_scoped(
        session, WebhookEndpoint, endpoint_id, actor, "webhook endpoint", for_update=for_update
    )


async def update_endpoint(
    session: AsyncSession, actor: Principal, endpoint_id: uuid.UUID, body: EndpointUpdate
) -> WebhookEndpoint:
    e = await get_endpoint(session, actor, endpoint_id, for_update=True)
    changes = body.model_dump(exclude_unset=True)
    for field in ("url", "event_types", "enabled", "description"):
        if field in changes and changes[field] is None:
            raise InvalidInput(f"`{field}` cannot be null; leave it out to keep it", field=field)
    if body.url is not None:
        e.url = await _safe_url(body.url)
    if body.event_types is not None:
        e.event_types = _event_types(body.event_types)
    if body.description is not None:
        e.description = body.description
    if body.enabled is not None and body.enabled != e.enabled:
        e.enabled = body.enabled
        if body.enabled:
            e.disabled_reason = e.disabled_at = e.failing_since = None
        else:
            e.disabled_reason, e.disabled_at = DisabledReason.by_platform, clock.now()
    await session.flush()
    audit.record(
        session,
        actor,
        AuditAction.endpoint_updated,
        ENDPOINT_RESOURCE,
        e.id,
        e.platform_id,
        {k: v for k, v in changes.items() if k != "description"},
    )
    return e


async def delete_endpoint(session: AsyncSession, actor: Principal, endpoint_id: uuid.UUID) -> None:
    e = await get_endpoint(session, actor, endpoint_id, for_update=True)
    audit.record(
        session, actor, AuditAction.endpoint_deleted, ENDPOINT_RESOURCE, e.id, e.platform_id, {"url": e.url}
    )
    await session.delete(e)
    await session.flush()


async def rotate_secret(
    session: AsyncSession, actor: Principal, endpoint_id: uuid.UUID
) -> tuple[WebhookEndpoint, str]:
    e = await get_endpoint(session, actor, endpoint_id, for_update=True)
    secret = signing.new_secret()
    if _readable(e):
        # Same AAD for both columns (same endpoint and field), so the blob moves as is.
        e.previous_secret_enc = e.secret_enc
        e.previous_secret_expires_at = clock.now() + ROTATION_GRACE
    else:
        # An undecryptable secret cannot sign: rotating is how the platform repairs the endpoint,
        # and nothing of the old one is kept.
        e.previous_secret_enc = e.previous_secret_expires_at = None
    e.secret_enc = signing.seal(secret, e.platform_id, e.id)
    await session.flush()
    until = e.previous_secret_expires_at
    audit.record(
        session,
        actor,
        AuditAction.endpoint_rotated,
        ENDPOINT_RESOURCE,
        e.id,
        e.platform_id,
        {"previous_valid_until": until.isoformat() if until else None},
    )
    return e, secret


async def list_deliveries(
    session: AsyncSession,
    actor: Principal,
    endpoint_id: uuid.UUID,
    status: DeliveryStatus | None,
    cursor: list[Any] | None,
    limit: int,
) -> list[tuple[WebhookDelivery, str]]:
    e = await get_endpoint(session, actor, endpoint_id)
    stmt: Select[tuple[WebhookDelivery, str]] = (
        select(WebhookDelivery, Event.type)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == e.id)
    )
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    if cursor:
        # Newest first.
        stmt = stmt.where(tuple_(WebhookDelivery.created_at, WebhookDelivery.id) < time_id_cursor(cursor))
    stmt = stmt.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit)
    return [(d, t) for d, t in (await session.execute(stmt)).all()]


def _types_filter(raw: str | None) -> list[str] | None:
    if not raw:
        return None
    types = [t.strip() for t in raw.split(",") if t.strip()]
    unknown = [t for t in types if t not in event_types()]
    if unknown:
        raise InvalidInput(f"unknown event type(s): {', '.join(unknown)}", field="type")
    return types


async def list_events(
    session: AsyncSession, actor: Principal, type_: str | None, after_seq: int, limit: int
) -> list[Event]:
    stmt = scoped(select(Event), Event, actor).where(Event.seq > after_seq)
    types = _types_filter(type_)
    if types:
        stmt = stmt.where(Event.type.in_(types))
    stmt = stmt.order_by(Event.platform_id, Event.seq).limit(limit)
    return list((await session.scalars(stmt)).all())


async def get_event(session: AsyncSession, actor: Principal, event_id: uuid.UUID) -> Event:
    return await get_scoped(session, Event, event_id, actor, EVENT_RESOURCE)


def subscribed(endpoint_types: list[str], event_type: str) -> bool:
    return "*" in endpoint_types or event_type in endpoint_types


async def redeliver(
    session: AsyncSession, actor: Principal, event_id: uuid.UUID, endpoint_id: uuid.UUID | None
) -> tuple[Event, list[WebhookDelivery]]:
    """Queue the event again (new delivery rows, due now; history is kept), within the
    platform's hourly redelivery cap."""
    event = await get_event(session, actor, event_id)
    if endpoint_id is not None:
        e = await get_endpoint(session, actor, endpoint_id)
        if not e.enabled:
            raise Conflict(
                f'Webhook endpoint {e.id} is disabled; enable it first (PATCH {{"enabled": true}}).'
            )
        endpoints = [e]
    else:
        endpoints = [
            e
            for e in (
                await session.scalars(
                    select(WebhookEndpoint).where(
                        WebhookEndpoint.platform_id == event.platform_id, WebhookEndpoint.enabled
                    )
                )
            ).all()
            if subscribed(e.event_types, event.type)
        ]
        if not endpoints:
            raise Conflict(
                f"No enabled webhook endpoint subscribes to {event.type}; create or "
                "enable one, or read the event from GET /v1/events."
            )
    now = clock.now()
    await _check_redelivery_cap(session, event.platform_id, len(endpoints), now)
    rows = [
        WebhookDelivery(
            id=uuid.uuid4(),
            event_id=event.id,
            endpoint_id=e.id,
            platform_id=event.platform_id,
            status=DeliveryStatus.pending,
            kind=DeliveryKind.redelivery,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for e in endpoints
    ]
    session.add_all(rows)
    await session.flush()
    audit.record(
        session,
        actor,
        AuditAction.event_redelivered,
        EVENT_RESOURCE,
        event.id,
        event.platform_id,
        {"endpoints": [str(e.id) for e in endpoints]},
    )
    return event, rows


def _readable(e: WebhookEndpoint) -> bool:
    try:
        signing.unseal(e.secret_enc, e.platform_id, e.id)
    except DecryptionError:
        return False
    return True


async def _check_endpoint_cap(session: AsyncSession, platform_id: uuid.UUID) -> None:
    cap = get_settings().webhook_max_endpoints_per_platform
    await _lock_platform(session, platform_id, "webhook_endpoints")
    have = await session.scalar(
        select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.platform_id == platform_id)
    )
    if (have or 0) >= cap:
        raise Conflict(
            f"This platform already has {have} webhook endpoints, the most allowed ({cap}). Delete one "
            "you no longer use (DELETE /v1/webhook-endpoints/{id}), or subscribe an existing one to "
            "more event types (PATCH its `event_types`).",
            extra={"limit": cap},
        )


async def _check_redelivery_cap(
    session: AsyncSession, platform_id: uuid.UUID, wanted: int, now: datetime
) -> None:
    cap = get_settings().redelivery_max_per_platform
    extra = {"limit": cap, "window_seconds": int(REDELIVERY_WINDOW.total_seconds())}
    if wanted > cap:
        raise Conflict(
            f"This event would be redelivered to {wanted} endpoints, more than the {cap} redeliveries "
            "this platform may queue per hour; redeliver to one endpoint at a time (`endpoint_id`).",
            extra=extra,
        )
    await _lock_platform(session, platform_id, "redeliveries")
    recent = (
        select(WebhookDelivery.created_at)
        .where(
            WebhookDelivery.platform_id == platform_id,
            WebhookDelivery.kind == DeliveryKind.redelivery,
            WebhookDelivery.created_at > now - REDELIVERY_WINDOW,
        )
        .order_by(WebhookDelivery.created_at)
    )
    count = await session.scalar(select(func.count()).select_from(recent.subquery())) or 0
    over = count + wanted - cap
    if over <= 0:
        return
    # Room for this request comes back when the `over`-th oldest redelivery leaves the window.
    oldest = await session.scalar(recent.offset(over - 1).limit(1))
    retry = max(1, math.ceil(((oldest or now) + REDELIVERY_WINDOW - now).total_seconds()))
    raise RateLimited(
        f"This platform has queued {count} redeliveries in the last hour; at most {cap} per hour "
        f"are allowed and this request adds {wanted}. Try again in {retry} s, or read missed events "
        "from the pull feed (GET /v1/events?after_seq=…), which has no such limit.",
        headers={"Retry-After": str(retry)},
        extra=extra,
    )
