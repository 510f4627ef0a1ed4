from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from vncomply.authorities.enums import Channel
from vncomply.authorities.schemas import OrderParties
from vncomply.blocks.enums import BlockStatus, Kind, Origin, SubjectType
from vncomply.kit.types import MULTI_LINE, SINGLE_LINE, ZonedDateTime

SubjectId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128), SINGLE_LINE
]
Category = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[a-z][a-z0-9_]{0,39}$"),
]
Reference = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE
]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), MULTI_LINE]


class ViolationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "subject_type": "account",
                    "subject_id": "user-8812",
                    "authority_id": "0b6f3c1e-8d4f-4a59-9a57-0d2b0d6f4e11",
                    "reference_no": "ABEI-2026-00412",
                    "occurred_at": "2026-11-20T08:00:00Z",
                    "category": "false_information",
                }
            ]
        },
    )
    subject_type: SubjectType
    subject_id: SubjectId
    authority_id: uuid.UUID = Field(description="the authority whose request the violation answers")
    reference_no: Reference = Field(description="the authority's reference number for its request")
    occurred_at: ZonedDateTime = Field(
        description="when the ministry-requested violation occurred (not in the future)"
    )
    category: Category = Field(description="e.g. national_security, false_information, fraud")


class ViolationOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "8449e78f-651f-4855-83e2-14fe8f7ee7bb",
                    "platform_id": "6f1c1f52-3c1e-4d8e-9b0a-0d6c2a1f2b11",
                    "subject_type": "account",
                    "subject_id": "u-1001",
                    "authority_id": "0b0f6a33-0000-4000-8000-000000000a05",
                    "reference_no": "A05-2026-00412",
                    "category": "fraud",
                    "occurred_at": "2026-11-20T08:00:00Z",
                    "recorded_at": "2026-11-25T08:05:00Z",
                    "consumed_by_block_id": None,
                    "withdrawn_at": None,
                    "withdrawn_reason": None,
                }
            ]
        }
    )

    id: uuid.UUID
    platform_id: uuid.UUID
    subject_type: SubjectType
    subject_id: str
    authority_id: uuid.UUID | None
    reference_no: str
    category: str
    occurred_at: datetime
    recorded_at: datetime
    consumed_by_block_id: uuid.UUID | None = Field(
        description="the lock this violation counted toward, if any"
    )
    withdrawn_at: datetime | None = Field(
        default=None, description="set when the violation was withdrawn; it then counts toward no lock"
    )
    withdrawn_reason: str | None = None


class BlockOrder(OrderParties):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "platform_id": "3f0c2a4e-1b7d-4c1e-9f0a-5b8e2c7d9a10",
                    "subject_type": "page",
                    "subject_id": "page-5521",
                    "duration_days": 15,
                    "category": "fraud",
                    "reason": "Repeated fraudulent investment offers",
                    "legal_basis": "Decree 147/2024 Art. 24",
                    "reference_no": "ABEI-BL-2026-0091",
                }
            ]
        },
    )
    subject_type: SubjectType
    subject_id: SubjectId
    duration_days: int | None = Field(
        default=None, description="7-30 days (Decree 147); omit when `permanent` is true"
    )
    permanent: bool = Field(
        default=False,
        description="only for category national_security or a subject with 3 temporary locks",
    )
    category: Category
    reason: Reason
    legal_basis: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), MULTI_LINE
    ]
    reference_no: Reference


class LiftBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Authority withdrew the order by letter 55/2026"}]},
    )
    reason: Reason = Field(description="why the block is lifted early (kept in the audit trail)")


class ReviewBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "The lock stands on the four other violations in 30 days"}]
        },
    )
    reason: Reason = Field(description="why the lock stays after its violation was withdrawn (audited)")


class BlockOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "08201b0b-731c-4a5f-a0c5-109f9dc413dd",
                    "platform_id": "6f1c1f52-3c1e-4d8e-9b0a-0d6c2a1f2b11",
                    "subject_type": "page",
                    "subject_id": "page-5521",
                    "origin": "order",
                    "kind": "temporary",
                    "status": "active",
                    "active": True,
                    "starts_at": "2026-11-25T08:05:00Z",
                    "ends_at": "2026-12-10T08:05:00Z",
                    "duration_days": 15,
                    "apply_by": "2026-11-26T08:05:00Z",
                    "applied_at": "2026-11-25T08:05:00Z",
                    "apply_overdue": False,
                    "lifted_at": None,
                    "lift_reason": None,
                    "authority_id": "0b0f6a33-0000-4000-8000-000000000a05",
                    "reference_no": "A05-BL-2026-0091",
                    "channel": "electronic",
                    "category": "fraud",
                    "reason": "Repeated fraudulent investment offers",
                    "legal_basis": "Decree 147/2024 Art. 24",
                    "rule_id": "lock.v1",
                    "temporary_lock_no": 1,
                    "trigger": None,
                    "needs_review": False,
                    "review_requested_at": None,
                    "review_reason": None,
                    "review_closed_at": None,
                    "created_at": "2026-11-25T08:05:00Z",
                    "updated_at": "2026-11-25T08:05:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    platform_id: uuid.UUID
    subject_type: SubjectType
    subject_id: str
    origin: Origin
    kind: Kind
    status: BlockStatus = Field(description="computed from the clock at read time")
    active: bool
    starts_at: datetime
    ends_at: datetime | None = Field(description="null for a permanent lock")
    duration_days: int | None
    apply_by: datetime = Field(description="the platform applies the block and confirms by then")
    applied_at: datetime | None
    apply_overdue: bool
    lifted_at: datetime | None
    lift_reason: str | None
    authority_id: uuid.UUID | None
    reference_no: str | None
    channel: Channel | None = Field(description="orders: how the order reached the platform")
    category: str | None
    reason: str | None
    legal_basis: str | None
    rule_id: str
    temporary_lock_no: int | None
    trigger: dict[str, Any] | None
    needs_review: bool = Field(
        description="a violation this lock counted was withdrawn: an officer lifts it or keeps it"
    )
    review_requested_at: datetime | None
    review_reason: str | None
    review_closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
