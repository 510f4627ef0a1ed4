"""Which filings vncomply opens by itself: the contact point when a platform comes in scope (exactly
once), the annual report per calendar year while in scope; officers open the impact assessments."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import auth
from tests.filings.helpers import T0, audits, filings, one, run_clock, tenant
from vncomply.kit import clock


async def test_registration_in_scope_opens_contact_point_and_this_years_report(client, db) -> None:
    clock.set_now(T0)
    t = await tenant(client, db)
    got = await filings(client, t)
    assert [f["kind"] for f in got] == ["contact_point", "annual_report"]  # soonest due first
    contact, annual = got
    assert contact["due_at"] == "2026-11-29T17:00:00Z"  # 60 days from 1 Oct 2026, Vietnam time
    assert contact["starts_at"] == "2026-09-30T17:00:00Z"
    assert contact["rule"] == {"id": "filing.v1", "days": 60, "confidence": "high"}
    assert contact["status"] == "pending"
    assert contact["overdue"] is False
    assert contact["remaining_seconds"] == 28 * 86400 + 14 * 3600  # read at 1 Nov 03:00 UTC
    assert annual["period_year"] == 2026
    assert annual["due_at"] == "2027-01-31T17:00:00Z"  # by the end of 31 January 2027, Vietnam time
    assert annual["rule"] == {"id": "annual_report.v1", "days": None, "confidence": "unconfirmed"}
    # The platform view shows the same Form No. 10 date.
    p = (await client.get(f"/v1/platforms/{t.platform_id}", headers=auth(t.admin))).json()
    assert p["filing_due_at"] == contact["due_at"]
    assert len(await audits(db, "filing.opened")) == 2


async def test_contact_point_is_opened_exactly_once(client, db) -> None:
    clock.set_now(T0)
    t = await tenant(client, db)
    first = await one(client, t, "contact_point")
    url = f"/v1/platforms/{t.platform_id}"
    for visits in (10, 300_000, 10, 400_000):  # out of scope and back, twice
        r = await client.patch(url, headers=auth(t.admin), json={"monthly_vn_visits": visits})
        assert r.status_code == 200, r.text
    again = await one(client, t, "contact_point")
    assert again["id"] == first["id"]
    assert len(await filings(client, t, kind="annual_report")) == 1
    assert len(await audits(db, "filing.opened")) == 2


async def test_coming_in_scope_later_opens_them_then(client, db) -> None:
    clock.set_now(T0)
    t = await tenant(client, db, monthly_vn_visits=50_000, in_scope_since=None)
    assert await filings(client, t) == []
    clock.set_now(T0 + timedelta(days=3))  # 4 Nov 2026
    r = await client.patch(
        f"/v1/platforms/{t.platform_id}", headers=auth(t.admin), json={"monthly_vn_visits": 150_000}
    )
    assert r.status_code == 200, r.text
    assert r.json()["in_scope_since"] == "2026-11-04"  # the day vncomply saw it come in scope
    contact = await one(client, t, "contact_point")
    assert contact["due_at"] == "2027-01-02T17:00:00Z"
    assert (await one(client, t, "annual_report"))["period_year"] == 2026


async def test_correcting_in_scope_since_retimes_the_pending_contact_point(client, db) -> None:
    clock.set_now(T0)
    t = await tenant(client, db)
    before = await one(client, t, "contact_point")
    r = await client.patch(
        f"/v1/platforms/{t.platform_id}", headers=auth(t.admin), json={"in_scope_since": "2026-10-15"}
    )
    assert r.status_code == 200, r.text
    after = await one(client, t, "contact_point")
    assert after["id"] == before["id"]
    assert after["due_at"] == "2026-12-13T17:00:00Z" == r.json()["filing_due_at"]
    [retimed] = await audits(db, "filing.retimed")
    assert retimed.details["due_at_before"] == "2026-11-29T17:00:00+00:00"


async def test_registered_as_already_filed(client, db) -> None:
    clock.set_now(T0)
    t = await tenant(client, db, contact_filed_at="2026-10-20T02:00:00Z")
    contact = await one(client, t, "contact_point")
    assert contact["status"] == "filed"
    assert contact["filed_at"] == "2026-10-20T02:00:00Z"
    assert contact["remaining_seconds"] is None
    assert contact["filed_late"] is False
    r = await client.post(
        "/v1/platforms", headers=auth(t.admin), json={"name": "Later", "legal_name": "L",
         "contact_point": {"name": "A", "email": "a@example.com", "phone": "+84 24 3825 0000",
                           "address": "HN"}, "monthly_vn_visits": 200_000,
         "contact_filed_at": (T0 + timedelta(hours=1)).isoformat()},
    )  # fmt: skip
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "contact_filed_at"


async def test_contact_filed_at_is_no_longer_patched_directly(client, db) -> None:
    clock.set_now(T0)
    t = await tenant(client, db)
    r = await client.patch(
        f"/v1/platforms/{t.platform_id}", headers=auth(t.admin), json={"contact_filed_at": T0.isoformat()}
    )
    assert r.status_code == 422  # filing it goes through the filings resource


async def test_annual_report_rolls_over_at_the_year_end_while_in_scope(client, db) -> None:
    clock.set_now(T0)
    t = await tenant(client, db)
    clock.set_now(T0.replace(month=12, day=31, hour=16, minute=59))  # 23:59 on 31 Dec, Vietnam
    await run_clock()
    assert len(await filings(client, t, kind="annual_report")) == 1
    clock.set_now(T0.replace(month=12, day=31, hour=17))  # 1 Jan 2027, 00:00 Vietnam
    await run_clock()
    years = [f["period_year"] for f in await filings(client, t, kind="annual_report")]
    assert years == [2026, 2027]
    clock.advance(timedelta(days=2))
    await run_clock()
    assert len(await filings(client, t, kind="annual_report")) == 2  # opened once


async def test_no_next_year_out_of_scope(client, db) -> None:
    clock.set_now(T0)
    t = await tenant(client, db)
    await client.patch(f"/v1/platforms/{t.platform_id}", headers=auth(t.admin), json={"monthly_vn_visits": 5})
    clock.set_now(T0.replace(year=2027, month=1, day=2))
    await run_clock()
    assert [f["period_year"] for f in await filings(client, t, kind="annual_report")] == [2026]
    # Back in scope in 2027: the update opens the 2027 report.
    await client.patch(
        f"/v1/platforms/{t.platform_id}", headers=auth(t.admin), json={"monthly_vn_visits": 500_000}
    )
    years = [f["period_year"] for f in await filings(client, t, kind="annual_report")]
    assert years == [2026, 2027]


async def test_annual_report_due_date_is_a_setting(client, db, monkeypatch) -> None:
    from vncomply.config import reset_settings

    monkeypatch.setenv("VNCOMPLY_ANNUAL_REPORT_DUE", "03-15")
    reset_settings()
    try:
        clock.set_now(T0)
        t = await tenant(client, db)
        assert (await one(client, t, "annual_report"))["due_at"] == "2027-03-15T17:00:00Z"
    finally:
        monkeypatch.delenv("VNCOMPLY_ANNUAL_REPORT_DUE")
        reset_settings()


def test_annual_report_due_setting_must_be_a_day(monkeypatch) -> None:
    import pytest
    from pydantic import ValidationError

    from vncomply.config import Settings

    for bad in ("02-29", "13-01", "1-31"):
        monkeypatch.setenv("VNCOMPLY_ANNUAL_REPORT_DUE", bad)
        with pytest.raises(ValidationError):
            Settings()


async def test_officer_opens_impact_assessments(client, db) -> None:
    clock.set_now(T0)
    t = await tenant(client, db)
    url = f"/v1/platforms/{t.platform_id}/filings"
    r = await client.post(
        url,
        headers=auth(t.officer),
        json={"kind": "transfer_impact", "starts_at": "2026-10-20T00:00:00Z", "description": "SG replica"},
    )
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["due_at"] == "2026-12-19T00:00:00Z"  # 60 days after the transfer started
    assert f["rule"] == {"id": "transfer_impact.v1", "days": 60, "confidence": "medium"}
    # Processing that started before PDPL 91/2025: the 60 days run from the law's start.
    r = await client.post(
        url, headers=auth(t.officer), json={"kind": "dpia", "starts_at": "2025-06-01T00:00:00Z"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["starts_at"] == "2025-12-31T17:00:00Z"
    assert r.json()["due_at"] == "2026-03-01T17:00:00Z"
    assert r.json()["overdue"] is True  # right at read time, before any sweep
    for bad in (
        {"kind": "contact_point", "starts_at": "2026-10-20T00:00:00Z"},
        {"kind": "dpia", "starts_at": "2028-01-01T00:00:00Z"},
        {"kind": "dpia"},
    ):
        r = await client.post(url, headers=auth(t.officer), json=bad)
        assert r.status_code == 422, bad


async def test_other_tenants_and_roles(client, db) -> None:
    clock.set_now(T0)
    a = await tenant(client, db)
    b = await tenant(client, db, name="OtherCo")
    contact_b = await one(client, b, "contact_point")
    r = await client.get(f"/v1/platforms/{b.platform_id}/filings", headers=auth(a.officer))
    assert r.status_code == 404
    r = await client.post(
        f"/v1/platforms/{b.platform_id}/filings/{contact_b['id']}/filed",
        headers=auth(a.officer),
        json={"filed_at": T0.isoformat(), "reference": "X"},
    )
    assert r.status_code == 404
    r = await client.get(f"/v1/platforms/{a.platform_id}/filings/{contact_b['id']}", headers=auth(a.officer))
    assert r.status_code == 404  # another platform's filing under one's own platform id
    r = await client.get(f"/v1/platforms/{a.platform_id}/filings", headers=auth(a.platform))
    assert r.status_code == 403  # officers and admins only
    r = await client.get(f"/v1/platforms/{b.platform_id}/filings", headers=auth(a.admin))
    assert r.status_code == 200
    assert len(r.json()["items"]) == 2


async def test_list_pages_and_filters(client, db) -> None:
    clock.set_now(T0)
    t = await tenant(client, db)
    url = f"/v1/platforms/{t.platform_id}/filings"
    for day in range(1, 4):
        await client.post(
            url, headers=auth(t.officer), json={"kind": "dpia", "starts_at": f"2026-10-0{day}T00:00:00Z"}
        )
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(url, headers=auth(t.officer), params=params)).json()
        seen += [f["id"] for f in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    assert len(await filings(client, t, kind="dpia")) == 3
    assert len(await filings(client, t, status="pending", due_before="2026-12-02T00:00:00Z")) == 3
    assert await filings(client, t, overdue="true") == []
    clock.set_now(T0 + timedelta(days=60))
    assert [f["kind"] for f in await filings(client, t, overdue="true")] == ["contact_point"] + ["dpia"] * 3
