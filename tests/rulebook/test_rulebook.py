"""The rulebook as the API shows it: every rule with its source, effective dates and confidence."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.factories import admin_key, auth
from vncomply.kit import clock
from vncomply.rulebook import rules


async def test_rules_show_source_dates_and_confidence(client, db) -> None:
    clock.set_now(datetime(2026, 3, 1, tzinfo=UTC))
    r = await client.get("/v1/rulebook", headers=auth(await admin_key(db)))
    assert r.status_code == 200
    body = r.json()
    shown = body["in_force"] + body["upcoming"] + body["drafts"]
    assert all(rule["source"] and rule["confidence"] in {"high", "medium", "unconfirmed"} for rule in shown)
    by_id = {rule["id"]: rule for rule in shown}
    assert by_id["annual_report.v1"]["confidence"] == "unconfirmed"
    assert by_id["dpia.v1"]["confidence"] == "medium"
    assert by_id["transfer_impact.v1"]["source"] == "PDPL 91/2025; Decree 356/2025"
    assert by_id["lock.draft-2026-02"]["confidence"] == "unconfirmed"
    assert by_id["lock.draft-2026-02"]["in_force"] is False
    assert by_id["filing.v1"]["params"]["gates"] == ["livestream", "livestream_commercial", "monetise"]
    # The breach notice in force, and the version it replaced with its end date.
    assert by_id["breach_notice.v1"]["effective_from"] == "2025-12-31T17:00:00Z"
    assert by_id["breach_notice.v1"]["effective_until"] is None
    assert by_id["takedown.emergency.v2"]["effective_from"] == "2026-06-30T17:00:00Z"  # upcoming


def test_every_rule_carries_confidence_source_and_date() -> None:
    for rule in rules.RULES:
        assert isinstance(rule.confidence, rules.Confidence), rule.id
        assert rule.source, rule.id
        assert rule.effective_from.tzinfo is not None, rule.id
    assert len({r.id for r in rules.RULES}) == len(rules.RULES)


def test_superseded_versions_know_their_end() -> None:
    v0 = rules.rule_by_id("breach_notice.v0")
    assert rules.superseded_at(v0) == rules.rule_by_id("breach_notice.v1").effective_from
    assert rules.superseded_at(rules.rule_by_id("lock.draft-2026-02")) is None  # drafts never apply
