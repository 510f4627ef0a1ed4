"""The authorities domain's kinds. The values are the wire and database values."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """How an authority's order reached the platform (vncomply.authorities.receipt)."""

    electronic = "electronic"
    written = "written"
    phone = "phone"
