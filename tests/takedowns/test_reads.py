"""Reads: remaining time and overdue at read time, filters, cursor pagination, scoping."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import admin_key, auth, make_authority
from tests.takedowns.helpers import T0, order_body, world
from vncomply.kit import clock


async def test_overdue_and_remaining_are_computed_at_read_time(client, db):
    clock.set_now(T0)
    w = await world(db)
    r = await client.post(
        "/v1/takedown-orders", headers=auth(w.authority_key), json=order_body(w.keys.platform_id)
    )
    oid = r.json()["id"]
    clock.advance(timedelta(hours=23, minutes=59))
    o = (await client.get(f"/v1/takedown-orders/{oid}", headers=auth(w.keys.officer))).json()
    assert o["remaining_seconds"] == 60
    assert o["overdue"] is False
    clock.advance(timedelta(minutes=1))  # no sweep has run
    o = (await client.get(f"/v1/takedown-orders/{oid}", headers=auth(w.keys.officer))).json()
    assert o["remaining_seconds"] == 0
    assert o["overdue"] is True
    lst = (await client.get("/v1/takedown-orders?overdue=true", headers=auth(w.keys.officer))).json()
    assert [x["id"] for x in lst["items"]] == [oid]


async def test_filters_sorting_and_cursor(client, db):
    clock.set_now(T0)
    w = await world(db)
    h = auth(w.authority_key)
    ids = {}
    for n, urgency in enumerate(["standard", "standard", "standard", "emergency", "emergency"]):
        clock.set_now(T0 + timedelta(minutes=n))
        r = await client.post(
            "/v1/takedown-orders",
            headers=h,
            json=order_body(w.keys.platform_id, ref=f"R{n}", urgency=urgency),
        )
        ids[f"R{n}"] = r.json()["id"]
    off = auth(w.keys.officer)
    seen, cursor = [], None
    while True:
        q = "/v1/takedown-orders?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(q, headers=off)).json()
        seen += [x["reference_no"] for x in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["R3", "R4", "R0", "R1", "R2"]  # emergencies (6 h) first, then by receipt
    em = (await client.get("/v1/takedown-orders?urgency=emergency", headers=off)).json()
    assert [x["reference_no"] for x in em["items"]] == ["R3", "R4"]
    await client.post(f"/v1/takedown-orders/{ids['R1']}/acknowledge", headers=off)
    ack = (await client.get("/v1/takedown-orders?status=acknowledged", headers=off)).json()
    assert [x["reference_no"] for x in ack["items"]] == ["R1"]
    due = (T0 + timedelta(hours=24, minutes=2)).isoformat().replace("+00:00", "Z")
    before = (await client.get(f"/v1/takedown-orders?due_before={due}", headers=off)).json()
    assert [x["reference_no"] for x in before["items"]] == ["R3", "R4", "R0", "R1"]
    by_auth = (await client.get(f"/v1/takedown-orders?authority_id={w.authority_id}", headers=off)).json()
    assert len(by_auth["items"]) == 5
    bad = await client.get("/v1/takedown-orders?status=closed", headers=off)
    assert bad.status_code == 422
    bad = await client.get("/v1/takedown-orders?cursor=bm9wZQ", headers=off)
    assert bad.status_code == 422
    bad = await client.get("/v1/takedown-orders?due_before=2026-01-01T00:00:00", headers=off)
    assert bad.status_code == 422


async def test_scoping(client, db):
    clock.set_now(T0)
    a = await world(db, "SocialA", "ABEI")
    b = await world(db, "SocialB", "MPS-A05")
    # a third authority addressing both platforms
    c_id, c_key = await make_authority(db, "DIC-HCM", [a.keys.platform_id, b.keys.platform_id])
    ra = await client.post(
        "/v1/takedown-orders", headers=auth(a.authority_key), json=order_body(a.keys.platform_id, ref="A1")
    )
    rc = await client.post(
        "/v1/takedown-orders", headers=auth(c_key), json=order_body(a.keys.platform_id, ref="C1")
    )
    rb = await client.post(
        "/v1/takedown-orders", headers=auth(b.authority_key), json=order_body(b.keys.platform_id, ref="B1")
    )
    oa, oc, ob = ra.json()["id"], rc.json()["id"], rb.json()["id"]

    def refs(resp):
        return sorted(x["reference_no"] for x in resp.json()["items"])

    # authorities see only their own orders
    assert refs(await client.get("/v1/takedown-orders", headers=auth(a.authority_key))) == ["A1"]
    assert (await client.get(f"/v1/takedown-orders/{oc}", headers=auth(a.authority_key))).status_code == 404
    # platforms and officers see their platform's orders, from any authority
    for key in (a.keys.platform, a.keys.officer):
        assert refs(await client.get("/v1/takedown-orders", headers=auth(key))) == ["A1", "C1"]
        assert (await client.get(f"/v1/takedown-orders/{ob}", headers=auth(key))).status_code == 404
    # another tenant cannot act on the order either
    r = await client.post(f"/v1/takedown-orders/{oa}/acknowledge", headers=auth(b.keys.officer))
    assert r.status_code == 404
    r = await client.post(f"/v1/takedown-orders/{oa}/acknowledge", headers=auth(a.keys.officer))
    assert r.status_code == 200
    # a platform filtering on another platform's id gets nothing
    r = await client.get(
        f"/v1/takedown-orders?platform_id={b.keys.platform_id}", headers=auth(a.keys.platform)
    )
    assert r.json()["items"] == []
    # admin sees everything and may filter by platform
    adm = auth(await admin_key(db))
    assert refs(await client.get("/v1/takedown-orders", headers=adm)) == ["A1", "B1", "C1"]
    r = await client.get(f"/v1/takedown-orders?platform_id={b.keys.platform_id}", headers=adm)
    assert refs(r) == ["B1"]
    assert (await client.get(f"/v1/takedown-orders/{oa}", headers=adm)).status_code == 200
    assert c_id
