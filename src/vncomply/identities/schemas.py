"""Request and response bodies. Types only: the Decree 147 rules live in ``service``/``prepare``."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

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


class Method(StrEnum):
    sms_otp = "sms_otp"
    national_id = "national_id"
    vneid = "vneid"


class Action(StrEnum):
    post = "post"
    comment = "comment"
    share = "share"
    livestream = "livestream"
    livestream_commercial = "livestream_commercial"


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
    account_id: str
    status: Literal["verified", "revoked", "closed"]
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


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone_number: PhoneStr | None = None
    national_id: IdStr | None = None


class SearchOut(BaseModel):
    items: list[IdentityOut]


class BulkError(BaseModel):
    line: int
    account_id: str | None
    problem: str


class BulkOut(BaseModel):
    accepted: int
    rejected: int
    errors: list[BulkError]
    errors_truncated: bool = False


class PhoneVerificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: AccountId
    phone_number: PhoneStr


class PhoneVerificationOut(BaseModel):
    id: uuid.UUID
    expires_at: datetime


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[str, StringConstraints(min_length=1, max_length=12), SINGLE_LINE]


class ConfirmOut(BaseModel):
    status: Literal["confirmed"]


class ActionDecision(BaseModel):
    allowed: bool
    reason: str | None


class PermissionsOut(BaseModel):
    account_id: str
    verified: bool
    blocked_until: datetime | None
    locked: bool
    actions: dict[Action, ActionDecision]


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Action
    account_ids: list[AccountId] = Field(min_length=1, max_length=1000)


class CheckResult(BaseModel):
    account_id: str
    allowed: bool
    reason: str | None


class CheckOut(BaseModel):
    results: list[CheckResult]
