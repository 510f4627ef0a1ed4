from __future__ import annotations

from vncomply.kit.domain import Domain, Tag

DOMAIN = Domain(
    tags=(Tag("takedowns", "Takedown orders and their deadlines."),),
    events=(
        "takedown.received",
        "takedown.deadline_approaching",
        "takedown.overdue",
        "takedown.completed",
    ),
)
