"""The rulebook: legal rules as versioned data (`rules`), their response shapes and `GET /v1/rulebook`."""

from __future__ import annotations

from vncomply.kit.domain import Domain, Tag

DOMAIN = Domain(
    tags=(Tag("rulebook", "The legal rules in force and upcoming."),),
)
