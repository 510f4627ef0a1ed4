"""The rulebook: legal rules as versioned data (docs/architecture.md, "Where a rule of law lives").

Each rule version has the instant it takes effect. A deadline is computed from the version in force
when the request was *received*, and that version's id is stored with the deadline, so a later change
of law never moves an existing deadline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from vncomply.kit.clock import VN_TZ


def _vn(y: int, m: int, d: int) -> datetime:
    # Laws take effect at 00:00 Vietnam time.
    return datetime(y, m, d, tzinfo=VN_TZ).astimezone(UTC)


class Confidence(StrEnum):
    """How sure the rulebook is of a rule's reading of its source: what to have counsel check."""

    high = "high"  # the text is clear and in force
    medium = "medium"  # the source is right but a detail (a count, a start) is our reading
    unconfirmed = "unconfirmed"  # no official text found for this value; a setting or an assumption


@dataclass(frozen=True)
class Rule:
    id: str
    topic: str
    effective_from: datetime
    summary: str
    source: str
    params: dict[str, Any] = field(default_factory=dict)
    in_force: bool = True  # False: a draft kept for reference, never applied
    # Required for every rule (keyword-only so it reads as a label at each rule below).
    confidence: Confidence = field(kw_only=True)


H, M, U = Confidence.high, Confidence.medium, Confidence.unconfirmed

