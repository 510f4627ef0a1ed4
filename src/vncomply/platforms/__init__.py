from __future__ import annotations

from vncomply.kit.domain import Domain, Tag

DOMAIN = Domain(
    tags=(Tag("platforms", "Tenants (admin): scope status and the Form No. 10 clock."),),
    events=("platform.filing_due",),
)
