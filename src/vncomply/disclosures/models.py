"""Disclosure requests: an authority asks for a user's identity, an officer decides, and only the
approved fields are ever released (docs/disclosures.md).

No plaintext PII lives here: a phone or ID subject is kept as its per-platform blind index (for
matching), encrypted (so a key rotation can re-index it) and masked (for people); the package is
assembled from the identity registry at fetch time.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, validates

from vncomply.authorities.enums import Channel
from vncomply.disclosures.enums import Decision, Status, SubjectType, Urgency
from vncomply.kit.columns import StrEnumType, Timestamps, UUIDPk, as_member
from vncomply.kit.db import Base
from vncomply.kit.references import PAYLOAD_HASH

# Open with a deadline not yet breached, or released with a user notice not yet sent, and yet
# nothing scheduled: a row the sweep lost. Same condition as ``disclosures.deadline.stuck``.
UNSCHEDULED = (
    "next_action_at IS NULL AND ("
    "(status IN ('pending_review', 'awaiting_second_approval') AND due_at IS NOT NULL "
    "AND breached_at IS NULL) OR "
    "(status IN ('approved', 'partially_approved') AND notify_user_after IS NOT NULL "
    "AND user_notice_sent_at IS NULL))"
)


class DisclosureRequest(UUIDPk, Timestamps, Base):
    __tablename__ = "disclosure_requests"

    platform_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    authority_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("authorities.id"))
    requested_by_key_id: Mapped[uuid.UUID]
    reference_no: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    urgency: Mapped[Urgency] = mapped_column(StrEnumType(Urgency, 20))
    # Only an account id subject is kept in clear; a phone or ID number is kept as its blind index
    # (for matching) and a masked form (for people).
    subject_type: Mapped[SubjectType] = mapped_column(StrEnumType(SubjectType, 20))
    subject_account_id: Mapped[str | None] = mapped_column(String(128))
    subject_blind_index: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    subject_masked: Mapped[str | None] = mapped_column(String(40))
    # The phone or ID number under the field-encryption key (AAD: platform, request, subject type)
    # and which keys the blob and the index are under: the rotation re-encrypts and re-indexes
    # them as it does identities. NULL on requests recorded before revision 0016.
    subject_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str | None] = mapped_column(String(64))
    subject_bi_key_fp: Mapped[str | None] = mapped_column(String(16))
    fields: Mapped[list[str]] = mapped_column(JSONB)
    # vncomply.kit.references.fingerprint of the canonical payload (subject as blind index, never
    # the plaintext): "same payload" for retries.
    payload_hash: Mapped[bytes] = mapped_column(PAYLOAD_HASH)

    status: Mapped[Status] = mapped_column(StrEnumType(Status, 30), default=Status.pending_review)
    received_at: Mapped[datetime]
    # How it reached the platform: electronic (the authority's key) or phone/written (recorded by
    # an officer, ``requested_by_key_id`` then being the officer's key).
    channel: Mapped[Channel] = mapped_column(
        StrEnumType(Channel, 20), default=Channel.electronic, server_default=Channel.electronic.value
    )
    due_at: Mapped[datetime | None]
    rule_id: Mapped[str] = mapped_column(String(60))
    rule_hours: Mapped[int | None]

    # Accounts of this platform matching the subject: a preview at creation, frozen at the final
    # approval (what the package releases). Account ids only, never identity data.
    matched_account_ids: Mapped[list[str]] = mapped_column(JSONB, default=list)

    first_decision: Mapped[Decision | None] = mapped_column(StrEnumType(Decision, 30))
    first_fields: Mapped[list[str] | None] = mapped_column(JSONB)
    first_reason: Mapped[str | None] = mapped_column(Text)
    first_officer_key_id: Mapped[uuid.UUID | None]
    first_decided_at: Mapped[datetime | None]

    decision: Mapped[Decision | None] = mapped_column(StrEnumType(Decision, 30))
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
        # The deadline sweep's repair pass (disclosures.deadline.stuck): normally empty.
        Index("ix_disclosure_requests_unscheduled", "id", postgresql_where=UNSCHEDULED),
    )

    @validates("urgency", "subject_type", "status", "first_decision", "decision", "channel")
    def _member(self, key: str, value: Any) -> Any:
        return as_member(DisclosureRequest, key, value)
