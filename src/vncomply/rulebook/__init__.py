"""The rulebook: legal rules as versioned data (`rules`), their response shapes and `GET /v1/rulebook`."""

from __future__ import annotations

from vncomply.kit.domain import Audience, Domain, Tag

DOMAIN = Domain(
    tags=(
        Tag(
            "rulebook",
            "The legal rules as data: in force, upcoming, drafts; every deadline names the rule it "
            "came from.",
            Audience.officers,
        ),
    ),
)
