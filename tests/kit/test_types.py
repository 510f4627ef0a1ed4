"""The shared input types of kit/types.py, on their own."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import pytest
from pydantic import StringConstraints, TypeAdapter, ValidationError

from vncomply.kit.types import MULTI_LINE, SINGLE_LINE, BoundedDate, ZonedDateTime

TIME = TypeAdapter(ZonedDateTime)
DAY = TypeAdapter(BoundedDate)
LINE = TypeAdapter(Annotated[str, StringConstraints(strip_whitespace=True, max_length=10), SINGLE_LINE])
TEXT = TypeAdapter(Annotated[str, StringConstraints(strip_whitespace=True, max_length=10), MULTI_LINE])
OPTIONAL_LINE = TypeAdapter(Annotated[str | None, SINGLE_LINE])


def _error(adapter: TypeAdapter[object], value: object) -> dict[str, object]:
    with pytest.raises(ValidationError) as exc:
        adapter.validate_python(value)
    [error] = exc.value.errors()
    return dict(error)


@pytest.mark.parametrize("value", ["2026-11-25T08:00:00", "2026-11-25", datetime(2026, 11, 25, 8)])
def test_a_time_without_a_zone_is_refused_with_an_example(value: object) -> None:
    error = _error(TIME, value)
    assert error["type"] == "timezone_aware"
    assert "2026-11-25T08:00:00Z" in str(error["msg"])


def test_a_zoned_time_becomes_the_same_instant_in_utc() -> None:
    got = TIME.validate_python("2026-11-25T15:00:00+07:00")
    assert got == datetime(2026, 11, 25, 8, tzinfo=UTC)
    assert got.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+10:00",
        "3000-01-01T00:00:00Z",
        "1899-12-31T23:00:00Z",
    ],
)
def test_times_that_would_overflow_are_refused(value: str) -> None:
    assert _error(TIME, value)["type"] == "datetime_range"


def test_dates_stay_in_years_that_arithmetic_cannot_overflow() -> None:
    assert DAY.validate_python("2025-01-01") == date(2025, 1, 1)
    for value in ("9999-12-31", "0001-01-01", "1899-12-31", "3000-01-01"):
        assert _error(DAY, value)["type"] == "date_range"


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x85", "\t", "\n", "\r", "\u2028"])
def test_one_line_refuses_every_control_character_and_line_break(char: str) -> None:
    error = _error(LINE, f"a{char}b")
    assert error["type"] == "control_characters"
    assert f"U+{ord(char):04X}" in str(error["msg"])


def test_text_keeps_tabs_and_line_breaks_but_no_other_control_character() -> None:
    assert TEXT.validate_python("a\tb\r\nc") == "a\tb\r\nc"
    for char in ("\x00", "\x08", "\x0b", "\x1b", "\x7f", "\x9f"):
        assert _error(TEXT, f"a{char}b")["type"] == "control_characters"


def test_constraints_run_first_and_keep_their_own_messages() -> None:
    assert LINE.validate_python("  ABEI-1 \n") == "ABEI-1"  # stripped before it is checked
    assert _error(LINE, "x" * 11)["type"] == "string_too_long"
    assert OPTIONAL_LINE.validate_python(None) is None


def test_messages_never_quote_the_value() -> None:
    for adapter, value in ((LINE, "0912345678\x00"), (TIME, "2027-03-04T05:06:07"), (DAY, "9999-12-31")):
        assert str(value).strip("\x00") not in str(_error(adapter, value)["msg"])
