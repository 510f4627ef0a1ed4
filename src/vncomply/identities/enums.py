"""The identity registry's closed vocabularies. The values are the wire values (and what the
columns hold)."""

from __future__ import annotations

from enum import StrEnum


class IdentityStatus(StrEnum):
    verified = "verified"
    revoked = "revoked"  # the platform withdrew the verification
    closed = "closed"  # the account is closed (its data is kept for the retention period)


class VerificationStatus(StrEnum):
    """A phone verification (one-time code by SMS)."""

    pending = "pending"
    confirmed = "confirmed"
    failed = "failed"  # wrong code too often, or expired


class Method(StrEnum):
    sms_otp = "sms_otp"
    national_id = "national_id"
    vneid = "vneid"


class Action(StrEnum):
    post = "post"
    comment = "comment"
    share = "share"
    livestream = "livestream"
    livestream_commercial = "livestream_commercial"
    monetise = "monetise"  # revenue-generating features (Decree 147 Art. 23: gated on Form No. 10)


class Denial(StrEnum):
    """Why the permission check refuses an action; the first that applies is given, in this order
    (``vncomply.identities.policy`` states the rules)."""

    closed = "closed"
    revoked = "revoked"
    unverified = "unverified"
    locked = "locked"
    blocked = "blocked"
    guardian_required = "guardian_required"
    platform_contact_not_filed = "platform_contact_not_filed"
    national_id_required = "national_id_required"


# For the documentation of the check: the denials whose name does not say it all.
DENIAL_NOTES: dict[Denial, str] = {
    Denial.guardian_required: "an under-16 without a guardian",
    Denial.platform_contact_not_filed: "livestreams and monetisation before Form No. 10",
    Denial.national_id_required: "commercial livestream",
}
