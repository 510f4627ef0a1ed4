from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from vncomply.filings.enums import FilingKind, FilingStatus
from vncomply.kit.types import MULTI_LINE, SINGLE_LINE, ZonedDateTime
from vncomply.rulebook.rules import Confidence

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), MULTI_LINE]


class FilingCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "transfer_impact",
                    "starts_at": "2026-11-20T00:00:00Z",
                    "description": "User content replicated to the Singapore region",
                }
            ]
        },
    )
    kind: Literal[FilingKind.dpia, FilingKind.transfer_impact] = Field(
        description="dpia (processing impact assessment) or transfer_impact (cross-border transfer "
        "impact assessment; storing Vietnamese users' data abroad counts as a transfer). The contact "
        "point and the annual reports are opened by vncomply"
    )
    starts_at: ZonedDateTime = Field(
        description="when the processing or transfer starts (at most a year ahead); due 60 days later"
    )
    description: Text | None = Field(default=None, description="which processing or transfer")


class FiledIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"filed_at": "2026-11-25T03:00:00Z", "reference": "ABEI-F10-2026-0042"}]
        },
    )
    filed_at: ZonedDateTime = Field(description="when it was filed with the authority (not in the future)")
    reference: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), SINGLE_LINE
    ] = Field(description="the authority's receipt or dossier number")
    note: Text | None = None
    report_id: uuid.UUID | None = Field(
        default=None, description="annual_report only: the frozen report snapshot that was filed"
    )


class FilingRule(BaseModel):
    """The rule version that timed the filing, kept with it."""

    id: str = Field(examples=["filing.v1"])
    days: int | None = Field(description="days the rule allowed from starts_at; null for a fixed date")
    confidence: Confidence


class FilingOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "57988e31-527b-498d-a5a9-4d95dcce91a9",
                    "platform_id": "6f1c1f52-3c1e-4d8e-9b0a-0d6c2a1f2b11",
                    "kind": "transfer_impact",
                    "period_year": None,
                    "description": "User content replicated to the Singapore region",
                    "starts_at": "2026-11-20T00:00:00Z",
                    "due_at": "2027-01-19T00:00:00Z",
                    "rule": {"id": "transfer_impact.v1", "days": 60, "confidence": "medium"},
                    "status": "filed",
                    "remaining_seconds": None,
                    "overdue": False,
                    "overdue_at": None,
                    "filed_at": "2026-11-25T03:00:00Z",
                    "filed_late": False,
                    "reference": "A05-TIA-2026-0042",
                    "note": None,
                    "report_id": None,
                    "created_at": "2026-11-25T11:35:00Z",
                    "updated_at": "2026-11-25T11:35:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    platform_id: uuid.UUID
    kind: FilingKind
    period_year: int | None = Field(description="annual_report: the calendar year reported on")
    description: str | None
    starts_at: datetime = Field(description="when the clock started")
    due_at: datetime
    rule: FilingRule
    status: FilingStatus
    remaining_seconds: int | None = Field(
        description="seconds until due_at at read time (negative once passed); null once filed"
    )
    overdue: bool = Field(description="due_at has passed and it is not filed (computed at read time)")
    overdue_at: datetime | None = Field(description="due_at, once the sweep found it unfiled; never cleared")
    filed_at: datetime | None
    filed_late: bool | None = Field(description="filed at or after due_at; null while pending")
    reference: str | None
    note: str | None
    report_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
