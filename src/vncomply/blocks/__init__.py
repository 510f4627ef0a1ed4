from __future__ import annotations

from vncomply.kit.domain import Audience, Domain, Tag

DOMAIN = Domain(
    tags=(
        Tag(
            "blocks",
            "Account blocks (ordered by an authority, or by the lock rules) and the violations that count "
            "toward them: apply them, confirm, lift early with a reason.",
            Audience.platform,
        ),
    ),
    events=(
        "block.started",
        "block.ended",
        "block.lifted",
        "block.apply_overdue",
        # A lock whose violation was withdrawn afterwards, flagged for the officer's review.
        "block.review_needed",
    ),
)
