"""A month of one platform's compliance life, made through the HTTP API with the clock moved, and
the figures its report must show, computed by hand (see ``EXPECTED``'s comments).

Timeline (T0 = 2026-11-02 10:00 Vietnam time; the report is read at T0 + 10 days, period
2026-11-01 to 2026-11-30):

takedowns (standard 24 h; emergency 6 h)
  O0  ABEI  fraud      2026-10-31 23:59:59 VN: one second before the period, never counted
  O1  ABEI  fraud      T0      2 items: removed +2 h, restricted +4 h      -> on time
  O2  ABEI  gambling   T0+1h   1 item: removed at +30 h saying "at +24 h 59 min" -> late, backdated
  O3  A05   nat. sec.  T0+2h   emergency, 3 items: removed +1 h, not_found +2 h, contested +3 h -> on time
  O4  A05   fraud      T0+3h   1 item: contested +5 h                      -> every item contested
  O5  ABEI  fraud      T0+4h   2 items: removed +6 h, one pending          -> open, overdue now
blocks: B1 ABEI 15 days (lifted at +1 day), B2 A05 permanent, B4 ABEI 30 days, B3 a rule lock
  (7 days, from 5 violations at +6 h: expired by the time of the report)
disclosures: D1 approved after 2 h, D2 partially approved after 4 h, D3 rejected after 1 h,
  D4 pending, D5 no data after 6 h
identities: 4 verified (3 by SMS OTP, 1 by ID number, one of them a minor with a guardian),
  1 closed, 1 revoked
webhooks: two endpoints subscribed to disclosure.decided; the second is disabled before sending:
  4 delivered, 4 failed
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Keys, auth, make_authority, platform_keys
from vncomply.audit import service as audit_service
from vncomply.events import delivery
from vncomply.kit import clock
from vncomply.kit.db import session_scope

T0 = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
REPORT_AT = T0 + timedelta(days=10)
H = timedelta(hours=1)
PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}
GUARDIAN = {"full_name": "Nguyễn Thị Bình", "date_of_birth": "1985-02-03", "phone_number": "0987000111",
            "relationship": "mother"}  # fmt: skip


@dataclass
class World:
    keys: Keys
    other: Keys
    abei: uuid.UUID
    abei_key: str
    a05: uuid.UUID
    a05_key: str
    admin: str


def at(t: datetime) -> None:
    clock.set_now(t)


async def order(
    client: httpx.AsyncClient, key: str, platform_id: uuid.UUID, ref: str, n: int, **kw: Any
) -> Any:
    body = {
        "platform_id": str(platform_id),
        "reference_no": ref,
        "channel": "electronic",
        "urgency": "standard",
        "category": "fraud",
        "legal_basis": "Decree 147/2024 Art. 23",
        "items": [
            {
                "content_url": f"https://social.example/{ref}/{i}",
                "account_id": f"{ref}-{i}",
                "subject_type": "post",
            }
            for i in range(n)
        ],
        **kw,
    }
    r = await client.post("/v1/takedown-orders", json=body, headers=auth(key))
    assert r.status_code == 201, r.text
    return r.json()


async def resolve(client: httpx.AsyncClient, key: str, o: Any, i: int, outcome: str, **kw: Any) -> None:
    item = o["items"][i]["id"]
    body: dict[str, Any] = {"outcome": outcome, **kw}
    if outcome == "contested":
        body["reason"] = "Lawful satire under the platform's policy; asked the authority to review"
    r = await client.post(
        f"/v1/takedown-orders/{o['id']}/items/{item}/resolution", json=body, headers=auth(key)
    )
    assert r.status_code == 200, r.text


async def block(client: httpx.AsyncClient, key: str, platform_id: uuid.UUID, subject: str, **kw: Any) -> Any:
    body = {
        "platform_id": str(platform_id),
        "subject_type": "page",
        "subject_id": subject,
        "category": "fraud",
        "reason": "Repeated fraudulent investment offers",
        "legal_basis": "Decree 147/2024",
        "reference_no": f"BL-{subject}",
        **kw,
    }
    r = await client.post("/v1/account-blocks", json=body, headers=auth(key))
    assert r.status_code == 201, r.text
    return r.json()


async def identity(client: httpx.AsyncClient, key: str, account: str, phone: str | None, **kw: Any) -> None:
    body: dict[str, Any] = {
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "1990-05-17",
        "verification": {"method": "sms_otp", "verified_at": "2026-01-01T00:00:00Z"},
        **kw,
    }
    if phone:
        body["phone_number"] = phone
    r = await client.put(f"/v1/identities/{account}", json=body, headers=auth(key))
    assert r.status_code in (200, 201), r.text


async def disclosure(client: httpx.AsyncClient, w: World, phone: str) -> str:
    body = {
        "platform_id": str(w.keys.platform_id),
        "reference_no": f"A05/{uuid.uuid4().hex[:10]}",
        "legal_basis": "Cybersecurity Law 2025 Art. 26",
        "urgency": "standard",
        "subject": {"phone_number": phone},
        "fields": ["full_name", "date_of_birth", "phone_number"],
        "reason": "Identify the author of posts under investigation",
    }
    r = await client.post("/v1/disclosure-requests", json=body, headers=auth(w.a05_key))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def decide(client: httpx.AsyncClient, w: World, request_id: str, decision: str, **kw: Any) -> None:
    r = await client.post(
        f"/v1/disclosure-requests/{request_id}/decision",
        json={"decision": decision, **kw},
        headers=auth(w.keys.officer),
    )
    assert r.status_code == 200, r.text


class AlwaysOk:
    """A webhook sender that reaches every receiver (no network in these tests)."""

    concurrency = 4
    timeout = 1.0

    async def send_all(self, jobs: list[delivery.Job], done: Any = None) -> list[delivery.Outcome]:
        outcomes = [delivery.Outcome(j, ok=True, status_code=200) for j in jobs]
        for outcome in outcomes:
            if done is not None:
                await done(outcome)
        return outcomes

    async def aclose(self) -> None:
        return None


async def make_world(db: AsyncSession) -> World:
    from tests.factories import admin_key

    at(T0 - timedelta(days=3))
    keys = await platform_keys(db, "ExampleSocial")
    other = await platform_keys(db, "OtherSocial")
    abei, abei_key = await make_authority(db, "ABEI", [keys.platform_id, other.platform_id])
    a05, a05_key = await make_authority(db, "MPS-A05", [keys.platform_id, other.platform_id])
    return World(keys, other, abei, abei_key, a05, a05_key, await admin_key(db))


async def build(db: AsyncSession, client: httpx.AsyncClient) -> World:
    """The timeline above; leaves the clock at REPORT_AT."""
    w = await make_world(db)
    pid, plat = w.keys.platform_id, w.keys.platform
    # identities first (disclosures match against them)
    await identity(client, plat, "acc-1", "0912345678")
    await identity(client, plat, "acc-2", "0987654321")
    await identity(
        client, plat, "acc-3", None, national_id="001090123456", no_vn_mobile_attested=True,
        verification={"method": "national_id", "verified_at": "2026-01-01T00:00:00Z"},
    )  # fmt: skip
    await identity(client, plat, "kid", "0911222333", date_of_birth="2012-06-01", guardian=GUARDIAN)
    await identity(client, plat, "gone", "0911222444")
    assert (await client.delete("/v1/identities/gone", headers=auth(plat))).status_code == 200
    await identity(client, plat, "withdrawn", "0911222555")
    assert (await client.post("/v1/identities/withdrawn/revoke", headers=auth(plat))).status_code == 200
    await identity(client, w.other.platform, "b-1", "0912345678")

    at(datetime(2026, 10, 31, 16, 59, 59, tzinfo=UTC))  # 23:59:59 on 31 October in Vietnam
    await order(client, w.abei_key, pid, "O0", 1)

    at(T0)
    o1 = await order(client, w.abei_key, pid, "O1", 2)
    await order(client, w.abei_key, w.other.platform_id, "B-O1", 4)  # another platform's
    d1 = await disclosure(client, w, "0912345678")
    at(T0 + H)
    o2 = await order(client, w.abei_key, pid, "O2", 1, category="gambling")
    b1 = await block(client, w.abei_key, pid, "page-1", duration_days=15)
    d2 = await disclosure(client, w, "0987654321")
    at(T0 + 2 * H)
    await resolve(client, plat, o1, 0, "removed")
    o3 = await order(client, w.a05_key, pid, "O3", 3, category="national_security", urgency="emergency")
    await block(client, w.a05_key, pid, "page-2", permanent=True, category="national_security")
    await decide(client, w, d1, "approve")
    d3 = await disclosure(client, w, "0912345678")
    at(T0 + 3 * H)
    await resolve(client, plat, o3, 0, "removed")
    o4 = await order(client, w.a05_key, pid, "O4", 1)
    await block(client, w.abei_key, pid, "page-3", duration_days=30)
    await decide(client, w, d3, "reject", reason="The request names no offence")
    await disclosure(client, w, "0912345678")  # D4: left pending
    at(T0 + 4 * H)
    await resolve(client, plat, o1, 1, "restricted")
    await resolve(client, plat, o3, 1, "not_found")
    o5 = await order(client, w.abei_key, pid, "O5", 2)
    d5 = await disclosure(client, w, "0933444555")  # nobody on this platform has that number
    at(T0 + 5 * H)
    await resolve(client, plat, o3, 2, "contested")
    await decide(client, w, d2, "partially_approve", fields=["full_name"], reason="Only the name is needed")
    at(T0 + 6 * H)
    for n in range(5):  # five violations in 30 days: the lock rules lock the account
        r = await client.post(
            "/v1/violations",
            headers=auth(w.keys.officer),
            json={
                "subject_type": "account",
                "subject_id": "spammer",
                "authority_id": str(w.abei),
                "reference_no": f"ABEI-V-{n}",
                "occurred_at": clock.now().isoformat(),
                "category": "fraud",
            },
        )
        assert r.status_code == 201, r.text
    at(T0 + 8 * H)
    await resolve(client, plat, o4, 0, "contested")
    at(T0 + 10 * H)
    await resolve(client, plat, o5, 0, "removed")
    await decide(client, w, d5, "approve")
    at(T0 + 31 * H)  # six hours after O2 was due, saying it acted a minute before
    await resolve(
        client, plat, o2, 0, "removed", actioned_at=(T0 + 25 * H - timedelta(minutes=1)).isoformat()
    )
    r = await client.post(
        f"/v1/account-blocks/{b1['id']}/lift", json={"reason": "Complied"}, headers=auth(w.keys.officer)
    )
    assert r.status_code == 200, r.text

    at(T0 + 2 * timedelta(days=1))
    ep = []
    for n in range(2):
        r = await client.post(
            "/v1/webhook-endpoints",
            headers=auth(plat),
            json={"url": f"http://127.0.0.1:9/hook/{n}", "event_types": ["disclosure.decided"]},
        )
        assert r.status_code == 201, r.text
        ep.append(r.json()["id"])
    async with session_scope() as s:
        await delivery.fan_out(s, clock.now())
    r = await client.patch(f"/v1/webhook-endpoints/{ep[1]}", json={"enabled": False}, headers=auth(plat))
    assert r.status_code == 200, r.text
    await delivery.run_cycle(sender=AlwaysOk())  # type: ignore[arg-type]

    at(REPORT_AT)
    async with session_scope() as s:  # what beat's sealer does every few seconds
        await audit_service.seal(s)
    return w


# What the report must say, figure by figure (hand computed from the timeline above).
# Time to removal, removed and restricted items only, sorted: O3 1 h, O1 2 h, O1 4 h, O5 6 h, O2 30 h
# = 3600, 7200, 14400, 21600, 108000 s. percentile_cont: p50 = the 3rd = 14400; p90 sits at
# 0.9 * (5 - 1) = 3.6, so 21600 + 0.6 * (108000 - 21600) = 73440; max 108000.
EXPECTED_TAKEDOWNS: dict[str, Any] = {
    "orders_received": 5,
    "items_received": 9,
    "by_category": {"fraud": 3, "gambling": 1, "national_security": 1},
    "by_urgency": {"standard": 4, "emergency": 1},
    "orders_completed": 4,  # O1-O4
    "orders_on_time": 2,  # O1, O3
    "orders_late": 1,  # O2: its resolution reached vncomply 6 h after due_at
    "orders_contested": 1,  # O4
    "on_time_rate": 0.5,  # 2 / 4
    "items_by_outcome": {"removed": 4, "restricted": 1, "not_found": 1, "contested": 2, "pending": 1},
    "time_to_removal_seconds": {"p50": 14400.0, "p90": 73440.0, "max": 108000.0},
    # [0, 1 h) [1 h, 3 h) [3 h, 6 h) [6 h, 12 h) [12 h, 24 h) [24 h, 48 h) [48 h, ...)
    "time_to_removal_histogram_items": [0, 2, 1, 1, 0, 1, 0],
    "on_time_by_month": [
        {"month": "2026-11", "orders_completed": 4, "orders_on_time": 2, "on_time_rate": 0.5}
    ],
    "breached_orders": 1,  # O2 (its late verdict records the breach; no sweep ran)
    "overdue_open": 1,  # O5, due at T0 + 28 h
    "backdated_resolutions": 1,  # O2's item
}
EXPECTED_BLOCKS = {
    "ordered": 3,
    "rule_based": 1,
    "temporary": 3,
    "permanent": 1,
    "lifted_early": 1,
    "active_now": 2,  # B2 (permanent), B4 (30 days); B1 lifted, B3 ended at +7 days 6 h
}
# Decisions after 2 h, 4 h, 1 h and 6 h: median (7200 + 14400) / 2.
EXPECTED_DISCLOSURES = {
    "received": 5,
    "approved": 1,
    "partially_approved": 1,
    "rejected": 1,
    "no_data": 1,
    "pending": 1,
    "median_seconds_to_decision": 10800.0,
}
EXPECTED_IDENTITIES = {
    "verified": 4,
    "by_method": {"national_id": 1, "sms_otp": 3},
    "minors_with_guardian": 1,
    "closed": 1,
    "revoked": 1,
}
EXPECTED_WEBHOOKS = {"deliveries": 8, "delivered": 4, "failed": 4}
