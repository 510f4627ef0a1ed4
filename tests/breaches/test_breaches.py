"""Breach notices: 72 hours from detection by the rule in force at detection, reminders at 50/75/90 %,
overdue at due, the notice (late_reason when late), lists, and no personal data in the record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.breaches.helpers import T0, breach_body, events, run_clock
from tests.factories import admin_key, auth, platform_keys
from vncomply.audit.models import AuditEvent
from vncomply.kit import clock

H = timedelta(hours=1)


async def _create(client, key: str, **kw):  # type: ignore[no-untyped-def]
    r = await client.post("/v1/breaches", headers=auth(key), json=breach_body(**kw))
    assert r.status_code == 201, r.text
    return r.json()


async def test_record_and_72_hour_clock(client, db) -> None:
    clock.set_now(T0 + 2 * H)
    k = await platform_keys(db)
    b = await _create(client, k.officer)
    assert b["due_at"] == "2026-11-28T08:00:00Z"  # 72 h from detected_at, not from recording
    assert b["rule"] == {"id": "breach_notice.v1", "hours": 72}
    assert b["status"] == "open"
    assert b["remaining_seconds"] == 70 * 3600
    assert b["subjects_affected"] == 1200
    assert b["data_categories"] == ["contact", "identity"]
    [audit] = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "breach.recorded"))).all()
    assert audit.actor_role == "officer"
    got = await client.get(f"/v1/breaches/{b['id']}", headers=auth(k.officer))
    assert got.status_code == 200
    assert got.json()["description"] == b["description"]


@pytest.mark.parametrize(
    ("detected_at", "rule"),
    [
        ("2025-12-31T16:59:59Z", "breach_notice.v0"),  # 23:59:59 on 31 Dec 2025 in Vietnam: Decree 13
        ("2025-12-31T17:00:00Z", "breach_notice.v1"),  # 1 Jan 2026 00:00: PDPL + Decree 356
        ("2023-06-30T17:00:00Z", "breach_notice.v0"),  # Decree 13's first instant
    ],
)
async def test_rule_in_force_at_detection(client, db, detected_at: str, rule: str) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    b = await _create(client, k.officer, detected_at=detected_at, occurred_at=None)
    assert b["rule"]["id"] == rule
    detected = datetime.fromisoformat(detected_at)
    assert datetime.fromisoformat(b["due_at"]) == detected + 72 * H
    assert b["overdue"] is True  # long past, and right before any sweep


async def test_bad_times_are_422(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    cases = [
        ({"detected_at": (T0 + H).isoformat()}, "detected_at"),
        ({"detected_at": "2023-06-30T16:59:59Z", "occurred_at": None}, "detected_at"),  # before Decree 13
        ({"occurred_at": (T0 + H).isoformat(), "detected_at": T0.isoformat()}, "occurred_at"),
    ]
    for kw, field in cases:
        r = await client.post("/v1/breaches", headers=auth(k.officer), json=breach_body(**kw))
        assert r.status_code == 422, kw
        assert r.json()["errors"][0]["field"] == field
    r = await client.post("/v1/breaches", headers=auth(k.officer), json=breach_body(subjects_affected=-1))
    assert r.status_code == 422
    r = await client.post(
        "/v1/breaches", headers=auth(k.officer), json=breach_body(subjects_affected="unknown")
    )
    assert r.status_code == 201
    assert r.json()["subjects_affected"] == "unknown"


@pytest.mark.parametrize(
    "text",
    [
        "Leaked: the account of 0912 345 678 and others",
        "Owner +84912345678 reported it",
        "Victim ID 001099012345 exposed",
        "Reported by nguyen.van.an@example.com",
    ],
)
async def test_no_personal_data_of_the_people_affected(client, db, text: str) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    for field in ("description", "measures"):
        r = await client.post("/v1/breaches", headers=auth(k.officer), json=breach_body(**{field: text}))
        assert r.status_code == 422, r.text
        problem = r.json()
        assert problem["errors"][0]["field"] == f"body.{field}"
        assert "personal data" in problem["errors"][0]["message"]
        assert text not in r.text  # never echoed
    # Counts, dates and times are fine.
    fine = "About 120,000 accounts; detected 2026-11-25 08:00 by the SIEM; 3 buckets, 12 tables"
    await _create(client, k.officer, description=fine)


async def test_reminders_at_50_75_90_then_overdue(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    bid = (await _create(client, k.officer))["id"]
    for hours, expect in [(35.9, 0), (36, 1), (53.9, 1), (54, 2), (64.8, 3), (71.9, 3)]:
        clock.set_now(T0 + hours * H)
        await run_clock()
        assert len(await events(db, "breach.deadline_approaching", bid)) == expect, hours
    fired = await events(db, "breach.deadline_approaching", bid)
    assert [e.data["fraction"] for e in fired] == [0.5, 0.75, 0.9]
    assert [e.data["remaining_seconds"] for e in fired] == [36 * 3600, 18 * 3600, int(7.2 * 3600)]
    clock.set_now(T0 + 72 * H)
    await run_clock()
    [over] = await events(db, "breach.overdue", bid)
    assert over.data["overdue_at"] == "2026-11-28T08:00:00+00:00"
    clock.advance(24 * H)
    await run_clock()
    assert len(await events(db, "breach.overdue", bid)) == 1
    b = (await client.get(f"/v1/breaches/{bid}", headers=auth(k.officer))).json()
    assert b["overdue"] is True
    assert b["overdue_at"] == "2026-11-28T08:00:00Z"


async def test_late_sweep_fires_only_overdue(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    bid = (await _create(client, k.officer))["id"]
    clock.set_now(T0 + 100 * H)
    await run_clock()
    assert await events(db, "breach.deadline_approaching", bid) == []
    assert len(await events(db, "breach.overdue", bid)) == 1


async def test_notified_in_time(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    bid = (await _create(client, k.officer))["id"]
    clock.set_now(T0 + 40 * H)
    url = f"/v1/breaches/{bid}/notified"
    r = await client.post(url, headers=auth(k.officer), json={"notified_at": (T0 + 39 * H).isoformat(),
                                                                "reference": "A05-1187"})  # fmt: skip
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["status"] == "notified"
    assert b["notified_late"] is False
    assert b["backdated"] is False
    assert b["remaining_seconds"] is None
    [ev] = await events(db, "breach.notified", bid)
    assert ev.data["reference"] == "A05-1187"
    assert ev.data["late"] is False
    r = await client.post(
        url, headers=auth(k.officer), json={"notified_at": T0.isoformat(), "reference": "x"}
    )
    assert r.status_code == 409
    clock.set_now(T0 + 80 * H)
    await run_clock()
    assert await events(db, "breach.overdue", bid) == []  # the clock stopped


async def test_a_late_notice_needs_its_reason(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    bid = (await _create(client, k.officer))["id"]
    clock.set_now(T0 + 80 * H)
    url = f"/v1/breaches/{bid}/notified"
    late = {"notified_at": (T0 + 75 * H).isoformat(), "reference": "A05-1190"}
    r = await client.post(url, headers=auth(k.officer), json=late)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "late_reason"
    assert "late_reason" in r.json()["detail"]
    r = await client.post(
        url, headers=auth(k.officer), json={**late, "late_reason": "Scope unclear until day 3"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["notified_late"] is True
    assert r.json()["late_reason"] == "Scope unclear until day 3"


async def test_notified_at_bounds_and_backdating(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    bid = (await _create(client, k.officer))["id"]
    url = f"/v1/breaches/{bid}/notified"
    for at in (T0 + H, T0 - H):  # in the future; before the detection
        r = await client.post(
            url, headers=auth(k.officer), json={"notified_at": at.isoformat(), "reference": "x"}
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "notified_at"
    clock.set_now(T0 + 90 * H)
    await run_clock()  # overdue recorded
    r = await client.post(
        url, headers=auth(k.officer), json={"notified_at": (T0 + 60 * H).isoformat(), "reference": "A05"}
    )
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["notified_late"] is False
    assert b["backdated"] is True  # recorded after due_at with a notified_at before it
    assert b["overdue_at"] == "2026-11-28T08:00:00Z"  # the sweep's record is never cleared


async def test_lists_filters_and_pages(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    ids = [
        (await _create(client, k.officer, detected_at=(T0 - d * 24 * H).isoformat(), occurred_at=None))["id"]
        for d in range(5)
    ]  # detected today … 4 days ago: the oldest is due first
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/breaches", headers=auth(k.officer), params=params)).json()
        seen += [b["id"] for b in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    overdue = (await client.get("/v1/breaches", headers=auth(k.officer), params={"overdue": "true"})).json()
    assert [b["id"] for b in overdue["items"]] == [ids[4], ids[3]]  # 96 h and 72 h ago
    since = (T0 - 30 * H).isoformat()
    recent = (
        await client.get("/v1/breaches", headers=auth(k.officer), params={"detected_after": since})
    ).json()
    assert {b["id"] for b in recent["items"]} == {ids[0], ids[1]}
    await client.post(
        f"/v1/breaches/{ids[0]}/notified", headers=auth(k.officer),
        json={"notified_at": T0.isoformat(), "reference": "A05"},
    )  # fmt: skip
    notified = (
        await client.get("/v1/breaches", headers=auth(k.officer), params={"status": "notified"})
    ).json()
    assert [b["id"] for b in notified["items"]] == [ids[0]]
    admin = await admin_key(db)
    r = await client.get("/v1/breaches", headers=auth(admin), params={"platform_id": str(k.platform_id)})
    assert len(r.json()["items"]) == 5


async def test_tenants_and_roles(client, db) -> None:
    clock.set_now(T0)
    a = await platform_keys(db, "A")
    b = await platform_keys(db, "B")
    bid = (await _create(client, b.officer))["id"]
    assert (await client.get(f"/v1/breaches/{bid}", headers=auth(a.officer))).status_code == 404
    r = await client.post(
        f"/v1/breaches/{bid}/notified",
        headers=auth(a.officer),
        json={"notified_at": T0.isoformat(), "reference": "x"},
    )
    assert r.status_code == 404
    assert (await client.get("/v1/breaches", headers=auth(a.officer))).json()["items"] == []
    r = await client.post("/v1/breaches", headers=auth(a.platform), json=breach_body())
    assert r.status_code == 403  # officers record breaches


def test_due_instants_use_detected_at_not_now() -> None:
    from vncomply.rulebook import rules

    rule, due = rules.deadline("breach_notice", datetime(2025, 6, 1, tzinfo=UTC))
    assert rule.source.startswith("Decree 13/2023")
    assert due == datetime(2025, 6, 4, tzinfo=UTC)
