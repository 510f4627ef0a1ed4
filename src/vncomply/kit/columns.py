"""Column helpers shared by the domain models."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from vncomply.kit import clock

E = TypeVar("E", bound=StrEnum)


class UUIDPk:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    # The clock, not SQL now(): tests move time and rows must agree with it.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=clock.now, onupdate=clock.now
    )


class StrEnumType(TypeDecorator[E], Generic[E]):
    """A ``StrEnum`` kept in a VARCHAR column: rows load as members and a value outside the enum is
    refused before it reaches the database. Plain strings on disk, so adding a state is a code
    change, not a PostgreSQL ``ALTER TYPE``; the wire values are the members' values."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum
        self.length = length

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


def as_member(model: type[Any], key: str, value: Any) -> Any:
    """``value`` as a member of the enum column ``key`` of ``model`` (None stays None). Used from
    a model's ``@validates`` so an attribute set from a plain string reads back as a member at once,
    not only after a reload."""
    if value is None:
        return None
    enum = model.__table__.c[key].type.enum
    return enum(value)


def str_enum(enum: type[E], length: int) -> StrEnumType[E]:
    """The column type for an enum of ``length`` characters at most (see ``StrEnumType``)."""
    return StrEnumType(enum, length)
