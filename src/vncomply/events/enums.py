"""The events domain's states and kinds (one definition; models, services, SQL parameters and
schemas use these, never the bare strings)."""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    """A webhook delivery's life: ``pending`` (due at ``next_attempt_at``) → ``delivering`` (leased
    by a worker; ``next_attempt_at`` is the lease expiry) → ``delivered``, or back to ``pending``
    for the next attempt, or ``failed`` once the attempts are spent or the endpoint is disabled."""

    pending = "pending"
    delivering = "delivering"
    delivered = "delivered"
    failed = "failed"


class DeliveryKind(StrEnum):
    """Why a delivery row exists: fanned out from the outbox, or asked for again by the platform
    (redeliveries are capped per platform per hour)."""

    event = "event"
    redelivery = "redelivery"


class DisabledReason(StrEnum):
    """``disabled_reason`` of an endpoint (shown to the platform as is)."""

    by_platform = "disabled by the platform"
    failing = "every delivery failed for 24 hours"


class AuditAction(StrEnum):
    endpoint_created = "webhook_endpoint.created"
    endpoint_updated = "webhook_endpoint.updated"
    endpoint_deleted = "webhook_endpoint.deleted"
    endpoint_rotated = "webhook_endpoint.secret_rotated"
    endpoint_disabled = "webhook_endpoint.disabled"
    event_redelivered = "event.redelivered"


# Audit resource types.
ENDPOINT_RESOURCE = "webhook_endpoint"
EVENT_RESOURCE = "event"
