"""The OTP's SMS is sent after the commit, never inside the transaction; the request still answers
only once the gateway accepted it, and a refusal leaves nothing half-written behind. On real
connections (committed), since "inside a transaction" is what is being tested."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.factories import auth, make_key, make_platform
from tests.identities.helpers import PHONE_E164
from vncomply.config import get_settings
from vncomply.identities import sms
from vncomply.kit.errors import ServiceUnavailable
from vncomply.kit.principal import Role


def _conninfo() -> str:
    url = get_settings().database_url
    assert url
    return url.replace("postgresql+psycopg://", "postgresql://")


class Gateway:
    """A provider that looks at the database, from its own connection, when it is called."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.seen: list[dict[str, Any]] = []

    async def send(self, to_e164: str, text: str) -> None:
        async with await psycopg.AsyncConnection.connect(_conninfo(), autocommit=True) as conn:
            rows = await (await conn.execute("SELECT count(*) FROM phone_verifications")).fetchone()
            idle = await (
                await conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()"
                )
            ).fetchone()
        assert rows is not None and idle is not None  # noqa: PT018
        self.seen.append({"to": to_e164, "committed_rows": rows[0], "open_transactions": idle[0]})
        if self.refuse:
            raise ServiceUnavailable("The SMS gateway did not accept the message; retry later.")


@pytest.fixture
async def api(committed: Any) -> AsyncIterator[tuple[httpx.AsyncClient, str, Any]]:
    from vncomply.app import create_app
    from vncomply.auth.service import clear_cache

    async with committed() as s:
        pid = await make_platform(s)
        _, key = await make_key(s, Role.platform, platform_id=pid)
        await s.commit()
    clear_cache()
    transport = httpx.ASGITransport(app=create_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c, key, committed


async def _count(committed: Any, sql: str) -> int:
    from sqlalchemy import text

    async with committed() as s:
        return int((await s.execute(text(sql))).scalar_one())


async def test_sms_goes_out_after_the_commit(api, monkeypatch) -> None:
    client, key, _ = api
    gateway = Gateway()
    monkeypatch.setattr(sms, "provider", lambda: gateway)
    r = await client.post(
        "/v1/phone-verifications", json={"account_id": "u", "phone_number": PHONE_E164}, headers=auth(key)
    )
    assert r.status_code == 201, r.text
    # When the gateway was called the row was already committed (visible to another connection)
    # and no transaction of ours was open.
    assert gateway.seen == [{"to": PHONE_E164, "committed_rows": 1, "open_transactions": 0}]


async def test_a_refused_sms_leaves_nothing_half_written(api, monkeypatch) -> None:
    client, key, committed = api
    gateway = Gateway(refuse=True)
    monkeypatch.setattr(sms, "provider", lambda: gateway)
    h = {**auth(key), "Idempotency-Key": "otp-1"}
    body = {"account_id": "u", "phone_number": PHONE_E164}
    r = await client.post("/v1/phone-verifications", json=body, headers=h)
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert gateway.seen[0]["committed_rows"] == 1  # sent after the commit ...
    # ... and undone after the refusal: no verification (the number is not kept, the attempt does
    # not count toward the resend limit), no stored reply to replay; the refusal is on record.
    assert await _count(committed, "SELECT count(*) FROM phone_verifications") == 0
    assert await _count(committed, "SELECT count(*) FROM idempotency_records") == 0
    actions = await _count(
        committed,
        "SELECT count(*) FROM audit_events WHERE action IN "
        "('phone_verification.started', 'phone_verification.sms_failed')",
    )
    assert actions == 2

    # The retry with the same key runs again (not a replayed success) and, accepted, answers 201.
    gateway.refuse = False
    r = await client.post("/v1/phone-verifications", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert "idempotent-replayed" not in r.headers
    assert await _count(committed, "SELECT count(*) FROM phone_verifications") == 1
