"""The statutory verdict is judged on when a resolution reached vncomply, never on the platform's
own `actioned_at`; a recorded breach is never cleared; an all-contested order is not "on time"."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import auth
from tests.takedowns.helpers import T0, audits, events, order_body, world
from vncomply.deadlines.engine import sweep
from vncomply.kit import clock
from vncomply.rulebook import rules as rulebook
from vncomply.takedowns import verdict

H = timedelta(hours=1)
DUE = T0 + 24 * H


async def _order(client, w, n=1):
    r = await client.post(
        "/v1/takedown-orders", headers=auth(w.authority_key), json=order_body(w.keys.platform_id, n=n)
    )
    assert r.status_code == 201, r.text
    return r.json()


def _res(order, i):
    return f"/v1/takedown-orders/{order['id']}/items/{order['items'][i]['id']}/resolution"


def _z(dt):
    return dt.isoformat().replace("+00:00", "Z")


async def test_a_backdated_late_report_is_late_and_the_sweeps_breach_stays(client, db):
    clock.set_now(T0)
    w = await world(db)
    o = await _order(client, w)
    clock.set_now(DUE)
    await sweep()
    assert len(await events(db, "takedown.overdue", o["id"])) == 1
    # Three days late, the platform says it acted a minute before the deadline.
    reported = DUE + 72 * H
    clock.set_now(reported)
    actioned = DUE - timedelta(minutes=1)
    r = await client.post(
        _res(o, 0),
        headers=auth(w.keys.platform),
        json={"outcome": "removed", "actioned_at": actioned.isoformat()},
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["status"], done["verdict"], done["on_time"]) == ("completed", "late", False)
    assert done["breached_at"] == _z(DUE)  # the sweep's breach is not cleared
    assert done["completed_at"] == _z(reported)
    assert done["items_backdated"] == 1
    item = done["items"][0]
    # The platform's statement is kept and shown beside the time vncomply received it.
    assert (item["actioned_at"], item["resolved_at"]) == (_z(actioned), _z(reported))
    assert (item["reported_late"], item["backdated"]) == (True, True)
    ev = (await events(db, "takedown.completed", o["id"]))[0].data
    assert (ev["verdict"], ev["on_time"], ev["items_backdated"]) == ("late", False, 1)
    # Reads agree, and the list shows the same verdict.
    got = (await client.get(f"/v1/takedown-orders/{o['id']}", headers=auth(w.keys.officer))).json()
    assert (got["verdict"], got["breached_at"]) == ("late", _z(DUE))
    listed = (await client.get("/v1/takedown-orders", headers=auth(w.authority_key))).json()["items"]
    assert (listed[0]["verdict"], listed[0]["items_backdated"]) == ("late", 1)


async def test_a_late_report_without_a_sweep_is_late_and_records_the_breach(client, db):
    clock.set_now(T0)
    w = await world(db)
    o = await _order(client, w)
    clock.set_now(DUE + H)
    r = await client.post(
        _res(o, 0),
        headers=auth(w.keys.platform),
        json={"outcome": "not_found", "actioned_at": (T0 + H).isoformat()},
    )
    done = r.json()
    assert (done["verdict"], done["on_time"], done["breached_at"]) == ("late", False, _z(DUE))
    assert done["items"][0]["backdated"] is True


async def test_a_report_at_the_due_instant_is_late_like_the_overdue_flag(client, db):
    clock.set_now(T0)
    w = await world(db)
    o = await _order(client, w)
    clock.set_now(DUE)
    assert (await client.get(f"/v1/takedown-orders/{o['id']}", headers=auth(w.keys.platform))).json()[
        "overdue"
    ] is True
    r = await client.post(_res(o, 0), headers=auth(w.keys.platform), json={"outcome": "removed"})
    assert r.json()["verdict"] == "late"
    # Acted at the due instant too: late, but not backdated (it does not claim an earlier time).
    assert (r.json()["items"][0]["reported_late"], r.json()["items"][0]["backdated"]) == (True, False)


async def test_reported_in_time_is_on_time_whatever_actioned_at_says(client, db):
    clock.set_now(T0)
    w = await world(db)
    o = await _order(client, w, n=2)
    clock.set_now(DUE - H)
    pk = auth(w.keys.platform)
    await client.post(_res(o, 0), headers=pk, json={"outcome": "removed"})
    r = await client.post(
        _res(o, 1), headers=pk, json={"outcome": "restricted", "actioned_at": (T0 - 24 * H).isoformat()}
    )
    done = r.json()
    assert (done["verdict"], done["on_time"], done["breached_at"], done["items_backdated"]) == (
        "on_time",
        True,
        None,
        0,
    )
    assert [(i["reported_late"], i["backdated"]) for i in done["items"]] == [(False, False)] * 2


async def test_all_contested_in_time_is_contested_not_on_time(client, db):
    clock.set_now(T0)
    w = await world(db)
    o = await _order(client, w, n=2)
    clock.advance(2 * H)
    pk = auth(w.keys.platform)
    for i in (0, 1):
        r = await client.post(_res(o, i), headers=pk, json={"outcome": "contested", "reason": "lawful"})
    done = r.json()
    assert (done["status"], done["verdict"], done["on_time"], done["breached_at"]) == (
        "completed",
        "contested",
        None,
        None,
    )
    ev = (await events(db, "takedown.completed", o["id"]))[0].data
    assert (ev["verdict"], ev["on_time"]) == ("contested", None)
    # A late refusal is a late answer.
    o2 = await client.post(
        "/v1/takedown-orders", headers=auth(w.authority_key), json=order_body(w.keys.platform_id, ref="R2")
    )
    clock.set_now(DUE + 2 * H)
    r = await client.post(_res(o2.json(), 0), headers=pk, json={"outcome": "contested", "reason": "lawful"})
    assert (r.json()["verdict"], r.json()["on_time"]) == ("late", False)


async def test_an_officers_correction_after_due_makes_it_late_for_good(client, db):
    clock.set_now(T0)
    w = await world(db)
    o = await _order(client, w)
    await client.post(_res(o, 0), headers=auth(w.keys.platform), json={"outcome": "contested", "reason": "x"})
    off = auth(w.keys.officer)
    # Before the deadline: contested -> removed moves the verdict to on_time.
    clock.advance(H)
    r = await client.post(_res(o, 0), headers=off, json={"outcome": "removed", "reason": "reviewed"})
    assert r.json()["verdict"] == "on_time"
    # After it: the corrected resolution reached vncomply late; so is the order, and it stays so.
    clock.set_now(DUE + H)
    r = await client.post(_res(o, 0), headers=off, json={"outcome": "restricted", "reason": "geo only"})
    assert (r.json()["verdict"], r.json()["breached_at"]) == ("late", _z(DUE))
    changes = [(a.details["from"], a.details["to"]) for a in await audits(db, "takedown.verdict_changed")]
    assert changes == [("contested", "on_time"), ("on_time", "late")]
    assert len(await events(db, "takedown.completed", o["id"])) == 1


def test_the_takedown_rules_say_the_verdict_is_judged_on_receipt():
    takedown_rules = [r for r in rulebook.RULES if r.topic.startswith("takedown.")]
    assert takedown_rules
    for rule in takedown_rules:
        assert rule.params["judged_on"] == verdict.JUDGED_ON
        assert "reaches vncomply" in rule.summary
