from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from vncomply.breaches.enums import BreachStatus, DataCategory
from vncomply.kit.types import MULTI_LINE, SINGLE_LINE, ZonedDateTime
from vncomply.rulebook.schemas import RuleRef

# What a data subject's identifiers look like: a Vietnamese mobile number (0…, 84…, +84…, grouped
# or not), a 12-digit personal ID number, an e-mail address. The record describes the breach, never
# the people in it. (Not the old 9-digit number: a count of affected accounts looks the same.)
_PERSONAL = (
    re.compile(r"(?<![\d+])(?:\+?84|0)(?:[ .]?\d){9}(?!\d)"),
    re.compile(r"(?<!\d)\d{12}(?!\d)"),
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
)


def _no_personal_data(value: str) -> str:
    if any(p.search(value) for p in _PERSONAL):
        # Never echo the text: it may be the very data it must not hold.
        raise ValueError(
            "must not hold personal data of the people affected (it contains what looks like a "
            "phone number, an ID number or an e-mail address); describe the breach by categories "
            "of data and counts"
        )
    return value


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=4000),
    MULTI_LINE,
    AfterValidator(_no_personal_data),
]
Reference = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE
]


class BreachCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "detected_at": "2026-11-25T02:00:00Z",
                    "occurred_at": "2026-11-24T22:30:00Z",
                    "description": "A misconfigured export bucket exposed profile data of VN users",
                    "data_categories": ["identity", "contact"],
                    "subjects_affected": 1200,
                    "measures": "Bucket closed, keys rotated, access logs under review",
                }
            ]
        },
    )
    detected_at: ZonedDateTime = Field(description="when the platform detected it (not in the future)")
    occurred_at: ZonedDateTime | None = Field(default=None, description="when it happened, if known")
    description: Text = Field(description="what happened; no personal data of the people affected")
    data_categories: list[DataCategory] = Field(min_length=1, max_length=len(DataCategory))
    subjects_affected: Annotated[int, Field(ge=0, le=10**9)] | Literal["unknown"] = Field(
        description="how many people are affected (>= 0), or `unknown`"
    )
    measures: Text = Field(description="what was done and is planned; no personal data")


class NotifiedIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"notified_at": "2026-11-26T09:00:00Z", "reference": "A05-PDP-2026-1187"}]
        },
    )
    notified_at: ZonedDateTime = Field(description="when MPS (A05) was notified (not in the future)")
    reference: Reference = Field(description="A05's receipt or dossier number")
    late_reason: Text | None = Field(
        default=None, description="required when notified_at is at or after due_at: why it was late"
    )


class BreachSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "1a66df39-7d72-4579-a522-df5b86078248",
                    "platform_id": "6f1c1f52-3c1e-4d8e-9b0a-0d6c2a1f2b11",
                    "status": "open",
                    "detected_at": "2026-11-25T02:00:00Z",
                    "occurred_at": "2026-11-24T22:30:00Z",
                    "data_categories": ["contact", "identity"],
                    "subjects_affected": 1200,
                    "due_at": "2026-11-28T02:00:00Z",
                    "rule": {"id": "breach_notice.v1", "hours": 72},
                    "remaining_seconds": 224700,
                    "overdue": False,
                    "overdue_at": None,
                    "notified_at": None,
                    "notified_late": None,
                    "backdated": None,
                    "created_at": "2026-11-25T11:35:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    platform_id: uuid.UUID
    status: BreachStatus
    detected_at: datetime
    occurred_at: datetime | None
    data_categories: list[DataCategory]
    subjects_affected: int | Literal["unknown"]
    due_at: datetime
    rule: RuleRef
    remaining_seconds: int | None = Field(
        description="seconds until due_at at read time (negative once passed); null once notified"
    )
    overdue: bool = Field(description="due_at has passed and no notice is recorded (computed at read time)")
    overdue_at: datetime | None = Field(
        description="due_at, once the sweep found no notice recorded; never cleared"
    )
    notified_at: datetime | None
    notified_late: bool | None = Field(description="notified_at at or after due_at; null while open")
    backdated: bool | None = Field(
        description="the notice reached vncomply at or after due_at with a notified_at before it"
    )
    created_at: datetime


class BreachOut(BreachSummary):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "1a66df39-7d72-4579-a522-df5b86078248",
                    "platform_id": "6f1c1f52-3c1e-4d8e-9b0a-0d6c2a1f2b11",
                    "status": "notified",
                    "detected_at": "2026-11-25T02:00:00Z",
                    "occurred_at": "2026-11-24T22:30:00Z",
                    "data_categories": ["contact", "identity"],
                    "subjects_affected": 1200,
                    "due_at": "2026-11-28T02:00:00Z",
                    "rule": {"id": "breach_notice.v1", "hours": 72},
                    "remaining_seconds": None,
                    "overdue": False,
                    "overdue_at": None,
                    "notified_at": "2026-11-25T10:00:00Z",
                    "notified_late": False,
                    "backdated": False,
                    "created_at": "2026-11-25T11:35:00Z",
                    "description": "A misconfigured export bucket exposed profile data of VN users",
                    "measures": "Bucket closed, keys rotated, access logs under review",
                    "reference": "A05-BR-2026-0077",
                    "late_reason": None,
                    "updated_at": "2026-11-25T11:35:00Z",
                }
            ]
        }
    )

    description: str
    measures: str
    reference: str | None
    late_reason: str | None
    updated_at: datetime
