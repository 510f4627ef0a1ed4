"""The limiter against the real Redis: concurrent requests share one lease refill, and the bucket
is never overdrawn by them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from vncomply.kit import ratelimit
from vncomply.kit import redis as redis_client


@pytest.fixture
async def takes(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[int]]:
    """The cost of every call that reached Redis (the real call still runs)."""
    costs: list[int] = []
    real = ratelimit._take

    async def counted(bucket_id: str, rate: int, burst: int, cost: int) -> Any:
        costs.append(cost)
        return await real(bucket_id, rate, burst, cost)

    monkeypatch.setattr(ratelimit, "_take", counted)
    ratelimit.forget_leases()
    yield costs
    await redis_client.close_redis()  # its connections belong to this test's event loop


async def test_concurrent_requests_share_one_refill(takes: list[int]) -> None:
    bucket = f"test-{uuid.uuid4()}"
    decisions = await asyncio.gather(*(ratelimit.check(bucket, 1000, 2000) for _ in range(50)))
    assert all(d is not None and d.allowed for d in decisions)
    assert takes == [100], "one refill of 1/20 of the burst served all 50"


async def test_a_burst_beyond_the_limit_is_refused_not_overdrawn(takes: list[int]) -> None:
    bucket = f"test-{uuid.uuid4()}"
    decisions = await asyncio.gather(*(ratelimit.check(bucket, 1, 40) for _ in range(100)))
    assert None not in decisions
    allowed = sum(1 for d in decisions if d is not None and d.allowed)
    assert 20 <= allowed <= 40, allowed
    refused = [d for d in decisions if d is not None and not d.allowed]
    assert refused
    assert all(d.retry_after >= 1 for d in refused)
