from __future__ import annotations

from vncomply.kit.domain import Domain, Tag

DOMAIN = Domain(
    tags=(Tag("blocks", "Violations, lock rules and account blocks."),),
    events=(
        "block.started",
        "block.ended",
        "block.lifted",
        "block.apply_overdue",
        # A lock whose violation was withdrawn afterwards, flagged for the officer's review.
        "block.review_needed",
    ),
)
