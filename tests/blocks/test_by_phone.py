"""Block orders that arrive by phone or letter: an officer records them on the authority's behalf
(authority_id, channel, received_at at most 7 days back); the block runs from received_at and the
audit trail names the officer's key."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from tests.blocks.helpers import T0, order_body
from tests.factories import auth, make_authority, make_key, platform_keys
from tests.identities.helpers import body as identity_body
from vncomply.audit.models import AuditEvent
from vncomply.kit import clock
from vncomply.kit.principal import Role

H = timedelta(hours=1)


def _phone_order(authority_id: uuid.UUID, **over: object) -> dict[str, object]:
    b = order_body(uuid.uuid4(), subject_type="account", subject_id="u-1", duration_days=7, **over)
    b.pop("platform_id")
    return {**b, "authority_id": str(authority_id), "channel": "phone"}


async def test_officer_records_a_phone_block_order_timed_from_receipt(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    aid, akey = await make_authority(db, "ABEI", [k.platform_id])
    officer_key_id, officer = await make_key(db, Role.officer, platform_id=k.platform_id)
    received = T0 - 30 * H
    await client.put("/v1/identities/u-1", json=identity_body(), headers=auth(k.platform))
    body = _phone_order(aid, received_at=received.isoformat())
    r = await client.post("/v1/account-blocks", headers=auth(officer), json=body)
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["channel"] == "phone"
    assert b["authority_id"] == str(aid)
    assert b["platform_id"] == str(k.platform_id)
    assert b["starts_at"] == received.isoformat().replace("+00:00", "Z")
    assert b["ends_at"] == (received + timedelta(days=7)).isoformat().replace("+00:00", "Z")
    assert b["apply_by"] == (received + 24 * H).isoformat().replace("+00:00", "Z")
    assert b["apply_overdue"] is True  # received 30 h ago: the 24 h to apply it have passed
    [started] = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "block.started"))).all()
    assert started.actor_role == "officer"
    assert started.actor_key_id == officer_key_id
    assert started.details["channel"] == "phone"
    # It is in force for the permission check, and the ordering authority sees it.
    p = (await client.get("/v1/accounts/u-1/permissions", headers=auth(k.platform))).json()
    assert p["actions"]["post"]["reason"] == "blocked"
    assert (await client.get(f"/v1/account-blocks/{b['id']}", headers=auth(akey))).status_code == 200
    # A retry returns it; the same number from the authority's own key is the same order too.
    again = await client.post("/v1/account-blocks", headers=auth(officer), json=body)
    assert again.status_code == 200
    assert again.json()["id"] == b["id"]


async def test_phone_block_order_rules(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    aid, akey = await make_authority(db, "ABEI", [k.platform_id])
    other = await platform_keys(db, "Other")
    stranger, _ = await make_authority(db, "DIC-HCM", [other.platform_id])
    cases = [
        ({"received_at": (T0 + H).isoformat()}, "received_at"),
        ({"received_at": (T0 - timedelta(days=7, seconds=1)).isoformat()}, "received_at"),
        ({"channel": "electronic"}, "channel"),
        ({"channel": None}, "channel"),
        ({"authority_id": None}, "authority_id"),
        ({"platform_id": str(other.platform_id)}, "platform_id"),
    ]
    for over, field in cases:
        body = {k2: v for k2, v in {**_phone_order(aid), **over}.items() if v is not None}
        r = await client.post("/v1/account-blocks", headers=auth(k.officer), json=body)
        assert r.status_code == 422, (over, r.text)
        assert r.json()["errors"][0]["field"] == field
    # An authority that may not address this platform: a 404, as for its own orders.
    r = await client.post("/v1/account-blocks", headers=auth(k.officer), json=_phone_order(stranger))
    assert r.status_code == 404
    # Authority keys never send received_at; platform keys never order.
    r = await client.post(
        "/v1/account-blocks",
        headers=auth(akey),
        json={**order_body(k.platform_id), "received_at": (T0 - H).isoformat()},
    )
    assert r.status_code == 422
    r = await client.post("/v1/account-blocks", headers=auth(k.platform), json=_phone_order(aid))
    assert r.status_code == 403
