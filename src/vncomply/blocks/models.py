"""Violations and account blocks (Decree 147 lock rules).

The core columns here are read by the identities permission check (one query joins active blocks);
the blocks domain owns and may extend these models. A block is active iff ``lifted_at IS NULL AND
starts_at <= now AND (ends_at IS NULL OR now < ends_at)`` — computed from the clock at read time,
never from a status column a worker has to keep up to date. That definition is written once, in
``vncomply.blocks.status``; the CHECK constraint below keeps ``permanent`` and ``ends_at IS NULL``
saying the same thing, so no reader can tell a permanent lock by one and miss it by the other.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, validates

from vncomply.authorities.enums import Channel
from vncomply.blocks.enums import Origin, SubjectType
from vncomply.kit.columns import StrEnumType, Timestamps, UUIDPk, as_member
from vncomply.kit.db import Base
from vncomply.kit.references import PAYLOAD_HASH


class AccountBlock(UUIDPk, Timestamps, Base):
    __tablename__ = "account_blocks"

    platform_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    subject_type: Mapped[SubjectType] = mapped_column(StrEnumType(SubjectType, 20))
    subject_id: Mapped[str] = mapped_column(String(128))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]  # None iff permanent (ck_account_blocks_permanent_iff_no_end)
    permanent: Mapped[bool] = mapped_column(default=False)
    lifted_at: Mapped[datetime | None]

    # rule: created by the lock rules from violations; order: an authority's block order.
    origin: Mapped[Origin] = mapped_column(
        StrEnumType(Origin, 10), default=Origin.rule, server_default=Origin.rule.value
    )
    # The ordering authority (orders only); tenancy scopes authority keys by this column.
    authority_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("authorities.id"))
    reference_no: Mapped[str | None] = mapped_column(String(200))
    # Orders only: vncomply.kit.references.fingerprint of the order, for retries.
    payload_hash: Mapped[bytes | None] = mapped_column(PAYLOAD_HASH)
    category: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    legal_basis: Mapped[str | None] = mapped_column(String(300))
    duration_days: Mapped[int | None]
    # The rulebook version applied (lock.v1 …), stored so a later change of law moves nothing.
    rule_id: Mapped[str] = mapped_column(String(40))
    # 1, 2, 3 … for temporary locks: which of the subject's temporary locks this one is.
    temporary_lock_no: Mapped[int | None]
    # Why the lock rules fired: the threshold met and the counts (rule origin only).
    trigger: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    # The platform applies the block on its side by apply_by and confirms with applied_at.
    apply_by: Mapped[datetime]
    applied_at: Mapped[datetime | None]
    # When the sweep recorded the timed transitions (their events are emitted once).
    apply_overdue_at: Mapped[datetime | None]
    end_recorded_at: Mapped[datetime | None]
    lift_reason: Mapped[str | None] = mapped_column(Text)
    # Orders: how the order reached the platform (an officer records phone and written ones; the
    # block's clock then runs from the order's receipt).
    channel: Mapped[Channel | None] = mapped_column(StrEnumType(Channel, 20))
    # Set when a violation this lock counted is withdrawn: the lock stays (it was lawful when
    # applied) and an officer reviews it — lifts it, or keeps it (``review_closed_at``).
    review_requested_at: Mapped[datetime | None]
    review_reason: Mapped[str | None] = mapped_column(Text)
    review_closed_at: Mapped[datetime | None]
    # The next instant the deadline sweep must look at this row; NULL when nothing is left to do.
    next_action_at: Mapped[datetime | None] = mapped_column(index=True)

    __table_args__ = (
        CheckConstraint("permanent = (ends_at IS NULL)", name="permanent_iff_no_end"),
        # The permission check looks up a subject's unlifted blocks by this index.
        Index(
            "ix_account_blocks_subject",
            "platform_id",
            "subject_type",
            "subject_id",
            postgresql_where="lifted_at IS NULL",
        ),
        # An authority's block order is unique per (authority, platform, reference number): one
        # letter may go to several platforms (vncomply.kit.references).
        Index(
            "uq_account_blocks_order_reference",
            "authority_id",
            "platform_id",
            "reference_no",
            unique=True,
            postgresql_where="authority_id IS NOT NULL",
        ),
        Index("ix_account_blocks_platform_created", "platform_id", "created_at", "id"),
        # The officer's review list (normally short).
        Index(
            "ix_account_blocks_review",
            "platform_id",
            postgresql_where="review_requested_at IS NOT NULL AND review_closed_at IS NULL",
        ),
        # The deadline sweep's repair pass looks for unfinished blocks that lost their next action.
        Index(
            "ix_account_blocks_unscheduled",
            "id",
            postgresql_where="next_action_at IS NULL AND lifted_at IS NULL AND end_recorded_at IS NULL",
        ),
    )

    @validates("subject_type", "origin", "channel")
    def _member(self, key: str, value: Any) -> Any:
        return as_member(AccountBlock, key, value)


class Violation(UUIDPk, Base):
    __tablename__ = "violations"

    platform_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    subject_type: Mapped[SubjectType] = mapped_column(StrEnumType(SubjectType, 20))
    subject_id: Mapped[str] = mapped_column(String(128))
    authority_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("authorities.id"))
    reference_no: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    # The lock this violation counted toward. With the rule parameter count_consumed_violations
    # False (lock.v1), a consumed violation no longer counts toward the next lock.
    consumed_by_block_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("account_blocks.id", ondelete="SET NULL")
    )
    # Withdrawn (e.g. an officer corrected the takedown resolution it came from): kept for the
    # record, no longer counted toward any lock.
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_violations_subject", "platform_id", "subject_type", "subject_id", "occurred_at"),
    )

    @validates("subject_type")
    def _member(self, key: str, value: Any) -> Any:
        return as_member(Violation, key, value)
