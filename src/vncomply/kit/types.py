"""Validated field types shared by every domain's request schemas, so each rule about what an input
may hold is written once and a bad value is a 422 naming the field, never a 500 further in.

- ``ZonedDateTime``: an instant. A time without a zone (``2026-11-25T08:00:00``, or a bare date)
  is ambiguous by seven hours in Vietnam and cannot be compared with our aware clock; it is refused.
  Accepted values are normalised to UTC and kept within years 1900-2999, so adding a deadline to
  them, storing them and reading them back can never overflow.
- ``BoundedDate``: a calendar date within the same years (a date near 9999-12-31 overflows as soon
  as a rule adds days to it).
- ``SINGLE_LINE`` / ``MULTI_LINE``: free text without control characters (NUL, escape, …) or lone
  surrogates, which PostgreSQL refuses, terminals interpret and logs split on. Names, references
  and identifiers are one line (no tab or line break either); descriptions, reasons and addresses
  may hold line breaks and tabs. They are markers to put *last* in an ``Annotated`` string type,
  after its ``StringConstraints`` (or ``Query(...)``): stripping happens first and pydantic keeps
  its own length messages (a validator placed before the constraints degrades them). They let
  ``None`` through, so ``Annotated[str | None, Query(max_length=80), SINGLE_LINE]`` works.

Messages never quote the value: it may be personal data.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    AwareDatetime,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

__all__ = ["MULTI_LINE", "SINGLE_LINE", "BoundedDate", "ZonedDateTime"]

FIRST_YEAR = 1900
LAST_YEAR = 2999
_EARLIEST = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
_LATEST = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)
_RANGE = f"between {FIRST_YEAR}-01-01 and {LAST_YEAR}-12-31"
ZONE_HINT = "e.g. 2026-11-25T08:00:00Z or 2026-11-25T15:00:00+07:00"


def _zoned(value: Any, handler: ValidatorFunctionWrapHandler) -> datetime:
    try:
        parsed: datetime = handler(value)
    except ValidationError as exc:
        if any(e["type"] == "timezone_aware" for e in exc.errors()):
            raise PydanticCustomError(
                "timezone_aware",
                "must be a date and time with a time zone ({hint}); a time without a zone is ambiguous",
                {"hint": ZONE_HINT},
            ) from None
        raise
    try:
        utc = parsed.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is in year 10000 in UTC
        utc = None
    if utc is None or not _EARLIEST <= utc < _LATEST:
        raise PydanticCustomError("datetime_range", f"must be {_RANGE} (UTC)")
    return utc


def _bounded_date(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise PydanticCustomError("date_range", f"must be a date {_RANGE}")
    return value


ZonedDateTime = Annotated[AwareDatetime, WrapValidator(_zoned)]
BoundedDate = Annotated[date, AfterValidator(_bounded_date)]

# Cc (C0, DEL, C1) and lone surrogates; the multi-line set lets tab, LF and CR through. U+2028/2029
# are line breaks too, so a single line refuses them.
_NOT_ON_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NOT_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE_BREAKS = frozenset("\t\n\r\u2028\u2029")


def _single_line(value: str | None) -> str | None:
    bad = None if value is None else _NOT_ON_ONE_LINE.search(value)
    if bad is None:
        return value
    char = bad.group()
    if char in _LINE_BREAKS:
        raise PydanticCustomError(
            "control_characters",
            "must be on one line: no tab or line break (found U+{code}); send plain text",
            {"code": f"{ord(char):04X}"},
        )
    raise _control(char)


def _multi_line(value: str | None) -> str | None:
    bad = None if value is None else _NOT_IN_TEXT.search(value)
    if bad is None:
        return value
    raise _control(bad.group())


def _control(char: str) -> PydanticCustomError:
    return PydanticCustomError(
        "control_characters",
        "must not contain control characters (found U+{code}); send plain text",
        {"code": f"{ord(char):04X}"},
    )


SINGLE_LINE: Final = AfterValidator(_single_line)
MULTI_LINE: Final = AfterValidator(_multi_line)
