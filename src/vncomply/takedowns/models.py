"""Takedown orders and their items.

``next_action_at`` drives the deadline engine (reminders at fractions of the window, then overdue at
``due_at``); reads never depend on it (``overdue`` is computed from ``due_at`` and the clock).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

# The engine's bookkeeping table rides on this module's import (registry.py imports it).
from vncomply.deadlines import models as _deadline_models  # noqa: F401
from vncomply.kit.columns import Timestamps, UUIDPk, str_enum
from vncomply.kit.db import Base
from vncomply.kit.references import PAYLOAD_HASH
from vncomply.takedowns.enums import (
    Category,
    Channel,
    ItemStatus,
    OrderStatus,
    SubjectType,
    Urgency,
    Verdict,
)

_INCOMPLETE = f"status <> '{OrderStatus.completed.value}'"


class TakedownOrder(UUIDPk, Timestamps, Base):
    __tablename__ = "takedown_orders"

    platform_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    authority_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("authorities.id"))
    reference_no: Mapped[str] = mapped_column(String(200))
    # vncomply.kit.references.fingerprint of the request: a retry under the same reference_no must
    # carry the same payload.
    payload_hash: Mapped[bytes] = mapped_column(PAYLOAD_HASH)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 20))
    urgency: Mapped[Urgency] = mapped_column(str_enum(Urgency, 20))
    category: Mapped[Category] = mapped_column(str_enum(Category, 40))
    legal_basis: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime | None]
    received_at: Mapped[datetime]
    # The rule version in force at received_at, stored so a later change of law never moves due_at.
    rule_id: Mapped[str] = mapped_column(String(60))
    rule_hours: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus, 20), default=OrderStatus.open)
    acknowledged_at: Mapped[datetime | None]
    # When the last pending item's resolution reached vncomply (clock.now(), not actioned_at).
    completed_at: Mapped[datetime | None]
    # Set on completion (takedowns.verdict); on_time is its boolean view, null for `contested`.
    verdict: Mapped[Verdict | None] = mapped_column(str_enum(Verdict, 20))
    on_time: Mapped[bool | None]
    # Never cleared: set by the sweep at due_at, or by a late verdict.
    breached_at: Mapped[datetime | None]
    # Items reported after due_at with an actioned_at before it (kept current for the reports).
    items_backdated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    items_total: Mapped[int] = mapped_column(Integer)
    items_pending: Mapped[int] = mapped_column(Integer)
    next_action_at: Mapped[datetime | None]
    created_by_key_id: Mapped[uuid.UUID | None]

    items: Mapped[list[TakedownItem]] = relationship(
        back_populates="order",
        order_by="TakedownItem.position",
        lazy="raise",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        # One letter may go to several platforms (vncomply.kit.references).
        UniqueConstraint("authority_id", "platform_id", "reference_no"),
        # The sweep: only rows with a pending action are in the index, so an idle sweep is one probe.
        Index(
            "ix_takedown_orders_next_action_at",
            "next_action_at",
            postgresql_where="next_action_at IS NOT NULL",
        ),
        # "What is due next" lists, per tenant and per authority (keyset on due_at, id).
        Index("ix_takedown_orders_platform_due", "platform_id", "due_at", "id"),
        Index("ix_takedown_orders_authority_due", "authority_id", "due_at", "id"),
        # Metrics and the overdue filter look at incomplete orders only.
        Index("ix_takedown_orders_incomplete_due", "urgency", "due_at", postgresql_where=_INCOMPLETE),
        # The stuck-row pass: incomplete, not breached, and no next action (normally empty).
        Index(
            "ix_takedown_orders_stuck",
            "id",
            postgresql_where=f"{_INCOMPLETE} AND breached_at IS NULL AND next_action_at IS NULL",
        ),
    )


class TakedownItem(UUIDPk, Timestamps, Base):
    __tablename__ = "takedown_items"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("takedown_orders.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    content_url: Mapped[str] = mapped_column(String(2048))
    content_id: Mapped[str | None] = mapped_column(String(200))
    account_id: Mapped[str | None] = mapped_column(String(128))
    subject_type: Mapped[SubjectType] = mapped_column(str_enum(SubjectType, 20))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ItemStatus] = mapped_column(str_enum(ItemStatus, 20), default=ItemStatus.pending)
    # The platform's statement of when it acted; shown, never used for the verdict.
    actioned_at: Mapped[datetime | None]
    # When the current resolution reached vncomply (clock.now()): what the verdict is judged on.
    resolved_at: Mapped[datetime | None]
    resolved_by_key_id: Mapped[uuid.UUID | None]
    resolution_note: Mapped[str | None] = mapped_column(Text)
    evidence_url: Mapped[str | None] = mapped_column(String(2048))
    reason: Mapped[str | None] = mapped_column(Text)
    # The violation this item recorded (removed/restricted naming an account), so a changed
    # resolution never records it twice.
    violation_id: Mapped[uuid.UUID | None]
    # An item whose subject is a page, group or channel also records a violation against that
    # subject (its ``content_id``): it counts toward the subject's own lock.
    subject_violation_id: Mapped[uuid.UUID | None]

    order: Mapped[TakedownOrder] = relationship(back_populates="items", lazy="raise")

    __table_args__ = (
        UniqueConstraint("order_id", "position"),
        Index("ix_takedown_items_status", "status"),
    )
