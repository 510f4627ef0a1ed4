"""One tenant cannot starve the others, results are saved as they complete, and a lease outlasts
the work it covers. Real receivers on loopback (tests/events/conftest.py); time moves through the
clock, and the only real waits are a receiver's short timeout and a receiver signalling arrival."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.events.conftest import Receiver
from tests.events.test_delivery import deliveries, endpoint
from tests.factories import platform_keys

from vncomply.config import get_settings
from vncomply.events import delivery, outbox
from vncomply.events.models import WebhookDelivery
from vncomply.kit import clock
from vncomply.kit.db import session_scope

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen() -> None:
    clock.set_now(T0)


async def emit(db: AsyncSession, platform_id: object, n: int) -> None:
    for i in range(n):
        await outbox.emit(db, platform_id, "block.started", {"n": i})  # type: ignore[arg-type]
    await db.flush()


async def fan_out_now() -> None:
    async with session_scope() as s:
        await delivery.fan_out(s, clock.now())


async def arrived(rec: Receiver) -> None:
    # A safety bound only (the event normally comes in milliseconds); nothing here is timed.
    assert await asyncio.to_thread(rec.arrived.wait, 30), "the receiver never saw a request"


async def test_hanging_receiver_delays_only_its_own_platform(
    client, db: AsyncSession, receivers: Callable[..., Receiver], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(get_settings(), "webhook_timeout_seconds", 0.5)
    silent, healthy = receivers(hang=True), receivers()
    hangs, fine = await platform_keys(db, "Hangs"), await platform_keys(db, "Healthy")
    silent_ep, _ = await endpoint(client, hangs, silent.url)
    healthy_ep, _ = await endpoint(client, fine, healthy.url)
    # The hanging platform's backlog is older: a claim in due order would take only its rows.
    await emit(db, hangs.platform_id, 40)
    await fan_out_now()
    clock.advance(timedelta(seconds=1))
    await emit(db, fine.platform_id, 3)

    lanes = 4
    stats = await delivery.run_cycle(max_batches=1, claim_batch=10, sender=delivery.Sender(lanes))

    # One cycle: the healthy platform has everything.
    assert len(healthy.requests) == 3
    assert [d["status"] for d in await deliveries(client, fine, healthy_ep)] == ["delivered"] * 3
    # The hanging platform got its fair share of the batch (half), and cost at most one timeout
    # per lane: after the first timeout its other queued deliveries were not sent.
    silent_rows = await deliveries(client, hangs, silent_ep)
    tried = [d for d in silent_rows if d["attempts"] == 1]
    assert len(tried) == 5
    assert all(d["status"] == "pending" for d in tried)
    assert len(silent.requests) <= lanes
    assert {str(d["last_error"]).split(":")[0] for d in tried} <= {"timed out", "not sent"}
    assert stats.delivered == 3


async def test_each_result_is_saved_as_it_completes(
    client, db: AsyncSession, receivers: Callable[..., Receiver]
):
    healthy, silent = receivers(), receivers(hang=True)
    keys = await platform_keys(db)
    healthy_ep, _ = await endpoint(client, keys, healthy.url, ["block.started"])
    silent_ep, _ = await endpoint(client, keys, silent.url, ["block.ended"])
    await emit(db, keys.platform_id, 3)  # block.started: the healthy endpoint only
    await fan_out_now()
    clock.advance(timedelta(seconds=1))
    await outbox.emit(db, keys.platform_id, "block.ended", {})  # the hanging one, sent last
    await db.flush()

    # One lane: the three healthy deliveries go first, then the lane hangs on the fourth.
    cycle = asyncio.create_task(delivery.run_cycle(sender=delivery.Sender(1)))
    await arrived(silent)
    cycle.cancel()  # the worker stops mid-batch
    with pytest.raises(asyncio.CancelledError):
        await cycle

    # What the receiver acknowledged is on record; only the delivery in flight is not.
    assert [d["status"] for d in await deliveries(client, keys, healthy_ep)] == ["delivered"] * 3
    [stuck] = await deliveries(client, keys, silent_ep)
    assert stuck["status"] == "delivering"

    # After the lease, a successor re-sends the one that was in flight, and nothing else.
    silent.hang = False
    clock.advance(datetime.fromisoformat(str(stuck["next_attempt_at"])) - clock.now())
    await delivery.run_cycle()
    assert len(healthy.requests) == 3
    assert len(silent.requests) == 2
    [done] = await deliveries(client, keys, silent_ep)
    assert (done["status"], done["attempts"]) == ("delivered", 2)


async def test_lease_outlasts_a_slow_batch(client, db: AsyncSession, receivers: Callable[..., Receiver]):
    """Each answer takes 9 s (within the 10 s timeout) and one lane sends ten: the batch runs 90 s,
    longer than any fixed one-minute lease. A second worker ticking meanwhile must find nothing."""
    gate = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow(n: int) -> None:
        clock.advance(timedelta(seconds=9))
        if n == 8:  # stay on the 8th answer while the other worker ticks
            loop.call_soon_threadsafe(gate.set)
            rec.release.wait(30)

    rec = receivers(on_request=slow)
    keys = await platform_keys(db)
    ep_id, _ = await endpoint(client, keys, rec.url)
    await emit(db, keys.platform_id, 10)

    first = asyncio.create_task(delivery.run_cycle(sender=delivery.Sender(1)))
    await asyncio.wait_for(gate.wait(), 30)
    assert clock.now() == T0 + timedelta(seconds=72)
    second = await delivery.run_cycle()
    rec.release.set()
    await first

    assert second.sent == 0
    assert Counter(r.headers["webhook-id"] for r in rec.requests).most_common(1)[0][1] == 1
    assert len(rec.requests) == 10
    assert {d["status"] for d in await deliveries(client, keys, ep_id)} == {"delivered"}


async def test_lease_is_sized_to_the_place_in_the_batch(client, db: AsyncSession, receiver: Receiver):
    keys = await platform_keys(db)
    await endpoint(client, keys, receiver.url)
    await emit(db, keys.platform_id, 6)
    await fan_out_now()
    async with session_scope() as s:
        jobs = await delivery.claim(s, clock.now(), 10, lanes=2, send_timeout=10)
    assert len(jobs) == 6
    leases = {
        d.id: d.next_attempt_at
        for d in (await db.scalars(select(WebhookDelivery).execution_options(populate_existing=True))).all()
    }
    slot = delivery.lease_slot(10)
    assert slot >= timedelta(seconds=11)  # the sender's bound on one request
    for pos, job in enumerate(jobs):
        # Two lanes: the jobs at 0-1 finish within one slot, 2-3 within two, 4-5 within three.
        assert leases[job.delivery_id] == T0 + delivery.LEASE_MARGIN + (pos // 2 + 1) * slot


async def test_claim_shares_a_batch_between_platforms_round_robin(
    client, db: AsyncSession, receiver: Receiver
):
    a, b, c = [await platform_keys(db, n) for n in ("A", "B", "C")]
    for keys in (a, b, c):
        await endpoint(client, keys, receiver.url)
    await emit(db, a.platform_id, 20)
    await fan_out_now()
    clock.advance(timedelta(seconds=1))
    await emit(db, b.platform_id, 20)
    await emit(db, c.platform_id, 2)
    await fan_out_now()
    async with session_scope() as s:
        jobs = await delivery.claim(s, clock.now(), 12)
    owner = {d.id: d.platform_id for d in (await db.scalars(select(WebhookDelivery))).all()}
    per_platform = Counter(owner[j.delivery_id] for j in jobs)
    assert per_platform == {a.platform_id: 4, b.platform_id: 4, c.platform_id: 2}
    # Interleaved: the first three jobs are one of each platform.
    assert len({owner[j.delivery_id] for j in jobs[:3]}) == 3


async def test_one_tick_drains_more_than_one_fan_out(
    client, db: AsyncSession, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
):
    """A tick fans out again when its deliveries run out while the outbox still has events, so a
    tick every ~2 s does not cap delivery at one fan-out batch per tick."""
    monkeypatch.setattr(delivery, "FANOUT_BATCH", 2)
    keys = await platform_keys(db)
    ep_id, _ = await endpoint(client, keys, receiver.url)
    await emit(db, keys.platform_id, 7)
    stats = await delivery.run_cycle(claim_batch=3)
    assert (stats.fanned_out, stats.delivered) == (7, 7)
    assert len(receiver.requests) == 7
    assert {d["status"] for d in await deliveries(client, keys, ep_id)} == {"delivered"}
    # Bounded as before: at most max_batches claims per tick.
    await emit(db, keys.platform_id, 7)
    assert (await delivery.run_cycle(max_batches=2, claim_batch=3)).delivered == 4
