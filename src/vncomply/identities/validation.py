"""Validation and masking of the identity data Decree 147/2024 requires a platform to keep.

Decree 147/2024/ND-CP verifies users by a Vietnamese mobile number or, failing that, by the 12-digit
personal identification number (CCCD). The CCCD has no checksum, so the only checks possible are
structural (Decree 137/2015/ND-CP Art. 7, kept by the Law on Identification 2023):

    PPP G YY NNNNNN
    |   | |  `- random serial
    |   | `---- last two digits of the birth year
    |   `------ century and gender: 0/1 = male/female born 1900s, 2/3 = 2000s, 4/5 = 2100s ...
    `---------- province of birth registration (63 legacy codes) or a country code

The number must agree with the declared date of birth. The 9-digit CMND stopped being valid on
2024-12-31 (Law on Identification 2023, Art. 46) and is rejected with a message saying so.

Everything here is pure: no I/O, no clock (callers pass ``today``), so it is safe to call anywhere.
Error messages never echo a digit of a phone or ID number (nor the date of birth) back: they are
shown to callers and may end up in logs (rule 7). They name the digits' positions instead.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

import phonenumbers
from phonenumbers import PhoneNumberType

__all__ = [
    "MAX_AGE_YEARS",
    "PROVINCE_CODES",
    "ValidationProblem",
    "age_on",
    "mask_name",
    "mask_national_id",
    "mask_phone",
    "normalize_full_name",
    "normalize_phone",
    "validate_account_id",
    "validate_date_of_birth",
    "validate_national_id",
]


class ValidationProblem(ValueError):
    """A value a client sent is not acceptable; ``field`` names it so the API can point at it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return self.message


# The 63 legacy province codes (the MPS province code table). The 2025 merger cut the
# provinces to 34, but numbers already issued keep their old prefix, so all 63 stay valid for good.
# fmt: off
PROVINCE_CODES: frozenset[str] = frozenset((
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019",
    "020", "022", "024", "025", "026", "027", "030", "031", "033", "034", "035", "036",
    "037", "038", "040", "042", "044", "045", "046", "048", "049", "051", "052", "054",
    "056", "058", "060", "062", "064", "066", "067", "068", "070", "072", "074", "075",
    "077", "079", "080", "082", "083", "084", "086", "087", "089", "091", "092", "093",
    "094", "095", "096",
))
# fmt: on
assert len(PROVINCE_CODES) == 63

MAX_AGE_YEARS = 120
_FIRST_CENTURY = 1900  # digit 4 = 0/1
_LAST_CENTURY = 2300  # digit 4 = 8/9

_PHONE_CHARS = re.compile(r"[0-9+\-. ()]{1,32}")
# The platform's own account id: one definition for schemas, path parameters and the fast path.
ACCOUNT_ID_PATTERN = r"^[A-Za-z0-9._:@-]+$"
ACCOUNT_ID_MAX = 128
ACCOUNT_ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}")
_E164_VN = re.compile(r"\+84\d{9}")
# Types that still identify a person's handset. FIXED_LINE_OR_MOBILE is what the library answers
# when a region's ranges overlap; Vietnam's do not today, but if a metadata update introduced an
# overlap we would rather accept a real mobile than reject it (OTP delivery proves it is one).
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


# --- phone ---


