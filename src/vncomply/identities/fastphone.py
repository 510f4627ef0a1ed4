"""A fast path for the common spellings of a Vietnamese mobile number, for bulk ingest.

``validation.normalize_phone`` is the authority, but ``phonenumbers.parse`` dominates the cost of a
bulk line. Numbers written plainly (``0912345678``, ``84912345678``, ``+84 912 345 678``) are
classified here with the same library and metadata (``number_type`` on the national number), skipping
only the parser; anything else, and anything not a mobile, goes to the authoritative function, which
also produces the error messages. A property test holds the two to the same answers.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberType

from vncomply.identities.validation import normalize_phone

_PLAIN = re.compile(r"(?:\+84|84|0)([1-9]\d{8})")
_SEPARATORS = str.maketrans("", "", " .-")
_MOBILE = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


def normalize_phone_fast(raw: str) -> str:
    m = _PLAIN.fullmatch(raw.strip().translate(_SEPARATORS))
    if m is not None:
        nsn = m.group(1)
        kind = phonenumbers.number_type(PhoneNumber(country_code=84, national_number=int(nsn)))
        if kind in _MOBILE:
            return "+84" + nsn
    return normalize_phone(raw)
