"""The filing clock with the clock moved: due_soon 30, 7 and 1 days before, overdue at due_at, and
`filed` (once; the contact point sets the platform's contact_filed_at)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.factories import auth
from tests.filings.helpers import T0, audits, events, one, run_clock, tenant
from vncomply.deadlines.engine import sweep
from vncomply.filings import deadline
from vncomply.filings.models import Filing
from vncomply.kit import clock

DUE = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)  # the contact point of a platform in scope since 1 Oct
D = timedelta(days=1)


async def test_due_soon_at_30_7_1_days_then_overdue(client, db) -> None:
    clock.set_now(T0)
    t = await tenant(client, db)
    fid = (await one(client, t, "contact_point"))["id"]
    for at, expect in [(DUE - 30 * D - timedelta(seconds=1), 0), (DUE - 30 * D, 1), (DUE - 8 * D, 1),
                       (DUE - 7 * D, 2), (DUE - 1 * D, 3), (DUE - timedelta(seconds=1), 3)]:  # fmt: skip
        clock.set_now(at)
        await run_clock()
        assert len(await events(db, "filing.due_soon", fid)) == expect, at
    fired = await events(db, "filing.due_soon", fid)
    assert [e.data["days_before"] for e in fired] == [30, 7, 1]
    assert [e.data["remaining_seconds"] for e in fired] == [30 * 86400, 7 * 86400, 86400]
    assert fired[0].data["kind"] == "contact_point"
    assert fired[0].data["rule_id"] == "filing.v1"
    assert await events(db, "filing.overdue", fid) == []
    clock.set_now(DUE)
    await run_clock()
    [over] = await events(db, "filing.overdue", fid)
    assert over.data["overdue_at"] == DUE.isoformat()
    got = await one(client, t, "contact_point")
    assert got["overdue"] is True
    assert got["overdue_at"] == "2026-11-29T17:00:00Z"
    assert got["remaining_seconds"] == 0
    clock.advance(10 * D)
    await run_clock()
    assert len(await events(db, "filing.overdue", fid)) == 1  # once
    assert len(await audits(db, "filing.overdue")) == 1


async def test_overdue_shows_without_a_sweep(client, db) -> None:
    clock.set_now(T0)
    t = await tenant(client, db)
    clock.set_now(DUE + timedelta(hours=1))
    got = await one(client, t, "contact_point")
    assert got["overdue"] is True
    assert got["overdue_at"] is None
    assert got["remaining_seconds"] == -3600


async def test_a_late_sweep_fires_only_the_latest_reminder(client, db) -> None:
    clock.set_now(T0)
    t = await tenant(client, db)
    fid = (await one(client, t, "contact_point"))["id"]
    clock.set_now(DUE - 3 * D)
    await run_clock()
    assert [e.data["days_before"] for e in await events(db, "filing.due_soon", fid)] == [7]
    clock.set_now(DUE + D)
    await run_clock()
    assert len(await events(db, "filing.due_soon", fid)) == 1  # the 1-day one is moot now
    assert len(await events(db, "filing.overdue", fid)) == 1


async def test_filed_contact_point_stops_the_clock_and_allows_livestream(client, db) -> None:
    clock.set_now(T0)
    t = await tenant(client, db)
    contact = await one(client, t, "contact_point")
    url = f"/v1/platforms/{t.platform_id}/filings/{contact['id']}/filed"
    r = await client.put("/v1/identities/acct-1", headers=auth(t.platform), json={
        "full_name": "Nguyễn Văn An", "date_of_birth": "1990-05-17", "phone_number": "0912345678",
        "verification": {"method": "sms_otp", "verified_at": T0.isoformat()}})  # fmt: skip
    assert r.status_code in (200, 201), r.text
    perms = "/v1/accounts/acct-1/permissions"
    before = (await client.get(perms, headers=auth(t.platform))).json()["actions"]
    assert before["livestream"] == {"allowed": False, "reason": "platform_contact_not_filed"}

    clock.set_now(DUE - 10 * D)
    bad = [
        ({"filed_at": (DUE - 9 * D).isoformat(), "reference": "F10-1"}, "filed_at"),  # future
        ({"filed_at": T0.isoformat(), "reference": "F10-1", "report_id": str(contact["id"])}, "report_id"),
    ]
    for body, field in bad:
        r = await client.post(url, headers=auth(t.officer), json=body)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == field
    r = await client.post(
        url, headers=auth(t.officer), json={"filed_at": (DUE - 11 * D).isoformat(), "reference": "F10-1"}
    )
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["status"] == "filed"
    assert f["filed_late"] is False
    assert f["reference"] == "F10-1"
    assert f["remaining_seconds"] is None
    assert f["overdue"] is False
    p = (await client.get(f"/v1/platforms/{t.platform_id}", headers=auth(t.admin))).json()
    assert p["contact_filed_at"] == f["filed_at"]
    assert p["livestream_allowed"] is True
    after = (await client.get(perms, headers=auth(t.platform))).json()["actions"]
    assert after["livestream"] == {"allowed": True, "reason": None}
    [filed] = await events(db, "filing.filed", contact["id"])
    assert filed.data["reference"] == "F10-1"
    assert filed.data["late"] is False
    [audit] = await audits(db, "filing.filed")
    assert audit.actor_role == "officer"

    r = await client.post(
        url, headers=auth(t.officer), json={"filed_at": T0.isoformat(), "reference": "F10-2"}
    )
    assert r.status_code == 409, r.text
    assert r.json()["current_state"] == "filed"
    clock.set_now(DUE + 5 * D)
    await run_clock()
    assert await events(db, "filing.due_soon", contact["id"]) == []
    assert await events(db, "filing.overdue", contact["id"]) == []


async def test_annual_report_links_a_snapshot_and_can_be_filed_late(client, db) -> None:
    clock.set_now(T0)
    t = await tenant(client, db)
    annual = await one(client, t, "annual_report")
    clock.set_now(datetime(2027, 2, 3, tzinfo=UTC))
    snapshot = "4b0c2c9e-5d43-4f83-9d61-1c2d9ad0a001"
    r = await client.post(
        f"/v1/platforms/{t.platform_id}/filings/{annual['id']}/filed",
        headers=auth(t.admin),
        json={"filed_at": "2027-02-02T00:00:00Z", "reference": "ABEI-AR-2026", "report_id": snapshot},
    )
    assert r.status_code == 200, r.text
    assert r.json()["report_id"] == snapshot
    assert r.json()["filed_late"] is True


async def test_stuck_filing_is_repaired(client, db) -> None:
    clock.set_now(T0)
    t = await tenant(client, db)
    fid = (await one(client, t, "contact_point"))["id"]
    row = (await db.scalars(select(Filing).where(Filing.id == fid))).one()
    row.next_action_at = None
    await db.flush()
    clock.set_now(DUE + D)
    res = await sweep(None, clock.now(), names=[deadline.HANDLER_NAME], record=False)
    assert next(h for h in res.handlers if h.handler == deadline.HANDLER_NAME).repaired == 1
    assert len(await events(db, "filing.overdue", fid)) == 1
