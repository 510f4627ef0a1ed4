from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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
                    "platform_id": "3f0c2b0e-8a51-4a8e-9a3e-2d6f6b0c9d11",
                    "name": "ExampleSocial backend",
                },
                {
                    "role": "officer",
                    "platform_id": "3f0c2b0e-8a51-4a8e-9a3e-2d6f6b0c9d11",
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


class ApiKeyOut(BaseModel):
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
    key: str
