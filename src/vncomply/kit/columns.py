"""Column helpers shared by the domain models."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Enum
from sqlalchemy.orm import Mapped, mapped_column

from vncomply.kit import clock


class UUIDPk:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    # The clock, not SQL now(): tests move time and rows must agree with it.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=clock.now, onupdate=clock.now
    )


def str_enum(enum: type[StrEnum], length: int) -> Enum:
    """A ``VARCHAR(length)`` column holding the enum's *values* (the wire values), loaded back as
    members. No database enum type and no CHECK: a new member needs no migration."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        validate_strings=True,
        values_callable=lambda e: [m.value for m in e],
    )
