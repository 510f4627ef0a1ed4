from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from vncomply.kit.types import MULTI_LINE, SINGLE_LINE, BoundedDate, ZonedDateTime

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), SINGLE_LINE]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE]


class ContactPoint(BaseModel):
    """The Form No. 10 contact point filed with ABEI."""

    model_config = ConfigDict(extra="forbid")
    name: Text
    email: EmailStr
    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=40), SINGLE_LINE]
    address: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), MULTI_LINE
    ]


class PlatformCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "ExampleSocial",
                    "legal_name": "Example Social Inc.",
                    "contact_point": {
                        "name": "Tran Thi B",
                        "email": "vn-compliance@example.com",
                        "phone": "+84 24 3825 0000",
                        "address": "1 Trang Tien, Hoan Kiem, Ha Noi",
                    },
                    "monthly_vn_visits": 2500000,
                    "stores_data_in_vn": False,
                    "in_scope_since": "2025-01-01",
                }
            ]
        },
    )
    name: Name
    legal_name: Text
    contact_point: ContactPoint
    monthly_vn_visits: int = Field(
        ge=0, le=10**12, description="6-month average of monthly visits from Vietnam"
    )
    stores_data_in_vn: bool = False
    in_scope_since: BoundedDate | None = Field(
        default=None, description="the day it came in scope; unset while in scope: the day of registration"
    )
    contact_filed_at: ZonedDateTime | None = Field(
        default=None,
        description="when Form No. 10 was filed, if before registration (not in the future); later "
        "filings go through POST /v1/platforms/{id}/filings/{filing_id}/filed",
    )
    lock_days: list[int] | None = Field(
        default=None,
        min_length=3,
        max_length=3,
        description="temporary-lock length in days for the 1st, 2nd and 3rd lock (each 7-30)",
    )
    disclosure_two_officers: bool = False


class PlatformUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"monthly_vn_visits": 3100000, "lock_days": [7, 15, 30]}]},
    )
    name: Name | None = None
    legal_name: Text | None = None
    contact_point: ContactPoint | None = None
    monthly_vn_visits: int | None = Field(default=None, ge=0, le=10**12)
    stores_data_in_vn: bool | None = None
    in_scope_since: BoundedDate | None = Field(
        default=None, description="correcting it re-times a pending contact-point filing"
    )
    lock_days: list[int] | None = Field(default=None, min_length=3, max_length=3)
    disclosure_two_officers: bool | None = None


class PlatformOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "6f1c1f52-3c1e-4d8e-9b0a-0d6c2a1f2b11",
                    "name": "ExampleSocial",
                    "legal_name": "Example Social Inc.",
                    "contact_point": {
                        "name": "Tran Thi B",
                        "email": "vn-compliance@example.com",
                        "phone": "+84 24 3825 0000",
                        "address": "1 Trang Tien, Hoan Kiem, Ha Noi",
                    },
                    "monthly_vn_visits": 2500000,
                    "stores_data_in_vn": False,
                    "in_scope_since": "2025-01-01",
                    "contact_filed_at": None,
                    "lock_days": [7, 15, 30],
                    "disclosure_two_officers": False,
                    "in_scope": True,
                    "filing_due_at": "2025-03-01T17:00:00Z",
                    "filing_overdue": True,
                    "livestream_allowed": False,
                    "created_at": "2026-11-20T02:00:00Z",
                    "updated_at": "2026-11-20T02:00:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    name: str
    legal_name: str
    contact_point: ContactPoint
    monthly_vn_visits: int
    stores_data_in_vn: bool
    in_scope_since: date | None
    contact_filed_at: datetime | None
    lock_days: list[int]
    disclosure_two_officers: bool
    in_scope: bool
    filing_due_at: datetime | None = Field(
        description="the Form No. 10 due date while in scope (the contact_point filing holds its clock)"
    )
    filing_overdue: bool
    livestream_allowed: bool = Field(description="Form No. 10 is filed (livestream, monetise, …)")
    created_at: datetime
    updated_at: datetime
