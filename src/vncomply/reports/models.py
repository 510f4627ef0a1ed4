"""Frozen report snapshots: the JSON exactly as generated, its SHA-256 and the audit chain heads it
was generated against (docs/reports.md)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from vncomply.kit import clock
from vncomply.kit.columns import UUIDPk
from vncomply.kit.db import Base


class ReportSnapshot(UUIDPk, Base):
    __tablename__ = "report_snapshots"

    platform_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # compliance | annual
    period_from: Mapped[date]
    period_to: Mapped[date]
    year: Mapped[int | None] = mapped_column(Integer)
    generated_at: Mapped[datetime]
    # The report as served: bytes, not JSONB, so it comes back byte for byte (JSONB re-orders keys).
    body: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    # The same heads as in the body's `audit_chain`, as columns for whoever checks the trail.
    audit_heads: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # True: frozen by beat (the monthly snapshot), at most one per platform, kind and period.
    scheduled: Mapped[bool] = mapped_column(default=False)
    created_by_key_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    __table_args__ = (
        Index("ix_report_snapshots_platform_created", "platform_id", "created_at", "id"),
        Index(
            "uq_report_snapshots_scheduled",
            "platform_id",
            "kind",
            "period_from",
            "period_to",
            unique=True,
            postgresql_where="scheduled",
        ),
    )
