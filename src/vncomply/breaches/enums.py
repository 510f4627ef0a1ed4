"""The breach domain's states and kinds. The values are the wire and database values."""

from __future__ import annotations

from enum import StrEnum


class BreachStatus(StrEnum):
    open = "open"  # the notice to A05 is not recorded yet
    notified = "notified"


class DataCategory(StrEnum):
    """Kinds of personal data involved (Decree 13/2023 Art. 2, PDPL 91/2025: basic and sensitive)."""

    # basic
    identity = "identity"  # names, date of birth, gender, nationality
    contact = "contact"  # phone numbers, e-mail and postal addresses
    national_id = "national_id"  # ID card, passport, tax or social-insurance numbers
    account = "account"  # account identifiers, credentials, online activity
    # sensitive
    location = "location"
    financial = "financial"  # bank, card and payment data
    health = "health"
    biometric = "biometric"
    genetic = "genetic"
    political_religious = "political_religious"
    sexual_life = "sexual_life"
    criminal_record = "criminal_record"
    children = "children"  # data of people under 16
    other = "other"
