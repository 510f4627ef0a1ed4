"""Every figure of the compliance report against a month built through the API and computed by hand
(tests/reports/helpers.py); the period's edges at Vietnam midnight; who may read it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import auth
from tests.reports import helpers
from tests.reports.helpers import (
    EXPECTED_BLOCKS,
    EXPECTED_DISCLOSURES,
    EXPECTED_IDENTITIES,
    EXPECTED_TAKEDOWNS,
    EXPECTED_WEBHOOKS,
    PERIOD,
    REPORT_AT,
)
from vncomply.kit import clock


def url(platform_id: object, kind: str = "compliance") -> str:
    return f"/v1/platforms/{platform_id}/reports/{kind}"


async def test_every_figure_matches_the_hand_computed_month(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    w = await helpers.build(db, client)
    r = await client.get(url(w.keys.platform_id), params=PERIOD, headers=auth(w.keys.officer))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    doc = r.json()
    assert doc["kind"] == "compliance"
    assert doc["platform"] == {"id": str(w.keys.platform_id), "name": "ExampleSocial"}
    assert doc["period"] == {"from": "2026-11-01", "to": "2026-11-30", "timezone": "Asia/Ho_Chi_Minh"}
    assert datetime.fromisoformat(doc["generated_at"]) == REPORT_AT

    t = doc["takedowns"]
    assert t["by_authority"] == [
        {"authority_id": str(w.abei), "code": "ABEI", "orders": 3, "items": 5},
        {"authority_id": str(w.a05), "code": "MPS-A05", "orders": 2, "items": 4},
    ]
    hist = t.pop("time_to_removal_histogram")
    assert [b["items"] for b in hist] == EXPECTED_TAKEDOWNS["time_to_removal_histogram_items"]
    assert [(b["from_seconds"], b["to_seconds"]) for b in hist][:2] == [(0, 3600), (3600, 10800)]
    assert hist[-1] == {"from_seconds": 172800, "to_seconds": None, "items": 0}
    expected = {k: v for k, v in EXPECTED_TAKEDOWNS.items() if k != "time_to_removal_histogram_items"}
    assert {k: v for k, v in t.items() if k != "by_authority"} == expected
    assert doc["blocks"] == EXPECTED_BLOCKS
    assert doc["disclosures"] == EXPECTED_DISCLOSURES
    assert doc["identities"] == EXPECTED_IDENTITIES
    assert doc["webhooks"] == EXPECTED_WEBHOOKS

    # The other platform's order is in its own report only.
    r = await client.get(url(w.other.platform_id), params=PERIOD, headers=auth(w.other.officer))
    assert r.json()["takedowns"]["orders_received"] == 1
    assert r.json()["takedowns"]["items_received"] == 4


async def test_period_edges_are_vietnam_midnights(db: AsyncSession, client: httpx.AsyncClient) -> None:
    w = await helpers.make_world(db)
    # 23:59:59 and 00:00:00 in Vietnam on each side of 1 November, and of 2 November.
    for n, t in enumerate(
        (
            datetime(2026, 10, 31, 16, 59, 59, tzinfo=UTC),
            datetime(2026, 10, 31, 17, 0, 0, tzinfo=UTC),
            datetime(2026, 11, 1, 16, 59, 59, tzinfo=UTC),
            datetime(2026, 11, 1, 17, 0, 0, tzinfo=UTC),
        )
    ):
        helpers.at(t)
        await helpers.order(client, w.abei_key, w.keys.platform_id, f"EDGE-{n}", n + 1)
    helpers.at(datetime(2026, 11, 3, 3, 0, tzinfo=UTC))

    async def received(first: str, last: str) -> tuple[int, int]:
        r = await client.get(
            url(w.keys.platform_id), params={"from": first, "to": last}, headers=auth(w.keys.officer)
        )
        assert r.status_code == 200, r.text
        t = r.json()["takedowns"]
        return t["orders_received"], t["items_received"]

    assert await received("2026-10-31", "2026-10-31") == (1, 1)
    assert await received("2026-11-01", "2026-11-01") == (2, 2 + 3)
    assert await received("2026-11-02", "2026-11-02") == (1, 4)
    assert await received("2026-10-31", "2026-11-02") == (4, 10)


async def test_period_defaults_and_limits(db: AsyncSession, client: httpx.AsyncClient) -> None:
    w = await helpers.make_world(db)
    clock.set_now(datetime(2026, 11, 30, 17, 30, tzinfo=UTC))  # already 1 December in Vietnam
    h = auth(w.keys.officer)
    r = await client.get(url(w.keys.platform_id), headers=h)
    assert r.json()["period"] == {"from": "2026-11-01", "to": "2026-12-01", "timezone": "Asia/Ho_Chi_Minh"}
    r = await client.get(url(w.keys.platform_id), params={"to": "2026-06-30"}, headers=h)
    assert r.json()["period"]["from"] == "2026-05-31"
    r = await client.get(
        url(w.keys.platform_id), params={"from": "2026-11-02", "to": "2026-11-01"}, headers=h
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "from"
    last = date(2026, 11, 30)
    ok = (last - timedelta(days=399)).isoformat()
    too_long = (last - timedelta(days=400)).isoformat()
    r = await client.get(url(w.keys.platform_id), params={"from": ok, "to": last.isoformat()}, headers=h)
    assert r.status_code == 200
    r = await client.get(
        url(w.keys.platform_id), params={"from": too_long, "to": last.isoformat()}, headers=h
    )
    assert r.status_code == 422
    assert "401 days" in r.json()["detail"]
    for bad in (
        {"from": "2026-13-01"},
        {"format": "pdf"},
        {"lang": "fr"},
        {"from": "0001-01-01", "to": "0001-01-02"},
        {"from": "9999-12-30", "to": "9999-12-31"},
    ):
        assert (await client.get(url(w.keys.platform_id), params=bad, headers=h)).status_code == 422


async def test_only_this_platforms_officer_or_an_admin(db: AsyncSession, client: httpx.AsyncClient) -> None:
    w = await helpers.make_world(db)
    mine = url(w.keys.platform_id)
    assert (await client.get(mine, headers=auth(w.keys.officer))).status_code == 200
    assert (await client.get(mine, headers=auth(w.admin))).status_code == 200
    # Another tenant's report is a 404, in every format and for the annual report too.
    for fmt in ("json", "csv", "html"):
        r = await client.get(mine, params={"format": fmt}, headers=auth(w.other.officer))
        assert r.status_code == 404, fmt
    r = await client.get(
        url(w.keys.platform_id, "annual"), params={"year": 2026}, headers=auth(w.other.officer)
    )
    assert r.status_code == 404
    assert (await client.get(url(helpers.uuid.uuid4()), headers=auth(w.admin))).status_code == 404
    # Platform backends and authorities do not read reports.
    assert (await client.get(mine, headers=auth(w.keys.platform))).status_code == 403
    assert (await client.get(mine, headers=auth(w.abei_key))).status_code == 403
    assert (await client.get(mine)).status_code == 401


async def test_annual_report_adds_the_service(db: AsyncSession, client: httpx.AsyncClient) -> None:
    w = await helpers.build(db, client)
    h = auth(w.keys.officer)
    r = await client.get(url(w.keys.platform_id, "annual"), params={"year": 2026}, headers=h)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["kind"] == "annual"
    assert doc["period"] == {"from": "2026-01-01", "to": "2026-12-31", "timezone": "Asia/Ho_Chi_Minh"}
    # O0 (31 October) is in the year: six orders.
    assert doc["takedowns"]["orders_received"] == 6
    assert doc["blocks"] == EXPECTED_BLOCKS
    filed = doc["service"].pop("contact_filed_at")
    assert datetime.fromisoformat(filed) == helpers.T0 - timedelta(days=3)
    assert doc["service"] == {
        "legal_name": "ExampleSocial Inc.",
        "contact_point": {
            "name": "Tran Thi B",
            "email": "c@example.com",
            "phone": "+84 24 3825 0000",
            "address": "Ha Noi",
        },
        "monthly_vn_visits": 500000,
        "stores_data_in_vn": False,
        "in_scope_since": "2025-01-01",
        # At year end (the year is not over: now) the closed and the revoked account do not count.
        "accounts_by_method_at_year_end": {"national_id": 1, "sms_otp": 3},
    }
    # 2025: nothing had happened yet (every account was verified in 2026).
    r = await client.get(url(w.keys.platform_id, "annual"), params={"year": 2025}, headers=h)
    assert r.json()["takedowns"]["orders_received"] == 0
    assert r.json()["takedowns"]["on_time_rate"] is None
    assert r.json()["service"]["accounts_by_method_at_year_end"] == {}
    # A year that has not started (in Vietnam) is a 422.
    r = await client.get(url(w.keys.platform_id, "annual"), params={"year": 2027}, headers=h)
    assert r.status_code == 422
    clock.set_now(datetime(2026, 12, 31, 17, 0, tzinfo=UTC))  # 1 January 2027, 00:00 in Vietnam
    r = await client.get(url(w.keys.platform_id, "annual"), params={"year": 2027}, headers=h)
    assert r.status_code == 200
