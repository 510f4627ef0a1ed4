from __future__ import annotations

from vncomply.kit.domain import Audience, Domain, Tag

DOMAIN = Domain(
    # The Form No. 10 clock and its events are the filings domain's.
    tags=(
        Tag(
            "platforms",
            "Register platforms (tenants): whether Decree 147 applies to them, their enforcement settings.",
            Audience.operators,
        ),
    ),
)
