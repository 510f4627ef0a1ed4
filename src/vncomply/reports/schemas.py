"""The report document (its JSON is what a snapshot stores) and the snapshot bodies.

Field names are the JSON keys the regulator's copy carries; the CSV's ``metric`` column and the
HTML's labels are derived from them (``render``), so adding a figure here is the whole change.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vncomply.kit.types import BoundedDate
from vncomply.reports.enums import Kind

Rate = Annotated[float | None, Field(ge=0, le=1, description="0 to 1; null when nothing to rate")]
Seconds = Annotated[float | None, Field(description="seconds; null when nothing to measure")]


class PlatformRef(BaseModel):
    id: uuid.UUID
    name: str


class PeriodOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    from_: date = Field(alias="from", description="first day, Vietnam time (inclusive)")
    to: date = Field(description="last day, Vietnam time (inclusive)")
    timezone: Literal["Asia/Ho_Chi_Minh"] = "Asia/Ho_Chi_Minh"


class AuthorityCount(BaseModel):
    authority_id: uuid.UUID
    code: str | None
    orders: int
    items: int


class ItemsByOutcome(BaseModel):
    removed: int
    restricted: int
    not_found: int
    contested: int
    pending: int


class TimeToRemoval(BaseModel):
    p50: Seconds
    p90: Seconds
    max: Seconds


class HistogramBucket(BaseModel):
    from_seconds: int
    to_seconds: int | None = Field(description="exclusive; null for the last, open bucket")
    items: int


class MonthOnTime(BaseModel):
    month: str = Field(examples=["2026-11"], description="Vietnam calendar month of receipt")
    orders_completed: int
    orders_on_time: int
    on_time_rate: Rate


class Takedowns(BaseModel):
    orders_received: int
    items_received: int
    by_authority: list[AuthorityCount]
    by_category: dict[str, int]
    by_urgency: dict[str, int]
    orders_completed: int
    orders_on_time: int
    orders_late: int
    orders_contested: int = Field(description="completed with every item contested: not on time")
    on_time_rate: Rate = Field(description="orders_on_time / orders_completed")
    items_by_outcome: ItemsByOutcome
    time_to_removal_seconds: TimeToRemoval = Field(
        description="removed and restricted items, from the order's receipt to the resolution "
        "reaching vncomply (percentile_cont)"
    )
    time_to_removal_histogram: list[HistogramBucket]
    on_time_by_month: list[MonthOnTime]
    breached_orders: int
    overdue_open: int = Field(description="open and past due when the report was generated")
    backdated_resolutions: int = Field(
        description="items whose stated actioned_at is before due_at but which reached vncomply after it"
    )


class Blocks(BaseModel):
    ordered: int
    rule_based: int
    temporary: int
    permanent: int
    lifted_early: int
    active_now: int = Field(description="of the period's blocks, those active when generated")


class Disclosures(BaseModel):
    received: int
    approved: int
    partially_approved: int
    rejected: int
    no_data: int
    pending: int
    median_seconds_to_decision: Seconds


class Identities(BaseModel):
    verified: int
    by_method: dict[str, int] = Field(description="verified accounts by verification method")
    minors_with_guardian: int
    closed: int
    revoked: int


class Webhooks(BaseModel):
    deliveries: int
    delivered: int
    failed: int


class ChainHead(BaseModel):
    seq: int
    chain_seq: int
    hash: str = Field(description="hex SHA-256 of the last sealed record")


class AuditChain(BaseModel):
    """The last sealed record of each audit chain when the report was generated: a regulator holding
    the report can check later that the trail still reaches these records unchanged."""

    platform: ChainHead | None
    system: ChainHead | None


class Service(BaseModel):
    legal_name: str
    contact_point: dict[str, Any]
    monthly_vn_visits: int
    stores_data_in_vn: bool
    in_scope_since: date | None
    contact_filed_at: datetime | None = Field(description="Form No. 10 filed at")
    accounts_by_method_at_year_end: dict[str, int]


class ComplianceReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "compliance",
                    "platform": {"id": "6f1c1f52-3c1e-4d8e-9b0a-0d6c2a1f2b11", "name": "ExampleSocial"},
                    "period": {"from": "2026-11-01", "to": "2026-11-30", "timezone": "Asia/Ho_Chi_Minh"},
                    "generated_at": "2026-11-25T11:35:00Z",
                    "takedowns": {
                        "orders_received": 1,
                        "items_received": 2,
                        "by_authority": [
                            {
                                "authority_id": "0b0f6a33-0000-4000-8000-000000000a05",
                                "code": "A05",
                                "orders": 1,
                                "items": 2,
                            }
                        ],
                        "by_category": {"fraud": 1},
                        "by_urgency": {"standard": 1},
                        "orders_completed": 1,
                        "orders_on_time": 1,
                        "orders_late": 0,
                        "orders_contested": 0,
                        "on_time_rate": 1.0,
                        "items_by_outcome": {
                            "removed": 1,
                            "restricted": 0,
                            "not_found": 1,
                            "contested": 0,
                            "pending": 0,
                        },
                        "time_to_removal_seconds": {"p50": 12600.0, "p90": 12600.0, "max": 12600.0},
                        "time_to_removal_histogram": [
                            {"from_seconds": 0, "to_seconds": 3600, "items": 0},
                            {"from_seconds": 3600, "to_seconds": 10800, "items": 0},
                            {"from_seconds": 10800, "to_seconds": 21600, "items": 1},
                            {"from_seconds": 21600, "to_seconds": 43200, "items": 0},
                            {"from_seconds": 43200, "to_seconds": 86400, "items": 0},
                            {"from_seconds": 86400, "to_seconds": 172800, "items": 0},
                            {"from_seconds": 172800, "to_seconds": None, "items": 0},
                        ],
                        "on_time_by_month": [
                            {
                                "month": "2026-11",
                                "orders_completed": 1,
                                "orders_on_time": 1,
                                "on_time_rate": 1.0,
                            }
                        ],
                        "breached_orders": 0,
                        "overdue_open": 0,
                        "backdated_resolutions": 0,
                    },
                    "blocks": {
                        "ordered": 1,
                        "rule_based": 0,
                        "temporary": 1,
                        "permanent": 0,
                        "lifted_early": 1,
                        "active_now": 0,
                    },
                    "disclosures": {
                        "received": 1,
                        "approved": 0,
                        "partially_approved": 1,
                        "rejected": 0,
                        "no_data": 0,
                        "pending": 0,
                        "median_seconds_to_decision": 0.0,
                    },
                    "identities": {
                        "verified": 1,
                        "by_method": {"sms_otp": 1},
                        "minors_with_guardian": 0,
                        "closed": 1,
                        "revoked": 0,
                    },
                    "webhooks": {"deliveries": 1, "delivered": 0, "failed": 0},
                    "audit_chain": {
                        "platform": {
                            "seq": 1842,
                            "chain_seq": 311,
                            "hash": "5d1f0c3e9b7a2c4d6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f",
                        },
                        "system": None,
                    },
                }
            ]
        }
    )

    kind: Kind
    platform: PlatformRef
    period: PeriodOut
    generated_at: datetime
    takedowns: Takedowns
    blocks: Blocks
    disclosures: Disclosures
    identities: Identities = Field(description="as they stand when generated, not by period")
    webhooks: Webhooks
    audit_chain: AuditChain


class AnnualReport(ComplianceReport):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "annual",
                    "platform": {"id": "6f1c1f52-3c1e-4d8e-9b0a-0d6c2a1f2b11", "name": "ExampleSocial"},
                    "period": {"from": "2026-01-01", "to": "2026-12-31", "timezone": "Asia/Ho_Chi_Minh"},
                    "generated_at": "2026-11-25T11:35:00Z",
                    "takedowns": {
                        "orders_received": 1,
                        "items_received": 2,
                        "by_authority": [
                            {
                                "authority_id": "0b0f6a33-0000-4000-8000-000000000a05",
                                "code": "A05",
                                "orders": 1,
                                "items": 2,
                            }
                        ],
                        "by_category": {"fraud": 1},
                        "by_urgency": {"standard": 1},
                        "orders_completed": 1,
                        "orders_on_time": 1,
                        "orders_late": 0,
                        "orders_contested": 0,
                        "on_time_rate": 1.0,
                        "items_by_outcome": {
                            "removed": 1,
                            "restricted": 0,
                            "not_found": 1,
                            "contested": 0,
                            "pending": 0,
                        },
                        "time_to_removal_seconds": {"p50": 12600.0, "p90": 12600.0, "max": 12600.0},
                        "time_to_removal_histogram": [
                            {"from_seconds": 0, "to_seconds": 3600, "items": 0},
                            {"from_seconds": 3600, "to_seconds": 10800, "items": 0},
                            {"from_seconds": 10800, "to_seconds": 21600, "items": 1},
                            {"from_seconds": 21600, "to_seconds": 43200, "items": 0},
                            {"from_seconds": 43200, "to_seconds": 86400, "items": 0},
                            {"from_seconds": 86400, "to_seconds": 172800, "items": 0},
                            {"from_seconds": 172800, "to_seconds": None, "items": 0},
                        ],
                        "on_time_by_month": [
                            {
                                "month": "2026-11",
                                "orders_completed": 1,
                                "orders_on_time": 1,
                                "on_time_rate": 1.0,
                            }
                        ],
                        "breached_orders": 0,
                        "overdue_open": 0,
                        "backdated_resolutions": 0,
                    },
                    "blocks": {
                        "ordered": 1,
                        "rule_based": 0,
                        "temporary": 1,
                        "permanent": 0,
                        "lifted_early": 1,
                        "active_now": 0,
                    },
                    "disclosures": {
                        "received": 1,
                        "approved": 0,
                        "partially_approved": 1,
                        "rejected": 0,
                        "no_data": 0,
                        "pending": 0,
                        "median_seconds_to_decision": 0.0,
                    },
                    "identities": {
                        "verified": 1,
                        "by_method": {"sms_otp": 1},
                        "minors_with_guardian": 0,
                        "closed": 1,
                        "revoked": 0,
                    },
                    "webhooks": {"deliveries": 1, "delivered": 0, "failed": 0},
                    "audit_chain": {
                        "platform": {
                            "seq": 1842,
                            "chain_seq": 311,
                            "hash": "5d1f0c3e9b7a2c4d6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f",
                        },
                        "system": None,
                    },
                    "service": {
                        "legal_name": "ExampleSocial Inc.",
                        "contact_point": {
                            "name": "Tran Thi B",
                            "email": "vn-compliance@example.com",
                            "phone": "+84 24 3825 0000",
                            "address": "1 Trang Tien, Hoan Kiem, Ha Noi",
                        },
                        "monthly_vn_visits": 2500000,
                        "stores_data_in_vn": False,
                        "in_scope_since": "2025-01-01",
                        "contact_filed_at": "2025-02-10T03:00:00Z",
                        "accounts_by_method_at_year_end": {"sms_otp": 1841200, "national_id": 12034},
                    },
                }
            ]
        }
    )

    service: Service


# ---- snapshots -------------------------------------------------------------------------------


class SnapshotCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={"examples": [{"kind": "compliance", "from": "2026-11-01", "to": "2026-11-30"}]},
    )
    kind: Kind
    from_: BoundedDate | None = Field(default=None, alias="from", description="compliance: first day")
    to: BoundedDate | None = Field(default=None, description="compliance: last day")
    year: int | None = Field(default=None, ge=2000, le=9999, description="annual: the year")

    @model_validator(mode="after")
    def _shape(self) -> SnapshotCreate:
        if self.kind is Kind.annual and (self.from_ is not None or self.to is not None):
            raise ValueError("an annual snapshot takes `year`, not `from`/`to`")
        if self.kind is Kind.annual and self.year is None:
            raise ValueError("an annual snapshot needs `year`")
        if self.kind is Kind.compliance and self.year is not None:
            raise ValueError("a compliance snapshot takes `from`/`to`, not `year`")
        return self


class SnapshotOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "4960770a-be8b-4113-a782-07487807ff18",
                    "kind": "compliance",
                    "period": {"from": "2026-11-01", "to": "2026-11-30", "timezone": "Asia/Ho_Chi_Minh"},
                    "generated_at": "2026-11-25T11:35:00Z",
                    "sha256": "8d02dd89e71c791386d83233b96c1d8cbf97ba7940b7c31a82c35ce2201f4098",
                    "audit_chain": {
                        "platform": {
                            "seq": 1842,
                            "chain_seq": 311,
                            "hash": "5d1f0c3e9b7a2c4d6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f",
                        },
                        "system": None,
                    },
                    "scheduled": False,
                }
            ]
        }
    )

    id: uuid.UUID
    kind: Kind
    period: PeriodOut
    generated_at: datetime
    sha256: str = Field(description="hex SHA-256 of the stored JSON, byte for byte")
    audit_chain: AuditChain
    scheduled: bool = Field(description="frozen by the monthly schedule, not by a person")
