"""The reports domain's kinds. The values are the wire and database values."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    compliance = "compliance"  # any period of up to 400 days
    annual = "annual"  # a Vietnam calendar year, with the service profile (Decree 147)


class Format(StrEnum):
    json = "json"
    csv = "csv"
    html = "html"


class Lang(StrEnum):
    en = "en"
    vi = "vi"
