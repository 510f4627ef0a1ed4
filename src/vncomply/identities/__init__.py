from __future__ import annotations

from vncomply.kit.domain import Domain, Tag

DOMAIN = Domain(
    tags=(
        Tag("identities", "Verified identities (PII encrypted, responses masked)."),
        Tag("permissions", "The hot path: may this account act?"),
    ),
)
