from __future__ import annotations

from vncomply.kit.domain import Audience, Domain, Tag

DOMAIN = Domain(
    tags=(
        Tag(
            "events",
            "What happened, as signed webhooks (Standard Webhooks) with retries, or as a pull feed.",
            Audience.platform,
        ),
    ),
)
