"""Beat liveness: a beat-scheduled task stamps Redis; /metrics exposes the age of the stamp."""

from __future__ import annotations

from vncomply.kit import clock
from vncomply.kit.metrics import REDIS_FAILURES
from vncomply.kit.redis import get_redis, key


async def record_beat(at: float | None = None) -> None:
    await get_redis().set(key("beat", "last"), str(at if at is not None else clock.now().timestamp()))


async def last_beat() -> float | None:
    try:
        raw = await get_redis().get(key("beat", "last"))
    except Exception:
        REDIS_FAILURES.labels("heartbeat").inc()
        return None
    return float(raw) if raw else None
