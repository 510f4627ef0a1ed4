from __future__ import annotations

from vncomply.kit.domain import Audience, Domain, Tag

DOMAIN = Domain(
    tags=(
        Tag(
            "health",
            "Liveness, readiness (PostgreSQL, Redis, migrations) and Prometheus metrics; no key needed.",
            Audience.health,
        ),
    ),
)
