from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from tests.events.conftest import Receiver, signature_valid
from tests.factories import Keys, auth, platform_keys

from vncomply.config import get_settings
from vncomply.events import delivery, outbox
from vncomply.events.models import WebhookDelivery
from vncomply.kit import clock
from vncomply.kit.db import session_scope

EP = "/v1/webhook-endpoints"
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen() -> None:
    clock.set_now(T0)


async def endpoint(client, keys: Keys, url: str, types: list[str] | None = None) -> tuple[str, str]:
    r = await client.post(EP, headers=auth(keys.platform), json={"url": url, "event_types": types or ["*"]})
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["secret"]


async def deliveries(client, keys: Keys, ep_id: str) -> list[dict[str, object]]:
    r = await client.get(f"{EP}/{ep_id}/deliveries", headers=auth(keys.officer))
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


async def test_signed_delivery_end_to_end(client, db: AsyncSession, receiver: Receiver):
    keys = await platform_keys(db)
    ep_id, secret = await endpoint(client, keys, receiver.url)
    # An endpoint that does not subscribe to this type gets nothing.
    await endpoint(client, keys, receiver.url + "/blocks", ["block.started"])
    ev = await outbox.emit(db, keys.platform_id, "takedown.received", {"order_id": "o-1"})
    await db.flush()

    stats = await delivery.run_cycle()
    assert (stats.fanned_out, stats.delivered) == (1, 1)

    assert len(receiver.requests) == 1
    req = receiver.requests[0]
    assert req.path == "/hook"
    assert req.headers["webhook-id"] == str(ev.id)
    assert req.headers["webhook-timestamp"] == str(int(T0.timestamp()))
    assert req.headers["content-type"] == "application/json"
    assert signature_valid(secret, req.headers, req.body)
    assert not signature_valid("whsec_" + "A" * 44, req.headers, req.body)
    payload = json.loads(req.body)
    assert payload == {
        "id": str(ev.id),
        "type": "takedown.received",
        "occurred_at": payload["occurred_at"],
        "seq": 1,
        "data": {"order_id": "o-1"},
    }
    assert datetime.fromisoformat(payload["occurred_at"]) == T0

    [d] = await deliveries(client, keys, ep_id)
    assert (d["status"], d["attempts"], d["last_status_code"]) == ("delivered", 1, 200)
    assert d["next_attempt_at"] is None
    # Nothing left: a second tick sends nothing.
    assert (await delivery.run_cycle()).sent == 0


async def test_retries_with_backoff_after_500s(client, db: AsyncSession, receiver: Receiver):
    keys = await platform_keys(db)
    ep_id, secret = await endpoint(client, keys, receiver.url)
    receiver.statuses = [500, 503]
    await outbox.emit(db, keys.platform_id, "block.started", {"block_id": "b"})
    await db.flush()

    await delivery.run_cycle()
    [d] = await deliveries(client, keys, ep_id)
    assert (d["status"], d["attempts"], d["last_status_code"]) == ("pending", 1, 500)
    due = datetime.fromisoformat(str(d["next_attempt_at"]))
    assert T0 + timedelta(seconds=4) <= due <= T0 + timedelta(seconds=6)

    assert (await delivery.run_cycle()).sent == 0  # not due yet
    clock.advance(timedelta(seconds=7))
    await delivery.run_cycle()
    [d] = await deliveries(client, keys, ep_id)
    assert (d["attempts"], d["last_status_code"]) == (2, 503)
    due = datetime.fromisoformat(str(d["next_attempt_at"]))
    now = clock.now()
    assert now + timedelta(seconds=24) <= due <= now + timedelta(seconds=36)
    ep = (await client.get(f"{EP}/{ep_id}", headers=auth(keys.platform))).json()
    assert ep["failing_since"] is not None

    clock.advance(timedelta(seconds=40))
    await delivery.run_cycle()
    [d] = await deliveries(client, keys, ep_id)
    assert (d["status"], d["attempts"], d["last_status_code"]) == ("delivered", 3, 200)
    assert len(receiver.requests) == 3
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert all(signature_valid(secret, r.headers, r.body) for r in receiver.requests)
    ep = (await client.get(f"{EP}/{ep_id}", headers=auth(keys.platform))).json()
    assert ep["failing_since"] is None


def test_backoff_schedule() -> None:
    expected = [5, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600]
    for attempts, base in enumerate(expected, start=1):
        d = delivery.next_delay(attempts)
        assert d is not None
        assert base * 0.8 <= d.total_seconds() <= base * 1.2
    assert delivery.next_delay(11) is None


