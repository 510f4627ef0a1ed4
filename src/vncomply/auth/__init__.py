from __future__ import annotations

from vncomply.kit.domain import Audience, Domain, Tag

DOMAIN = Domain(
    tags=(
        Tag(
            "api-keys",
            "Issue (shown once), list and revoke the keys of platforms, officers and authorities.",
            Audience.operators,
        ),
    ),
)
