from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.config import JsonDict

from vncomply.kit.types import MULTI_LINE, SINGLE_LINE, ZonedDateTime
from vncomply.rulebook.schemas import RuleRef
from vncomply.takedowns.enums import (
    LOCKABLE_SUBJECTS,
    Category,
    Channel,
    ItemStatus,
    OrderStatus,
    Outcome,
    SubjectType,
    Urgency,
    Verdict,
)


def _http_url(value: str) -> str:
    lower = value.lower()
    if not (lower.startswith("http://") or lower.startswith("https://")) or len(value) < 10:
        raise ValueError("must be an absolute http:// or https:// URL")
    if any(c.isspace() for c in value):
        raise ValueError("must not contain whitespace")
    return value


HttpUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2048),
    SINGLE_LINE,
    AfterValidator(_http_url),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), MULTI_LINE]
ShortId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128), SINGLE_LINE]


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content_url: HttpUrl = Field(description="http(s) URL of the content, at most 2048 characters")
    content_id: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE]
        | None
    ) = None
    account_id: ShortId | None = Field(
        default=None, description="the platform's account id; a removal records a violation for it"
    )
    subject_type: SubjectType
    note: Text | None = None

    @model_validator(mode="after")
    def _lockable_subject_has_its_id(self) -> ItemIn:
        if self.subject_type in LOCKABLE_SUBJECTS and self.content_id is None:
            raise ValueError(
                f"a {self.subject_type.value} item needs `content_id`: the {self.subject_type.value}'s "
                "id on the platform (a removal counts as a violation of that subject too)"
            )
        return self


class TakedownCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "platform_id": "6f1c1f52-3c1e-4d8e-9b0a-0d6c2a1f2b11",
                    "reference_no": "1234/CV-PTTH&TTĐT",
                    "issued_at": "2026-11-25T08:00:00Z",
                    "channel": "electronic",
                    "urgency": "standard",
                    "category": "fraud",
                    "legal_basis": "Decree 147/2024/ND-CP Art. 23(2)(d)",
                    "description": "Fake investment scheme posts",
                    "items": [
                        {
                            "content_url": "https://social.example/p/9f8e7d",
                            "content_id": "9f8e7d",
                            "account_id": "u-1001",
                            "subject_type": "post",
                        }
                    ],
                },
                {
                    "authority_id": "0b0f6a33-0000-4000-8000-000000000a05",
                    "reference_no": "A05-PHONE-2026-11-25-01",
                    "received_at": "2026-11-25T07:30:00Z",
                    "channel": "phone",
                    "urgency": "emergency",
                    "category": "national_security",
                    "legal_basis": "Cybersecurity Law 2025 Art. 26",
                    "items": [
                        {"content_url": "https://social.example/live/abc", "subject_type": "livestream"}
                    ],
                },
            ]
        },
    )
    platform_id: uuid.UUID | None = Field(
        default=None, description="authority keys: the platform addressed (required)"
    )
    authority_id: uuid.UUID | None = Field(
        default=None, description="officer keys: the authority that ordered by phone or in writing"
    )
    reference_no: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE
    ] = Field(
        description="the authority's document number; unique per authority and platform (one "
        "letter may go to several platforms)"
    )
    issued_at: ZonedDateTime | None = Field(default=None, description="when the authority issued it")
    received_at: ZonedDateTime | None = Field(
        default=None,
        description="officer keys only: when it was received (default now; at most 7 days back)",
    )
    channel: Channel
    urgency: Urgency
    category: Category
    legal_basis: Text
    description: Text | None = None
    items: list[ItemIn] = Field(min_length=1, max_length=500)


class ResolutionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "outcome": "removed",
                    "actioned_at": "2026-11-25T09:10:00Z",
                    "evidence_url": "https://social.example/mod/case/77",
                },
                {
                    "outcome": "contested",
                    "reason": "Satire protected by the platform's policy; asked the authority to review",
                },
            ]
        },
    )
    outcome: Outcome
    actioned_at: ZonedDateTime | None = Field(
        default=None,
        description="when the platform says it acted (default now; never in the future). Kept as "
        "the platform's statement; the verdict is judged on when this resolution reaches vncomply",
    )
    note: Text | None = None
    evidence_url: HttpUrl | None = None
    reason: Text | None = Field(
        default=None,
        description="required for `contested`, and for an officer changing a final resolution",
    )


