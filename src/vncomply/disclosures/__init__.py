from __future__ import annotations

from vncomply.kit.domain import Domain, Tag

DOMAIN = Domain(
    tags=(Tag("disclosures", "Identity disclosure requests and officer review."),),
    events=(
        "disclosure.received",
        "disclosure.deadline_approaching",
        "disclosure.overdue",
        "disclosure.decided",
        "disclosure.user_notice_due",
    ),
)
