"""Personal-data breach notices to MPS (A05): 72 hours from detection by the rule in force at
detection (Decree 13/2023, then PDPL 91/2025 + Decree 356/2025) — docs/breaches.md."""

from __future__ import annotations

from vncomply.kit.domain import Audience, Domain, Tag

DOMAIN = Domain(
    tags=(
        Tag(
            "breaches",
            "Personal-data breaches and the 72-hour notice to MPS (A05): record the detection, then "
            "the notice.",
            Audience.officers,
        ),
    ),
    events=("breach.deadline_approaching", "breach.overdue", "breach.notified"),
)
