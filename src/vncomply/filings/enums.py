"""The filing domain's kinds and states. The values are the wire and database values."""

from __future__ import annotations

from enum import StrEnum


class FilingKind(StrEnum):
    contact_point = "contact_point"  # Form No. 10 to ABEI (Decree 147)
    annual_report = "annual_report"  # Decree 147's yearly report on the services in Vietnam
    dpia = "dpia"  # personal-data processing impact assessment to A05 (PDPL 91/2025)
    transfer_impact = "transfer_impact"  # cross-border transfer impact assessment to A05

    @property
    def topic(self) -> str:
        """The rulebook topic that times this kind."""
        return "contact_filing" if self is FilingKind.contact_point else self.value

    @property
    def created_by_request(self) -> bool:
        """Created by ``POST …/filings``; the others are opened by vncomply itself."""
        return self in (FilingKind.dpia, FilingKind.transfer_impact)


class FilingStatus(StrEnum):
    pending = "pending"
    filed = "filed"
