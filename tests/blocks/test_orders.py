"""Authority block orders, confirmation, early lift, apply-overdue and tenant scoping."""

from __future__ import annotations

from datetime import timedelta

import vncomply.blocks.deadline  # noqa: F401  (registers the handler with the engine)
from tests.blocks.helpers import T0, events_of, order_body, violate
from tests.factories import auth, make_authority, platform_keys
from vncomply.blocks.deadline import HANDLER_NAME
from vncomply.deadlines.engine import sweep
from vncomply.kit import clock


async def _sweep() -> int:
    return (await sweep(None, clock.now(), names=[HANDLER_NAME], record=False)).processed


async def test_authority_orders_a_temporary_block(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    _, akey = await make_authority(db, "ABEI", [k.platform_id])
    body = order_body(k.platform_id)
    r = await client.post("/v1/account-blocks", headers=auth(akey), json=body)
    assert r.status_code == 201, r.text
    b = r.json()
    assert (b["origin"], b["kind"], b["status"], b["duration_days"]) == ("order", "temporary", "active", 15)
    assert b["apply_by"].startswith("2026-03-03T09:00:00")
    assert b["ends_at"].startswith("2026-03-17T09:00:00")
    assert b["temporary_lock_no"] == 1
    started = await events_of(db, k.platform_id, "block.started")
    assert [e["block_id"] for e in started] == [b["id"]]

    # A retry under the same reference number returns the same block; other content is a 409.
    again = await client.post("/v1/account-blocks", headers=auth(akey), json=body)
    assert again.status_code == 200
    assert again.json()["id"] == b["id"]
    other = await client.post("/v1/account-blocks", headers=auth(akey), json={**body, "duration_days": 20})
    assert other.status_code == 409

    for who in (k.platform, k.officer, akey):
        got = await client.get(f"/v1/account-blocks/{b['id']}", headers=auth(who))
        assert got.status_code == 200
    r = await client.get(
        "/v1/account-blocks",
        params={"origin": "order", "subject_id": "page-1", "active": "true"},
        headers=auth(k.platform),
    )
    assert [x["id"] for x in r.json()["items"]] == [b["id"]]
    r = await client.get("/v1/account-blocks", params={"origin": "rule"}, headers=auth(k.platform))
    assert r.json()["items"] == []


async def test_order_duration_and_permanent_rules(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    _, akey = await make_authority(db, "ABEI", [k.platform_id])
    for days in (6, 31):
        r = await client.post(
            "/v1/account-blocks", headers=auth(akey), json=order_body(k.platform_id, duration_days=days)
        )
        assert r.status_code == 422
        assert "between 7 and 30" in r.json()["detail"]
    r = await client.post(
        "/v1/account-blocks", headers=auth(akey), json=order_body(k.platform_id, duration_days=None)
    )
    assert r.status_code == 422
    r = await client.post(
        "/v1/account-blocks",
        headers=auth(akey),
        json=order_body(k.platform_id, duration_days=None, permanent=True),
    )
    assert r.status_code == 422, r.text
    assert "national_security" in r.json()["detail"]
    assert "7 and 30" in r.json()["detail"]
    r = await client.post(
        "/v1/account-blocks", headers=auth(akey), json=order_body(k.platform_id, permanent=True)
    )
    assert r.status_code == 422  # both a duration and permanent

    r = await client.post(
        "/v1/account-blocks",
        headers=auth(akey),
        json=order_body(k.platform_id, duration_days=None, permanent=True, category="national_security"),
    )
    assert r.status_code == 201, r.text
    assert (r.json()["kind"], r.json()["ends_at"], r.json()["active"]) == ("permanent", None, True)


async def test_permanent_order_allowed_after_three_temporary_locks(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    _, akey = await make_authority(db, "ABEI", [k.platform_id])
    for n in range(3):
        r = await client.post(
            "/v1/account-blocks", headers=auth(akey), json=order_body(k.platform_id, duration_days=7)
        )
        assert r.status_code == 201
        assert r.json()["temporary_lock_no"] == n + 1
        clock.advance(timedelta(days=8))
    r = await client.post(
        "/v1/account-blocks",
        headers=auth(akey),
        json=order_body(k.platform_id, duration_days=None, permanent=True),
    )
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "permanent"


async def test_early_lift_by_officer_and_by_ordering_authority(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    _, akey = await make_authority(db, "ABEI", [k.platform_id])
    _, other_akey = await make_authority(db, "MPS-A05", [k.platform_id])
    b1 = (await client.post("/v1/account-blocks", headers=auth(akey), json=order_body(k.platform_id))).json()
    b2 = (
        await client.post("/v1/account-blocks", headers=auth(akey), json=order_body(k.platform_id, "page-2"))
    ).json()
    clock.advance(timedelta(days=2))

    r = await client.post(f"/v1/account-blocks/{b1['id']}/lift", headers=auth(k.officer), json={})
    assert r.status_code == 422  # a reason is required
    r = await client.post(
        f"/v1/account-blocks/{b1['id']}/lift", headers=auth(k.platform), json={"reason": "x"}
    )
    assert r.status_code == 403
    r = await client.post(
        f"/v1/account-blocks/{b1['id']}/lift", headers=auth(other_akey), json={"reason": "x"}
    )
    assert r.status_code == 404

    r = await client.post(
        f"/v1/account-blocks/{b1['id']}/lift",
        headers=auth(k.officer),
        json={"reason": "Content restored after appeal"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["active"]) == ("lifted", False)
    assert r.json()["lift_reason"] == "Content restored after appeal"
    r = await client.post(
        f"/v1/account-blocks/{b1['id']}/lift", headers=auth(k.officer), json={"reason": "again"}
    )
    assert r.status_code == 409
    assert r.json()["current_state"] == "lifted"

    r = await client.post(
        f"/v1/account-blocks/{b2['id']}/lift", headers=auth(akey), json={"reason": "Order withdrawn"}
    )
    assert r.status_code == 200
    lifted = await events_of(db, k.platform_id, "block.lifted")
    assert [e["block_id"] for e in lifted] == [b1["id"], b2["id"]]

    # A lifted block is neither ended nor overdue later.
    clock.advance(timedelta(days=30))
    assert await _sweep() == 0
    assert await events_of(db, k.platform_id, "block.ended") == []
    assert await events_of(db, k.platform_id, "block.apply_overdue") == []


async def test_expired_block_cannot_be_lifted(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    _, akey = await make_authority(db, "ABEI", [k.platform_id])
    b = (
        await client.post(
            "/v1/account-blocks", headers=auth(akey), json=order_body(k.platform_id, duration_days=7)
        )
    ).json()
    clock.advance(timedelta(days=7))
    r = await client.post(
        f"/v1/account-blocks/{b['id']}/lift", headers=auth(k.officer), json={"reason": "too late"}
    )
    assert r.status_code == 409
    assert r.json()["current_state"] == "expired"


async def test_apply_overdue_when_not_confirmed_within_24h(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    _, akey = await make_authority(db, "ABEI", [k.platform_id])
    late = (
        await client.post("/v1/account-blocks", headers=auth(akey), json=order_body(k.platform_id))
    ).json()
    on_time = (
        await client.post("/v1/account-blocks", headers=auth(akey), json=order_body(k.platform_id, "page-2"))
    ).json()
    clock.advance(timedelta(hours=23))
    r = await client.post(f"/v1/account-blocks/{on_time['id']}/applied", headers=auth(k.officer))
    assert r.status_code == 200
    assert r.json()["applied_at"] is not None
    clock.advance(timedelta(hours=1))
    got = (await client.get(f"/v1/account-blocks/{late['id']}", headers=auth(k.platform))).json()
    assert got["apply_overdue"] is True  # read time, before any sweep
    assert await _sweep() == 1
    overdue = await events_of(db, k.platform_id, "block.apply_overdue")
    assert [e["block_id"] for e in overdue] == [late["id"]]
    assert await _sweep() == 0
    # Confirming late is still recorded; it raises nothing more.
    r = await client.post(f"/v1/account-blocks/{late['id']}/applied", headers=auth(k.platform))
    assert r.status_code == 200
    clock.advance(timedelta(days=15))
    assert await _sweep() == 2  # both end
    assert len(await events_of(db, k.platform_id, "block.ended")) == 2
    assert len(await events_of(db, k.platform_id, "block.apply_overdue")) == 1


async def test_scoping_other_platform_and_authority_get_404(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    other = await platform_keys(db, "OtherSocial")
    aid, akey = await make_authority(db, "ABEI", [k.platform_id])
    _, stranger = await make_authority(db, "DIC-HANOI", [other.platform_id])
    b = (await client.post("/v1/account-blocks", headers=auth(akey), json=order_body(k.platform_id))).json()
    for key in (other.platform, other.officer, stranger):
        r = await client.get(f"/v1/account-blocks/{b['id']}", headers=auth(key))
        assert r.status_code == 404
        assert (await client.get("/v1/account-blocks", headers=auth(key))).json()["items"] == []
    r = await client.post(
        f"/v1/account-blocks/{b['id']}/lift", headers=auth(other.officer), json={"reason": "x"}
    )
    assert r.status_code == 404
    r = await client.post(f"/v1/account-blocks/{b['id']}/applied", headers=auth(other.platform))
    assert r.status_code == 404
    # An authority may not order a block on a platform it may not address.
    r = await client.post("/v1/account-blocks", headers=auth(stranger), json=order_body(k.platform_id))
    assert r.status_code == 404
    # Violations: another platform sees none; an authority sees only those it requested.
    await violate(db, k.platform_id, aid)
    r = await client.get("/v1/accounts/acct-1/violations", headers=auth(other.officer))
    assert r.json()["items"] == []
    assert len((await client.get("/v1/accounts/acct-1/violations", headers=auth(akey))).json()["items"]) == 1
    r = await client.get("/v1/accounts/acct-1/violations", headers=auth(stranger))
    assert r.json()["items"] == []


async def test_list_pagination(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    _, akey = await make_authority(db, "ABEI", [k.platform_id])
    ids = []
    for i in range(5):
        r = await client.post(
            "/v1/account-blocks", headers=auth(akey), json=order_body(k.platform_id, f"page-{i}")
        )
        ids.append(r.json()["id"])
        clock.advance(timedelta(seconds=1))
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/account-blocks", params=params, headers=auth(k.officer))).json()
        seen += [b["id"] for b in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids
