from __future__ import annotations

from vncomply.kit.domain import Audience, Domain, Tag

DOMAIN = Domain(
    tags=(
        Tag(
            "reports",
            "Reports for the regulator: the compliance report, the annual report (JSON, CSV, printable "
            "HTML in English or Vietnamese) and frozen snapshots with their SHA-256.",
            Audience.officers,
        ),
    ),
    events=("report.snapshot_created",),
)
