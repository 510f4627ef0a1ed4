"""The disclosure domain's states and kinds. The values are the wire values (and what the columns
hold)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class DisclosureField(StrEnum):
    """What an authority may ask for; also the canonical order fields are shown and compared in."""

    full_name = "full_name"
    date_of_birth = "date_of_birth"
    phone_number = "phone_number"
    national_id = "national_id"
    verification = "verification"
    guardian = "guardian"
    account_status = "account_status"


class Urgency(StrEnum):
    standard = "standard"
    emergency = "emergency"


class SubjectType(StrEnum):
    """How the request names its subject: only an account id is kept in clear."""

    account_id = "account_id"
    phone_number = "phone_number"
    national_id = "national_id"


class Status(StrEnum):
    pending_review = "pending_review"
    awaiting_second_approval = "awaiting_second_approval"
    approved = "approved"
    partially_approved = "partially_approved"
    rejected = "rejected"
    no_data = "no_data"


class Decision(StrEnum):
    approve = "approve"
    partially_approve = "partially_approve"
    reject = "reject"


FIELD_ORDER: tuple[str, ...] = tuple(f.value for f in DisclosureField)


def ordered_fields(fields: Iterable[object]) -> list[str]:
    """Fields in the canonical order (requests compare and display alike however they were sent)."""
    chosen = {str(f) for f in fields}
    return [f for f in FIELD_ORDER if f in chosen]


# Still waiting for an officer (the clock runs); every other status is final.
OPEN_STATUSES: tuple[Status, ...] = (Status.pending_review, Status.awaiting_second_approval)
# Final, with a package to fetch.
RELEASED_STATUSES: tuple[Status, ...] = (Status.approved, Status.partially_approved)