RULES: tuple[Rule, ...] = (
    Rule(
        "scope.v1",
        "scope",
        _vn(2024, 12, 25),
        "In scope: rents data storage in Vietnam, or >= 100,000 visits/month from Vietnam (6-month average)",
        "Decree 147/2024 Art. 23",
        {"min_monthly_visits": 100_000},
        confidence=H,
    ),
    Rule(
        "filing.v1",
        "contact_filing",
        _vn(2024, 12, 25),
        "Contact point (Form No. 10) filed with ABEI within 60 days of coming in scope; "
        "no livestream or monetisation before it is filed",
        "Decree 147/2024 Art. 23",
        # `gates`: the permission-check actions denied (platform_contact_not_filed) until it is filed.
        {"days": 60, "gates": ["livestream", "livestream_commercial", "monetise"]},
        confidence=H,
    ),
    Rule(
        "verified_actions.v1",
        "verified_actions",
        _vn(2024, 12, 25),
        "Only verified accounts may post, comment, share and livestream; commercial livestream "
        "needs verification by personal ID number; under-16s are registered by a guardian; the ID "
        "number verifies an account only when the user attests having no Vietnamese mobile",
        "Decree 147/2024",
        {
            # Need a verified identity (and, for a minor, a guardian).
            "actions": ["post", "comment", "share", "livestream"],
            # Need verification by personal ID number (and so a verified identity).
            "national_id_actions": ["livestream_commercial"],
            "minor_age": 16,
            "national_id_needs_no_vn_mobile": True,
        },
        confidence=H,
    ),
    Rule(
        "takedown.standard.v1",
        "takedown.standard",
        _vn(2024, 12, 25),
        "Remove requested content within 24 hours of receipt (electronic, written or by phone); the "
        "verdict is judged on when the platform's resolution reaches vncomply, not on the time the "
        "platform says it acted",
        "Decree 147/2024; Cybersecurity Law 2018",
        {"hours": 24, "judged_on": "received_by_vncomply"},
        confidence=H,
    ),
    Rule(
        "takedown.emergency.v1",
        "takedown.emergency",
        _vn(2024, 12, 25),
        "Before the Cybersecurity Law 2025: emergency requests share the 24-hour window; the verdict "
        "is judged on when the platform's resolution reaches vncomply",
        "Decree 147/2024",
        {"hours": 24, "judged_on": "received_by_vncomply"},
        confidence=H,
    ),
    Rule(
        "takedown.emergency.v2",
        "takedown.emergency",
        _vn(2026, 7, 1),
        "Emergency (national security) requests: remove within 6 hours; the verdict is judged on "
        "when the platform's resolution reaches vncomply",
        "Cybersecurity Law 2025 (116/2025/QH15)",
        {"hours": 6, "judged_on": "received_by_vncomply"},
        confidence=H,
    ),
    Rule(
        "disclosure.standard.v1",
        "disclosure.standard",
        _vn(2024, 12, 25),
        "User-data requests: no statutory deadline",
        "Decree 147/2024",
        {"hours": None},
        confidence=H,
    ),
    Rule(
        "disclosure.emergency.v1",
        "disclosure.emergency",
        _vn(2024, 12, 25),
        "User-data requests: no statutory deadline",
        "Decree 147/2024",
        {"hours": None},
        confidence=H,
    ),
    Rule(
        "disclosure.standard.v2",
        "disclosure.standard",
        _vn(2026, 7, 1),
        "User-data requests: answer within 24 hours",
        "Cybersecurity Law 2025 (116/2025/QH15)",
        {"hours": 24},
        confidence=H,
    ),
    Rule(
        "disclosure.emergency.v2",
        "disclosure.emergency",
        _vn(2026, 7, 1),
        "Emergency user-data requests: answer within 3 hours",
        "Cybersecurity Law 2025 (116/2025/QH15)",
        {"hours": 3},
        confidence=H,
    ),
    Rule(
        "lock.v1",
        "lock",
        _vn(2024, 12, 25),
        "Temporary lock of 7-30 days, applied within 24 h, for >= 5 ministry-requested violations "
        "in 30 days or >= 10 in 90 days; permanent lock for national-security content or after "
        "3 temporary locks",
        "Decree 147/2024",
        {
            "thresholds": [{"count": 5, "days": 30}, {"count": 10, "days": 90}],
            "min_days": 7,
            "max_days": 30,
            "default_days": [7, 15, 30],
            "apply_within_hours": 24,
            "permanent_after_temporary": 3,
            # Violations that triggered a lock are consumed: they do not count toward the next one.
            "count_consumed_violations": False,
        },
        confidence=H,
    ),
    Rule(
        "lock.draft-2026-02",
        "lock",
        _vn(2026, 2, 1),
        "MPS draft (February 2026), not in force: 3 violations in 30 days -> up to 60 days; "
        "10 in 90 days -> up to 180 days",
        "MPS draft decree, February 2026",
        {
            "thresholds": [
                {"count": 3, "days": 30, "max_days": 60},
                {"count": 10, "days": 90, "max_days": 180},
            ],
            "min_days": 7,
            "max_days": 180,
            "default_days": [7, 15, 30],
            "apply_within_hours": 24,
            "permanent_after_temporary": 3,
            "count_consumed_violations": False,
        },
        in_force=False,
        confidence=U,
    ),
    Rule(
        "retention.v1",
        "retention",
        _vn(2022, 10, 1),
        "Identity data kept >= 24 months and system logs >= 12 months. Decree 53 counts the 24 months "
        "from an authority's storage request, not from account closure. The purge setting "
        "VNCOMPLY_RETENTION_MONTHS (default 24, refused below 24 in prod) is a house policy built on "
        "this rule: it purges an account's identity data that many months after the account closed. "
        "It does not know about storage requests: data an authority asked to be kept must be held "
        "outside the purge until 24 months after that request",
        "Decree 53/2022 Art. 27",
        {
            "identity_months": 24,
            "identity_months_from": "authority_storage_request",
            "log_months": 12,
            "purge_setting": "VNCOMPLY_RETENTION_MONTHS",
            "purge_default_months": 24,
            "purge_months_from": "account_closure",
        },
        confidence=M,
    ),
    Rule(
        "breach_notice.v0",
        "breach_notice",
        _vn(2023, 7, 1),
        "Personal-data breach notified to MPS (A05) within 72 hours; a late notice states the "
        "reason. The decree's text counts the 72 hours from the violation; vncomply counts them "
        "from detection (the design's reading): have counsel check for breaches detected late",
        "Decree 13/2023 Art. 23 (2023-07-01 to 2025-12-31)",
        {"hours": 72, "to": "MPS A05"},
        confidence=M,
    ),
    Rule(
        "breach_notice.v1",
        "breach_notice",
        _vn(2026, 1, 1),
        "Personal-data breach notified to MPS (A05) within 72 hours of detection; a late notice "
        "states the reason",
        "PDPL 91/2025; Decree 356/2025",
        {"hours": 72, "to": "MPS A05"},
        confidence=H,
    ),
    Rule(
        "annual_report.v1",
        "annual_report",
        _vn(2024, 12, 25),
        "A yearly report on the services provided in Vietnam, one per calendar year in scope. No "
        "official due date was found: it is the setting VNCOMPLY_ANNUAL_REPORT_DUE (month-day of "
        "the following year)",
        "Decree 147/2024",
        {"period": "calendar_year", "due_setting": "VNCOMPLY_ANNUAL_REPORT_DUE"},
        confidence=U,
    ),
    Rule(
        "dpia.v1",
        "dpia",
        _vn(2026, 1, 1),
        "Personal-data processing impact assessment dossier sent to MPS (A05) within 60 days of "
        "starting the processing; have counsel check the start and the count",
        "PDPL 91/2025; Decree 356/2025",
        {"days": 60, "to": "MPS A05"},
        confidence=M,
    ),
    Rule(
        "transfer_impact.v1",
        "transfer_impact",
        _vn(2026, 1, 1),
        "Cross-border transfer impact assessment dossier sent to MPS (A05) within 60 days of "
        "starting the transfer; storing Vietnamese users' data abroad counts as a transfer; have "
        "counsel check the start and the count",
        "PDPL 91/2025; Decree 356/2025",
        {"days": 60, "to": "MPS A05"},
        confidence=M,
    ),
)

