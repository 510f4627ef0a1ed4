from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from vncomply.authorities.enums import AuthorityKind, Channel
from vncomply.kit.types import SINGLE_LINE, ZonedDateTime

Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{1,39}$"),
]


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), SINGLE_LINE]


class AuthorityCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "ABEI",
                    "name": "Authority of Broadcasting and Electronic Information",
                    "kind": "ministry",
                    "platforms": "all",
                }
            ]
        },
    )
    code: Code = Field(description="unique code, e.g. ABEI, MPS-A05, DIC-HANOI")
    name: Name
    kind: AuthorityKind
    platforms: Literal["all"] | list[uuid.UUID] = Field(
        default_factory=list, description='platform ids it may address, or "all"', max_length=10_000
    )


class AuthorityUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"platforms": ["6f1c1f52-3c1e-4d8e-9b0a-0d6c2a1f2b11"]}]},
    )
    name: Name | None = None
    kind: AuthorityKind | None = None
    platforms: Literal["all"] | list[uuid.UUID] | None = None


class AuthorityOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "9312f98b-c59c-4ee5-8074-61d34cbcdb5c",
                    "code": "ABEI",
                    "name": "Authority of Broadcasting and Electronic Information",
                    "kind": "ministry",
                    "platforms": "all",
                    "created_at": "2026-11-20T02:01:00Z",
                    "updated_at": "2026-11-20T02:01:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    code: str
    name: str
    kind: AuthorityKind
    platforms: Literal["all"] | list[uuid.UUID]
    created_at: datetime
    updated_at: datetime


class OrderParties(BaseModel):
    """Who sent an order to whom, how and when: the fields every authority order carries
    (block orders and disclosure requests; checked by ``vncomply.authorities.receipt``)."""

    model_config = ConfigDict(extra="forbid")
    platform_id: uuid.UUID | None = Field(
        default=None, description="authority keys: the platform addressed (required); officer keys: omit"
    )
    authority_id: uuid.UUID | None = Field(
        default=None,
        description="officer keys (required): the authority that gave the order by phone or in writing",
    )
    channel: Channel | None = Field(
        default=None,
        description="officer keys (required): `phone` or `written`; authority keys: `electronic` (default)",
    )
    received_at: ZonedDateTime | None = Field(
        default=None,
        description="officer keys only: when the order was received (default now; at most 7 days "
        "back); its clock runs from this instant",
    )
