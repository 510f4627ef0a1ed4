"""Filings: one row per thing a platform must file, with its due date from the rulebook.

``next_action_at`` drives the deadline engine (``filing.due_soon`` reminders, ``filing.overdue`` at
``due_at``, and for an annual report the opening of the next year's); reads never depend on it
(``overdue`` is computed from ``due_at`` and the clock).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vncomply.filings.enums import FilingKind, FilingStatus
from vncomply.kit.columns import Timestamps, UUIDPk, str_enum
from vncomply.kit.db import Base

# Rows that should have a next action: a pending filing not yet overdue, or an annual report whose
# next year has not been opened.
_ACTIVE = (
    f"((status = '{FilingStatus.pending.value}' AND overdue_at IS NULL) "
    f"OR (kind = '{FilingKind.annual_report.value}' AND rolled_over_at IS NULL))"
)


class Filing(UUIDPk, Timestamps, Base):
    __tablename__ = "filings"

    platform_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    kind: Mapped[FilingKind] = mapped_column(str_enum(FilingKind, 30))
    # annual_report: the calendar year (Vietnam time) reported on; null for the other kinds.
    period_year: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    # When the obligation's clock started (coming in scope, the year's end, the processing's start).
    starts_at: Mapped[datetime]
    # The rule version that timed it, stored so a later change of law never moves due_at.
    rule_id: Mapped[str] = mapped_column(String(60))
    due_at: Mapped[datetime]
    status: Mapped[FilingStatus] = mapped_column(str_enum(FilingStatus, 20), default=FilingStatus.pending)
    # The officer's statement of when it was filed with the authority, and the authority's reference.
    filed_at: Mapped[datetime | None]
    reference: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    # annual_report: the frozen report snapshot filed (the reports domain's id; no FK, by design:
    # filings never depend on the reports tables).
    report_id: Mapped[uuid.UUID | None]
    filed_by_key_id: Mapped[uuid.UUID | None]
    # When the `filed` call reached vncomply (clock.now()).
    filed_recorded_at: Mapped[datetime | None]
    # Never cleared: due_at, set by the sweep once it passed unfiled.
    overdue_at: Mapped[datetime | None]
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    # annual_report: when the next year's filing was opened (or found not owed).
    rolled_over_at: Mapped[datetime | None]
    next_action_at: Mapped[datetime | None]
    created_by_key_id: Mapped[uuid.UUID | None]

    __table_args__ = (
        # Exactly one contact-point filing per platform, one annual report per platform and year.
        Index(
            "uq_filings_contact_point",
            "platform_id",
            unique=True,
            postgresql_where=f"kind = '{FilingKind.contact_point.value}'",
        ),
        Index(
            "uq_filings_annual_report",
            "platform_id",
            "period_year",
            unique=True,
            postgresql_where=f"kind = '{FilingKind.annual_report.value}'",
        ),
        Index("ix_filings_next_action_at", "next_action_at", postgresql_where="next_action_at IS NOT NULL"),
        Index("ix_filings_platform_due", "platform_id", "due_at", "id"),
        # The stuck-row pass: active rows without a next action (normally empty).
        Index("ix_filings_stuck", "id", postgresql_where=f"next_action_at IS NULL AND {_ACTIVE}"),
    )
