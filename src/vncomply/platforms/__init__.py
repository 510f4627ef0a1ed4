from __future__ import annotations

from vncomply.kit.domain import Domain, Tag

DOMAIN = Domain(
    # The Form No. 10 clock and its events are the filings domain's.
    tags=(Tag("platforms", "Tenants (admin): registration, scope status, enforcement settings."),),
)
