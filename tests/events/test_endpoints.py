from __future__ import annotations

import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from tests.events.conftest import Receiver
from tests.factories import auth, platform_keys

from vncomply.config import get_settings
from vncomply.events import outbox, ssrf

EP = "/v1/webhook-endpoints"


async def test_create_shows_secret_once_and_crud(client, db: AsyncSession, receiver: Receiver):
    keys = await platform_keys(db)
    r = await client.post(
        EP,
        headers=auth(keys.platform),
        json={"url": receiver.url, "event_types": ["takedown.received"], "description": "pager"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["secret"].startswith("whsec_")
    assert body["enabled"] is True
    ep_id = body["id"]

    got = await client.get(f"{EP}/{ep_id}", headers=auth(keys.officer))
    assert got.status_code == 200
    assert "secret" not in got.json()
    assert got.json()["event_types"] == ["takedown.received"]

    listed = await client.get(EP, headers=auth(keys.platform))
    assert [e["id"] for e in listed.json()["items"]] == [ep_id]

    r = await client.patch(
        f"{EP}/{ep_id}", headers=auth(keys.platform), json={"enabled": False, "event_types": ["*"]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is False
    assert r.json()["disabled_reason"] == "disabled by the platform"
    r = await client.patch(f"{EP}/{ep_id}", headers=auth(keys.platform), json={"enabled": True})
    assert r.json()["enabled"] is True
    assert r.json()["disabled_reason"] is None

    assert (await client.delete(f"{EP}/{ep_id}", headers=auth(keys.platform))).status_code == 204
    assert (await client.get(f"{EP}/{ep_id}", headers=auth(keys.platform))).status_code == 404

    trail = await client.get(
        "/v1/audit-events", headers=auth(keys.officer), params={"resource_type": "webhook_endpoint"}
    )
    assert [e["action"] for e in trail.json()["items"]] == [
        "webhook_endpoint.created",
        "webhook_endpoint.updated",
        "webhook_endpoint.updated",
        "webhook_endpoint.deleted",
    ]


async def test_create_is_idempotent(client, db: AsyncSession, receiver: Receiver):
    keys = await platform_keys(db)
    h = {**auth(keys.platform), "Idempotency-Key": "ep-1"}
    a = await client.post(EP, headers=h, json={"url": receiver.url})
    b = await client.post(EP, headers=h, json={"url": receiver.url})
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] == b.json()["id"]
    assert b.headers.get("Idempotent-Replayed") == "true"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": "http://127.0.0.1:1/x", "event_types": ["nope.nothing"]}, "event_types"),
        ({"url": "http://127.0.0.1:1/x", "event_types": ["*", "block.started"]}, "event_types"),
        ({"url": "ftp://127.0.0.1/x"}, "url"),
    ],
)
async def test_invalid_input(client, db: AsyncSession, payload: dict[str, object], field: str):
    keys = await platform_keys(db)
    r = await client.post(EP, headers=auth(keys.platform), json=payload)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8080/hook",
        "http://[::1]:8080/hook",
        "https://rebind.example.com/hook",
    ],
)
async def test_ssrf_refused_at_create(client, db: AsyncSession, monkeypatch, url: str):
    monkeypatch.setattr(get_settings(), "webhook_allow_private", [])

    async def resolve(host: str, port: int) -> list[str]:
        return {"localhost": ["127.0.0.1"], "rebind.example.com": ["10.20.30.40"]}[host]

    monkeypatch.setattr(ssrf, "resolve", resolve)
    keys = await platform_keys(db)
    r = await client.post(EP, headers=auth(keys.platform), json={"url": url})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "url"
    assert "refused" in r.json()["detail"]


async def test_ssrf_refused_on_update(client, db: AsyncSession, monkeypatch, receiver: Receiver):
    keys = await platform_keys(db)
    ep = (await client.post(EP, headers=auth(keys.platform), json={"url": receiver.url})).json()
    r = await client.patch(f"{EP}/{ep['id']}", headers=auth(keys.platform), json={"url": "http://10.0.0.1/x"})
    assert r.status_code == 422


