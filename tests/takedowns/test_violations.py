"""What a removal records toward the Decree 147 lock rules: the violation counts from the day the
authority's request was received (not the day the platform acted), and a removed page, group or
channel records a violation against that subject as well as the account named."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import auth
from tests.takedowns.helpers import T0, order_body, world
from vncomply.kit import clock

D = timedelta(days=1)


async def _order(client, w, ref: str, items: list[dict]) -> dict:  # type: ignore[type-arg]
    r = await client.post(
        "/v1/takedown-orders",
        headers=auth(w.authority_key),
        json=order_body(w.keys.platform_id, ref=ref, items=items),
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _remove(client, w, order: dict, n: int = 0) -> None:  # type: ignore[type-arg]
    r = await client.post(
        f"/v1/takedown-orders/{order['id']}/items/{order['items'][n]['id']}/resolution",
        headers=auth(w.keys.platform),
        json={"outcome": "removed"},
    )
    assert r.status_code == 200, r.text


def _post(account: str = "u-1") -> dict[str, str]:
    return {"content_url": "https://social.example/p/1", "account_id": account, "subject_type": "post"}


async def test_a_violation_counts_from_the_request_received(client, db) -> None:
    clock.set_now(T0)
    w = await world(db)
    orders = []
    for day in range(5):  # five requests received on days 0-4 …
        clock.set_now(T0 + day * D)
        orders.append(await _order(client, w, f"R-{day}", [_post()]))
    for day, order in enumerate(orders):  # … the platform acts on them on days 31-35
        clock.set_now(T0 + (31 + day) * D)
        await _remove(client, w, order)
    r = await client.get("/v1/accounts/u-1/violations", headers=auth(w.keys.officer))
    got = r.json()["items"]
    assert [v["occurred_at"] for v in got] == [o["received_at"] for o in orders]
    # By receipt, none of the five is within the last 30 days of day 35: no lock (by the day the
    # platform acted, all five would be, and the account would be locked).
    r = await client.get("/v1/account-blocks", headers=auth(w.keys.officer), params={"subject_id": "u-1"})
    assert r.json()["items"] == []


async def test_five_requests_received_within_30_days_lock(client, db) -> None:
    clock.set_now(T0)
    w = await world(db)
    for day in range(5):
        clock.set_now(T0 + day * 6 * D)  # received on days 0, 6, 12, 18, 24
        await _remove(client, w, await _order(client, w, f"R-{day}", [_post()]))
    r = await client.get("/v1/account-blocks", headers=auth(w.keys.officer), params={"subject_id": "u-1"})
    assert len(r.json()["items"]) == 1


async def test_a_removed_page_counts_against_the_page_and_the_account(client, db) -> None:
    clock.set_now(T0)
    w = await world(db)
    page = {
        "content_url": "https://social.example/pages/deals",
        "content_id": "page-77",
        "account_id": "u-9",
        "subject_type": "page",
    }
    order = await _order(client, w, "R-P", [page])
    await _remove(client, w, order)
    officer = auth(w.keys.officer)
    r = await client.get(
        "/v1/violations", headers=officer, params={"subject_type": "page", "subject_id": "page-77"}
    )
    [on_page] = r.json()["items"]
    assert on_page["reference_no"] == "R-P"
    assert on_page["occurred_at"] == order["received_at"]
    r = await client.get("/v1/accounts/u-9/violations", headers=officer)
    assert len(r.json()["items"]) == 1
    # An officer's correction withdraws both.
    r = await client.post(
        f"/v1/takedown-orders/{order['id']}/items/{order['items'][0]['id']}/resolution",
        headers=officer,
        json={"outcome": "not_found", "reason": "The page had been deleted before the order"},
    )
    assert r.status_code == 200, r.text
    r = await client.get(
        "/v1/violations", headers=officer, params={"subject_type": "page", "subject_id": "page-77"}
    )
    assert r.json()["items"][0]["withdrawn_at"] is not None
    r = await client.get("/v1/accounts/u-9/violations", headers=officer)
    assert r.json()["items"][0]["withdrawn_at"] is not None


async def test_five_removed_items_of_one_channel_lock_the_channel(client, db) -> None:
    clock.set_now(T0)
    w = await world(db)
    for n in range(5):
        channel = {"content_url": f"https://social.example/c/9/v{n}", "content_id": "chan-9",
                   "subject_type": "channel"}  # fmt: skip
        await _remove(client, w, await _order(client, w, f"R-C{n}", [channel]))
    r = await client.get(
        "/v1/account-blocks",
        headers=auth(w.keys.officer),
        params={"subject_type": "channel", "subject_id": "chan-9"},
    )
    assert len(r.json()["items"]) == 1


async def test_a_page_item_needs_the_pages_id(client, db) -> None:
    clock.set_now(T0)
    w = await world(db)
    item = {"content_url": "https://social.example/pages/deals", "subject_type": "group"}
    r = await client.post(
        "/v1/takedown-orders",
        headers=auth(w.authority_key),
        json=order_body(w.keys.platform_id, items=[item]),
    )
    assert r.status_code == 422
    assert "content_id" in r.json()["errors"][0]["message"]
