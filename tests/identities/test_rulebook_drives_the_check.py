"""The permission check follows the rules in force, not constants: the actions that need a verified
identity, the ones the Form No. 10 filing gates, and `monetise` among them — single and batch,
before and after the contact filing, and with a rule version swapped in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import auth
from tests.filings.helpers import tenant
from tests.identities.helpers import NID, body
from tests.rulebook.swap import new_version
from vncomply.kit import clock

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
ALL = ("post", "comment", "share", "livestream", "livestream_commercial", "monetise")
GATED = {"livestream", "livestream_commercial", "monetise"}


@pytest.fixture(autouse=True)
def _frozen() -> None:
    clock.set_now(NOW)


async def _single(client, key: str, account: str) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    r = await client.get(f"/v1/accounts/{account}/permissions", headers=auth(key))
    assert r.status_code == 200, r.text
    return {a: d["reason"] for a, d in r.json()["actions"].items()}


async def _batch(client, key: str, account: str) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    out = {}
    for action in ALL:
        r = await client.post(
            "/v1/permissions/check", json={"action": action, "account_ids": [account]}, headers=auth(key)
        )
        assert r.status_code == 200, r.text
        out[action] = r.json()["results"][0]["reason"]
    return out


async def test_every_action_before_and_after_the_contact_filing(client, db) -> None:
    t = await tenant(client, db, in_scope_since="2026-11-01")
    r = await client.put(
        "/v1/identities/c", json=body(national_id=NID, commercial_livestreamer=True), headers=auth(t.platform)
    )
    assert r.status_code == 201, r.text
    before = {a: ("platform_contact_not_filed" if a in GATED else None) for a in ALL}
    assert await _single(client, t.platform, "c") == before
    assert await _batch(client, t.platform, "c") == before
    contact = (await client.get(f"/v1/platforms/{t.platform_id}/filings?kind=contact_point",
                                headers=auth(t.officer))).json()["items"][0]  # fmt: skip
    r = await client.post(
        f"/v1/platforms/{t.platform_id}/filings/{contact['id']}/filed",
        headers=auth(t.officer),
        json={"filed_at": NOW.isoformat(), "reference": "ABEI-F10-1"},
    )
    assert r.status_code == 200, r.text
    after = dict.fromkeys(ALL)
    assert await _single(client, t.platform, "c") == after
    assert await _batch(client, t.platform, "c") == after


async def test_a_new_rule_version_changes_what_needs_verification(client, db, monkeypatch) -> None:
    t = await tenant(client, db, contact_filed_at="2026-11-02T00:00:00Z")
    assert (await _single(client, t.platform, "ghost"))["comment"] == "unverified"
    # From tomorrow, commenting no longer needs a verified identity.
    new_version(
        monkeypatch, "verified_actions.v1", NOW + timedelta(days=1), actions=["post", "share", "livestream"]
    )
    assert (await _single(client, t.platform, "ghost"))["comment"] == "unverified"  # not yet in force
    clock.advance(timedelta(days=1))
    single, batch = await _single(client, t.platform, "ghost"), await _batch(client, t.platform, "ghost")
    for got in (single, batch):
        assert got["comment"] is None
        assert got["post"] == "unverified"


async def test_a_new_rule_version_changes_what_the_filing_gates(client, db, monkeypatch) -> None:
    t = await tenant(client, db, in_scope_since="2026-11-01")
    await client.put("/v1/identities/a", json=body(), headers=auth(t.platform))
    assert (await _single(client, t.platform, "a"))["monetise"] == "platform_contact_not_filed"
    assert (await _single(client, t.platform, "a"))["post"] is None
    new_version(monkeypatch, "filing.v1", NOW - timedelta(hours=1), gates=["post", "livestream"])
    for got in (await _single(client, t.platform, "a"), await _batch(client, t.platform, "a")):
        assert got["post"] == "platform_contact_not_filed"
        assert got["monetise"] is None  # no longer gated by this version


async def test_monetise_is_checked_in_batch(client, db) -> None:
    t = await tenant(client, db, contact_filed_at="2026-11-02T00:00:00Z")
    await client.put("/v1/identities/a", json=body(), headers=auth(t.platform))
    r = await client.post(
        "/v1/permissions/check",
        json={"action": "monetise", "account_ids": ["a", "ghost"]},
        headers=auth(t.platform),
    )
    assert r.status_code == 200, r.text
    # The rulebook gates monetise on the contact filing only (Decree 147 Art. 23), not verification.
    assert [x["allowed"] for x in r.json()["results"]] == [True, True]