def normalize_phone(raw: str) -> str:
    """Return a Vietnamese mobile number as E.164 (``+84`` and 9 digits).

    Accepts the forms people actually type: ``0912345678``, ``+84 912 345 678``, ``84912345678``,
    ``+84-91-234-5678``. Landlines, service numbers and foreign numbers are rejected with
    distinct messages because Decree 147 verification needs a Vietnamese *mobile* (OTP by SMS).
    """
    field = "phone_number"
    text = raw.strip()
    # phonenumbers is lenient (it maps vanity letters to digits); refuse anything that is not a
    # plain written number so a typo is not silently turned into someone else's number.
    if not _PHONE_CHARS.fullmatch(text):
        raise ValidationProblem(
            field,
            "phone_number must contain only digits, spaces, '+', '-', '.' or parentheses "
            "(at most 32 characters); send a Vietnamese mobile such as +84912345678 or 0912345678",
        )
    try:
        number = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException:
        raise ValidationProblem(
            field,
            "phone_number is not a phone number; send a Vietnamese mobile such as +84912345678",
        ) from None

    if number.country_code != 84:
        # The region, not the country code: no digit of the number is echoed.
        region = phonenumbers.region_code_for_number(number) or "another country"
        raise ValidationProblem(
            field,
            f"phone_number is a foreign number ({region}); Decree 147 "
            "verification needs a Vietnamese mobile number (+84). A user without one can verify "
            "with the 12-digit personal identification number instead",
        )
    if not phonenumbers.is_valid_number(number):
        raise ValidationProblem(
            field,
            "phone_number is not a valid Vietnamese number (wrong length or unassigned prefix); "
            "send a mobile such as +84912345678 or 0912345678",
        )
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.FIXED_LINE:
        raise ValidationProblem(
            field,
            "phone_number is a Vietnamese landline; verification needs a mobile number that can "
            "receive an SMS (e.g. starting 03, 05, 07, 08 or 09)",
        )
    if kind not in _MOBILE_TYPES:
        raise ValidationProblem(
            field,
            "phone_number is a Vietnamese service or non-personal number (toll-free, premium, "
            "VoIP, etc.), not a mobile; send the user's mobile number",
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # The mobile ranges include a few legacy 8-digit numbers; storage is fixed at +84 + 9 digits.
    if not _E164_VN.fullmatch(e164):
        raise ValidationProblem(
            field,
            "phone_number is not a current 10-digit Vietnamese mobile number; send one such as 0912345678",
        )
    return e164


# --- personal identification number (CCCD) ---


def validate_national_id(
    raw: str, date_of_birth: date, extra_allowed_prefixes: frozenset[str] = frozenset()
) -> str:
    """Return the 12-digit personal identification number if it agrees with ``date_of_birth``.

    ``extra_allowed_prefixes`` lets a deployment accept first-three-digit codes outside the 63
    provinces (country codes for people whose birth was registered abroad) without a code change.
    """
    field = "national_id"
    nid = "".join(raw.split())
    if not nid.isascii() or not nid.isdigit():
        raise ValidationProblem(
            field, "national_id must contain only digits; send the 12-digit personal ID number"
        )
    if len(nid) == 9:
        raise ValidationProblem(
            field,
            "national_id has 9 digits: the old identity card number (CMND) is no longer valid "
            "since 2024-12-31; send the 12-digit personal identification number (CCCD) instead",
        )
    if len(nid) != 12:
        raise ValidationProblem(
            field,
            f"national_id has {len(nid)} digits; the personal identification number (CCCD) has exactly 12",
        )

    prefix = nid[:3]
    if prefix not in PROVINCE_CODES and prefix not in extra_allowed_prefixes:
        raise ValidationProblem(
            field,
            "national_id digits 1-3 are not a province code (001-096) or an allowed country "
            "code; check the number on the card",
        )

    year = date_of_birth.year
    if not _FIRST_CENTURY <= year < _LAST_CENTURY + 100:
        raise ValidationProblem(
            "date_of_birth",
            "date_of_birth's year cannot be encoded in a personal ID number (1900-2399)",
        )

    century_digit = int(nid[3])
    id_century = _FIRST_CENTURY + (century_digit // 2) * 100
    birth_century = (year // 100) * 100
    if id_century != birth_century:
        raise ValidationProblem(
            field,
            "national_id digit 4 (century of birth and gender) does not agree with the century "
            "of date_of_birth; check the number and the date of birth",
        )

    year_digits = nid[4:6]
    if year_digits != f"{year % 100:02d}":
        raise ValidationProblem(
            field,
            "national_id digits 5-6 (year of birth) do not agree with date_of_birth; check the "
            "number and the date of birth",
        )
    return nid


# --- dates ---


def age_on(dob: date, on: date) -> int:
    """Completed years of age on ``on``.

    Someone born on 29 February turns a year older on 1 March in common years.
    """
    if on < dob:
        raise ValueError("age_on: 'on' is before the date of birth")
    before_birthday = (on.month, on.day) < (dob.month, dob.day)
    return on.year - dob.year - int(before_birthday)


def validate_date_of_birth(d: date, today: date) -> date:
    """Return ``d`` if it is a plausible date of birth as of ``today`` (a local date)."""
    field = "date_of_birth"
    # datetime is a subclass of date but compares with date by raising TypeError; make it clear.
    if isinstance(d, datetime):
        raise ValidationProblem(field, "date_of_birth must be a date (YYYY-MM-DD), not a datetime")
    if d > today:
        raise ValidationProblem(
            field, f"date_of_birth is in the future (after {today.isoformat()}); send the real date"
        )
    if age_on(d, today) > MAX_AGE_YEARS:
        raise ValidationProblem(
            field,
            f"date_of_birth gives an age over {MAX_AGE_YEARS} years; check the year (YYYY-MM-DD)",
        )
    return d


# --- names and account ids ---

MAX_NAME_CHARS = 200


def normalize_full_name(raw: str) -> str:
    """Return the name NFC-normalised with single spaces; Vietnamese diacritics are kept.

    NFC matters for the blind index and for equality: "Nguyễn" typed on macOS often arrives
    decomposed (e + combining marks) and would otherwise never match the same name from Windows.
    """
    field = "full_name"
    name = unicodedata.normalize("NFC", raw).strip()
    # Controls, format characters (zero-width, bidi overrides) and unassigned code points have no
    # place in a legal name and are a classic way to make two names look equal but differ.
    # isprintable() is false for every C* character (and for separators other than the space), so
    # the per-character scan runs only for the rare name that might hold one.
    for ch in "" if name.isprintable() else name:
        if unicodedata.category(ch).startswith("C"):
            raise ValidationProblem(
                field,
                f"full_name contains a control or invisible character (U+{ord(ch):04X}); send the "
                "name as plain text",
            )
    name = " ".join(name.split())
    if not name:
        raise ValidationProblem(field, "full_name is empty; send the user's full name")
    if len(name) > MAX_NAME_CHARS:
        raise ValidationProblem(
            field, f"full_name has {len(name)} characters; at most {MAX_NAME_CHARS} are allowed"
        )
    if not any(map(str.isalpha, name)):  # isalpha: categories Lu Ll Lt Lm Lo, i.e. "L*"
        raise ValidationProblem(
            field, "full_name contains no letters; send the user's full name as on their ID"
        )
    return name


def validate_account_id(raw: str) -> str:
    """Return the platform's account id if it is 1-128 URL-safe characters.

    The id appears in URL paths and in the encryption AAD, so it is kept to a small, plain set.
    """
    if not ACCOUNT_ID.fullmatch(raw):
        raise ValidationProblem(
            "account_id",
            "account_id must be 1-128 characters from A-Z, a-z, 0-9 and . _ : @ -",
        )
    return raw


# --- masking (what responses show instead of PII) ---


def mask_name(name: str) -> str:
    """``"Nguyễn Văn An"`` → ``"N***** V** A*"``: initials survive so an officer can still tell
    accounts apart, the rest only by length."""
    return " ".join(w[0] + "*" * (len(w) - 1) for w in unicodedata.normalize("NFC", name).split())


def mask_phone(e164: str) -> str:
    """``"+84912345678"`` → ``"+84 91* *** *78"``: the carrier prefix and last two digits only."""
    if _E164_VN.fullmatch(e164):
        n = e164[3:]
        return f"+84 {n[:2]}* *** *{n[-2:]}"
    # Not expected (storage is E.164 VN), but a response must never fail or leak because of it.
    return "*" * max(len(e164) - 2, 0) + e164[-2:]


def mask_national_id(nid: str) -> str:
    """``"001096123789"`` → ``"001******789"``: province prefix and last three digits only."""
    if len(nid) < 9:
        return "*" * len(nid)
    return nid[:3] + "*" * (len(nid) - 6) + nid[-3:]
