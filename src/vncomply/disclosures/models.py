"""Disclosure requests: an authority asks for a user's identity, an officer decides, and only the
approved fields are ever released (docs/disclosures.md).

No plaintext PII lives here: a phone or ID subject is kept as its per-platform blind index plus a
masked form; the package is assembled from the identity registry at fetch time.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from vncomply.kit.columns import Timestamps, UUIDPk
from vncomply.kit.db import Base
from vncomply.kit.references import PAYLOAD_HASH


class DisclosureRequest(UUIDPk, Timestamps, Base):
    __tablename__ = "disclosure_requests"

    platform_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    authority_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("authorities.id"))
    requested_by_key_id: Mapped[uuid.UUID]
    reference_no: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(20))  # standard | emergency
    # Subject: account_id | phone_number | national_id. Only the account id is kept in clear;
    # a phone or ID number is kept as its blind index (for matching) and a masked form (for people).
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_account_id: Mapped[str | None] = mapped_column(String(128))
    subject_blind_index: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    subject_masked: Mapped[str | None] = mapped_column(String(40))
    fields: Mapped[list[str]] = mapped_column(JSONB)
    # vncomply.kit.references.fingerprint of the canonical payload (subject as blind index, never
    # the plaintext): "same payload" for retries.
    payload_hash: Mapped[bytes] = mapped_column(PAYLOAD_HASH)

    status: Mapped[str] = mapped_column(String(30), default="pending_review")
    received_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    rule_id: Mapped[str] = mapped_column(String(60))
    rule_hours: Mapped[int | None]

    # Accounts of this platform matching the subject: a preview at creation, frozen at the final
    # approval (what the package releases). Account ids only, never identity data.
    matched_account_ids: Mapped[list[str]] = mapped_column(JSONB, default=list)

    first_decision: Mapped[str | None] = mapped_column(String(30))
    first_fields: Mapped[list[str] | None] = mapped_column(JSONB)
    first_reason: Mapped[str | None] = mapped_column(Text)
    first_officer_key_id: Mapped[uuid.UUID | None]
    first_decided_at: Mapped[datetime | None]

    decision: Mapped[str | None] = mapped_column(String(30))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    approved_fields: Mapped[list[str] | None] = mapped_column(JSONB)
    decided_by_key_id: Mapped[uuid.UUID | None]
    decided_at: Mapped[datetime | None]
    package_expires_at: Mapped[datetime | None]
    package_fetches: Mapped[int] = mapped_column(Integer, default=0)
    last_fetched_at: Mapped[datetime | None]

    notify_user_after: Mapped[datetime | None]
    user_notice_sent_at: Mapped[datetime | None]

    # The clock (deadline engine): reminders sent so far, the breach, and the next due action.
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    breached_at: Mapped[datetime | None]
    next_action_at: Mapped[datetime | None]

    __table_args__ = (
        # One letter may go to several platforms (vncomply.kit.references).
        UniqueConstraint("authority_id", "platform_id", "reference_no"),
        Index("ix_disclosure_requests_platform_received", "platform_id", "received_at", "id"),
        Index("ix_disclosure_requests_authority_received", "authority_id", "received_at", "id"),
        Index(
            "ix_disclosure_requests_next_action_at",
            "next_action_at",
            postgresql_where="next_action_at IS NOT NULL",
        ),
    )
