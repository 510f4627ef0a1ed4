"""What a platform must file with the authorities — the Form No. 10 contact point, the annual
report, the impact assessments — each on a clock from the rulebook (docs/filings.md)."""

from __future__ import annotations

from vncomply.kit.domain import Audience, Domain, Tag

DOMAIN = Domain(
    tags=(
        Tag(
            "filings",
            "What the platform must file (Form No. 10, annual report, DPIA, transfer impact "
            "assessment) and by when; record each once filed.",
            Audience.officers,
        ),
    ),
    events=("filing.due_soon", "filing.overdue", "filing.filed"),
)
