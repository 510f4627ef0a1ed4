"""Per-key rate limits (the Idempotency-Key tests are in tests/idempotency/)."""

from __future__ import annotations

from tests.factories import admin_key, auth
from vncomply.config import get_settings


async def test_rate_limit_429_with_headers(client, db, monkeypatch) -> None:
    admin = await admin_key(db)
    monkeypatch.setattr(get_settings(), "rate_limit_admin", [1, 2])
    statuses = []
    for _ in range(4):
        r = await client.get("/v1/rulebook", headers=auth(admin))
        statuses.append(r.status_code)
        if r.status_code == 200:
            assert int(r.headers["ratelimit-limit"]) == 2
            assert "ratelimit-remaining" in r.headers
            assert "ratelimit-reset" in r.headers
    assert statuses[:2] == [200, 200]
    assert statuses[-1] == 429
    assert int(r.headers["retry-after"]) >= 1
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_api_serves_when_redis_is_down(client, db, monkeypatch) -> None:
    from vncomply.kit import redis as redis_client

    admin = await admin_key(db)
    await redis_client.close_redis()
    monkeypatch.setattr(get_settings(), "redis_url", "redis://127.0.0.1:1/0")
    for _ in range(3):
        r = await client.get("/v1/rulebook", headers=auth(admin))
        assert r.status_code == 200
        assert "ratelimit-limit" not in r.headers
    await redis_client.close_redis()
    metrics = (await client.get("/metrics")).text
    assert 'vncomply_redis_failures_total{what="rate_limit"}' in metrics
