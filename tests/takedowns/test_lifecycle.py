"""Order and item state transitions, completion, on-time verdicts and violations."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.factories import auth
from tests.takedowns.helpers import T0, audits, events, order_body, world
from vncomply.blocks.models import Violation
from vncomply.kit import clock


async def _order(client, w, n=2, **kw):
    r = await client.post(
        "/v1/takedown-orders", headers=auth(w.authority_key), json=order_body(w.keys.platform_id, n=n, **kw)
    )
    assert r.status_code == 201, r.text
    return r.json()


def _res(order, i):
    return f"/v1/takedown-orders/{order['id']}/items/{order['items'][i]['id']}/resolution"


async def test_acknowledge_then_complete_on_time(client, db):
    clock.set_now(T0)
    w = await world(db)
    o = await _order(client, w)
    pk = auth(w.keys.platform)
    r = await client.post(f"/v1/takedown-orders/{o['id']}/acknowledge", headers=pk)
    assert r.status_code == 200
    assert r.json()["status"] == "acknowledged"
    r = await client.post(f"/v1/takedown-orders/{o['id']}/acknowledge", headers=pk)
    assert r.status_code == 409
    assert r.json()["current_state"] == "acknowledged"
    assert r.json()["type"].endswith("/illegal-transition")

    clock.advance(timedelta(hours=2))
    r = await client.post(_res(o, 0), headers=pk, json={"outcome": "removed"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "acknowledged"
    assert r.json()["items_pending"] == 1
    assert r.json()["items"][0]["status"] == "removed"
    r = await client.post(_res(o, 1), headers=pk, json={"outcome": "not_found", "note": "gone"})
    done = r.json()
    assert done["status"] == "completed"
    assert done["on_time"] is True
    assert done["remaining_seconds"] is None
    assert done["overdue"] is False
    assert done["completed_at"] == "2026-11-25T10:00:00Z"
    ev = await events(db, "takedown.completed", o["id"])
    assert len(ev) == 1
    assert ev[0].data["on_time"] is True

    r = await client.post(f"/v1/takedown-orders/{o['id']}/acknowledge", headers=pk)
    assert r.status_code == 409
    assert r.json()["current_state"] == "completed"
    # a resolution is final for the platform
    r = await client.post(_res(o, 0), headers=pk, json={"outcome": "contested", "reason": "x"})
    assert r.status_code == 409
    assert r.json()["current_state"] == "removed"


async def test_resolving_an_open_order_acknowledges_it(client, db):
    clock.set_now(T0)
    w = await world(db)
    o = await _order(client, w)
    r = await client.post(_res(o, 0), headers=auth(w.keys.officer), json={"outcome": "restricted"})
    assert r.json()["status"] == "acknowledged"
    assert r.json()["acknowledged_at"] is not None
    assert [a.details["implicit"] for a in await audits(db, "takedown.acknowledged")] == [True]


async def test_late_completion_stays_late(client, db):
    clock.set_now(T0)
    w = await world(db)
    o = await _order(client, w, n=1)
    clock.advance(timedelta(hours=25))
    r = await client.post(_res(o, 0), headers=auth(w.keys.platform), json={"outcome": "removed"})
    done = r.json()
    assert done["status"] == "completed"
    assert done["on_time"] is False
    assert done["breached_at"] == o["due_at"].replace("+00:00", "Z")
    assert (await events(db, "takedown.completed", o["id"]))[0].data["on_time"] is False


async def test_contested_items_do_not_spoil_an_on_time_order(client, db):
    clock.set_now(T0)
    w = await world(db)
    o = await _order(client, w)
    clock.advance(timedelta(hours=20))
    pk = auth(w.keys.platform)
    actioned = (T0 + timedelta(hours=3)).isoformat()
    r = await client.post(_res(o, 0), headers=pk, json={"outcome": "removed", "actioned_at": actioned})
    assert r.status_code == 200
    r = await client.post(_res(o, 1), headers=pk, json={"outcome": "contested", "reason": "lawful satire"})
    assert (r.json()["verdict"], r.json()["on_time"]) == ("on_time", True)
    assert r.json()["items"][1]["reason"] == "lawful satire"
    assert r.json()["items"][0]["actioned_at"] == "2026-11-25T11:00:00Z"
    assert r.json()["items"][0]["resolved_at"] == "2026-11-26T04:00:00Z"


async def test_resolution_validation(client, db):
    clock.set_now(T0)
    w = await world(db)
    o = await _order(client, w)
    pk = auth(w.keys.platform)
    cases = [
        ({"outcome": "contested"}, "reason"),
        ({"outcome": "deleted"}, "outcome"),
        ({"outcome": "removed", "actioned_at": (T0 + timedelta(seconds=1)).isoformat()}, "actioned_at"),
        ({"outcome": "removed", "evidence_url": "file:///etc/passwd"}, "evidence_url"),
    ]
    for body, field in cases:
        r = await client.post(_res(o, 0), headers=pk, json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in r.json()["errors"][0]["field"]
    r = await client.post(
        f"/v1/takedown-orders/{o['id']}/items/{o['id']}/resolution", headers=pk, json={"outcome": "removed"}
    )
    assert r.status_code == 404
    # authorities read orders but do not resolve them
    r = await client.post(_res(o, 0), headers=auth(w.authority_key), json={"outcome": "removed"})
    assert r.status_code == 403


async def test_officer_changes_resolution_with_reason(client, db):
    clock.set_now(T0)
    w = await world(db)
    o = await _order(client, w, n=1)
    await client.post(_res(o, 0), headers=auth(w.keys.platform), json={"outcome": "not_found"})
    off = auth(w.keys.officer)
    r = await client.post(_res(o, 0), headers=off, json={"outcome": "removed"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "reason"
    r = await client.post(
        _res(o, 0), headers=off, json={"outcome": "removed", "reason": "found under another URL"}
    )
    assert r.status_code == 200
    assert r.json()["items"][0]["status"] == "removed"
    assert r.json()["status"] == "completed"
    changed = await audits(db, "takedown.item.resolution_changed")
    assert len(changed) == 1
    assert changed[0].details["previous"] == "not_found"
    assert changed[0].details["reason"] == "found under another URL"
    assert len(await events(db, "takedown.completed", o["id"])) == 1  # completion is not repeated
    # removed -> restricted does not record the violation twice
    await client.post(_res(o, 0), headers=off, json={"outcome": "restricted", "reason": "geo"})
    vs = (await db.scalars(select(Violation).where(Violation.subject_id == "u-0"))).all()
    assert len(vs) == 1


async def test_violations_recorded_for_removed_and_restricted_accounts(client, db):
    clock.set_now(T0)
    w = await world(db)
    body = order_body(w.keys.platform_id, n=4, category="gambling")
    body["items"][3].pop("account_id")
    r = await client.post("/v1/takedown-orders", headers=auth(w.authority_key), json=body)
    o = r.json()
    pk = auth(w.keys.platform)
    actioned = (T0 + timedelta(minutes=30)).isoformat()
    clock.advance(timedelta(hours=1))
    await client.post(_res(o, 0), headers=pk, json={"outcome": "removed", "actioned_at": actioned})
    await client.post(_res(o, 1), headers=pk, json={"outcome": "restricted"})
    await client.post(_res(o, 2), headers=pk, json={"outcome": "contested", "reason": "no"})
    await client.post(_res(o, 3), headers=pk, json={"outcome": "removed"})  # names no account
    vs = (await db.scalars(select(Violation).order_by(Violation.subject_id))).all()
    assert [(v.subject_type, v.subject_id) for v in vs] == [("account", "u-0"), ("account", "u-1")]
    v0 = vs[0]
    assert v0.platform_id == w.keys.platform_id
    assert v0.authority_id == w.authority_id
    assert v0.reference_no == "REF-1"
    assert v0.category == "gambling"
    assert v0.occurred_at == T0  # the day the request was received, not actioned_at (Decree 147)
    assert v0.recorded_at == T0 + timedelta(hours=1)


async def test_violation_rolls_back_with_the_resolution(client, db, monkeypatch):
    """Same transaction: if the resolution fails after the violation is added, neither persists."""
    clock.set_now(T0)
    w = await world(db)
    o = await _order(client, w, n=1)
    from vncomply.takedowns import lifecycle

    async def boom(*a, **k):
        raise RuntimeError("outbox down")

    monkeypatch.setattr(lifecycle, "emit", boom)
    r = await client.post(_res(o, 0), headers=auth(w.keys.platform), json={"outcome": "removed"})
    assert r.status_code == 500
    assert (await db.scalars(select(Violation))).all() == []
    monkeypatch.undo()
    got = await client.get(f"/v1/takedown-orders/{o['id']}", headers=auth(w.keys.platform))
    assert got.json()["items"][0]["status"] == "pending"


async def test_a_corrected_resolution_withdraws_its_violation(client, db):
    """removed → not_found (by an officer, with a reason): the violation it recorded stays on record
    but is withdrawn and no longer counts toward the Decree 147 lock (5 in 30 days)."""
    from tests.blocks.helpers import blocks_of, violate

    clock.set_now(T0)
    w = await world(db)
    o = await _order(client, w, n=1)
    await client.post(_res(o, 0), headers=auth(w.keys.platform), json={"outcome": "removed"})
    vs = (await db.scalars(select(Violation).where(Violation.subject_id == "u-0"))).all()
    assert len(vs) == 1
    assert vs[0].withdrawn_at is None
    r = await client.post(
        _res(o, 0),
        headers=auth(w.keys.officer),
        json={"outcome": "not_found", "reason": "the post had already been deleted by its author"},
    )
    assert r.status_code == 200, r.text
    db.expire_all()
    v = (await db.scalars(select(Violation).where(Violation.subject_id == "u-0"))).one()
    assert v.withdrawn_at == T0
    assert "not_found" in (v.withdrawn_reason or "")
    withdrawn = await audits(db, "violation.withdrawn")
    assert [a.resource_id for a in withdrawn] == [str(v.id)]
    listed = await client.get("/v1/accounts/u-0/violations", headers=auth(w.keys.officer))
    assert listed.json()["items"][0]["withdrawn_at"] == "2026-11-25T08:00:00Z"

    # Four more violations: with the withdrawn one that would be five; it no longer counts.
    for _ in range(4):
        await violate(db, w.keys.platform_id, w.authority_id, "u-0")
    assert await blocks_of(db, w.keys.platform_id, "u-0") == []
    await violate(db, w.keys.platform_id, w.authority_id, "u-0")
    assert len(await blocks_of(db, w.keys.platform_id, "u-0")) == 1

    # Back to removed: a new violation is recorded (the withdrawn one stays withdrawn).
    r = await client.post(
        _res(o, 0), headers=auth(w.keys.officer), json={"outcome": "removed", "reason": "found again"}
    )
    assert r.status_code == 200
    rows = (await db.scalars(select(Violation).where(Violation.subject_id == "u-0"))).all()
    assert sum(x.withdrawn_at is None for x in rows) == 6
