from __future__ import annotations

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
    assert v == {"ok": True, "checked": v["checked"], "first_broken_seq": None, "unsealed": 0}
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
