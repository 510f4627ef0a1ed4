from __future__ import annotations

from vncomply.kit.domain import Audience, Domain, Tag

DOMAIN = Domain(
    tags=(
        Tag(
            "takedowns",
            "Takedown orders addressed to your platform: read what is due, acknowledge, resolve every item "
            "before `due_at`.",
            Audience.platform,
        ),
    ),
    events=(
        "takedown.received",
        "takedown.deadline_approaching",
        "takedown.overdue",
        "takedown.completed",
    ),
)
