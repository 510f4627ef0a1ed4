"""The takedown clock through the deadline engine, with the clock moved (no sleeping)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.factories import auth
from tests.takedowns.helpers import T0, audits, events, order_body, world
from vncomply.deadlines.engine import sweep
from vncomply.kit import clock
from vncomply.takedowns import deadline
from vncomply.takedowns.models import TakedownOrder

H = timedelta(hours=1)


async def _create(client, w, **kw):
    r = await client.post(
        "/v1/takedown-orders", headers=auth(w.authority_key), json=order_body(w.keys.platform_id, **kw)
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_reminders_at_50_75_90_then_overdue(client, db):
    clock.set_now(T0)
    w = await world(db)
    oid = await _create(client, w)  # 24 h window
    fired = []
    for hours, expect in [(11.9, 0), (12, 1), (13, 1), (18, 2), (21.6, 3), (23.9, 3)]:
        clock.set_now(T0 + hours * H)
        await sweep()
        got = await events(db, "takedown.deadline_approaching", oid)
        assert len(got) == expect, hours
        fired = got
    assert [e.data["fraction"] for e in fired] == [0.5, 0.75, 0.9]
    assert [e.data["remaining_seconds"] for e in fired] == [12 * 3600, 6 * 3600, int(2.4 * 3600)]
    assert await events(db, "takedown.overdue", oid) == []
    clock.set_now(T0 + 24 * H)
    res = await sweep()
    assert res.processed == 1
    over = await events(db, "takedown.overdue", oid)
    assert len(over) == 1
    assert over[0].data["breached_at"] == "2026-11-26T08:00:00+00:00"
    order = await db.get(TakedownOrder, oid)
    await db.refresh(order)
    assert order.breached_at == T0 + 24 * H
    assert order.next_action_at is None
    clock.advance(48 * H)
    assert (await sweep()).processed == 0  # nothing left to do for this order
    assert len(await audits(db, "takedown.overdue")) == 1


async def test_emergency_window_reminders_scale(client, db):
    clock.set_now(T0)
    w = await world(db)
    oid = await _create(client, w, urgency="emergency")  # 6 h since 2026-07-01
    clock.set_now(T0 + 4.5 * H)
    await sweep()
    got = await events(db, "takedown.deadline_approaching", oid)
    assert [e.data["fraction"] for e in got] == [0.75]  # the 50 % one is stale: skipped
    assert got[0].data["remaining_seconds"] == int(1.5 * 3600)


async def test_late_sweep_fires_only_overdue(client, db):
    clock.set_now(T0)
    w = await world(db)
    oid = await _create(client, w)
    clock.set_now(T0 + 30 * H)
    await sweep()
    assert await events(db, "takedown.deadline_approaching", oid) == []
    assert len(await events(db, "takedown.overdue", oid)) == 1


async def test_completed_order_fires_nothing(client, db):
    clock.set_now(T0)
    w = await world(db)
    r = await client.post(
        "/v1/takedown-orders", headers=auth(w.authority_key), json=order_body(w.keys.platform_id)
    )
    o = r.json()
    await client.post(
        f"/v1/takedown-orders/{o['id']}/items/{o['items'][0]['id']}/resolution",
        headers=auth(w.keys.platform),
        json={"outcome": "removed"},
    )
    clock.set_now(T0 + 48 * H)
    assert (await sweep()).processed == 0
    assert await events(db, "takedown.overdue", o["id"]) == []


async def test_configurable_fractions(client, db, monkeypatch):
    monkeypatch.setattr(deadline, "REMINDER_FRACTIONS", (0.25,))
    clock.set_now(T0)
    w = await world(db)
    oid = await _create(client, w)
    clock.set_now(T0 + 6 * H)
    await sweep()
    got = await events(db, "takedown.deadline_approaching", oid)
    assert [e.data["fraction"] for e in got] == [0.25]


async def test_stuck_order_is_repaired(client, db):
    clock.set_now(T0)
    w = await world(db)
    oid = await _create(client, w)
    order = (await db.scalars(select(TakedownOrder).where(TakedownOrder.id == oid))).one()
    order.next_action_at = None  # e.g. a bad manual fix or a bug elsewhere
    await db.flush()
    clock.set_now(T0 + 25 * H)
    res = await sweep()
    td = next(h for h in res.handlers if h.handler == deadline.HANDLER_NAME)
    assert td.repaired == 1
    assert len(await events(db, "takedown.overdue", oid)) == 1
