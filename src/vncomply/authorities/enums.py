"""The authorities domain's kinds. The values are the wire and database values."""

from __future__ import annotations

from enum import StrEnum


class AuthorityKind(StrEnum):
    ministry = "ministry"  # e.g. the Ministry of Public Security's A05
    provincial = "provincial"  # a provincial police or information department
    specialised = "specialised"


class Channel(StrEnum):
    """How an authority's order reached the platform (vncomply.authorities.receipt)."""

    electronic = "electronic"
    written = "written"
    phone = "phone"
