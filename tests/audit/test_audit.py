from __future__ import annotations

import pytest
from sqlalchemy import select, text

from tests.factories import admin_key, auth, platform_keys
from vncomply.audit import service as audit_service
from vncomply.audit.models import AuditEvent

PLATFORM = {
    "name": "P",
    "legal_name": "P Inc.",
    "contact_point": {"name": "A", "email": "a@example.com", "phone": "+84240000000", "address": "HN"},
    "monthly_vn_visits": 10,
}


async def test_writes_are_audited_sealed_and_verifiable(client, db) -> None:
    admin = await admin_key(db)
    for i in range(3):
        r = await client.post("/v1/platforms", headers=auth(admin), json={**PLATFORM, "name": f"P{i}"})
        assert r.status_code == 201
    pid = r.json()["id"]
    await client.patch(f"/v1/platforms/{pid}", headers=auth(admin), json={"monthly_vn_visits": 200000})

    before = (await client.get("/v1/audit-events/verify", headers=auth(admin))).json()
    assert before["unsealed"] > 0
    await audit_service.seal(db)
    v = (await client.get("/v1/audit-events/verify", headers=auth(admin))).json()
    assert v == {
        "ok": True,
        "checked": v["checked"],
        "first_broken_seq": None,
        "unsealed": 0,
        "next_cursor": None,
    }
    assert v["checked"] >= 5

    events = (await client.get(f"/v1/audit-events?resource_id={pid}", headers=auth(admin))).json()
    assert [e["action"] for e in events["items"]] == ["platform.created", "platform.updated"]
    assert events["items"][0]["actor"]["role"] == "admin"


async def test_tampering_is_reported(client, db) -> None:
    admin = await admin_key(db)
    for i in range(3):
        await client.post("/v1/platforms", headers=auth(admin), json={**PLATFORM, "name": f"T{i}"})
    await audit_service.seal(db)
    rows = (await db.scalars(select(AuditEvent).order_by(AuditEvent.seq))).all()
    victim = rows[-2].seq
    await db.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
    await db.execute(
        text('UPDATE audit_events SET details = \'{"name": "forged"}\' WHERE seq = :s'), {"s": victim}
    )
    await db.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
    v = (await client.get("/v1/audit-events/verify", headers=auth(admin))).json()
    assert v["ok"] is False
    assert v["first_broken_seq"] == victim


async def test_trigger_refuses_update_and_delete(db) -> None:
    import pytest
    from sqlalchemy.exc import DBAPIError

    audit_service.record(db, None, "test.action", "thing", "1", None, {})
    await db.flush()
    seq = (await db.scalars(select(AuditEvent.seq))).first()
    for stmt in (
        "UPDATE audit_events SET action = 'x' WHERE seq = :s",
        "DELETE FROM audit_events WHERE seq = :s",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.begin_nested():
                await db.execute(text(stmt), {"s": seq})


async def test_officer_sees_only_own_platform(client, db) -> None:
    a = await platform_keys(db, "A")
    b = await platform_keys(db, "B")
    r = await client.get("/v1/audit-events", headers=auth(a.officer))
    assert r.status_code == 200
    assert {e["platform_id"] for e in r.json()["items"]} <= {str(a.platform_id)}
    assert str(b.platform_id) not in r.text


async def _walk(client, key: str, limit: int) -> list[dict]:
    """Every page of the verification, following `next_cursor`."""
    pages, cursor = [], None
    while True:
        q = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        r = await client.get(f"/v1/audit-events/verify{q}", headers=auth(key))
        assert r.status_code == 200, r.text
        pages.append(r.json())
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100


async def _trail(client, db, admin: str, platforms: int = 3) -> list[str]:
    """Rows in several chains: platform-less (authorities) and per platform (updates)."""
    ids = []
    for i in range(platforms):
        r = await client.post("/v1/platforms", headers=auth(admin), json={**PLATFORM, "name": f"V{i}"})
        ids.append(r.json()["id"])
    for pid in ids:
        for visits in (1, 2, 3):
            await client.patch(
                f"/v1/platforms/{pid}", headers=auth(admin), json={"monthly_vn_visits": visits}
            )
    await audit_service.seal(db)
    return ids


async def test_verify_is_bounded_and_pages_cover_every_chain(client, db) -> None:
    admin = await admin_key(db)
    await _trail(client, db, admin)
    whole = (await client.get("/v1/audit-events/verify", headers=auth(admin))).json()
    assert whole["next_cursor"] is None
    total = (await db.execute(text("SELECT count(*) FROM audit_events"))).scalar_one()
    assert whole["checked"] == total >= 10
    pages = await _walk(client, admin, limit=3)
    assert all(p["checked"] <= 3 for p in pages)
    assert sum(p["checked"] for p in pages) == total
    assert all(p["ok"] for p in pages)


@pytest.mark.parametrize("damage", ["edit", "delete"])
async def test_paged_verify_finds_damage_wherever_the_pages_break(client, db, damage: str) -> None:
    admin = await admin_key(db)
    pids = await _trail(client, db, admin)
    chain = (
        await db.scalars(
            select(AuditEvent).where(AuditEvent.platform_id == pids[1]).order_by(AuditEvent.chain_seq)
        )
    ).all()
    victim = chain[2].seq
    await db.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
    if damage == "edit":
        await db.execute(text("UPDATE audit_events SET details = '{\"x\": 1}' WHERE seq = :s"), {"s": victim})
        expected = victim
    else:
        await db.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": victim})
        expected = chain[3].seq  # the next row no longer links to the one before it
    await db.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
    for limit in (1, 2, 3, 50):  # page boundaries before, at and after the damage
        pages = await _walk(client, admin, limit)
        assert [p["first_broken_seq"] for p in pages if not p["ok"]] == [expected], limit


async def test_officer_verifies_own_chain_in_pages_and_cannot_resume_another(client, db) -> None:
    a = await platform_keys(db, "A")
    b = await platform_keys(db, "B")
    for acc in ("x", "y", "z"):
        await client.post(
            "/v1/phone-verifications",
            headers=auth(a.platform),
            json={"account_id": acc, "phone_number": "0912345678"},
        )
    await audit_service.seal(db)
    pages = await _walk(client, a.officer, limit=1)
    own = (
        await db.execute(
            text("SELECT count(*) FROM audit_events WHERE platform_id = :p"), {"p": a.platform_id}
        )
    ).scalar_one()
    assert sum(p["checked"] for p in pages) == own >= 3
    first = (await client.get("/v1/audit-events/verify?limit=1", headers=auth(a.officer))).json()
    r = await client.get(f"/v1/audit-events/verify?cursor={first['next_cursor']}", headers=auth(b.officer))
    assert r.status_code == 422
    r = await client.get("/v1/audit-events/verify?cursor=bm90LWEtY3Vyc29y", headers=auth(a.officer))
    assert r.status_code == 422
