"""The reference for the permission-check benchmark: a bare ASGI app (no framework, no auth) doing
the same primary-key lookup through a psycopg async pool and answering JSON."""

from __future__ import annotations

import os
import uuid
from typing import Any

import orjson
from psycopg_pool import AsyncConnectionPool

DSN = os.environ["BENCH_DSN"]
PLATFORM = uuid.UUID(os.environ["BENCH_PLATFORM"])
SQL = "SELECT status FROM identities WHERE platform_id = %s AND account_id = %s"
pool: AsyncConnectionPool | None = None


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global pool
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                pool = AsyncConnectionPool(DSN, min_size=10, max_size=10, open=False)
                await pool.open()
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                if pool is not None:
                    await pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    assert pool is not None
    parts = scope["path"].split("/")
    if len(parts) < 4:  # /healthz and the like: the harness polls it until we are up
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    account_id = parts[3]
    async with pool.connection() as conn:
        cur = await conn.execute(SQL, (PLATFORM, account_id))
        row = await cur.fetchone()
    body = orjson.dumps({"account_id": account_id, "verified": bool(row and row[0] == "verified")})
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})
