"""Per-API-key rate limits: GCRA in one atomic Lua script in Redis.

A process takes tokens from Redis in small leases (1/20 of the burst, valid 1 s) and spends them
locally, so the hot path pays a Redis round trip once per lease instead of once per request. Redis
stays the single authority; the over-admission across N processes is bounded by N leases. One
request refills a bucket's lease while the others wait for it: when a lease ran out under load,
every request in flight used to take its own lease at once, overdrawing the bucket into denials
that left only one-token leases — a Redis round trip per request from then on (13 % of the
permission check's CPU in a profile). The requests that waited share the refill's outcome when it
is a refusal or "Redis could not be asked": the bucket is empty (or Redis is away) for them too, so
asking again would only pile one Redis call per waiting request onto an empty bucket or a Redis
that is already timing out (a CI run saw exactly that herd time out under load).

When Redis is unreachable the API keeps serving (availability beats limiting for a compliance
check that platforms call on every post); the failure is counted and logged once a minute.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

from redis.exceptions import NoScriptError

from vncomply.kit.logs import get_logger
from vncomply.kit.metrics import REDIS_FAILURES
from vncomply.kit.redis import get_redis, key

log = get_logger("vncomply.kit.ratelimit")

# Redis TIME, not the caller's clock: all API processes must agree on the bucket's time.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local cost = tonumber(ARGV[3])
local new_tat = tat + interval * cost
local allow_at = new_tat - tau
if now < allow_at then
  return {0, tostring(allow_at - now), tostring(tat - now)}
end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return {1, '0', tostring(new_tat - now)}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        """The IETF draft RateLimit headers every limited response carries."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


_last_warning = 0.0
_script_sha: str | None = None


async def _eval(bucket: str, interval: float, tau: float, cost: int) -> list[bytes]:
    global _script_sha
    client = get_redis()
    if _script_sha is None:
        _script_sha = await client.script_load(_GCRA)
    try:
        return await client.evalsha(_script_sha, 1, bucket, interval, tau, cost)  # type: ignore[no-any-return]
    except NoScriptError:
        # A restarted (or flushed, or failed-over) Redis has an empty script cache. redis-py
        # raises this type for the server's NOSCRIPT reply, whose message lacks the word.
        _script_sha = await client.script_load(_GCRA)
        return await client.evalsha(_script_sha, 1, bucket, interval, tau, cost)  # type: ignore[no-any-return]


@dataclass(slots=True)
class _Lease:
    tokens: int
    expires: float
    remaining: int
    reset_seconds: int


_leases: dict[str, _Lease] = {}


class _Abandoned:
    """A refill whose leader was cancelled before Redis answered: its waiters must ask again."""


_ABANDONED = _Abandoned()
_Outcome = Decision | None | _Abandoned
# The refill in flight per bucket (and the event loop it runs on: tests run several loops).
_refills: dict[tuple[str, int], asyncio.Future[_Outcome]] = {}
LEASE_SECONDS = 1.0


def _spend(bucket_id: str, burst: int) -> Decision | None:
    lease = _leases.get(bucket_id)
    if lease is not None and lease.tokens > 0 and lease.expires > time.monotonic():
        lease.tokens -= 1
        return Decision(True, burst, lease.remaining + lease.tokens, lease.reset_seconds, 0)
    return None


async def check(bucket_id: str, rate: int, burst: int) -> Decision | None:
    """Spend one token from ``bucket_id``; None when Redis could not be asked."""
    loop = asyncio.get_running_loop()
    flight = (bucket_id, id(loop))
    # Each turn either returns or waits for a refill that served at least one request, so the
    # loop ends; a request only leads a refill when none is in flight.
    while True:
        spent = _spend(bucket_id, burst)
        if spent is not None:
            return spent
        pending = _refills.get(flight)
        if pending is None:
            break
        outcome = await asyncio.shield(pending)
        if not isinstance(outcome, _Abandoned) and (outcome is None or not outcome.allowed):
            return outcome
    done: asyncio.Future[_Outcome] = loop.create_future()
    _refills[flight] = done
    outcome = _ABANDONED
    try:
        outcome = await _refill(bucket_id, rate, burst)
        return outcome
    finally:
        del _refills[flight]
        done.set_result(outcome)


async def _refill(bucket_id: str, rate: int, burst: int) -> Decision | None:
    now = time.monotonic()
    batch = max(1, burst // 20)
    decision = await _take(bucket_id, rate, burst, batch)
    if decision is not None and not decision.allowed and batch > 1:
        batch = 1
        decision = await _take(bucket_id, rate, burst, 1)
    if decision is not None and decision.allowed:
        if len(_leases) > 10_000:
            _leases.clear()
        _leases[bucket_id] = _Lease(
            batch - 1, now + LEASE_SECONDS, decision.remaining, decision.reset_seconds
        )
        return Decision(True, burst, decision.remaining + batch - 1, decision.reset_seconds, 0)
    return decision


async def _take(bucket_id: str, rate: int, burst: int, cost: int) -> Decision | None:
    global _last_warning
    interval = 1.0 / rate
    tau = interval * burst
    try:
        allowed, retry, used = await _eval(key("rl", bucket_id), interval, tau, cost)
    except Exception as exc:
        REDIS_FAILURES.labels("rate_limit").inc()
        now = time.monotonic()
        if now - _last_warning > 60:
            _last_warning = now
            log.warning("rate_limit_unavailable", error_type=type(exc).__name__)
        return None
    used_s = float(used)
    remaining = max(0, math.floor((tau - used_s) / interval)) if int(allowed) else 0
    return Decision(
        allowed=bool(int(allowed)),
        limit=burst,
        remaining=remaining,
        reset_seconds=math.ceil(used_s),
        retry_after=max(1, math.ceil(float(retry))),
    )


def forget_leases() -> None:
    _leases.clear()
