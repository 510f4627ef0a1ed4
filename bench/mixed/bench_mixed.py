"""Mixed load: 90 % permission checks, 9 % identity upserts, 1 % takedown-order traffic against
``vncomply api --workers 2``, beside a permission-only run on the same server, interleaved.

    VNCOMPLY_BENCH_PG=postgresql://postgres@127.0.0.1:5432 \
    VNCOMPLY_REDIS_URL=redis://127.0.0.1:6379/14 BENCH_SECONDS=60 BENCH_ROUNDS=1 \
    BENCH_IDENTITIES=100000 .venv/bin/python bench/mixed/bench_mixed.py

Reuses the identities benchmark's database setup (scratch database ``vnc_bench_ident``, seeded with
SQL) and its settings. The load comes from ``bench/common.keepalive_load`` — requests written on
bare asyncio streams, one keep-alive connection each — which times every request by kind (wrk
cannot) and costs the shared cores far less than an HTTP client library would. Rounds alternate
permission-only and mixed (``BENCH_ROUNDS``, default 3; ``make bench`` runs 1), and the ratio is the
median of each round's mixed permission-check throughput over its permission-only run. Takedown
traffic is the platform's own order list (``GET /v1/takedown-orders``): submitting orders needs an
authority key, which the identities setup does not create.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "identities"))
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("VNCOMPLY_REDIS_URL", "redis://127.0.0.1:6379/14")

import bench_identities as ident  # noqa: E402
import common  # noqa: E402

PORT = 8195
SECONDS = int(os.environ.get("BENCH_SECONDS", "60"))
CONNS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
KINDS = ("permission", "upsert", "takedowns")
MIX = (0.90, 0.09, 0.01)


def start_api() -> subprocess.Popen[bytes]:
    cmd = [str(ident.BIN / "vncomply"), "api", "--port", str(PORT), "--workers", "2", "--no-access-log"]
    return ident.started(subprocess.Popen(cmd, cwd=ident.ROOT, env=ident.env()), PORT, "vncomply api", 40)


def requests(key: str, mixed: bool):  # type: ignore[no-untyped-def]
    auth = f"authorization: Bearer {key}\r\nhost: 127.0.0.1\r\n".encode()
    bodies = []
    for row in ident.ndjson_rows(1000):
        row.pop("account_id")
        bodies.append(orjson.dumps(row))

    def next_request(conn: int, seq: int) -> common.Request:
        kind = random.choices(KINDS, MIX)[0] if mixed else "permission"
        if kind == "permission":
            path = f"/v1/accounts/acc{random.randint(1, ident.N)}/permissions"
            return kind, b"GET %s HTTP/1.1\r\n%s\r\n" % (path.encode(), auth)
        if kind == "upsert":
            body = bodies[seq % len(bodies)]
            return kind, (
                b"PUT /v1/identities/mix%d_%d HTTP/1.1\r\n%scontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%s" % (conn, seq % 5000, auth, len(body), body)
            )
        return kind, b"GET /v1/takedown-orders?limit=20 HTTP/1.1\r\n%s\r\n" % auth

    return next_request


Run = tuple[dict[str, list[float]], dict[str, int], tuple[float, float, float]]
API_PID = 0  # the `vncomply api` supervisor; its workers are its children


def run(key: str, mixed: bool, seconds: int = SECONDS) -> Run:
    """One load run: per-kind latencies, errors, and CPU seconds spent (API, PostgreSQL, client)."""
    before = (common.cpu_seconds(API_PID), common.postgres_cpu_seconds(ident.DB), time.process_time())
    lat, err = asyncio.run(common.keepalive_load(PORT, requests(key, mixed), seconds, CONNS))
    after = (common.cpu_seconds(API_PID), common.postgres_cpu_seconds(ident.DB), time.process_time())
    return lat, err, (after[0] - before[0], after[1] - before[1], after[2] - before[2])


def report(
    name: str, latencies: dict[str, list[float]], errors: dict[str, int], cpu: tuple[float, float, float]
) -> float:
    total = sum(len(v) for v in latencies.values()) + sum(errors.values())
    api, pg, me = (c / max(total, 1) * 1e6 for c in cpu)
    print(
        f"-- {name}: {total / SECONDS:,.0f} req/s over {SECONDS} s, {CONNS} connections; CPU per "
        f"request: API {api:,.0f} µs, PostgreSQL {pg:,.0f} µs, load generator {me:,.0f} µs"
    )
    for kind in KINDS:
        xs = latencies.get(kind, [])
        if xs or errors.get(kind):
            print(
                f"   {kind:11s} {len(xs) / SECONDS:8,.1f} req/s  p50 {common.percentile_ms(xs, 0.5):7.2f} ms"
                f"  p99 {common.percentile_ms(xs, 0.99):7.2f} ms  errors {errors.get(kind, 0)}"
            )
    return len(latencies.get("permission", [])) / SECONDS


def main() -> None:
    print(f"cpus: {os.cpu_count()}, {common.load()}, database: {ident.DSN}")
    global API_PID
    _, key = ident.setup_database()
    api = start_api()
    API_PID = api.pid
    try:
        run(key, True, 3)  # warm-up
        runs = common.interleaved(
            {"permission only": lambda: run(key, False), "mixed 90/9/1": lambda: run(key, True)}
        )
    finally:
        ident.stop(api)
    only = [report("permission only", *r) for r in runs["permission only"]]
    mixed = [report("mixed 90/9/1", *r) for r in runs["mixed 90/9/1"]]
    errors = sum(sum(e.values()) for rs in runs.values() for _, e, _ in rs)
    print(
        f"\npermission checks under mixed load: {common.median_ratio(mixed, only):.2f}x the "
        f"permission-only run (median of {len(only)} rounds); errors {errors} (target 0); {common.load()}"
    )
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
