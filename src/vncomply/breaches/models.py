"""Personal-data breaches and their notice clock.

The record describes the breach, never the people in it: categories of data and a count, no names,
numbers or addresses of the data subjects (``schemas`` refuses text that looks like them).
``next_action_at`` drives the deadline engine; reads never depend on it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from vncomply.breaches.enums import BreachStatus
from vncomply.kit.columns import Timestamps, UUIDPk, str_enum
from vncomply.kit.db import Base

_OPEN = f"status = '{BreachStatus.open.value}'"


class Breach(UUIDPk, Timestamps, Base):
    __tablename__ = "breaches"

    platform_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    detected_at: Mapped[datetime]
    occurred_at: Mapped[datetime | None]
    description: Mapped[str] = mapped_column(Text)
    data_categories: Mapped[list[str]] = mapped_column(JSONB)
    # How many people are affected; null: not known yet.
    subjects_affected: Mapped[int | None] = mapped_column(Integer)
    measures: Mapped[str] = mapped_column(Text)
    # The rule version in force at detected_at, stored so a later change of law never moves due_at.
    rule_id: Mapped[str] = mapped_column(String(60))
    rule_hours: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]
    status: Mapped[BreachStatus] = mapped_column(str_enum(BreachStatus, 20), default=BreachStatus.open)
    # The officer's statement of when A05 was notified, A05's reference, and why it was late.
    notified_at: Mapped[datetime | None]
    notice_reference: Mapped[str | None] = mapped_column(String(200))
    late_reason: Mapped[str | None] = mapped_column(Text)
    notified_by_key_id: Mapped[uuid.UUID | None]
    # When the notice's record reached vncomply (clock.now()).
    notified_recorded_at: Mapped[datetime | None]
    # Never cleared: due_at, set by the sweep once it passed without a notice recorded.
    overdue_at: Mapped[datetime | None]
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    next_action_at: Mapped[datetime | None]
    created_by_key_id: Mapped[uuid.UUID | None]

    __table_args__ = (
        Index("ix_breaches_next_action_at", "next_action_at", postgresql_where="next_action_at IS NOT NULL"),
        Index("ix_breaches_platform_due", "platform_id", "due_at", "id"),
        Index(
            "ix_breaches_stuck",
            "id",
            postgresql_where=f"{_OPEN} AND overdue_at IS NULL AND next_action_at IS NULL",
        ),
    )