async def test_tenant_isolation(client, db: AsyncSession, receiver: Receiver):
    mine = await platform_keys(db, "Mine")
    other = await platform_keys(db, "Other")
    ep = (await client.post(EP, headers=auth(other.platform), json={"url": receiver.url})).json()
    ev = await outbox.emit(db, other.platform_id, "block.started", {"block_id": "b1"})
    await db.flush()
    h = auth(mine.platform)
    assert (await client.get(f"{EP}/{ep['id']}", headers=h)).status_code == 404
    assert (await client.patch(f"{EP}/{ep['id']}", headers=h, json={})).status_code == 404
    assert (await client.delete(f"{EP}/{ep['id']}", headers=h)).status_code == 404
    assert (await client.post(f"{EP}/{ep['id']}/rotate-secret", headers=h)).status_code == 404
    assert (await client.get(f"{EP}/{ep['id']}/deliveries", headers=h)).status_code == 404
    assert (await client.get(f"/v1/events/{ev.id}", headers=h)).status_code == 404
    assert (await client.post(f"/v1/events/{ev.id}/redeliver", headers=h)).status_code == 404
    assert (await client.get(EP, headers=h)).json()["items"] == []
    assert (await client.get("/v1/events", headers=h)).json()["items"] == []
    assert (await client.get(f"{EP}/{uuid.uuid4()}", headers=h)).status_code == 404


async def test_roles(client, db: AsyncSession):
    from tests.factories import admin_key

    admin = await admin_key(db)
    assert (await client.get(EP, headers=auth(admin))).status_code == 403
    assert (await client.get("/v1/events", headers=auth(admin))).status_code == 403
    assert (await client.get(EP)).status_code == 401


async def test_pull_feed(client, db: AsyncSession):
    keys = await platform_keys(db)
    other = await platform_keys(db, "Other")
    await outbox.emit(db, other.platform_id, "takedown.received", {"order_id": "x"})
    types = ["takedown.received", "block.started", "takedown.overdue", "takedown.received"]
    for i, t in enumerate(types):
        await outbox.emit(db, keys.platform_id, t, {"n": i})
    await db.flush()
    h = auth(keys.officer)

    first = (await client.get("/v1/events", headers=h, params={"limit": 3})).json()
    assert [e["seq"] for e in first["items"]] == [1, 2, 3]
    assert first["items"][0] == {
        **first["items"][0],
        "type": "takedown.received",
        "data": {"n": 0},
    }
    rest = (
        await client.get("/v1/events", headers=h, params={"limit": 3, "cursor": first["next_cursor"]})
    ).json()
    assert [e["seq"] for e in rest["items"]] == [4]
    assert rest["next_cursor"] is None

    after = (await client.get("/v1/events", headers=h, params={"after_seq": 2})).json()
    assert [e["seq"] for e in after["items"]] == [3, 4]
    only = (await client.get("/v1/events", headers=h, params={"type": "takedown.received"})).json()
    assert [e["data"]["n"] for e in only["items"]] == [0, 3]
    both = (
        await client.get("/v1/events", headers=h, params={"type": "block.started,takedown.overdue"})
    ).json()
    assert [e["seq"] for e in both["items"]] == [2, 3]
    bad = await client.get("/v1/events", headers=h, params={"type": "nope"})
    assert bad.status_code == 422


async def test_ssrf_refusal_never_shows_the_resolved_address(client, db: AsyncSession, monkeypatch):
    monkeypatch.setattr(get_settings(), "webhook_allow_private", [])

    async def resolve(host: str, port: int) -> list[str]:
        return ["10.20.30.40"]

    monkeypatch.setattr(ssrf, "resolve", resolve)
    keys = await platform_keys(db)
    r = await client.post(EP, headers=auth(keys.platform), json={"url": "https://db.corp.example/hook"})
    assert r.status_code == 422, r.text
    assert "10.20.30.40" not in r.text
    assert "db.corp.example resolves to a non-public address (private)" in r.json()["detail"]
