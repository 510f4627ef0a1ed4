"""Disclosure requests that arrive by phone or letter: an officer records them for the authority;
the deadline runs from received_at, by the rule in force then; audited as recorded by the officer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.disclosures.conftest import T0, World, request_body
from tests.factories import auth
from vncomply.audit.models import AuditEvent
from vncomply.deadlines.engine import sweep
from vncomply.disclosures.deadline import HANDLER_NAME
from vncomply.events.models import Event
from vncomply.kit import clock

URL = "/v1/disclosure-requests"
H = timedelta(hours=1)


def _by_phone(world: World, **over: object) -> dict[str, object]:
    b = request_body(
        world.a.platform_id, **{"authority_id": str(world.authority_a), "channel": "phone", **over}
    )
    b.pop("platform_id")
    return b


async def test_officer_records_a_phone_request_timed_from_receipt(
    db: AsyncSession, client: httpx.AsyncClient, world: World
) -> None:
    received = T0 - 5 * H
    r = await client.post(
        URL, json=_by_phone(world, received_at=received.isoformat()), headers=auth(world.a.officer)
    )
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["channel"] == "phone"
    assert req["platform_id"] == str(world.a.platform_id)
    assert req["authority_id"] == str(world.authority_a)
    assert req["received_at"] == "2026-11-24T22:00:00Z"
    assert req["due_at"] == "2026-11-25T22:00:00Z"  # 24 h from receipt (Cybersecurity Law 2025)
    assert req["remaining_seconds"] == 19 * 3600
    [audit] = (await db.scalars(select(AuditEvent).where(AuditEvent.action == "disclosure.received"))).all()
    assert audit.actor_role == "officer"
    assert audit.details["channel"] == "phone"
    # The authority reads it like its own; the clock's reminders run from receipt.
    got = await client.get(f"{URL}/{req['id']}", headers=auth(world.key_a))
    assert got.status_code == 200
    clock.set_now(received + 12 * H)
    await sweep(None, clock.now(), names=[HANDLER_NAME], record=False)
    fired = (await db.scalars(select(Event).where(Event.type == "disclosure.deadline_approaching"))).all()
    assert len(fired) == 1


async def test_the_rule_in_force_at_receipt(
    db: AsyncSession, client: httpx.AsyncClient, world: World
) -> None:
    clock.set_now(datetime(2026, 7, 2, tzinfo=UTC))
    before = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)  # 23:00 on 30 June in Hanoi: no deadline yet
    r = await client.post(
        URL, json=_by_phone(world, received_at=before.isoformat()), headers=auth(world.a.officer)
    )
    assert r.status_code == 201, r.text
    assert r.json()["rule"] == {"id": "disclosure.standard.v1", "hours": None}
    assert r.json()["due_at"] is None


async def test_phone_request_rules(client: httpx.AsyncClient, world: World) -> None:
    officer = auth(world.a.officer)
    for over, field in [
        ({"received_at": (T0 + H).isoformat()}, "received_at"),
        ({"received_at": (T0 - timedelta(days=8)).isoformat()}, "received_at"),
        ({"channel": "electronic"}, "channel"),
    ]:
        r = await client.post(URL, json=_by_phone(world, **over), headers=officer)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == field
    r = await client.post(URL, json={**request_body(world.a.platform_id), "received_at": T0.isoformat()},
                          headers=auth(world.key_a))  # fmt: skip
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "received_at"
