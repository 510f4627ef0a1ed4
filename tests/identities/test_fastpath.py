"""The permission check's fast path: what it answers itself, what it hands on to the full route
(whose errors stay authoritative), that both answer the same bytes, the 503 when the identity store
is unreachable, and coalescing under concurrency with every answer still the caller's own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client import REGISTRY

from tests.factories import auth, platform_keys
from tests.identities.helpers import body
from vncomply.identities.router import account_permissions
from vncomply.kit import clock

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def _count(outcome: str) -> float:
    value = REGISTRY.get_sample_value("vncomply_permission_fast_path_total", {"outcome": outcome})
    return value or 0.0


def _batches() -> tuple[float, float]:
    count = REGISTRY.get_sample_value("vncomply_permission_coalesced_batch_size_count") or 0.0
    total = REGISTRY.get_sample_value("vncomply_permission_coalesced_batch_size_sum") or 0.0
    return count, total


async def _get(client, key: str | None, account: str) -> httpx.Response:
    headers = auth(key) if key else {}
    return await client.get(f"/v1/accounts/{account}/permissions", headers=headers)


async def test_served_on_the_fast_path_with_the_routes_bytes(client, db) -> None:
    clock.set_now(NOW)
    k = await platform_keys(db)
    await client.put("/v1/identities/a", json=body(), headers=auth(k.platform))
    served = _count("served")
    r = await _get(client, k.platform, "a")
    assert r.status_code == 200
    assert _count("served") == served + 1
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-request-id"]
    assert int(r.headers["ratelimit-limit"]) > 0
    assert "ratelimit-remaining" in r.headers
    assert r.json()["verified"] is True
    # The documented route answers the very same bytes (same function, same serialisation).
    from vncomply.auth.service import authenticate

    principal = await authenticate(k.platform)
    assert principal is not None
    assert (await account_permissions("a", principal)).body == r.content


async def test_everything_unusual_is_handed_on_to_the_route(client, db, monkeypatch) -> None:
    k = await platform_keys(db)
    cases = [
        (None, "a", 401),  # no key
        ("vnc_unknown-key", "a", 401),
        (k.officer, "a", 403),  # an officer may look identities up, not ask for permissions
        (k.platform, "a b", 422),  # not the account-id alphabet
        (k.platform, "x" * 129, 422),
    ]
    for key, account, status in cases:
        handed_on = _count("handed_on")
        r = await _get(client, key, account)
        assert r.status_code == status, (key, account, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert _count("handed_on") == handed_on + 1


async def test_over_the_rate_limit_the_route_answers_429(client, db, monkeypatch) -> None:
    from vncomply.config import get_settings
    from vncomply.kit import ratelimit

    k = await platform_keys(db)
    monkeypatch.setattr(get_settings(), "rate_limit_platform", [1, 1])
    ratelimit.forget_leases()
    assert (await _get(client, k.platform, "a")).status_code == 200
    handed_on = _count("handed_on")
    r = await _get(client, k.platform, "a")
    assert r.status_code == 429, r.text
    assert int(r.headers["retry-after"]) >= 1
    assert _count("handed_on") == handed_on + 1


async def test_503_when_the_database_is_unreachable(committed, monkeypatch) -> None:
    from vncomply.app import create_app
    from vncomply.config import get_settings
    from vncomply.kit import db as dbmod

    await dbmod.dispose_engine()
    monkeypatch.setattr(get_settings(), "database_url", "postgresql+psycopg://postgres@127.0.0.1:1/none")
    monkeypatch.setattr(get_settings(), "db_read_timeout_seconds", 0.3)
    transport = httpx.ASGITransport(app=create_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        # The fast path, and a regular route (its key lookup is the first thing to fail).
        for path in ("/v1/accounts/a/permissions", "/v1/identities/a"):
            r = await c.get(path, headers=auth("vnc_" + "k" * 43))
            assert r.status_code == 503, r.text
            problem = r.json()
            assert problem["status"] == 503
            assert problem["request_id"] == r.headers["x-request-id"]
            assert r.headers["retry-after"] == "5"
    await dbmod.dispose_engine()


async def test_concurrent_checks_are_coalesced_and_each_gets_its_own_answer(committed) -> None:
    from tests.factories import make_key, make_platform
    from vncomply.app import create_app
    from vncomply.blocks.models import AccountBlock
    from vncomply.identities import service as identity_service
    from vncomply.identities.schemas import IdentityIn
    from vncomply.kit.principal import Principal, Role

    async with committed() as s:
        pid = await make_platform(s)
        _, raw = await make_key(s, Role.platform, platform_id=pid)
        actor = Principal(pid, Role.platform, pid, None)
        for i in range(30):
            await identity_service.put_identity(s, actor, f"v{i}", IdentityIn.model_validate(body()))
        for i in range(10):
            await identity_service.put_identity(s, actor, f"r{i}", IdentityIn.model_validate(body()))
            await identity_service.revoke(s, actor, f"r{i}")
        for i in range(0, 30, 3):
            s.add(
                AccountBlock(
                    platform_id=pid,
                    subject_type="account",
                    subject_id=f"v{i}",
                    starts_at=clock.now() - timedelta(hours=1),
                    ends_at=clock.now() + timedelta(days=7),
                    permanent=False,
                    rule_id="lock.v1",
                    apply_by=clock.now(),
                )
            )
        await s.commit()

    def expected(account: str) -> str | None:
        if account.startswith("r"):
            return "revoked"
        if account.startswith("u"):
            return "unverified"
        return "blocked" if int(account[1:]) % 3 == 0 else None

    accounts = [f"v{i}" for i in range(30)] + [f"r{i}" for i in range(10)] + [f"u{i}" for i in range(20)]
    accounts = accounts * 3
    count0, sum0 = _batches()
    transport = httpx.ASGITransport(app=create_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        await c.get("/v1/accounts/warm/permissions", headers=auth(raw))
        count0, sum0 = _batches()
        replies = await asyncio.gather(
            *(c.get(f"/v1/accounts/{a}/permissions", headers=auth(raw)) for a in accounts)
        )
    for account, r in zip(accounts, replies, strict=True):
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["account_id"] == account
        assert got["actions"]["post"]["reason"] == expected(account), account
    count1, sum1 = _batches()
    assert sum1 - sum0 == len(accounts)  # every check was answered by a statement...
    assert count1 - count0 < len(accounts)  # ...and fewer statements than checks ran


async def test_the_read_pool_recovers_when_its_connections_are_killed(committed) -> None:
    """PostgreSQL restarts or a proxy drops connections: reads run again on a fresh connection, so
    the checks keep answering (and were they to fail, it would be a 503, never a 500)."""
    from sqlalchemy import text

    from tests.factories import make_key, make_platform
    from vncomply.app import create_app
    from vncomply.kit import db as dbmod
    from vncomply.kit.principal import Role

    async with committed() as s:
        pid = await make_platform(s)
        _, raw = await make_key(s, Role.platform, platform_id=pid)
        await s.commit()
    transport = httpx.ASGITransport(app=create_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        assert (await c.get("/v1/accounts/a/permissions", headers=auth(raw))).status_code == 200
        pool = dbmod._read_pool
        assert pool is not None
        async with committed() as s:
            killed = await s.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = 'vncomply-read'"
                )
            )
            assert any(killed.scalars().all())
        statuses = [
            (await c.get("/v1/accounts/a/permissions", headers=auth(raw))).status_code for _ in range(4)
        ]
    assert statuses == [200, 200, 200, 200], statuses
