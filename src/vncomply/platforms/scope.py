"""Whether a platform is in scope of Decree 147, and its Form No. 10 due date: pure functions of the
platform row and the rulebook (the filings domain opens its clocks from them)."""

from __future__ import annotations

from datetime import datetime

from vncomply.filings.timing import contact_point_due
from vncomply.kit import clock
from vncomply.platforms.models import Platform
from vncomply.rulebook import rules as rulebook


def in_scope(p: Platform, at: datetime | None = None) -> bool:
    rule = rulebook.in_force("scope", at or clock.now())
    return p.stores_data_in_vn or p.monthly_vn_visits >= rule.params["min_monthly_visits"]


def filing_due_at(p: Platform) -> datetime | None:
    """The Form No. 10 due date while the platform is in scope (the contact-point filing holds the
    same date and the clock: ``GET /v1/platforms/{id}/filings``)."""
    if p.in_scope_since is None or not in_scope(p):
        return None
    return contact_point_due(p.in_scope_since)[2]
