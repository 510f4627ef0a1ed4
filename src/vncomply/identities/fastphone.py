"""A fast path for the common spellings of a Vietnamese mobile number, for bulk ingest.

``validation.normalize_phone`` is the authority, but ``phonenumbers.parse`` dominates the cost of a
bulk line, and ``phonenumbers.number_type`` the rest. Numbers written plainly (``0912345678``,
``84912345678``, ``+84 912 345 678``) are classified here against the same library's metadata for
Vietnam, compiled once: the descriptions ``number_type`` tries before "mobile" (premium rate, toll
free, VoIP, …) must not match and the mobile one must, exactly as ``number_type`` decides. Anything
else, and anything not a mobile, goes to the authoritative function, which also writes the error
messages. Property tests hold the two to the same answers (all prefixes, random numbers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from phonenumbers import PhoneMetadata, PhoneNumberDesc

from vncomply.identities.validation import normalize_phone

_PLAIN = re.compile(r"(?:\+84|84|0)([1-9]\d{8})")
_SEPARATORS = str.maketrans("", "", " .-")


@dataclass(frozen=True, slots=True)
class _Desc:
    """A ``PhoneNumberDesc`` as ``phonenumbers._is_number_matching_desc`` reads it, precompiled."""

    lengths: frozenset[int]  # empty: any length (the general description was checked first)
    pattern: re.Pattern[str] | None

    @classmethod
    def of(cls, desc: PhoneNumberDesc | None) -> _Desc:
        if desc is None or not desc.national_number_pattern:
            return cls(frozenset(), None)
        return cls(frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern))

    def matches(self, nsn: str) -> bool:
        if self.pattern is None or (self.lengths and len(nsn) not in self.lengths):
            return False
        return self.pattern.fullmatch(nsn) is not None


_VN = PhoneMetadata.metadata_for_region("VN")
assert _VN is not None
_GENERAL = _Desc.of(_VN.general_desc)
# number_type's order: the first of these that matches is the answer, and none of them is mobile.
_BEFORE_MOBILE = tuple(
    _Desc.of(getattr(_VN, name))
    for name in (
        "premium_rate",
        "toll_free",
        "shared_cost",
        "voip",
        "personal_number",
        "pager",
        "uan",
        "voicemail",
    )
)
_FIXED = _Desc.of(_VN.fixed_line)
_MOBILE = _Desc.of(_VN.mobile)
_SAME_PATTERN = bool(_VN.same_mobile_and_fixed_line_pattern)


def is_vn_mobile(nsn: str) -> bool:
    """``number_type`` of +84 ``nsn`` is MOBILE or FIXED_LINE_OR_MOBILE (``nsn``: digits only)."""
    if not _GENERAL.matches(nsn) or any(d.matches(nsn) for d in _BEFORE_MOBILE):
        return False
    if _SAME_PATTERN:
        return _FIXED.matches(nsn)
    return _MOBILE.matches(nsn)


def normalize_phone_fast(raw: str) -> str:
    m = _PLAIN.fullmatch(raw.strip().translate(_SEPARATORS))
    if m is not None and is_vn_mobile(m.group(1)):
        return "+84" + m.group(1)
    return normalize_phone(raw)
