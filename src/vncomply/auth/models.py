from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from vncomply.kit import clock
from vncomply.kit.columns import UUIDPk
from vncomply.kit.db import Base


class ApiKey(UUIDPk, Base):
    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    # The person who holds the key (required for officer keys): the two-officer rule for
    # disclosures compares people, so two keys of one person cannot approve twice.
    holder: Mapped[str | None] = mapped_column(String(200))
    platform_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("platforms.id", ondelete="CASCADE"), index=True
    )
    authority_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("authorities.id", ondelete="CASCADE"), index=True
    )
    # SHA-256 of the key: the key has 256 bits of entropy, so a slow hash adds nothing.
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
