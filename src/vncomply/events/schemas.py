from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from vncomply.events.enums import DeliveryKind, DeliveryStatus
from vncomply.kit.types import MULTI_LINE, SINGLE_LINE

Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=2048), SINGLE_LINE]
EventTypes = Annotated[
    list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), SINGLE_LINE]],
    Field(min_length=1, max_length=50, description='event types, or `["*"]` for all'),
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), MULTI_LINE]


class EndpointCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.example.com/vncomply",
                    "event_types": ["takedown.received", "takedown.deadline_approaching"],
                    "description": "trust & safety pager",
                }
            ]
        },
    )
    url: Url
    event_types: EventTypes = ["*"]
    description: Description = ""


class EndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = Field(
        default=None, description="re-enabling clears `disabled_reason` and the failure clock"
    )


class EndpointOut(BaseModel):
    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None = Field(
        description="first failed attempt since the last success (24 h of failures disables)"
    )
    previous_secret_expires_at: datetime | None = Field(
        description="until then deliveries carry a second signature made with the old secret"
    )
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="`whsec_…` signing secret; shown only once")


class SecretRotated(BaseModel):
    secret: str = Field(description="the new `whsec_…` secret; shown only once")
    previous_secret_expires_at: datetime | None = Field(
        description="until then the old secret also signs; null when the old secret could not be "
        "decrypted (it no longer signs anything)"
    )


class DeliveryOut(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    endpoint_id: uuid.UUID
    status: DeliveryStatus
    kind: DeliveryKind = Field(description="`event` (fanned out) or `redelivery` (asked for again)")
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class EventOut(BaseModel):
    id: uuid.UUID
    seq: int = Field(description="per-platform, gap-free, increasing")
    type: str
    occurred_at: datetime
    data: dict[str, Any]


class RedeliverIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    endpoint_id: uuid.UUID | None = Field(
        default=None, description="one endpoint; default: every enabled endpoint subscribed"
    )


class RedeliverOut(BaseModel):
    event_id: uuid.UUID
    deliveries: list[DeliveryOut]
