"""Verified identities and phone verifications.

PII columns (``*_enc``) hold AES-256-GCM blobs (``vncomply.kit.crypto``) bound to platform, account and
field; ``*_bi`` are per-platform HMAC blind indexes for equality search. Everything the permission
check reads is a plain, non-PII column, so the hot path never decrypts.

``minor_until`` is the birthday at the rulebook's minor age (16, rule ``verified_actions``, as in
force at write time), stored only while the person is under that age at write time: it is
derived from the date of birth (so it is personal data of a minor, kept because the permission check
must know the day the guardian rule stops applying without decrypting). Adults have NULL.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from vncomply.identities.enums import IdentityStatus, Method, VerificationStatus
from vncomply.kit import clock
from vncomply.kit.columns import StrEnumType, UUIDPk
from vncomply.kit.db import Base
from vncomply.platforms import models as _platforms  # noqa: F401  (FK target, for standalone use)


class Identity(Base):
    __tablename__ = "identities"

    # The natural key is the primary key: the permission check is one PK probe.
    platform_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("platforms.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[IdentityStatus] = mapped_column(StrEnumType(IdentityStatus, 10))
    method: Mapped[Method] = mapped_column(StrEnumType(Method, 20))
    verified_at: Mapped[datetime]
    verification_reference: Mapped[str | None] = mapped_column(String(200))

    # NULL only once purged (retention): every ciphertext and blind index goes, the tombstone stays.
    full_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    date_of_birth_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    national_id_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    guardian_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_bi: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    national_id_bi: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    key_id: Mapped[str] = mapped_column(String(64))
    # keys.bi_fingerprint of the blind-index key phone_bi/national_id_bi are under (NULL: rows
    # written before fingerprints were kept; rotation re-indexes them).
    bi_key_fp: Mapped[str | None] = mapped_column(String(16))

    minor_until: Mapped[date | None]
    has_guardian: Mapped[bool] = mapped_column(default=False)
    has_national_id: Mapped[bool] = mapped_column(default=False)
    no_vn_mobile_attested: Mapped[bool] = mapped_column(default=False)
    commercial_livestreamer: Mapped[bool] = mapped_column(default=False)
    revoked_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # When the retention purge removed the personal data (identities/retention.py).
    purged_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)

    __table_args__ = (
        Index("ix_identities_phone_bi", "platform_id", "phone_bi", postgresql_where="phone_bi IS NOT NULL"),
        Index(
            "ix_identities_national_id_bi",
            "platform_id",
            "national_id_bi",
            postgresql_where="national_id_bi IS NOT NULL",
        ),
        # Key rotation finds rows still under an old key.
        Index("ix_identities_key_id", "key_id"),
        # The retention purge (identities/retention.py) takes closed, unpurged accounts by age.
        Index(
            "ix_identities_closed_at",
            "closed_at",
            postgresql_where="closed_at IS NOT NULL AND purged_at IS NULL",
        ),
    )


class PhoneVerification(UUIDPk, Base):
    __tablename__ = "phone_verifications"

    platform_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(String(128))
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_bi: Mapped[bytes] = mapped_column(LargeBinary(32))
    key_id: Mapped[str] = mapped_column(String(64))
    bi_key_fp: Mapped[str | None] = mapped_column(String(16))
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    expires_at: Mapped[datetime]
    attempts_left: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[VerificationStatus] = mapped_column(StrEnumType(VerificationStatus, 12))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    confirmed_at: Mapped[datetime | None]

    __table_args__ = (
        # The resend limit counts a phone's recent codes.
        Index("ix_phone_verifications_phone", "platform_id", "phone_bi", "created_at"),
        Index("ix_phone_verifications_key_id", "key_id"),
        # The retention purge (identities/purge.py) deletes by age.
        Index("ix_phone_verifications_expires_at", "expires_at"),
    )
