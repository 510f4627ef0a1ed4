"""Recording an identity writes its audit row in the upsert's own statement: created, then
replaced, by the platform's key, with the method and no PII; the rows seal and verify like any."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import admin_key, auth, platform_keys
from tests.identities.helpers import NAME, PHONE, body
from vncomply.audit import service as audit_service
from vncomply.audit.models import AuditEvent
from vncomply.auth import service as auth_service


async def test_an_identity_write_is_audited_with_its_key_and_no_pii(client, db) -> None:
    k = await platform_keys(db)
    h = auth(k.platform)
    assert (await client.put("/v1/identities/u-audit", json=body(), headers=h)).status_code == 201
    r = await client.put("/v1/identities/u-audit", json=body(full_name="Trần Thị Bình"), headers=h)
    assert r.status_code == 200, r.text

    rows = (
        await db.scalars(
            select(AuditEvent).where(AuditEvent.resource_id == "u-audit").order_by(AuditEvent.seq)
        )
    ).all()
    assert [r.action for r in rows] == ["identity.created", "identity.replaced"]
    key_id = (await auth_service.authenticate(k.platform)).key_id
    for row in rows:
        assert row.resource_type == "identity"
        assert row.platform_id == row.actor_platform_id == k.platform_id
        assert row.actor_role == "platform"
        assert row.actor_key_id == key_id
        assert row.actor_authority_id is None
        assert row.details == {"method": "sms_otp", "minor": False}, "the method, never the PII"
        assert NAME not in str(row.details)
        assert PHONE[1:] not in str(row.details)

    admin = await admin_key(db)
    await audit_service.seal(db)
    v = (await client.get("/v1/audit-events/verify", headers=auth(admin))).json()
    assert v["ok"] is True
    assert v["unsealed"] == 0
