"""Idempotency records are purged by beat once their TTL has passed; fresh ones stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.factories import admin_key, auth
from vncomply.idempotency import tasks
from vncomply.idempotency.models import IdempotencyRecord
from vncomply.kit import clock
from vncomply.worker import beat_schedule

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


async def _create(client, admin: str, idem_key: str, code: str) -> None:
    r = await client.post(
        "/v1/authorities",
        headers={**auth(admin), "Idempotency-Key": idem_key},
        json={"code": code, "name": code, "kind": "ministry", "platforms": "all"},
    )
    assert r.status_code == 201, r.text


async def test_purge_removes_expired_records_and_keeps_fresh_ones(client, db) -> None:
    admin = await admin_key(db)
    clock.set_now(T0)
    await _create(client, admin, "old", "OLD")
    clock.set_now(T0 + timedelta(hours=20))
    await _create(client, admin, "fresh", "FRESH")
    clock.set_now(T0 + timedelta(hours=25))  # "old" is past the 24 h TTL, "fresh" is not

    assert await tasks._purge() == 1
    left = (await db.scalars(select(IdempotencyRecord.idem_key))).all()
    assert left == ["fresh"]
    assert await tasks._purge() == 0


def test_beat_runs_the_purge() -> None:
    tasks_scheduled = {e["task"] for e in beat_schedule(5.0).values()}
    assert tasks.purge_idempotency_records.name in tasks_scheduled
