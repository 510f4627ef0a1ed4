from __future__ import annotations

from vncomply.kit.domain import Audience, Domain, Tag

DOMAIN = Domain(
    tags=(
        Tag(
            "platforms",
            "Register platforms (tenants): whether Decree 147 applies to them and when Form No. 10 is due.",
            Audience.operators,
        ),
    ),
    events=("platform.filing_due",),
)
