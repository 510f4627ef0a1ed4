"""Per-platform caps: webhook endpoints (409) and redeliveries per hour (429 with Retry-After)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from tests.events.conftest import Receiver
from tests.events.test_delivery import EP, deliveries, endpoint
from tests.factories import auth, platform_keys

from vncomply.config import get_settings
from vncomply.events import delivery, outbox
from vncomply.kit import clock

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen() -> None:
    clock.set_now(T0)


async def test_endpoints_per_platform_are_capped(
    client, db: AsyncSession, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(get_settings(), "webhook_max_endpoints_per_platform", 2)
    keys, other = await platform_keys(db), await platform_keys(db, "Other")
    first, _ = await endpoint(client, keys, receiver.url)
    await endpoint(client, keys, receiver.url + "/2")

    r = await client.post(EP, headers=auth(keys.platform), json={"url": receiver.url + "/3"})
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["limit"] == 2
    assert "already has 2 webhook endpoints" in problem["detail"]
    assert "Delete one" in problem["detail"]
    # Another platform has its own allowance.
    await endpoint(client, other, receiver.url)
    # Deleting one makes room.
    assert (await client.delete(f"{EP}/{first}", headers=auth(keys.platform))).status_code == 204
    await endpoint(client, keys, receiver.url + "/3")


async def test_redeliveries_per_platform_are_capped_per_hour(
    client, db: AsyncSession, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(get_settings(), "redelivery_max_per_platform", 3)
    keys, other = await platform_keys(db), await platform_keys(db, "Other")
    ep_a, _ = await endpoint(client, keys, receiver.url)
    await endpoint(client, keys, receiver.url + "/b")
    ev = await outbox.emit(db, keys.platform_id, "block.started", {})
    theirs = await outbox.emit(db, other.platform_id, "block.started", {})
    await endpoint(client, other, receiver.url)
    await db.flush()
    await delivery.run_cycle()  # the first deliveries are not redeliveries: they do not count

    redeliver = f"/v1/events/{ev.id}/redeliver"
    h = auth(keys.officer)
    r = await client.post(redeliver, headers=h)  # two endpoints: two redeliveries
    assert r.status_code == 202, r.text
    assert [d["kind"] for d in r.json()["deliveries"]] == ["redelivery", "redelivery"]
    clock.advance(timedelta(minutes=10))
    r = await client.post(redeliver, headers=h, json={"endpoint_id": ep_a})
    assert r.status_code == 202, r.text
    clock.advance(timedelta(minutes=10))

    r = await client.post(redeliver, headers=h, json={"endpoint_id": ep_a})
    assert r.status_code == 429, r.text
    problem = r.json()
    assert problem["limit"] == 3
    assert "at most 3 per hour" in problem["detail"]
    assert "GET /v1/events" in problem["detail"]
    # Room comes back when the oldest redeliveries (T0) leave the hour: 40 minutes from now.
    assert r.headers["retry-after"] == str(40 * 60)
    # The other platform is not affected.
    r = await client.post(f"/v1/events/{theirs.id}/redeliver", headers=auth(other.officer))
    assert r.status_code == 202, r.text

    clock.advance(timedelta(minutes=40))
    r = await client.post(redeliver, headers=h, json={"endpoint_id": ep_a})
    assert r.status_code == 202, r.text
    kinds = sorted(str(d["kind"]) for d in await deliveries(client, keys, ep_a))
    assert kinds == ["event", "redelivery", "redelivery", "redelivery"]


async def test_redelivery_wider_than_the_cap_is_refused_outright(
    client, db: AsyncSession, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(get_settings(), "redelivery_max_per_platform", 1)
    keys = await platform_keys(db)
    await endpoint(client, keys, receiver.url)
    await endpoint(client, keys, receiver.url + "/b")
    ev = await outbox.emit(db, keys.platform_id, "block.started", {})
    await db.flush()
    r = await client.post(f"/v1/events/{ev.id}/redeliver", headers=auth(keys.officer))
    assert r.status_code == 409, r.text
    assert "one endpoint at a time" in r.json()["detail"]
