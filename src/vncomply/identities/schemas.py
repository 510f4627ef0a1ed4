"""Request and response bodies. Types only: the Decree 147 rules live in ``service``/``prepare``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from vncomply.identities.enums import Action, Denial, IdentityStatus, Method
from vncomply.identities.validation import ACCOUNT_ID_MAX, ACCOUNT_ID_PATTERN
from vncomply.kit.types import SINGLE_LINE, BoundedDate, ZonedDateTime

# Names, phone and ID numbers are normalised and checked in ``prepare``; here only their size and
# that they are one line of plain text.
Str200 = Annotated[str, StringConstraints(max_length=400), SINGLE_LINE]
PhoneStr = Annotated[str, StringConstraints(max_length=64), SINGLE_LINE]
IdStr = Annotated[str, StringConstraints(max_length=64), SINGLE_LINE]
AccountId = Annotated[
    str, StringConstraints(min_length=1, max_length=ACCOUNT_ID_MAX, pattern=ACCOUNT_ID_PATTERN)
]


class Verification(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Method
    verified_at: ZonedDateTime
    reference: Annotated[str, StringConstraints(min_length=1, max_length=200), SINGLE_LINE] | None = Field(
        default=None,
        description="your verification reference; if it is the id of one of our phone "
        "verifications it must be a confirmed one for this phone and account",
    )


class Guardian(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_name: Str200
    date_of_birth: BoundedDate
    phone_number: PhoneStr | None = None
    national_id: IdStr | None = None
    relationship: Annotated[str, StringConstraints(min_length=1, max_length=40), SINGLE_LINE]


class IdentityIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "full_name": "Nguyễn Văn An",
                    "date_of_birth": "1990-05-17",
                    "phone_number": "0912345678",
                    "verification": {"method": "sms_otp", "verified_at": "2026-11-25T08:00:00Z"},
                }
            ]
        },
    )
    full_name: Str200
    date_of_birth: BoundedDate
    phone_number: PhoneStr | None = None
    national_id: IdStr | None = None
    no_vn_mobile_attested: bool = False
    verification: Verification
    guardian: Guardian | None = None
    commercial_livestreamer: bool = False


class BulkLine(IdentityIn):
    account_id: Annotated[str, StringConstraints(max_length=200), SINGLE_LINE]


class Masked(BaseModel):
    full_name: str
    phone_number: str | None
    national_id: str | None


class IdentityOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_id": "u-1001",
                    "status": "verified",
                    "verified_at": "2026-11-20T02:00:00Z",
                    "method": "sms_otp",
                    "is_minor": False,
                    "has_guardian": False,
                    "commercial_livestreamer": False,
                    "masked": {
                        "full_name": "N***** V** A*",
                        "phone_number": "+84 91* *** *78",
                        "national_id": None,
                    },
                    "created_at": "2026-11-25T08:05:00Z",
                    "updated_at": "2026-11-25T08:05:00Z",
                    "revoked_at": None,
                    "closed_at": None,
                    "purged_at": None,
                }
            ]
        }
    )

    account_id: str
    status: IdentityStatus
    verified_at: datetime
    method: Method
    is_minor: bool
    has_guardian: bool
    commercial_livestreamer: bool
    masked: Masked
    created_at: datetime
    updated_at: datetime
    revoked_at: datetime | None = None
    closed_at: datetime | None = None
    purged_at: datetime | None = Field(
        default=None, description="when the retention purge removed the personal data (status and dates stay)"
    )


class SearchIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"phone_number": "0912345678"}]}
    )
    phone_number: PhoneStr | None = None
    national_id: IdStr | None = None


class SearchOut(BaseModel):
    items: list[IdentityOut]


class BulkError(BaseModel):
    line: int
    account_id: str | None
    problem: str


class BulkOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "accepted": 1,
                    "rejected": 1,
                    "errors": [
                        {
                            "line": 2,
                            "account_id": "u-2003",
                            "problem": "date_of_birth: Field required; verification: Field required",
                        }
                    ],
                    "errors_truncated": False,
                }
            ]
        }
    )

    accepted: int
    rejected: int
    errors: list[BulkError]
    errors_truncated: bool = False


class PhoneVerificationIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"account_id": "u-3003", "phone_number": "0987654321"}]},
    )
    account_id: AccountId
    phone_number: PhoneStr


class PhoneVerificationOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": "2540edd4-225e-43ae-816f-dccf52a07df8", "expires_at": "2026-11-25T08:10:00Z"}]
        }
    )

    id: uuid.UUID
    expires_at: datetime


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"code": "482913"}]})
    code: Annotated[str, StringConstraints(min_length=1, max_length=12), SINGLE_LINE]


class ConfirmOut(BaseModel):
    status: Literal["confirmed"]


class ActionDecision(BaseModel):
    allowed: bool
    reason: Denial | None


class PermissionsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_id": "u-1001",
                    "verified": True,
                    "blocked_until": None,
                    "locked": False,
                    "actions": {
                        "post": {"allowed": True, "reason": None},
                        "comment": {"allowed": True, "reason": None},
                        "share": {"allowed": True, "reason": None},
                        "livestream": {"allowed": True, "reason": None},
                        "livestream_commercial": {"allowed": False, "reason": "national_id_required"},
                        "monetise": {"allowed": True, "reason": None},
                    },
                }
            ]
        }
    )

    account_id: str
    verified: bool
    blocked_until: datetime | None
    locked: bool
    actions: dict[Action, ActionDecision]


class CheckIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"action": "post", "account_ids": ["u-1001", "u-9999"]}]},
    )
    action: Action
    account_ids: list[AccountId] = Field(min_length=1, max_length=1000)


class CheckResult(BaseModel):
    account_id: str
    allowed: bool
    reason: Denial | None


class CheckOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "results": [
                        {"account_id": "u-1001", "allowed": True, "reason": None},
                        {"account_id": "u-9999", "allowed": False, "reason": "unverified"},
                    ]
                }
            ]
        }
    )

    results: list[CheckResult]
