from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from vncomply.kit.columns import Timestamps, UUIDPk
from vncomply.kit.db import Base


class Platform(UUIDPk, Timestamps, Base):
    __tablename__ = "platforms"

    name: Mapped[str] = mapped_column(String(200))
    legal_name: Mapped[str] = mapped_column(String(300))
    # The Form No. 10 contact point: a business contact, not a user's personal data.
    contact_point: Mapped[dict[str, Any]] = mapped_column(JSONB)
    monthly_vn_visits: Mapped[int] = mapped_column(BigInteger)
    stores_data_in_vn: Mapped[bool]
    in_scope_since: Mapped[date | None]
    # Set by filing the contact-point filing (vncomply.filings); the permission check reads it.
    contact_filed_at: Mapped[datetime | None]
    # Enforcement settings: temporary-lock lengths (days) for the 1st, 2nd, 3rd lock; the
    # two-officer rule for disclosures.
    lock_days: Mapped[list[int]] = mapped_column(JSONB, default=lambda: [7, 15, 30])
    disclosure_two_officers: Mapped[bool] = mapped_column(default=False)
