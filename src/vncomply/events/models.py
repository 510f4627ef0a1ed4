from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from vncomply.db import Base


class Event(Base):
    """The transactional outbox: written in the same transaction as the change it announces."""

    __tablename__ = "events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    platform_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(60))
    occurred_at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Set when deliveries have been fanned out to the platform's endpoints.
    dispatched_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("platform_id", "seq"),
        Index("ix_events_undispatched", "occurred_at", postgresql_where="dispatched_at IS NULL"),
    )


class EventSequence(Base):
    """Per-platform event counter (row-locked on emit, so ``seq`` has no gaps or duplicates)."""

    __tablename__ = "event_sequences"

    platform_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("platforms.id", ondelete="CASCADE"), primary_key=True
    )
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
