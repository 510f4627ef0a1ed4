"""The disclosure clock through the shared deadline engine: reminders, overdue, user notice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.disclosures.conftest import T0, World, create, decide, request_body
from tests.factories import auth
from vncomply.deadlines.engine import sweep
from vncomply.disclosures.deadline import HANDLER_NAME
from vncomply.kit import clock


async def _events(db: AsyncSession, world: World) -> list[tuple[str, dict[str, Any]]]:
    rows = (
        await db.execute(
            text("select type, data::text from events where platform_id = :p order by seq"),
            {"p": world.a.platform_id},
        )
    ).all()
    return [(t, orjson.loads(d)) for t, d in rows]


async def _sweep_at(at: datetime) -> int:
    clock.set_now(at)
    return (await sweep(now=at, names=[HANDLER_NAME], record=False)).processed


async def test_reminders_and_overdue(db: AsyncSession, client: httpx.AsyncClient, world: World) -> None:
    req = await create(client, world.key_a, request_body(world.a.platform_id))
    assert await _sweep_at(T0 + timedelta(hours=11)) == 0
    assert await _sweep_at(T0 + timedelta(hours=12)) == 1  # 50 %
    assert await _sweep_at(T0 + timedelta(hours=12, minutes=30)) == 0  # nothing new: idempotent
    # A late sweep past both the 75 % and 90 % marks sends one warning, not two.
    assert await _sweep_at(T0 + timedelta(hours=22)) == 1
    # Overdue is visible before any sweep has run.
    clock.set_now(T0 + timedelta(hours=24))
    r = await client.get(f"/v1/disclosure-requests/{req['id']}", headers=auth(world.a.officer))
    assert r.json()["overdue"] is True
    assert r.json()["remaining_seconds"] == 0
    assert await _sweep_at(T0 + timedelta(hours=24)) == 1
    assert await _sweep_at(T0 + timedelta(days=5)) == 0
    types = [t for t, _ in await _events(db, world)]
    assert types == [
        "disclosure.received",
        "disclosure.deadline_approaching",
        "disclosure.deadline_approaching",
        "disclosure.overdue",
    ]
    ev = await _events(db, world)
    assert ev[1][1]["remaining_seconds"] == 12 * 3600
    assert ev[1][1]["threshold"] == 0.5
    assert ev[2][1]["threshold"] == 0.9
    assert ev[3][1]["breached_at"] == (T0 + timedelta(hours=24)).isoformat()

    # A late answer stays visibly late.
    r = await decide(client, world.a.officer, req["id"], decision="approve")
    assert r.json()["status"] == "approved"
    assert r.json()["answered_on_time"] is False
    assert r.json()["overdue"] is False
    decided = (await _events(db, world))[-1]
    assert decided[0] == "disclosure.decided"
    assert decided[1]["on_time"] is False


async def test_late_decision_without_a_sweep_records_the_breach(
    db: AsyncSession, client: httpx.AsyncClient, world: World
) -> None:
    req = await create(client, world.key_a, request_body(world.a.platform_id, urgency="emergency"))
    clock.set_now(T0 + timedelta(hours=4))
    await decide(client, world.a.officer, req["id"], decision="reject", reason="No basis")
    types = [t for t, _ in await _events(db, world)]
    assert types == ["disclosure.received", "disclosure.overdue", "disclosure.decided"]
    assert await _sweep_at(T0 + timedelta(days=1)) == 0


async def test_no_clock_without_a_statutory_deadline(
    db: AsyncSession, client: httpx.AsyncClient, world: World
) -> None:
    clock.set_now(datetime.fromisoformat("2026-03-01T00:00:00+00:00"))
    req = await create(client, world.key_a, request_body(world.a.platform_id))
    assert req["due_at"] is None
    assert await _sweep_at(datetime.fromisoformat("2026-12-01T00:00:00+00:00")) == 0
    r = await client.get(f"/v1/disclosure-requests/{req['id']}", headers=auth(world.key_a))
    assert r.json()["overdue"] is False


async def test_user_notice_due(db: AsyncSession, client: httpx.AsyncClient, world: World) -> None:
    req = await create(client, world.key_a, request_body(world.a.platform_id))
    notify_at = T0 + timedelta(days=30)
    r = await decide(
        client, world.a.officer, req["id"], decision="approve",
        notify_user_after=notify_at.isoformat(),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["notify_user_after"]) == notify_at
    assert await _sweep_at(notify_at - timedelta(seconds=1)) == 0
    assert await _sweep_at(notify_at) == 1
    assert await _sweep_at(notify_at + timedelta(days=1)) == 0
    t, data = (await _events(db, world))[-1]
    assert t == "disclosure.user_notice_due"
    assert data["account_ids"] == ["a-1", "a-2"]
    assert data["request_id"] == req["id"]


async def test_user_notice_not_for_rejections(client: httpx.AsyncClient, world: World) -> None:
    req = await create(client, world.key_a, request_body(world.a.platform_id))
    r = await decide(
        client, world.a.officer, req["id"], decision="reject", reason="no",
        notify_user_after=(T0 + timedelta(days=1)).isoformat(),
    )  # fmt: skip
    assert r.status_code == 422


def test_worker_knows_the_disclosure_clock() -> None:
    """The worker imports the deadline modules the registry derives."""
    from vncomply.registry import deadline_modules

    assert "vncomply.disclosures.deadline" in deadline_modules()
