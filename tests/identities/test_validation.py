"""Validation of Decree 147 identity data: phone, CCCD, dates, names, account ids, masking."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vncomply.identities.validation import (
    PROVINCE_CODES,
    ValidationProblem,
    age_on,
    mask_name,
    mask_national_id,
    mask_phone,
    normalize_full_name,
    normalize_phone,
    validate_account_id,
    validate_date_of_birth,
    validate_national_id,
)

FEW = settings(max_examples=60, deadline=None)


def make_nid(province: str, dob: date, female: bool = False, serial: str = "123456") -> str:
    century_digit = (dob.year // 100 - 19) * 2 + int(female)
    return f"{province}{century_digit}{dob.year % 100:02d}{serial}"


# --- phone ---


@pytest.mark.parametrize(
    "raw",
    ["0912345678", "+84 912 345 678", "84912345678", "+84-91-234-5678", " 091.234.5678 "],
)
def test_phone_accepted_formats(raw: str) -> None:
    assert normalize_phone(raw) == "+84912345678"


@pytest.mark.parametrize("raw", ["0321234567", "0561234567", "0701234567", "0861234567"])
def test_phone_other_mobile_ranges(raw: str) -> None:
    assert normalize_phone(raw) == "+84" + raw[1:]


@pytest.mark.parametrize("raw", ["024 3825 1234", "+84 24 3825 1234", "028 3822 1234"])
def test_phone_landline_rejected(raw: str) -> None:
    with pytest.raises(ValidationProblem, match="landline") as exc:
        normalize_phone(raw)
    assert exc.value.field == "phone_number"


@pytest.mark.parametrize("raw", ["+1 650 253 0000", "+66 81 234 5678", "+44 7911 123456"])
def test_phone_foreign_rejected(raw: str) -> None:
    with pytest.raises(ValidationProblem, match="foreign number") as exc:
        normalize_phone(raw)
    # Not even the country code is echoed.
    assert f"+{raw[1:3].strip()}" not in exc.value.message


def test_phone_service_number_rejected() -> None:
    with pytest.raises(ValidationProblem, match="not a mobile"):
        normalize_phone("1900 1234 56")


@pytest.mark.parametrize("raw", ["0521234567", "091234567", "09123456789"])
def test_phone_invalid_vn_number(raw: str) -> None:
    with pytest.raises(ValidationProblem, match="not a valid Vietnamese number"):
        normalize_phone(raw)


@pytest.mark.parametrize("raw", ["", "abc", "09I2345678", "0912345678 ext 1", "0" * 40])
def test_phone_garbage_rejected(raw: str) -> None:
    with pytest.raises(ValidationProblem):
        normalize_phone(raw)


def test_phone_error_does_not_echo_number() -> None:
    with pytest.raises(ValidationProblem) as exc:
        normalize_phone("024 3825 1234")
    assert "3825" not in str(exc.value)


# Prefixes that are wholly mobile in the current numbering plan (03x, 070, 076-079, 081-088, 09x).
_MOBILE_PREFIXES = [f"3{d}" for d in range(2, 10)] + ["70", "76", "77", "78", "79"]
_MOBILE_PREFIXES += [f"8{d}" for d in range(1, 9)] + [f"9{d}" for d in range(9)]


@FEW
@given(prefix=st.sampled_from(_MOBILE_PREFIXES), rest=st.from_regex(r"\A[0-9]{7}\Z"))
def test_phone_all_formats_agree(prefix: str, rest: str) -> None:
    n = prefix + rest
    formats = [
        "0" + n,
        f"+84 {n[:3]} {n[3:6]} {n[6:]}",
        "84" + n,
        f"+84-{n[:2]}-{n[2:5]}-{n[5:]}",
    ]
    assert {normalize_phone(f) for f in formats} == {"+84" + n}


# --- national id ---


def test_province_codes_are_the_63_legacy_codes() -> None:
    assert len(PROVINCE_CODES) == 63
    assert all(len(c) == 3 and c.isdigit() for c in PROVINCE_CODES)
    assert {"001", "079", "096"} <= PROVINCE_CODES
    assert "003" not in PROVINCE_CODES


@pytest.mark.parametrize(
    ("nid", "dob"),
    [
        ("001096012345", date(1996, 5, 17)),  # Hanoi, male, 1996
        ("079301000123", date(2001, 1, 2)),  # Ho Chi Minh City, female, 2001
        ("048 200 123 456", date(2000, 12, 31)),  # spaces are tolerated
        ("096199999999", date(1999, 7, 7)),
    ],
)
def test_national_id_consistent(nid: str, dob: date) -> None:
    assert validate_national_id(nid, dob) == nid.replace(" ", "")


# The messages name the digits' positions, never their values (nor the year of birth).


def test_national_id_year_digits_disagree() -> None:
    with pytest.raises(ValidationProblem, match=r"digits 5-6 \(year of birth\) do not agree") as exc:
        validate_national_id("001296012345", date(2001, 3, 4))
    assert "96" not in exc.value.message
    assert "2001" not in exc.value.message


def test_national_id_century_digit_disagrees() -> None:
    # 1 = female born in the 1900s, but the date of birth is in 2001.
    with pytest.raises(ValidationProblem, match=r"digit 4 \(century of birth and gender\)") as exc:
        validate_national_id("001101012345", date(2001, 3, 4))
    assert "is 1" not in exc.value.message
    assert "1900s" not in exc.value.message
    assert "2001" not in exc.value.message


def test_national_id_bad_province() -> None:
    with pytest.raises(ValidationProblem, match="digits 1-3 are not a province code") as exc:
        validate_national_id("003096012345", date(1996, 1, 1))
    assert "003" not in exc.value.message


def test_national_id_allow_list_prefix() -> None:
    dob = date(1990, 6, 1)
    with pytest.raises(ValidationProblem):
        validate_national_id("704090012345", dob)
    assert validate_national_id("704090012345", dob, frozenset({"704"})) == "704090012345"


def test_national_id_nine_digit_cmnd() -> None:
    with pytest.raises(ValidationProblem, match=r"CMND.*2024-12-31.*12-digit") as exc:
        validate_national_id("012345678", date(1990, 1, 1))
    assert exc.value.field == "national_id"


@pytest.mark.parametrize(
    "raw",
    [
        "00109601234",
        "0010960123456",
        "00109601234a",
        "",
        "\uff10\uff10\uff11\uff10\uff19\uff16\uff10\uff11\uff12\uff13\uff14\uff15",
    ],
)
def test_national_id_bad_shape(raw: str) -> None:
    with pytest.raises(ValidationProblem, match="national_id"):
        validate_national_id(raw, date(1996, 1, 1))


def test_national_id_error_does_not_echo_full_number() -> None:
    with pytest.raises(ValidationProblem) as exc:
        validate_national_id("001296012345", date(2001, 3, 4))
    assert "001296012345" not in str(exc.value)


@FEW
@given(
    dob=st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    province=st.sampled_from(sorted(PROVINCE_CODES)),
    female=st.booleans(),
    serial=st.from_regex(r"\A[0-9]{6}\Z"),
    shift=st.integers(min_value=1, max_value=99),
)
def test_constructed_ids_validate_and_wrong_year_fails(
    dob: date, province: str, female: bool, serial: str, shift: int
) -> None:
    nid = make_nid(province, dob, female, serial)
    assert validate_national_id(nid, dob) == nid
    wrong_year = f"{(dob.year + shift) % 100:02d}"
    with pytest.raises(ValidationProblem, match="digits 5-6"):
        validate_national_id(nid[:4] + wrong_year + nid[6:], dob)


@FEW
@given(
    dob=st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    other_digit=st.integers(min_value=0, max_value=9),
)
def test_wrong_century_digit_fails(dob: date, other_digit: int) -> None:
    nid = make_nid("001", dob)
    if other_digit // 2 == int(nid[3]) // 2:
        assert validate_national_id(nid[:3] + str(other_digit) + nid[4:], dob)
    else:
        with pytest.raises(ValidationProblem, match="digit 4"):
            validate_national_id(nid[:3] + str(other_digit) + nid[4:], dob)


# --- dates ---


@pytest.mark.parametrize(
    ("dob", "on", "age"),
    [
        (date(2000, 5, 17), date(2016, 5, 16), 15),
        (date(2000, 5, 17), date(2016, 5, 17), 16),
        (date(2000, 2, 29), date(2001, 2, 28), 0),
        (date(2000, 2, 29), date(2001, 3, 1), 1),
        (date(2000, 2, 29), date(2004, 2, 29), 4),
    ],
)
def test_age_on(dob: date, on: date, age: int) -> None:
    assert age_on(dob, on) == age


def test_age_on_before_birth() -> None:
    with pytest.raises(ValueError):
        age_on(date(2000, 1, 2), date(2000, 1, 1))


def test_date_of_birth_bounds() -> None:
    today = date(2025, 6, 1)
    assert validate_date_of_birth(today, today) == today
    assert validate_date_of_birth(date(1904, 6, 2), today) == date(1904, 6, 2)  # 120 years old
    with pytest.raises(ValidationProblem, match="future"):
        validate_date_of_birth(date(2025, 6, 2), today)
    with pytest.raises(ValidationProblem, match="over 120"):
        validate_date_of_birth(date(1904, 6, 1), today)


# --- names ---


def test_name_decomposed_input_is_composed() -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn Văn An")
    assert decomposed != "Nguyễn Văn An"
    assert normalize_full_name(decomposed) == "Nguyễn Văn An"


def test_name_diacritics_kept_and_whitespace_collapsed() -> None:
    assert normalize_full_name("  Trần\u00a0 Thị   Hồng  Nhung ") == "Trần Thị Hồng Nhung"
    assert normalize_full_name("Đặng Thùy Trâm") == "Đặng Thùy Trâm"


@pytest.mark.parametrize("raw", ["Nguyễn\x00An", "Lê\tVăn", "Phạm\u200bHà", "Hà\u202eNội"])
def test_name_control_characters_rejected(raw: str) -> None:
    with pytest.raises(ValidationProblem, match="control or invisible"):
        normalize_full_name(raw)


@pytest.mark.parametrize("raw", ["", "   ", "12345", "-- .", "a" * 201])
def test_name_bad(raw: str) -> None:
    with pytest.raises(ValidationProblem) as exc:
        normalize_full_name(raw)
    assert exc.value.field == "full_name"


def test_name_length_limit() -> None:
    assert normalize_full_name("a" * 200) == "a" * 200


@FEW
@given(st.text(max_size=80))
def test_name_normalize_idempotent(raw: str) -> None:
    try:
        once = normalize_full_name(raw)
    except ValidationProblem:
        return
    assert normalize_full_name(once) == once
    assert unicodedata.is_normalized("NFC", once)


# --- account id ---


@pytest.mark.parametrize("raw", ["u1", "user.name_01:team@x-y", "A" * 128])
def test_account_id_ok(raw: str) -> None:
    assert validate_account_id(raw) == raw


@pytest.mark.parametrize("raw", ["", "A" * 129, "a b", "a/b", "ả", "id\n"])
def test_account_id_bad(raw: str) -> None:
    with pytest.raises(ValidationProblem, match="account_id"):
        validate_account_id(raw)


# --- masking ---


def test_masks() -> None:
    assert mask_name("Nguyễn Văn An") == "N***** V** A*"
    assert mask_name(unicodedata.normalize("NFD", "Nguyễn Văn An")) == "N***** V** A*"
    assert mask_phone("+84912345678") == "+84 91* *** *78"
    assert mask_national_id("001096123789") == "001******789"


def test_masks_never_fail_on_unexpected_input() -> None:
    assert mask_phone("+12") == "*12"
    assert mask_national_id("1234") == "****"
    assert mask_name("") == ""
