"""Per-API-key rate limits: GCRA in one atomic Lua script in Redis.

When Redis is unreachable the API keeps serving (availability beats limiting for a compliance
check that platforms call on every post); the failure is counted and logged once a minute.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from vncomply.logs import get_logger
from vncomply.metrics import REDIS_FAILURES
from vncomply.redis_client import get_redis, key

log = get_logger("vncomply.ratelimit")

# Redis TIME, not the caller's clock: all API processes must agree on the bucket's time.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
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


_last_warning = 0.0
_script_sha: str | None = None


async def _eval(bucket: str, interval: float, tau: float) -> list[bytes]:
    global _script_sha
    client = get_redis()
    if _script_sha is None:
        _script_sha = await client.script_load(_GCRA)
    try:
        return await client.evalsha(_script_sha, 1, bucket, interval, tau)  # type: ignore[no-any-return]
    except Exception as exc:
        if "NOSCRIPT" not in str(exc):
            raise
        _script_sha = await client.script_load(_GCRA)
        return await client.evalsha(_script_sha, 1, bucket, interval, tau)  # type: ignore[no-any-return]


async def check(bucket_id: str, rate: int, burst: int) -> Decision | None:
    """Spend one token from ``bucket_id``; None when Redis could not be asked."""
    global _last_warning
    interval = 1.0 / rate
    tau = interval * burst
    try:
        allowed, retry, used = await _eval(key("rl", bucket_id), interval, tau)
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
