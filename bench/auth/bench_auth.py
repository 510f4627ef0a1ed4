"""Cost of authentication per request: the cached path (every request within 1 s of the key's last
lookup) and the uncached path (one indexed SELECT), measured against an empty-await reference.

    VNCOMPLY_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/vnc_bench \
    VNCOMPLY_REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/auth/bench_auth.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time

from vncomply.auth import service
from vncomply.kit.db import get_sessionmaker, session_scope
from vncomply.kit.principal import Role

N = 20_000


async def _noop() -> None:
    return None


async def main() -> None:
    from vncomply.config import get_settings

    print(f"database: {get_settings().database_url}")
    async with session_scope() as s:
        _, raw = await service.create_key(s, None, role=Role.admin, name="bench")
    maker = get_sessionmaker()

    async with maker() as s:
        t = time.perf_counter()
        for _ in range(N):
            await _noop()
        ref = (time.perf_counter() - t) / N * 1e6

        await service.authenticate(s, raw)  # warm the cache
        t = time.perf_counter()
        for _ in range(N):
            assert await service.authenticate(s, raw) is not None
        cached = (time.perf_counter() - t) / N * 1e6

        samples = []
        for _ in range(2000):
            service.clear_cache()
            t = time.perf_counter()
            assert await service.authenticate(s, raw) is not None
            samples.append((time.perf_counter() - t) * 1e6)
    from vncomply.kit import ratelimit

    rl = []
    for _ in range(2000):
        t = time.perf_counter()
        await ratelimit.check("bench", 1_000_000, 1_000_000)
        rl.append((time.perf_counter() - t) * 1e6)
    print(f"reference (empty await):      {ref:8.2f} µs")
    print(f"authenticate, cached:         {cached:8.2f} µs/request")
    print(
        f"authenticate, uncached (DB):  {statistics.median(samples):8.2f} µs median, "
        f"p99 {sorted(samples)[int(len(samples) * 0.99)]:.2f} µs"
    )
    print(f"rate limit (Redis GCRA):      {statistics.median(rl):8.2f} µs median")


if __name__ == "__main__":
    if not os.environ.get("VNCOMPLY_DATABASE_URL"):
        raise SystemExit("set VNCOMPLY_DATABASE_URL to a migrated scratch database")
    asyncio.run(main())
