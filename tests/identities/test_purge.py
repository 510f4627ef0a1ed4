"""Spent and expired phone verifications (encrypted number, code hash) are purged by beat after
their retention period; recent ones, which the resend limit and references still need, stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.factories import auth, platform_keys
from tests.identities.helpers import last_code
from vncomply.identities import tasks
from vncomply.identities.models import PhoneVerification
from vncomply.kit import clock
from vncomply.worker import beat_schedule

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


async def _start(client, key: str, phone: str) -> str:
    r = await client.post(
        "/v1/phone-verifications", json={"account_id": "u", "phone_number": phone}, headers=auth(key)
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_purge_removes_spent_verifications_after_retention(client, db) -> None:
    k = await platform_keys(db)
    clock.set_now(T0)
    confirmed = await _start(client, k.platform, "0912000001")
    r = await client.post(
        f"/v1/phone-verifications/{confirmed}/confirm", json={"code": last_code()}, headers=auth(k.platform)
    )
    assert r.status_code == 200
    expired = await _start(client, k.platform, "0912000002")  # never confirmed
    clock.set_now(T0 + timedelta(hours=23))
    recent = await _start(client, k.platform, "0912000003")
    # 24 h after the first two expired (T0 + 5 min); the recent one expired 55 min ago.
    clock.set_now(T0 + timedelta(hours=24, minutes=6))

    assert await tasks._purge() == 2
    left = [str(i) for i in (await db.scalars(select(PhoneVerification.id))).all()]
    assert left == [recent]
    assert confirmed not in left and expired not in left  # noqa: PT018
    assert await tasks._purge() == 0


def test_beat_runs_the_purge() -> None:
    tasks_scheduled = {e["task"] for e in beat_schedule(5.0).values()}
    assert tasks.purge_phone_verifications.name in tasks_scheduled
