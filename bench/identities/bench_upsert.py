"""The identity upsert (``PUT /v1/identities/{account_id}``) beside its limit reference, measured
in the same run, rounds interleaved.

- Figure: PUTs to ``vncomply api`` (one process) on ``BENCH_CONNECTIONS`` keep-alive connections
  for ``BENCH_SECONDS``: upserts/s and the API process's CPU per upsert.
- Reference: the same service call, ``identities.service.put_identity`` (the rules' checks,
  encryption, blind indexes, the upsert and its audit row, commit) on bodies already parsed into
  ``IdentityIn``, run in this process on the same database with the same concurrency: no HTTP,
  JSON parsing, authentication, idempotency or middleware.

    VNCOMPLY_BENCH_PG=postgresql://postgres@127.0.0.1:5432 VNCOMPLY_REDIS_URL=redis://127.0.0.1:6379/9 \\
        BENCH_SECONDS=15 .venv/bin/python bench/identities/bench_upsert.py

Creates (and drops first) the scratch database ``vnc_bench_ident``, and drops it at the end.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import psycopg

os.environ.setdefault("BENCH_IDENTITIES", "10000")  # the upserts do not read the seeded rows
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import bench_identities as ident
import common

PORT = 18_941
SECONDS = int(os.environ.get("BENCH_SECONDS", "15"))
CONNS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def bodies() -> list[dict[str, Any]]:
    out = []
    for row in ident.ndjson_rows(1000):
        row.pop("account_id")
        out.append(row)
    return out


def over_http(key: str, rows: list[dict[str, Any]], api_pid: int) -> tuple[float, float]:
    auth = f"authorization: Bearer {key}\r\nhost: 127.0.0.1\r\n".encode()
    encoded = [orjson.dumps(r) for r in rows]

    def next_request(conn: int, seq: int) -> common.Request:
        body = encoded[seq % len(encoded)]
        return "upsert", (
            b"PUT /v1/identities/http%d_%d HTTP/1.1\r\n%scontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (conn, seq % 5000, auth, len(body), body)
        )

    before = common.cpu_seconds(api_pid)
    lat, errors = asyncio.run(common.keepalive_load(PORT, next_request, SECONDS, CONNS))
    cpu = common.cpu_seconds(api_pid) - before
    if errors:
        raise SystemExit(f"errors over HTTP: {errors}")
    n = len(lat.get("upsert", []))
    return n / SECONDS, 1000 * cpu / n


def in_process(platform_id: uuid.UUID, rows: list[dict[str, Any]]) -> tuple[float, float]:
    from vncomply.identities import service
    from vncomply.identities.schemas import IdentityIn
    from vncomply.kit.db import dispose_engine, session_scope
    from vncomply.kit.principal import Principal, Role

    actor = Principal(uuid.uuid4(), Role.platform, platform_id, None)
    bodies_in = [IdentityIn.model_validate(r) for r in rows]

    async def main() -> int:
        stop = time.perf_counter() + SECONDS
        done = 0

        async def lane(conn: int) -> None:
            nonlocal done
            seq = 0
            while time.perf_counter() < stop:
                async with session_scope() as s:
                    body = bodies_in[seq % len(bodies_in)]
                    await service.put_identity(s, actor, f"ref{conn}_{seq % 5000}", body)
                seq += 1
                done += 1

        try:
            await asyncio.gather(*(lane(c) for c in range(CONNS)))
        finally:
            await dispose_engine()
        return done

    before = time.process_time()
    n = asyncio.run(main())
    return n / SECONDS, 1000 * (time.process_time() - before) / n


def main() -> None:
    platform_id, key = ident.setup_database()
    for name, value in ident.env().items():  # the in-process reference's settings
        os.environ.setdefault(name, value)
    os.environ["VNCOMPLY_DATABASE_URL"] = ident.env()["VNCOMPLY_DATABASE_URL"]
    rows = bodies()
    cmd = [str(ident.BIN / "vncomply"), "api", "--port", str(PORT), "--workers", "1", "--no-access-log"]
    api = ident.started(subprocess.Popen(cmd, cwd=ident.ROOT, env=ident.env()), PORT, "vncomply api", 40)
    try:
        got = common.interleaved(
            {"http": lambda: over_http(key, rows, api.pid), "service": lambda: in_process(platform_id, rows)},
            ROUNDS,
        )
    finally:
        ident.stop(api)
        with psycopg.connect(f"{ident.PG}/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{ident.DB}" WITH (FORCE)')
    for r, (h, s) in enumerate(zip(got["http"], got["service"], strict=True), 1):
        print(f"round {r}: http {h[0]:,.0f}/s, {h[1]:.2f} ms CPU each; service {s[0]:,.0f}/s, {s[1]:.2f} ms")
    http_rate = statistics.median(h[0] for h in got["http"])
    ref_rate = statistics.median(s[0] for s in got["service"])
    ratio = common.median_ratio([h[0] for h in got["http"]], [s[0] for s in got["service"]])
    print(
        f"identity upsert over HTTP vs the service call in-process: {http_rate:,.0f}/s vs {ref_rate:,.0f}/s"
    )
    print(
        f"  median per-round ratio {ratio:.2f}x; CPU per upsert: API "
        f"{statistics.median(h[1] for h in got['http']):.2f} ms, in-process "
        f"{statistics.median(s[1] for s in got['service']):.2f} ms ({common.load()})"
    )


if __name__ == "__main__":
    main()
