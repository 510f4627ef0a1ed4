"""Request and response bodies for disclosure requests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from vncomply.authorities.enums import Channel
from vncomply.authorities.schemas import OrderParties
from vncomply.disclosures.enums import Decision, DisclosureField, Status, SubjectType, Urgency
from vncomply.identities.validation import ACCOUNT_ID_MAX, ACCOUNT_ID_PATTERN
from vncomply.kit.types import MULTI_LINE, SINGLE_LINE, ZonedDateTime
from vncomply.rulebook.schemas import RuleRef

Text2000 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), MULTI_LINE]
RefNo = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE]
AccountId = Annotated[
    str, StringConstraints(min_length=1, max_length=ACCOUNT_ID_MAX, pattern=ACCOUNT_ID_PATTERN)
]


class Subject(BaseModel):
    """Exactly one of ``account_id``, ``phone_number``, ``national_id``."""

    model_config = ConfigDict(extra="forbid")
    account_id: AccountId | None = None
    phone_number: Annotated[str, StringConstraints(max_length=64), SINGLE_LINE] | None = None
    national_id: Annotated[str, StringConstraints(max_length=64), SINGLE_LINE] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Subject:
        given = [k for k in ("account_id", "phone_number", "national_id") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("subject must name exactly one of account_id, phone_number or national_id")
        return self


def _unique(values: list[DisclosureField]) -> list[DisclosureField]:
    if len(set(values)) != len(values):
        raise ValueError("fields must not repeat a field")
    return values


class DisclosureRequestCreate(OrderParties):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "platform_id": "5f0c6c1e-8a55-4c43-9d6e-1b7c2f1f2a10",
                    "reference_no": "A05/2026/1234",
                    "legal_basis": "Cybersecurity Law 2025 Art. 26; investigation file 77/2026",
                    "urgency": "standard",
                    "subject": {"phone_number": "0912345678"},
                    "fields": ["full_name", "date_of_birth", "phone_number"],
                    "reason": "Identify the author of posts under investigation",
                }
            ]
        },
    )
    reference_no: RefNo = Field(
        description="the authority's document number; unique per authority and platform"
    )
    legal_basis: Text2000
    urgency: Urgency = Urgency.standard
    subject: Subject
    fields: list[DisclosureField] = Field(min_length=1, max_length=len(DisclosureField))
    reason: Text2000

    @model_validator(mode="after")
    def _fields_unique(self) -> DisclosureRequestCreate:
        _unique(self.fields)
        return self


class DecisionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"decision": "approve"},
                {
                    "decision": "partially_approve",
                    "fields": ["full_name"],
                    "reason": "Date of birth is not needed for the stated purpose",
                    "notify_user_after": "2027-01-31T00:00:00Z",
                },
                {"decision": "reject", "reason": "The legal basis cited does not cover user data"},
            ]
        },
    )
    decision: Decision
    fields: list[DisclosureField] | None = Field(
        default=None, description="partially_approve only: a strict subset of the requested fields"
    )
    reason: Text2000 | None = Field(default=None, description="required for partially_approve and reject")
    notify_user_after: ZonedDateTime | None = Field(
        default=None,
        description="when the confidentiality order lapses: `disclosure.user_notice_due` fires then",
    )


class SubjectOut(BaseModel):
    type: SubjectType
    account_id: str | None = None
    masked: str | None = Field(default=None, description="masked phone or ID number")


class FirstApprovalOut(BaseModel):
    decision: Decision
    fields: list[str]
    reason: str | None
    officer_key_id: uuid.UUID | None
    decided_at: datetime


class DisclosureRequestOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "1f750e95-cf77-4035-96f3-56ec762b85a7",
                    "platform_id": "6f1c1f52-3c1e-4d8e-9b0a-0d6c2a1f2b11",
                    "authority_id": "0b0f6a33-0000-4000-8000-000000000a05",
                    "reference_no": "A05/2026/1234",
                    "legal_basis": "Cybersecurity Law 2025 Art. 26",
                    "reason": "Identify the author of posts under investigation",
                    "urgency": "standard",
                    "subject": {"type": "phone_number", "account_id": None, "masked": "+84 91* *** *78"},
                    "fields": ["full_name", "date_of_birth", "phone_number"],
                    "status": "partially_approved",
                    "received_at": "2026-11-25T08:05:00Z",
                    "channel": "electronic",
                    "due_at": "2026-11-26T08:05:00Z",
                    "rule": {"id": "disclosure.standard.v2", "hours": 24},
                    "overdue": False,
                    "remaining_seconds": None,
                    "matched_account_ids": ["u-1001", "u-2002"],
                    "first_approval": None,
                    "decision": "partially_approve",
                    "decision_reason": "Date of birth is not needed for the stated purpose",
                    "approved_fields": ["full_name", "phone_number"],
                    "decided_at": "2026-11-25T08:05:00Z",
                    "answered_on_time": True,
                    "package_expires_at": "2026-12-02T08:05:00Z",
                    "package_available": True,
                    "notify_user_after": None,
                    "created_at": "2026-11-25T08:05:00Z",
                    "updated_at": "2026-11-25T08:05:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    platform_id: uuid.UUID
    authority_id: uuid.UUID
    reference_no: str
    legal_basis: str
    reason: str
    urgency: Urgency
    subject: SubjectOut
    fields: list[str]
    status: Status
    received_at: datetime
    channel: Channel = Field(description="electronic, or phone/written (recorded by an officer)")
    due_at: datetime | None
    rule: RuleRef
    overdue: bool = Field(description="open past due_at (computed from the clock, not a sweep)")
    remaining_seconds: int | None
    matched_account_ids: list[str] | None = Field(
        default=None, description="officers only; authorities see accounts only in the package"
    )
    first_approval: FirstApprovalOut | None = None
    decision: Decision | None
    decision_reason: str | None
    approved_fields: list[str] | None
    decided_at: datetime | None
    answered_on_time: bool | None
    package_expires_at: datetime | None
    package_available: bool
    notify_user_after: datetime | None
    created_at: datetime
    updated_at: datetime


class PackageOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": "0b3f4a52-2f1d-4a36-9a7e-3c1d2b0e9f11",
                    "reference_no": "A05/2026/1234",
                    "platform_id": "5f0c6c1e-8a55-4c43-9d6e-1b7c2f1f2a10",
                    "fields": ["full_name", "phone_number"],
                    "generated_at": "2026-11-25T10:00:00Z",
                    "expires_at": "2026-12-02T09:00:00Z",
                    "accounts": [
                        {
                            "account_id": "u-123",
                            "full_name": "Nguyễn Văn An",
                            "phone_number": "+84912345678",
                        }
                    ],
                }
            ]
        }
    )
    request_id: uuid.UUID
    reference_no: str
    platform_id: uuid.UUID
    fields: list[str]
    generated_at: datetime
    expires_at: datetime
    accounts: list[dict[str, Any]] = Field(
        description="per matched account: `account_id` and the approved fields, nothing else"
    )
