from __future__ import annotations

from vncomply.kit.domain import Domain, Tag

DOMAIN = Domain(
    tags=(Tag("authorities", "Registered authorities and whom they may address."),),
)