_BY_ID = {r.id: r for r in RULES}


def rule_by_id(rule_id: str) -> Rule:
    return _BY_ID[rule_id]


def in_force(topic: str, at: datetime) -> Rule:
    """The rule version for ``topic`` in force at ``at`` (drafts are never returned)."""
    candidates = [r for r in RULES if r.topic == topic and r.in_force and r.effective_from <= at]
    if not candidates:
        raise LookupError(f"no rule for {topic!r} in force at {at.isoformat()}")
    return max(candidates, key=lambda r: r.effective_from)


def first_in_force(topic: str) -> Rule:
    """The earliest rule version for ``topic`` (before it, the law set nothing)."""
    return min((r for r in RULES if r.topic == topic and r.in_force), key=lambda r: r.effective_from)


def superseded_at(rule: Rule) -> datetime | None:
    """When the next version of ``rule``'s topic takes over (None: still the latest, or a draft)."""
    if not rule.in_force:
        return None
    later = [
        r.effective_from
        for r in RULES
        if r.topic == rule.topic and r.in_force and r.effective_from > rule.effective_from
    ]
    return min(later, default=None)


def clock_start(topic: str, at: datetime) -> datetime:
    """When a clock for ``topic`` that would have started at ``at`` starts: at ``at``, or when the
    law took effect for an obligation that began before it."""
    return max(at, first_in_force(topic).effective_from)


def deadline(topic: str, received_at: datetime) -> tuple[Rule, datetime | None]:
    """The rule applied and the due instant (None when the rule sets no deadline)."""
    rule = in_force(topic, received_at)
    hours = rule.params.get("hours")
    return rule, (received_at + timedelta(hours=hours) if hours is not None else None)


def snapshot(at: datetime) -> dict[str, list[Rule]]:
    """Rules in force at ``at``, upcoming ones, and drafts (shown, never applied)."""
    topics = {r.topic for r in RULES}
    current = []
    for topic in sorted(topics):
        try:
            current.append(in_force(topic, at))
        except LookupError:
            continue
    upcoming = sorted(
        (r for r in RULES if r.in_force and r.effective_from > at), key=lambda r: r.effective_from
    )
    drafts = [r for r in RULES if not r.in_force]
    return {"in_force": current, "upcoming": upcoming, "drafts": drafts}
