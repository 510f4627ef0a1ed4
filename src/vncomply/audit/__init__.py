from __future__ import annotations

from vncomply.kit.domain import Audience, Domain, Tag

DOMAIN = Domain(
    tags=(
        Tag(
            "audit",
            "The tamper-evident trail of every change: who did what, when; and its integrity check.",
            Audience.officers,
        ),
    ),
)
