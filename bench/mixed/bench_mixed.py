"""Mixed load: 90 % permission checks, 9 % identity upserts, 1 % takedown-order traffic against
``vncomply api --workers 2``, beside a permission-only run on the same server in the same run.

    VNCOMPLY_BENCH_PG=postgresql://postgres@127.0.0.1:5432 \
    VNCOMPLY_REDIS_URL=redis://127.0.0.1:6379/14 BENCH_SECONDS=60 BENCH_IDENTITIES=100000 \
        .venv/bin/python bench/mixed/bench_mixed.py

Reuses the identities benchmark's database setup (scratch database ``vnc_bench_ident``, seeded with
SQL) and its settings. With ``wrk`` on PATH the throughput and the ratio come from wrk runs of
``mixed.lua`` (wrk cannot tell the kinds apart, so its p50/p99 are over all requests); the per-kind
p50/p99 and errors always come from an asyncio + httpx generator (one keep-alive client per
connection), which is slower than the server — its req/s are the generator's ceiling, not the API's.
Takedown traffic is the platform's own order list (``GET /v1/takedown-orders``): submitting orders
needs an authority key, which the identities setup does not create.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "identities"))
os.environ.setdefault("VNCOMPLY_REDIS_URL", "redis://127.0.0.1:6379/14")

import bench_identities as ident

PORT = 8195
SECONDS = int(os.environ.get("BENCH_SECONDS", "60"))
CONNS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
MIX = (("permission", 0.90), ("upsert", 0.09), ("takedowns", 0.01))


def start_api() -> subprocess.Popen[bytes]:
    cmd = [str(ident.BIN / "vncomply"), "api", "--port", str(PORT), "--workers", "2", "--no-access-log"]
    proc = subprocess.Popen(cmd, cwd=ident.ROOT, env=ident.env())
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{PORT}/healthz", timeout=0.5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("vncomply api did not start")


def pick(mixed: bool) -> str:
    if not mixed:
        return "permission"
    x = random.random()
    for kind, share in MIX:
        if x < share:
            return kind
        x -= share
    return "permission"


async def one(c: httpx.AsyncClient, kind: str, worker: int, seq: int) -> int:
    if kind == "permission":
        r = await c.get(f"/v1/accounts/acc{random.randint(1, ident.N)}/permissions")
    elif kind == "upsert":
        row = ident.ndjson_rows(1 + seq % 1000)[-1]
        row.pop("account_id")
        r = await c.put(f"/v1/identities/mix{worker}_{seq % 5000}", json=row)
    else:
        r = await c.get("/v1/takedown-orders", params={"limit": 20})
    return r.status_code


async def load(key: str, seconds: int, mixed: bool) -> dict[str, list[float]]:
    lat: dict[str, list[float]] = {k: [] for k, _ in MIX}
    errors: dict[str, list[float]] = {k: [] for k, _ in MIX}
    stop_at = time.perf_counter() + seconds

    async def conn(worker: int) -> None:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}", headers=headers, timeout=30) as c:
            seq = 0
            while time.perf_counter() < stop_at:
                kind = pick(mixed)
                t = time.perf_counter()
                try:
                    status = await one(c, kind, worker, seq)
                except httpx.HTTPError:
                    status = 0
                (lat if status < 400 and status else errors)[kind].append(time.perf_counter() - t)
                seq += 1

    await asyncio.gather(*(conn(i) for i in range(CONNS)))
    return {**lat, **{f"{k}_errors": v for k, v in errors.items()}}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")


def report(name: str, res: dict[str, list[float]], seconds: int) -> float:
    total = sum(len(res[k]) for k, _ in MIX)
    print(f"\n-- {name}: {total / seconds:,.0f} req/s over {seconds} s, {CONNS} connections")
    for kind, _ in MIX:
        xs, errs = res[kind], res[f"{kind}_errors"]
        if xs or errs:
            print(
                f"{kind:11s} {len(xs) / seconds:8,.0f} req/s  p50 {pct(xs, 0.5):7.2f} ms  "
                f"p99 {pct(xs, 0.99):7.2f} ms  errors {len(errs)}"
            )
    return len(res["permission"]) / seconds


def with_wrk(key: str) -> None:
    script = str(Path(__file__).resolve().parent / "mixed.lua")
    runs = {}
    for name, flag in (("permission only", "0"), ("mixed 90/9/1", "1")):
        os.environ["BENCH_MIXED"] = flag
        runs[name] = r = ident.wrk(PORT, script, key, SECONDS)
        print(
            f"wrk {name:16s} {r['rps']:9,.0f} req/s  p50 {r['p50']:6.2f} ms  p99 {r['p99']:6.2f} ms"
            f"  non-2xx {r['errors']:.0f}"
        )
    only, mixed = runs["permission only"]["rps"], runs["mixed 90/9/1"]["rps"] * 0.9
    print(f"wrk: permission checks under mixed load {mixed / only:.2f} x the permission-only run")


def main() -> None:
    print(f"cpus: {os.cpu_count()}, load average {os.getloadavg()}, database: {ident.DSN}")
    _, key = ident.setup_database()
    api = start_api()
    try:
        asyncio.run(load(key, 3, mixed=True))  # warm-up
        if shutil.which("wrk"):
            with_wrk(key)
        only = report("permission only", asyncio.run(load(key, SECONDS, mixed=False)), SECONDS)
        mixed = report("mixed 90/9/1", asyncio.run(load(key, SECONDS, mixed=True)), SECONDS)
    finally:
        ident.stop(api)
    print(
        f"\npermission checks under mixed load: {mixed / only:.2f} x the permission-only run "
        f"({mixed:,.0f} vs {only:,.0f} req/s); load average after {os.getloadavg()}"
    )


if __name__ == "__main__":
    main()
