from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from vncomply.kit.types import SINGLE_LINE


class AuthorityKind(StrEnum):
    ministry = "ministry"
    provincial = "provincial"
    specialised = "specialised"


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
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    kind: AuthorityKind | None = None
    platforms: Literal["all"] | list[uuid.UUID] | None = None


class AuthorityOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    kind: AuthorityKind
    platforms: Literal["all"] | list[uuid.UUID]
    created_at: datetime
    updated_at: datetime
