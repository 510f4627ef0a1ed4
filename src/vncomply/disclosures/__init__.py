from __future__ import annotations

from vncomply.kit.domain import Audience, Domain, Tag

DOMAIN = Domain(
    tags=(
        Tag(
            "disclosures",
            "Authorities' requests for a user's identity: an officer reviews each and approves only the "
            "fields the law allows; every fetch of the package is audited.",
            Audience.officers,
        ),
    ),
    events=(
        "disclosure.received",
        "disclosure.deadline_approaching",
        "disclosure.overdue",
        "disclosure.decided",
        "disclosure.user_notice_due",
    ),
)
