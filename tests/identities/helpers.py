"""Shared builders for the identities tests."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from vncomply.identities.sms import ConsoleSms

PHONE = "0912345678"
PHONE_E164 = "+84912345678"
DOB = date(1990, 5, 17)
NAME = "Nguyễn Văn An"


def make_nid(province: str, dob: date, female: bool = False, serial: str = "123456") -> str:
    century_digit = (dob.year // 100 - 19) * 2 + int(female)
    return f"{province}{century_digit}{dob.year % 100:02d}{serial}"


NID = make_nid("001", DOB)  # 001090123456


def body(**over: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "full_name": NAME,
        "date_of_birth": DOB.isoformat(),
        "phone_number": PHONE,
        "verification": {"method": "sms_otp", "verified_at": "2026-01-01T00:00:00Z"},
    }
    b.update(over)
    return {k: v for k, v in b.items() if v is not None}


def last_code() -> str:
    _, text = ConsoleSms.sent[-1]
    m = re.search(r"\b\d{6}\b", text)
    assert m is not None
    return m.group()
