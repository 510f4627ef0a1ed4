"""Opaque cursor pagination used by every list endpoint.

The cursor is base64url(JSON) of the sort key of the last row returned; callers treat it as opaque.
Keyset pagination (no OFFSET) keeps deep pages as cheap as the first.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

import orjson
from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, or_, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from vncomply.kit.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="pass as `cursor` for the next page; null on the last page"
    )


class PageParams(BaseModel):
    limit: int
    cursor: list[Any] | None


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values, default=str)).decode().rstrip("=")


def _not_ours() -> InvalidInput:
    return InvalidInput(
        "`cursor` is not one we issued; pass the `next_cursor` of the previous page unchanged",
        field="cursor",
    )


def decode_cursor(raw: str) -> list[Any]:
    try:
        padded = raw + "=" * (-len(raw) % 4)
        value = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, orjson.JSONDecodeError):
        value = None
    if not isinstance(value, list) or not value:
        raise _not_ours()
    return value


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size (max 200)")] = 50,
    cursor: Annotated[str | None, Query(max_length=512, description="from `next_cursor`")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=decode_cursor(cursor) if cursor else None)


def time_id_cursor(cursor: list[Any]) -> tuple[datetime, UUID]:
    """A (timestamp, id) keyset cursor; one that does not parse is a 422, never a 500."""
    try:
        at, last_id = datetime.fromisoformat(str(cursor[0])), UUID(str(cursor[1]))
    except (IndexError, ValueError) as exc:
        raise _not_ours() from exc
    if at.tzinfo is None:  # ours come from timestamptz columns; a zone-less time is not one of them
        raise _not_ours()
    return at, last_id


def by_deadline(
    stmt: Select[Any],
    *,
    due_at: InstrumentedAttribute[datetime],
    id_: InstrumentedAttribute[UUID],
    settled: ColumnElement[bool],
    overdue: bool | None,
    due_before: datetime | None,
    cursor: list[Any] | None,
    limit: int,
    now: datetime,
) -> Select[Any]:
    """A page of statutory clocks (orders, breaches, filings), soonest deadline first: the shared
    ``overdue`` / ``due_before`` filters and the (due_at, id) keyset. ``settled`` is the row's own
    "its clock has stopped" (completed, notified, filed)."""
    if overdue is True:
        stmt = stmt.where(~settled, due_at <= now)
    elif overdue is False:
        stmt = stmt.where(or_(settled, due_at > now))
    if due_before:
        stmt = stmt.where(due_at < due_before)
    if cursor:
        stmt = stmt.where(tuple_(due_at, id_) > time_id_cursor(cursor))
    return stmt.order_by(due_at, id_).limit(limit)


def seq_cursor(cursor: list[Any]) -> int:
    """A sequence-number cursor (a PostgreSQL bigint)."""
    seq = cursor[0] if len(cursor) == 1 else None
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 2**63:
        raise _not_ours()
    return seq


def created_id_after(model: Any, cursor: list[Any]) -> Any:
    """Keyset condition for lists sorted by (created_at, id)."""
    from sqlalchemy import tuple_

    return tuple_(model.created_at, model.id) > time_id_cursor(cursor)
