from __future__ import annotations

from vncomply.kit.domain import Domain, Tag

DOMAIN = Domain(
    tags=(Tag("api-keys", "Scoped API keys (admin)."),),
)
