"""The limiter against the real Redis: concurrent requests share one lease refill, the bucket is
never overdrawn by them, and the requests that waited for a refused (or failed) refill share its
answer instead of each asking Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from vncomply.config import get_settings
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
    assert 38 <= allowed <= 41, allowed
    refused = [d for d in decisions if d is not None and not d.allowed]
    assert refused
    assert all(d.retry_after >= 1 for d in refused)
    # 20 leases of 2 tokens, then one refused refill (2 tokens, then 1) whose answer all the
    # remaining requests share: before, each of the 60 refused requests asked Redis itself.
    assert len(takes) <= 40 // 2 + 4, takes


async def test_waiters_share_a_refill_that_could_not_ask_redis(
    takes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    await redis_client.close_redis()
    monkeypatch.setattr(get_settings(), "redis_url", "redis://127.0.0.1:9/0")  # nothing listens
    monkeypatch.setattr(ratelimit, "_script_sha", None)
    decisions = await asyncio.gather(*(ratelimit.check(f"test-{uuid.uuid4()}", 1, 40) for _ in range(3)))
    assert decisions == [None, None, None], "each bucket fails open on its own"
    takes.clear()
    bucket = f"test-{uuid.uuid4()}"
    decisions = await asyncio.gather(*(ratelimit.check(bucket, 1, 40) for _ in range(50)))
    assert decisions == [None] * 50, "fail open: availability first"
    assert takes == [2], "one call to the unreachable Redis answered all 50 requests"


async def test_a_cancelled_leader_lets_its_waiters_ask_again(takes: list[int]) -> None:
    bucket = f"test-{uuid.uuid4()}"
    leader = asyncio.ensure_future(ratelimit.check(bucket, 1000, 2000))
    await asyncio.sleep(0)  # the leader is now waiting on Redis
    waiters = [asyncio.ensure_future(ratelimit.check(bucket, 1000, 2000)) for _ in range(5)]
    await asyncio.sleep(0)
    leader.cancel()
    decisions = await asyncio.gather(*waiters)
    assert all(d is not None and d.allowed for d in decisions), decisions
    assert len(takes) == 2, "the cancelled leader's refill and one more"
