from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from vncomply.kit.principal import Role
from vncomply.kit.types import SINGLE_LINE, ZonedDateTime

Holder = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "role": "platform",
                    "platform_id": "6f1c1f52-3c1e-4d8e-9b0a-0d6c2a1f2b11",
                    "name": "ExampleSocial backend",
                },
                {
                    "role": "officer",
                    "platform_id": "6f1c1f52-3c1e-4d8e-9b0a-0d6c2a1f2b11",
                    "name": "ExampleSocial compliance, laptop",
                    "holder": "Trần Thị Bình",
                },
            ]
        },
    )
    role: Role
    platform_id: uuid.UUID | None = None
    authority_id: uuid.UUID | None = None
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE]
    holder: Holder | None = Field(
        default=None,
        description="the person who holds the key; required for officer keys (the two-officer rule "
        "for disclosures counts people, not keys)",
    )
    expires_at: ZonedDateTime | None = None


_KEY_EXAMPLE: JsonDict = {
    "id": "0466dafe-9186-48ff-98de-9b8065cb5964",
    "name": "ExampleSocial backend",
    "role": "platform",
    "holder": None,
    "platform_id": "6f1c1f52-3c1e-4d8e-9b0a-0d6c2a1f2b11",
    "authority_id": None,
    "prefix": "vnc_wP1qPgvY",
    "created_at": "2026-11-20T02:02:00Z",
    "expires_at": None,
    "revoked_at": None,
}


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_KEY_EXAMPLE]})

    id: uuid.UUID
    name: str
    role: Role
    holder: str | None = Field(description="the person who holds the key (officer keys)")
    platform_id: uuid.UUID | None
    authority_id: uuid.UUID | None
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{**_KEY_EXAMPLE, "key": "vnc_wP1qPgvYGni27D3pE3tF385-zarTvU-RSzO6oFdo1KE"}]
        }
    )

    key: str = Field(description="the key itself: shown this once, never stored; keep it secret")
