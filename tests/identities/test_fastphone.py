"""The bulk fast path for phone numbers answers exactly as the authoritative validator."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vncomply.identities.fastphone import normalize_phone_fast
from vncomply.identities.validation import ValidationProblem, normalize_phone


def outcome(f, raw):
    try:
        return f(raw)
    except ValidationProblem as p:
        return ("error", p.field, p.message)


prefixes = st.sampled_from(["0", "84", "+84", "+84 ", "0084", "", "+1", "8", "00"])
nsn = st.text(alphabet="0123456789", min_size=7, max_size=11)
seps = st.sampled_from(["", " ", "-", ".", "  "])


@settings(max_examples=3000, deadline=None)
@given(prefix=prefixes, digits=nsn, sep=seps, cut=st.integers(0, 11))
@example(prefix="0", digits="912345678", sep=" ", cut=2)
@example(prefix="84", digits="243825000", sep="", cut=0)
@example(prefix="+84", digits="672123456", sep="", cut=0)
@example(prefix="0", digits="180012345", sep="", cut=0)
def test_same_answer_as_the_authority(prefix, digits, sep, cut):
    raw = prefix + digits[:cut] + sep + digits[cut:]
    assert outcome(normalize_phone_fast, raw) == outcome(normalize_phone, raw)


@pytest.mark.parametrize("raw", ["0912345678", "+84 912 345 678", "84912345678", "+84-91-234-5678"])
def test_common_spellings(raw):
    assert normalize_phone_fast(raw) == "+84912345678"


@settings(max_examples=12, deadline=None)
@given(tail=st.text(alphabet="0123456789", min_size=5, max_size=5))
def test_mobile_classification_matches_number_type_for_every_prefix(tail):
    """Every 4-digit start of a 9-digit national number (all the metadata's patterns decide on at
    most 4 digits today) with a random tail: our precompiled check answers as number_type."""
    import phonenumbers
    from phonenumbers import PhoneNumber, PhoneNumberType

    from vncomply.identities.fastphone import is_vn_mobile

    mobile = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
    for prefix in range(1000, 10000):
        nsn = f"{prefix}{tail}"
        kind = phonenumbers.number_type(PhoneNumber(country_code=84, national_number=int(nsn)))
        assert is_vn_mobile(nsn) == (kind in mobile), nsn
