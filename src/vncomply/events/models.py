from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from vncomply.events.enums import DeliveryKind, DeliveryStatus
from vncomply.kit import clock
from vncomply.kit.columns import Timestamps, UUIDPk
from vncomply.kit.db import Base


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


def _str_enum(enum: type[DeliveryStatus] | type[DeliveryKind]) -> Enum:
    # Stored as VARCHAR(20) holding the value (no native PostgreSQL enum, no CHECK): adding a state
    # needs no migration, and rows read back as the enum.
    return Enum(
        enum,
        native_enum=False,
        length=20,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class WebhookEndpoint(UUIDPk, Timestamps, Base):
    """A platform's webhook receiver. The secret is encrypted (not hashed): we must sign with it."""

    __tablename__ = "webhook_endpoints"

    platform_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), default="")
    # Event types this endpoint receives, or ["*"] for all.
    event_types: Mapped[list[str]] = mapped_column(JSONB)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    disabled_at: Mapped[datetime | None]
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # After a rotation the old secret still signs (a second signature) until it expires.
    previous_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None]
    # First failed attempt since the last success; 24 h of nothing but failures disables it.
    failing_since: Mapped[datetime | None]


class WebhookDelivery(UUIDPk, Base):
    """One event to one endpoint. Due rows are claimed ``FOR UPDATE SKIP LOCKED`` with a lease:
    while ``delivering``, ``next_attempt_at`` is the lease expiry (sized to the row's place in the
    batch, see ``delivery.claim``), so a crashed worker's row becomes due again by itself."""

    __tablename__ = "webhook_deliveries"

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    platform_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    status: Mapped[DeliveryStatus] = mapped_column(_str_enum(DeliveryStatus), default=DeliveryStatus.pending)
    kind: Mapped[DeliveryKind] = mapped_column(
        _str_enum(DeliveryKind), default=DeliveryKind.event, server_default=DeliveryKind.event.value
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # NULL once delivered or failed, so the due index holds only live rows.
    next_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    __table_args__ = (
        # Claims go platform by platform (a fair share each), so the due index leads with it.
        Index(
            "ix_webhook_deliveries_platform_due",
            "platform_id",
            "next_attempt_at",
            postgresql_where="next_attempt_at IS NOT NULL",
        ),
        # The per-platform hourly redelivery cap counts these.
        Index(
            "ix_webhook_deliveries_redeliveries",
            "platform_id",
            "created_at",
            postgresql_where=f"kind = '{DeliveryKind.redelivery.value}'",
        ),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at"),
    )
