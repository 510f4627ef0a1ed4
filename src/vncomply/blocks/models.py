"""Violations and account blocks (Decree 147 lock rules).

The core columns here are read by the identities permission check (one query joins active blocks);
the blocks domain owns and may extend these models.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from vncomply.db import Base
from vncomply.models_common import Timestamps, UUIDPk


class AccountBlock(UUIDPk, Timestamps, Base):
    __tablename__ = "account_blocks"

    platform_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    subject_type: Mapped[str] = mapped_column(String(20))  # account | page | group | channel
    subject_id: Mapped[str] = mapped_column(String(128))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]  # None: permanent lock
    permanent: Mapped[bool] = mapped_column(default=False)
    lifted_at: Mapped[datetime | None]

    __table_args__ = (
        # The permission check looks up a subject's unlifted blocks by this index.
        Index(
            "ix_account_blocks_subject",
            "platform_id", "subject_type", "subject_id",
            postgresql_where="lifted_at IS NULL",
        ),
    )


class Violation(UUIDPk, Base):
    __tablename__ = "violations"

    platform_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("platforms.id", ondelete="CASCADE"))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(128))
    authority_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("authorities.id"))
    reference_no: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_violations_subject", "platform_id", "subject_type", "subject_id", "occurred_at"),
    )