async def test_gives_up_after_last_attempt(client, db: AsyncSession, receiver: Receiver):
    keys = await platform_keys(db)
    ep_id, _ = await endpoint(client, keys, receiver.url)
    receiver.always = 500
    await outbox.emit(db, keys.platform_id, "block.started", {})
    await db.flush()
    await delivery.run_cycle()
    # Jump to the last attempt.
    await db.execute(update(WebhookDelivery).values(attempts=10, next_attempt_at=clock.now()))
    await delivery.run_cycle()
    [d] = await deliveries(client, keys, ep_id)
    assert (d["status"], d["attempts"], d["next_attempt_at"]) == ("failed", 11, None)


async def test_endpoint_failing_for_24h_is_disabled(client, db: AsyncSession, receiver: Receiver):
    keys = await platform_keys(db)
    ep_id, _ = await endpoint(client, keys, receiver.url)
    receiver.always = 500
    await outbox.emit(db, keys.platform_id, "block.started", {})
    await db.flush()
    await delivery.run_cycle()
    clock.advance(timedelta(hours=23))
    await outbox.emit(db, keys.platform_id, "block.ended", {})
    await db.flush()
    await delivery.run_cycle()
    ep = (await client.get(f"{EP}/{ep_id}", headers=auth(keys.platform))).json()
    assert ep["enabled"] is True

    clock.advance(timedelta(hours=1, minutes=1))
    await outbox.emit(db, keys.platform_id, "block.lifted", {})
    await db.flush()
    stats = await delivery.run_cycle()
    assert stats.endpoints_disabled == [__import__("uuid").UUID(ep_id)]
    ep = (await client.get(f"{EP}/{ep_id}", headers=auth(keys.platform))).json()
    assert ep["enabled"] is False
    assert ep["disabled_reason"] == "every delivery failed for 24 hours"

    # Pending retries of a disabled endpoint end as failed, without a request.
    sent_before = len(receiver.requests)
    clock.advance(timedelta(days=2))
    await delivery.run_cycle()
    assert len(receiver.requests) == sent_before
    assert {d["status"] for d in await deliveries(client, keys, ep_id)} == {"failed"}
    # New events are not fanned out to it.
    await outbox.emit(db, keys.platform_id, "block.started", {})
    await db.flush()
    assert (await delivery.run_cycle()).fanned_out == 0


async def test_redeliver(client, db: AsyncSession, receiver: Receiver):
    keys = await platform_keys(db)
    ep_id, secret = await endpoint(client, keys, receiver.url)
    ev = await outbox.emit(db, keys.platform_id, "disclosure.received", {"request_id": "r"})
    await db.flush()
    await delivery.run_cycle()

    r = await client.post(f"/v1/events/{ev.id}/redeliver", headers=auth(keys.officer))
    assert r.status_code == 202, r.text
    assert [d["status"] for d in r.json()["deliveries"]] == ["pending"]
    await delivery.run_cycle()
    assert len(receiver.requests) == 2
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]
    assert signature_valid(secret, receiver.requests[1].headers, receiver.requests[1].body)
    assert [d["status"] for d in await deliveries(client, keys, ep_id)] == ["delivered"] * 2

    r = await client.post(
        f"/v1/events/{ev.id}/redeliver", headers=auth(keys.officer), json={"endpoint_id": ep_id}
    )
    assert r.status_code == 202
    await client.patch(f"{EP}/{ep_id}", headers=auth(keys.platform), json={"enabled": False})
    r = await client.post(f"/v1/events/{ev.id}/redeliver", headers=auth(keys.officer))
    assert r.status_code == 409


async def test_secret_rotation_sends_both_signatures(client, db: AsyncSession, receiver: Receiver):
    keys = await platform_keys(db)
    ep_id, old = await endpoint(client, keys, receiver.url)
    r = await client.post(f"{EP}/{ep_id}/rotate-secret", headers=auth(keys.platform))
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != old
    assert datetime.fromisoformat(r.json()["previous_secret_expires_at"]) == T0 + timedelta(days=1)

    await outbox.emit(db, keys.platform_id, "takedown.completed", {})
    await db.flush()
    await delivery.run_cycle()
    req = receiver.requests[-1]
    assert len(req.headers["webhook-signature"].split(" ")) == 2
    assert signature_valid(new, req.headers, req.body)
    assert signature_valid(old, req.headers, req.body)

    clock.advance(timedelta(hours=24, seconds=1))
    await outbox.emit(db, keys.platform_id, "takedown.completed", {})
    await db.flush()
    await delivery.run_cycle()
    req = receiver.requests[-1]
    assert len(req.headers["webhook-signature"].split(" ")) == 1
    assert signature_valid(new, req.headers, req.body)
    assert not signature_valid(old, req.headers, req.body)


async def test_crashed_worker_lease_expires_and_row_is_resent(client, db: AsyncSession, receiver: Receiver):
    keys = await platform_keys(db)
    ep_id, _ = await endpoint(client, keys, receiver.url)
    await outbox.emit(db, keys.platform_id, "block.started", {})
    await db.flush()
    async with session_scope() as s:
        await delivery.fan_out(s, clock.now())
    async with session_scope() as s:
        jobs = await delivery.claim(s, clock.now())
    assert len(jobs) == 1  # ... and the worker dies before sending or recording.

    assert (await delivery.run_cycle()).sent == 0  # leased
    [d] = await deliveries(client, keys, ep_id)
    assert d["status"] == "delivering"
    lease = datetime.fromisoformat(str(d["next_attempt_at"]))
    clock.advance(lease - clock.now() + timedelta(seconds=1))
    await delivery.run_cycle()
    [d] = await deliveries(client, keys, ep_id)
    assert (d["status"], d["attempts"]) == ("delivered", 2)
    assert len(receiver.requests) == 1

    # The dead worker's late result cannot overwrite the row its successor finished.
    late = delivery.Outcome(jobs[0], ok=False, status_code=500, error="HTTP 500")
    async with session_scope() as s:
        await delivery.record(s, [late], clock.now())
    [d] = await deliveries(client, keys, ep_id)
    assert d["status"] == "delivered"


async def test_ssrf_rechecked_at_delivery(
    client, db: AsyncSession, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
):
    keys = await platform_keys(db)
    ep_id, _ = await endpoint(client, keys, receiver.url)
    monkeypatch.setattr(get_settings(), "webhook_allow_private", [])
    await outbox.emit(db, keys.platform_id, "block.started", {})
    await db.flush()
    await delivery.run_cycle()
    assert receiver.requests == []
    [d] = await deliveries(client, keys, ep_id)
    assert d["status"] == "pending"
    assert "SSRF" in str(d["last_error"])


async def test_connection_refused_is_a_failed_attempt(client, db: AsyncSession):
    keys = await platform_keys(db)
    ep_id, _ = await endpoint(client, keys, "http://127.0.0.1:9/closed")
    await outbox.emit(db, keys.platform_id, "block.started", {})
    await db.flush()
    await delivery.run_cycle()
    [d] = await deliveries(client, keys, ep_id)
    assert (d["status"], d["attempts"], d["last_status_code"]) == ("pending", 1, None)
    assert d["last_error"]


async def test_redirects_are_not_followed(client, db: AsyncSession, receiver: Receiver):
    keys = await platform_keys(db)
    ep_id, _ = await endpoint(client, keys, receiver.url)
    receiver.statuses = [302]
    await outbox.emit(db, keys.platform_id, "block.started", {})
    await db.flush()
    await delivery.run_cycle()
    [d] = await deliveries(client, keys, ep_id)
    assert (d["status"], d["last_status_code"]) == ("pending", 302)
    assert len(receiver.requests) == 1


async def test_events_wait_in_outbox_without_endpoints(client, db: AsyncSession):
    keys = await platform_keys(db)
    await outbox.emit(db, keys.platform_id, "block.started", {})
    await db.flush()
    stats = await delivery.run_cycle()
    assert (stats.fanned_out, stats.sent) == (0, 0)
    rows = (await db.scalars(select(WebhookDelivery))).all()
    assert rows == []


async def test_connects_to_checked_address_keeping_host_header(
    client, db: AsyncSession, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
):
    from vncomply.events import ssrf

    answers = {"hooks.test": ["127.0.0.1"]}

    async def resolve(host: str, port: int) -> list[str]:
        return answers[host]

    monkeypatch.setattr(ssrf, "resolve", resolve)
    monkeypatch.setattr(get_settings(), "webhook_allow_private", ["127.0.0.1/32"])
    keys = await platform_keys(db)
    await endpoint(client, keys, f"http://hooks.test:{receiver.port}/in")
    await outbox.emit(db, keys.platform_id, "block.started", {})
    await db.flush()
    await delivery.run_cycle()
    [req] = receiver.requests
    assert req.headers["host"] == f"hooks.test:{receiver.port}"
    assert req.path == "/in"

    # The name now resolves inward (DNS rebinding): the next delivery is refused, not sent.
    answers["hooks.test"] = ["10.0.0.7"]
    await outbox.emit(db, keys.platform_id, "block.ended", {})
    await db.flush()
    stats = await delivery.run_cycle()
    assert (stats.sent, stats.delivered) == (1, 0)
    assert len(receiver.requests) == 1