_SUMMARY_EXAMPLE: JsonDict = {
    "id": "3a6e296c-50e4-43a1-afd1-41f3a2232b3d",
    "platform_id": "6f1c1f52-3c1e-4d8e-9b0a-0d6c2a1f2b11",
    "authority_id": "9312f98b-c59c-4ee5-8074-61d34cbcdb5c",
    "reference_no": "1234/CV-PTTH&TTĐT",
    "channel": "electronic",
    "urgency": "standard",
    "category": "fraud",
    "status": "acknowledged",
    "issued_at": "2026-11-25T08:00:00Z",
    "received_at": "2026-11-25T08:05:00Z",
    "due_at": "2026-11-26T08:05:00Z",
    "rule": {"id": "takedown.standard.v1", "hours": 24},
    "remaining_seconds": 79200,
    "overdue": False,
    "acknowledged_at": "2026-11-25T08:20:00Z",
    "completed_at": None,
    "verdict": None,
    "on_time": None,
    "breached_at": None,
    "items_total": 1,
    "items_pending": 1,
    "items_backdated": 0,
    "created_at": "2026-11-25T08:05:00Z",
}
_ITEM_EXAMPLE: JsonDict = {
    "id": "3563b5cc-87da-4a0a-9401-7ecf5774b626",
    "position": 0,
    "content_url": "https://social.example/p/9f8e7d",
    "content_id": "9f8e7d",
    "account_id": "u-1001",
    "subject_type": "post",
    "note": None,
    "status": "pending",
    "actioned_at": None,
    "resolved_at": None,
    "reported_late": False,
    "backdated": False,
    "resolution_note": None,
    "evidence_url": None,
    "reason": None,
}


class ItemOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ITEM_EXAMPLE]})

    id: uuid.UUID
    position: int
    content_url: str
    content_id: str | None
    account_id: str | None
    subject_type: SubjectType
    note: str | None
    status: ItemStatus
    actioned_at: datetime | None = Field(description="the platform's statement of when it acted")
    resolved_at: datetime | None = Field(
        description="when the current resolution reached vncomply: what the verdict is judged on"
    )
    reported_late: bool = Field(description="resolved_at is at or after the order's due_at")
    backdated: bool = Field(
        description="removed, restricted or not_found, reported late with an actioned_at before due_at"
    )
    resolution_note: str | None
    evidence_url: str | None
    reason: str | None


class OrderSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_SUMMARY_EXAMPLE]})

    id: uuid.UUID
    platform_id: uuid.UUID
    authority_id: uuid.UUID
    reference_no: str
    channel: Channel
    urgency: Urgency
    category: Category
    status: OrderStatus
    issued_at: datetime | None
    received_at: datetime
    due_at: datetime
    rule: RuleRef
    remaining_seconds: int | None = Field(
        description="seconds until due_at at read time (negative once passed); null when completed"
    )
    overdue: bool = Field(description="due_at has passed and the order is not completed")
    acknowledged_at: datetime | None
    completed_at: datetime | None = Field(
        description="when the last pending item's resolution reached vncomply"
    )
    verdict: Verdict | None = Field(
        description="set on completion, judged on when resolutions reached vncomply (never on "
        "actioned_at): on_time; late (a breach, never cleared); contested (every item contested in time)"
    )
    on_time: bool | None = Field(
        description="the verdict as a boolean: true on_time, false late, null while open or contested"
    )
    breached_at: datetime | None = Field(
        description="due_at, once the order was found late (by the sweep or the verdict); never cleared"
    )
    items_total: int
    items_pending: int
    items_backdated: int = Field(description="items whose `backdated` is true")
    created_at: datetime


class OrderOut(OrderSummary):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_SUMMARY_EXAMPLE,
                    "legal_basis": "Decree 147/2024/ND-CP Art. 23(2)(d)",
                    "description": "Fake investment scheme posts",
                    "items": [_ITEM_EXAMPLE],
                }
            ]
        }
    )

    legal_basis: str
    description: str | None
    items: list[ItemOut]
