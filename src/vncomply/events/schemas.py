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
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"description": "T&S pager", "enabled": True}]}
    )
    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = Field(
        default=None, description="re-enabling clears `disabled_reason` and the failure clock"
    )


class EndpointOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "f8de4282-9f69-44d1-a4d0-9d068981c542",
                    "url": "https://127.0.0.1:8443/hook",
                    "description": "T&S pager",
                    "event_types": ["*"],
                    "enabled": True,
                    "disabled_reason": None,
                    "disabled_at": None,
                    "failing_since": None,
                    "previous_secret_expires_at": None,
                    "created_at": "2026-11-25T08:05:00Z",
                    "updated_at": "2026-11-25T08:05:00Z",
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "f8de4282-9f69-44d1-a4d0-9d068981c542",
                    "url": "https://127.0.0.1:8443/hook",
                    "description": "pager",
                    "event_types": ["*"],
                    "enabled": True,
                    "disabled_reason": None,
                    "disabled_at": None,
                    "failing_since": None,
                    "previous_secret_expires_at": None,
                    "created_at": "2026-11-25T08:05:00Z",
                    "updated_at": "2026-11-25T08:05:00Z",
                    "secret": "whsec_XqTNl/NKYhP9HxGzIQlKPXiVA5ciCNMadGvXjdzddII=",
                }
            ]
        }
    )

    secret: str = Field(description="`whsec_…` signing secret; shown only once")


class SecretRotated(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "secret": "whsec_PW4gZdyvYLbOD12fy3LMYLrTBaFo7fC6Eh9fWuOTQKI=",
                    "previous_secret_expires_at": "2026-11-26T08:05:00Z",
                }
            ]
        }
    )

    secret: str = Field(description="the new `whsec_…` secret; shown only once")
    previous_secret_expires_at: datetime | None = Field(
        description="until then the old secret also signs; null when the old secret could not be "
        "decrypted (it no longer signs anything)"
    )


class DeliveryOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "44e2963c-6c11-443b-a915-810bcf8166e6",
                    "event_id": "80880df1-303e-4697-a5ae-d8fd01b9e08f",
                    "event_type": "block.started",
                    "endpoint_id": "f8de4282-9f69-44d1-a4d0-9d068981c542",
                    "status": DeliveryStatus.pending.value,
                    "kind": DeliveryKind.redelivery.value,
                    "attempts": 0,
                    "next_attempt_at": "2026-11-25T08:05:00Z",
                    "last_status_code": None,
                    "last_error": None,
                    "delivered_at": None,
                    "created_at": "2026-11-25T08:05:00Z",
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "80880df1-303e-4697-a5ae-d8fd01b9e08f",
                    "seq": 1,
                    "type": "block.started",
                    "occurred_at": "2026-11-25T08:05:00Z",
                    "data": {
                        "kind": "temporary",
                        "origin": "order",
                        "ends_at": "2026-12-10T08:05:00+00:00",
                        "apply_by": "2026-11-26T08:05:00+00:00",
                        "block_id": "08201b0b-731c-4a5f-a0c5-109f9dc413dd",
                        "starts_at": "2026-11-25T08:05:00+00:00",
                        "subject_id": "page-5521",
                        "authority_id": "0b0f6a33-0000-4000-8000-000000000a05",
                        "reference_no": "A05-BL-2026-0091",
                        "subject_type": "page",
                    },
                }
            ]
        }
    )

    id: uuid.UUID
    seq: int = Field(description="per-platform, gap-free, increasing")
    type: str
    occurred_at: datetime
    data: dict[str, Any]


class RedeliverIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"endpoint_id": "f8de4282-9f69-44d1-a4d0-9d068981c542"}]},
    )
    endpoint_id: uuid.UUID | None = Field(
        default=None, description="one endpoint; default: every enabled endpoint subscribed"
    )


class RedeliverOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "80880df1-303e-4697-a5ae-d8fd01b9e08f",
                    "deliveries": [
                        {
                            "id": "44e2963c-6c11-443b-a915-810bcf8166e6",
                            "event_id": "80880df1-303e-4697-a5ae-d8fd01b9e08f",
                            "event_type": "block.started",
                            "endpoint_id": "f8de4282-9f69-44d1-a4d0-9d068981c542",
                            "status": DeliveryStatus.pending.value,
                            "kind": DeliveryKind.redelivery.value,
                            "attempts": 0,
                            "next_attempt_at": "2026-11-25T08:05:00Z",
                            "last_status_code": None,
                            "last_error": None,
                            "delivered_at": None,
                            "created_at": "2026-11-25T08:05:00Z",
                        }
                    ],
                }
            ]
        }
    )

    event_id: uuid.UUID
    deliveries: list[DeliveryOut]
