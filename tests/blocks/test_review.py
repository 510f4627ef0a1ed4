"""A lock triggered by a violation that is later withdrawn stays in force (it was lawful when
applied) and is flagged for the officer's review: an event, the `needs_review` list filter, and the
officer lifts it or keeps it."""

from __future__ import annotations

from datetime import timedelta

from tests.blocks.helpers import events_of
from tests.factories import auth
from tests.takedowns.helpers import T0, order_body, world
from vncomply.kit import clock


async def _locked_by_five_removals(client, w):  # type: ignore[no-untyped-def]
    orders = []
    for n in range(5):
        r = await client.post(
            "/v1/takedown-orders",
            headers=auth(w.authority_key),
            json=order_body(w.keys.platform_id, ref=f"R-{n}"),
        )  # one item, account u-0
        o = r.json()
        await client.post(
            f"/v1/takedown-orders/{o['id']}/items/{o['items'][0]['id']}/resolution",
            headers=auth(w.keys.platform),
            json={"outcome": "removed"},
        )
        orders.append(o)
    r = await client.get("/v1/account-blocks", headers=auth(w.keys.officer), params={"subject_id": "u-0"})
    [block] = r.json()["items"]
    assert block["origin"] == "rule"
    assert block["needs_review"] is False
    return orders, block


async def _withdraw(client, w, order):  # type: ignore[no-untyped-def]
    r = await client.post(
        f"/v1/takedown-orders/{order['id']}/items/{order['items'][0]['id']}/resolution",
        headers=auth(w.keys.officer),
        json={"outcome": "not_found", "reason": "Wrong account named by the order"},
    )
    assert r.status_code == 200, r.text


async def test_a_withdrawn_violation_flags_its_lock(client, db) -> None:
    clock.set_now(T0)
    w = await world(db)
    orders, block = await _locked_by_five_removals(client, w)
    officer = auth(w.keys.officer)
    assert (await client.get("/v1/account-blocks", headers=officer, params={"needs_review": "true"})).json()[
        "items"
    ] == []
    clock.advance(timedelta(hours=2))
    await _withdraw(client, w, orders[2])
    [flag] = await events_of(db, w.keys.platform_id, "block.review_needed")
    assert flag["block_id"] == block["id"]
    got = (await client.get(f"/v1/account-blocks/{block['id']}", headers=officer)).json()
    assert got["needs_review"] is True
    assert got["status"] == "active"  # still in force until the officer decides
    assert "R-2" in got["review_reason"]
    flagged = (
        await client.get("/v1/account-blocks", headers=officer, params={"needs_review": "true"})
    ).json()
    assert [b["id"] for b in flagged["items"]] == [block["id"]]
    others = (
        await client.get("/v1/account-blocks", headers=officer, params={"needs_review": "false"})
    ).json()
    assert others["items"] == []

    # The officer keeps it (audited); keeping it twice is a 409.
    url = f"/v1/account-blocks/{block['id']}/review"
    r = await client.post(url, headers=officer, json={"reason": "Four other removals still stand"})
    assert r.status_code == 200, r.text
    assert r.json()["needs_review"] is False
    assert r.json()["review_closed_at"] is not None
    assert (await client.post(url, headers=officer, json={"reason": "again"})).status_code == 409
    assert (await client.post(url, headers=auth(w.keys.platform), json={"reason": "x"})).status_code == 403


async def test_lifting_closes_the_review(client, db) -> None:
    clock.set_now(T0)
    w = await world(db)
    orders, block = await _locked_by_five_removals(client, w)
    await _withdraw(client, w, orders[0])
    r = await client.post(
        f"/v1/account-blocks/{block['id']}/lift",
        headers=auth(w.keys.officer),
        json={"reason": "Withdrawn basis"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["needs_review"] is False
    flagged = await client.get(
        "/v1/account-blocks", headers=auth(w.keys.officer), params={"needs_review": "true"}
    )
    assert flagged.json()["items"] == []


async def test_an_ended_lock_is_not_flagged(client, db) -> None:
    clock.set_now(T0)
    w = await world(db)
    orders, _ = await _locked_by_five_removals(client, w)
    clock.advance(timedelta(days=40))  # the 7-day lock has ended
    await _withdraw(client, w, orders[1])
    assert await events_of(db, w.keys.platform_id, "block.review_needed") == []
