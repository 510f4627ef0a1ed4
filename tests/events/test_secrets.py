"""A signing secret that cannot be decrypted fails that endpoint's deliveries, and nobody else's."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import capture_logs
from tests.events.conftest import Receiver, signature_valid
from tests.events.test_delivery import EP, deliveries, endpoint
from tests.factories import auth, platform_keys

from vncomply.events import delivery, outbox
from vncomply.events.models import WebhookEndpoint
from vncomply.kit import clock

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen() -> None:
    clock.set_now(T0)


def damaged(blob: bytes) -> bytes:
    """The stored value with one ciphertext byte flipped (fails authentication)."""
    return blob[:-1] + bytes([blob[-1] ^ 0x01])


def wrong_key(blob: bytes) -> bytes:
    """The same value claiming a key id the ring does not hold (a key dropped too early)."""
    kid_end = 2 + blob[1]
    return bytes([blob[0], 4]) + b"gone" + blob[kid_end:]


async def _break(db: AsyncSession, column: str, ep_id: str, how: Callable[[bytes], bytes]) -> None:
    ep = await db.get(WebhookEndpoint, uuid.UUID(ep_id))
    assert ep is not None
    blob = getattr(ep, column)
    await db.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == ep.id).values({column: how(blob)}))
    await db.flush()
    db.expire_all()


@pytest.mark.parametrize("how", [damaged, wrong_key])
async def test_unreadable_secret_fails_only_its_endpoint(
    client, db: AsyncSession, receivers: Callable[..., Receiver], how: Callable[[bytes], bytes]
):
    broken_rx, sibling_rx, other_rx = receivers(), receivers(), receivers()
    mine, other = await platform_keys(db, "Mine"), await platform_keys(db, "Other")
    broken_ep, broken_secret = await endpoint(client, mine, broken_rx.url)
    sibling_ep, _ = await endpoint(client, mine, sibling_rx.url)
    other_ep, _ = await endpoint(client, other, other_rx.url)
    await _break(db, "secret_enc", broken_ep, how)
    await outbox.emit(db, mine.platform_id, "takedown.received", {})
    await outbox.emit(db, other.platform_id, "takedown.received", {})
    await db.flush()

    with capture_logs() as logs:
        stats = await delivery.run_cycle()

    # Everyone else's deliveries went out in the same cycle.
    assert (len(sibling_rx.requests), len(other_rx.requests), len(broken_rx.requests)) == (1, 1, 0)
    assert stats.delivered == 2
    assert [d["status"] for d in await deliveries(client, mine, sibling_ep)] == ["delivered"]
    assert [d["status"] for d in await deliveries(client, other, other_ep)] == ["delivered"]
    # The broken endpoint's delivery is a failed attempt with a reason that says what to do.
    [d] = await deliveries(client, mine, broken_ep)
    assert (d["status"], d["attempts"], d["last_status_code"]) == ("pending", 1, None)
    assert "signing secret cannot be decrypted" in str(d["last_error"])
    assert "rotate-secret" in str(d["last_error"])
    assert broken_secret not in str(d["last_error"])
    # Logged once, naming the endpoint, never the secret.
    [entry] = [e for e in logs if e["event"] == "webhook secret unreadable"]
    assert entry["endpoint_id"] == broken_ep
    assert entry["log_level"] == "warning"
    assert broken_secret not in repr(logs)

    # Rotating repairs it: nothing of the unreadable secret is kept, the next attempt is signed.
    r = await client.post(f"{EP}/{broken_ep}/rotate-secret", headers=auth(mine.platform))
    assert r.status_code == 200, r.text
    assert r.json()["previous_secret_expires_at"] is None
    new = r.json()["secret"]
    clock.advance(timedelta(seconds=10))
    await delivery.run_cycle()
    [req] = broken_rx.requests
    assert len(req.headers["webhook-signature"].split(" ")) == 1
    assert signature_valid(new, req.headers, req.body)
    [d] = await deliveries(client, mine, broken_ep)
    assert (d["status"], d["attempts"]) == ("delivered", 2)


async def test_unreadable_previous_secret_still_signs_with_the_current(
    client, db: AsyncSession, receiver: Receiver
):
    keys = await platform_keys(db)
    ep_id, _ = await endpoint(client, keys, receiver.url)
    r = await client.post(f"{EP}/{ep_id}/rotate-secret", headers=auth(keys.platform))
    new = r.json()["secret"]
    await _break(db, "previous_secret_enc", ep_id, damaged)
    await outbox.emit(db, keys.platform_id, "block.started", {})
    await db.flush()
    with capture_logs() as logs:
        await delivery.run_cycle()
    [req] = receiver.requests
    assert len(req.headers["webhook-signature"].split(" ")) == 1
    assert signature_valid(new, req.headers, req.body)
    assert [e.get("which") for e in logs if e["event"] == "webhook secret unreadable"] == ["previous"]
