"""Submitting takedown orders: due dates from the rulebook, validation, duplicates, scoping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import auth, make_authority, platform_keys
from tests.takedowns.helpers import T0, events, order_body, world
from vncomply.kit import clock

# 2026-07-01 00:00 in Vietnam (UTC+7).
CSL_2025 = datetime(2026, 6, 30, 17, 0, tzinfo=UTC)


async def test_create_returns_order_with_rule_and_emits_received(client, db):
    clock.set_now(T0)
    w = await world(db)
    r = await client.post(
        "/v1/takedown-orders", headers=auth(w.authority_key), json=order_body(w.keys.platform_id, n=2)
    )
    assert r.status_code == 201, r.text
    o = r.json()
    assert o["status"] == "open"
    assert o["received_at"] == "2026-11-25T08:00:00Z"
    assert o["due_at"] == "2026-11-26T08:00:00Z"
    assert o["rule"] == {"id": "takedown.standard.v1", "hours": 24}
    assert o["remaining_seconds"] == 24 * 3600
    assert o["overdue"] is False
    assert [i["status"] for i in o["items"]] == ["pending", "pending"]
    assert o["authority_id"] == str(w.authority_id)
    ev = await events(db, "takedown.received", o["id"])
    assert len(ev) == 1
    assert ev[0].data["due_at"] == "2026-11-26T08:00:00+00:00"


@pytest.mark.parametrize(
    ("now", "urgency", "rule", "hours"),
    [
        (CSL_2025 - timedelta(minutes=1), "standard", "takedown.standard.v1", 24),
        (CSL_2025 - timedelta(minutes=1), "emergency", "takedown.emergency.v1", 24),
        (CSL_2025, "standard", "takedown.standard.v1", 24),
        (CSL_2025, "emergency", "takedown.emergency.v2", 6),
    ],
)
async def test_due_dates_per_urgency_around_2026_07_01(client, db, now, urgency, rule, hours):
    clock.set_now(now)
    w = await world(db)
    r = await client.post(
        "/v1/takedown-orders",
        headers=auth(w.authority_key),
        json=order_body(w.keys.platform_id, urgency=urgency),
    )
    assert r.status_code == 201, r.text
    assert r.json()["rule"] == {"id": rule, "hours": hours}
    due = datetime.fromisoformat(r.json()["due_at"])
    assert due == now + timedelta(hours=hours)


async def test_officer_backdated_receipt_uses_rule_in_force_at_receipt(client, db):
    clock.set_now(CSL_2025 + timedelta(days=2))
    w = await world(db)
    received = CSL_2025 - timedelta(hours=3)
    body = order_body(
        authority_id=str(w.authority_id),
        channel="phone",
        urgency="emergency",
        received_at=received.isoformat(),
    )
    r = await client.post("/v1/takedown-orders", headers=auth(w.keys.officer), json=body)
    assert r.status_code == 201, r.text
    o = r.json()
    assert o["rule"] == {"id": "takedown.emergency.v1", "hours": 24}
    assert datetime.fromisoformat(o["due_at"]) == received + timedelta(hours=24)
    assert o["overdue"] is True
    assert o["remaining_seconds"] < 0
    assert o["platform_id"] == str(w.keys.platform_id)


async def test_duplicate_reference_same_payload_200_different_409(client, db):
    clock.set_now(T0)
    w = await world(db)
    body = order_body(w.keys.platform_id, ref="1234/CV")
    first = await client.post("/v1/takedown-orders", headers=auth(w.authority_key), json=body)
    assert first.status_code == 201
    clock.advance(timedelta(minutes=5))
    again = await client.post("/v1/takedown-orders", headers=auth(w.authority_key), json=body)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["due_at"] == first.json()["due_at"]
    # whitespace differences are normalised away before hashing
    spaced = {**body, "legal_basis": "  " + body["legal_basis"] + " "}
    assert (
        await client.post("/v1/takedown-orders", headers=auth(w.authority_key), json=spaced)
    ).status_code == 200
    other = {**body, "category": "gambling"}
    r = await client.post("/v1/takedown-orders", headers=auth(w.authority_key), json=other)
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert len(await events(db, "takedown.received")) == 1


async def test_idempotency_key_replays(client, db):
    clock.set_now(T0)
    w = await world(db)
    h = {**auth(w.authority_key), "Idempotency-Key": "k-1"}
    a = await client.post("/v1/takedown-orders", headers=h, json=order_body(w.keys.platform_id))
    b = await client.post("/v1/takedown-orders", headers=h, json=order_body(w.keys.platform_id))
    assert a.status_code == b.status_code == 201
    assert b.headers.get("idempotent-replayed") == "true"
    assert a.json()["id"] == b.json()["id"]


async def test_500_item_order(client, db):
    clock.set_now(T0)
    w = await world(db)
    r = await client.post(
        "/v1/takedown-orders", headers=auth(w.authority_key), json=order_body(w.keys.platform_id, n=500)
    )
    assert r.status_code == 201, r.text
    o = r.json()
    assert len(o["items"]) == 500
    assert o["items_pending"] == 500
    assert [i["position"] for i in o["items"]] == list(range(500))
    got = await client.get(f"/v1/takedown-orders/{o['id']}", headers=auth(w.keys.officer))
    assert got.status_code == 200
    assert len(got.json()["items"]) == 500
    too_many = order_body(w.keys.platform_id, ref="REF-501", n=501)
    r = await client.post("/v1/takedown-orders", headers=auth(w.authority_key), json=too_many)
    assert r.status_code == 422


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"items": []}, "items"),
        ({"items": [{"content_url": "ftp://x.example/a", "subject_type": "post"}]}, "items"),
        ({"items": [{"content_url": "javascript:alert(1)", "subject_type": "post"}]}, "items"),
        ({"items": [{"content_url": "https://x.example/" + "a" * 2040, "subject_type": "post"}]}, "items"),
        ({"items": [{"content_url": "https://x.example/a", "subject_type": "tweet"}]}, "items"),
        ({"urgency": "urgent"}, "urgency"),
        ({"channel": "fax"}, "channel"),
        ({"category": "spam"}, "category"),
        ({"legal_basis": "  "}, "legal_basis"),
        ({"reference_no": ""}, "reference_no"),
        ({"issued_at": "2026-11-25T08:00:00"}, "issued_at"),  # naive timestamps are refused
        ({"unknown": 1}, "unknown"),
    ],
)
async def test_validation_422(client, db, change, field):
    clock.set_now(T0)
    w = await world(db)
    body = {**order_body(w.keys.platform_id), **change}
    r = await client.post("/v1/takedown-orders", headers=auth(w.authority_key), json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert any(field in e["field"] for e in r.json()["errors"]), r.json()


async def test_authority_rules(client, db):
    clock.set_now(T0)
    w = await world(db)
    h = auth(w.authority_key)
    r = await client.post("/v1/takedown-orders", headers=h, json=order_body())
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "platform_id"
    r = await client.post(
        "/v1/takedown-orders", headers=h, json=order_body(w.keys.platform_id, received_at=T0.isoformat())
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "received_at"
    r = await client.post(
        "/v1/takedown-orders",
        headers=h,
        json=order_body(w.keys.platform_id, issued_at=(T0 + timedelta(hours=1)).isoformat()),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "issued_at"
    # a platform the authority may not address is a 404, as is one that does not exist
    other = await platform_keys(db, "OtherSocial")
    r = await client.post("/v1/takedown-orders", headers=h, json=order_body(other.platform_id))
    assert r.status_code == 404
    # platform keys cannot submit orders
    r = await client.post(
        "/v1/takedown-orders", headers=auth(w.keys.platform), json=order_body(w.keys.platform_id)
    )
    assert r.status_code == 403


async def test_officer_rules(client, db):
    clock.set_now(T0)
    w = await world(db)
    h = auth(w.keys.officer)
    base = order_body(authority_id=str(w.authority_id), channel="written")
    cases = [
        ({"authority_id": None}, "authority_id"),
        ({"channel": "electronic"}, "channel"),
        ({"received_at": (T0 + timedelta(minutes=1)).isoformat()}, "received_at"),
        ({"received_at": (T0 - timedelta(days=7, seconds=1)).isoformat()}, "received_at"),
    ]
    for change, field in cases:
        body = {k: v for k, v in {**base, **change}.items() if v is not None}
        r = await client.post("/v1/takedown-orders", headers=h, json=body)
        assert r.status_code == 422, (change, r.text)
        assert r.json()["errors"][0]["field"] == field
    ok = {**base, "received_at": (T0 - timedelta(days=7)).isoformat()}
    assert (await client.post("/v1/takedown-orders", headers=h, json=ok)).status_code == 201
    # an authority that may not address this platform
    other_aid, _ = await make_authority(db, "DIC-HANOI", [])
    body = {**base, "reference_no": "X", "authority_id": str(other_aid)}
    assert (await client.post("/v1/takedown-orders", headers=h, json=body)).status_code == 404
