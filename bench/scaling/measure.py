"""Figures for docs/scaling.md: table and index sizes per million identities (ingested through the
real bulk path: HTTP, validation, AES-GCM, blind indexes), and the CPU one permission check costs
the API process and PostgreSQL (what sizes a fleet: processes and replicas).

    VNCOMPLY_BENCH_PG=postgresql://postgres@127.0.0.1:5432 VNCOMPLY_REDIS_URL=redis://127.0.0.1:6379/0 \
    BENCH_IDENTITIES=1000000 BENCH_SECONDS=20 .venv/bin/python bench/scaling/measure.py [--keep]

Creates (and drops first) the scratch database ``vnc_scaling``; needs ``wrk``. CPU is read from
/proc (user + system time of the API process and of the PostgreSQL backends serving it), so it
is the cost per check whatever else the machine runs; throughput on a shared box is not.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import orjson
import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "identities"))
import bench_identities as bi  # noqa: E402 - the identities bench's server, wrk and set-up helpers
import common  # noqa: E402 - bench/common.py (bench_identities put it on the path)

bi.DB = "vnc_scaling"
bi.DSN = f"{bi.PG}/{bi.DB}"
N = bi.N


def identities(n: int) -> Iterator[dict[str, object]]:
    """Distinct accounts, phones and ID numbers (blind indexes as selective as real ones): every
    one verified by SMS, one in five with a national ID too."""
    for i in range(1, n + 1):
        dob = date(1960 + i % 45, 1 + i % 12, 1 + i % 28)
        row: dict[str, object] = {
            "account_id": f"acc{i}",
            "full_name": "Nguyễn Văn An" if i % 2 else "Trần Thị Bình",
            "date_of_birth": dob.isoformat(),
            "phone_number": f"09{i:08d}",
            "verification": {"method": "sms_otp", "verified_at": "2026-01-01T00:00:00Z"},
        }
        if i % 5 == 0:
            row["national_id"] = f"001{(dob.year // 100 - 19) * 2}{dob.year % 100:02d}{i % 10**6:06d}"
        yield row


async def ingest(port: int, key: str, n: int) -> dict[str, object]:
    async def body() -> object:
        batch: list[bytes] = []
        for row in identities(n):
            batch.append(orjson.dumps(row))
            if len(batch) == 1000:
                yield b"\n".join(batch) + b"\n"
                batch = []
        if batch:
            yield b"\n".join(batch) + b"\n"

    async with httpx.AsyncClient(timeout=3600) as c:
        r = await c.post(
            f"http://127.0.0.1:{port}/v1/identities/bulk",
            content=body(),  # type: ignore[arg-type]
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"},
        )
        r.raise_for_status()
        return dict(r.json())


def setup() -> tuple[uuid.UUID, str]:
    with psycopg.connect(f"{bi.PG}/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{bi.DB}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{bi.DB}"')
    subprocess.run([str(bi.BIN / "alembic"), "upgrade", "head"], cwd=bi.ROOT, env=bi.env(), check=True)
    out = subprocess.run(
        [str(bi.BIN / "python"), "-c", bi.SETUP_SNIPPET],
        cwd=bi.ROOT,
        env=bi.env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return uuid.UUID(out[-2]), out[-1]


SIZES = """
SELECT c.relname, c.reltuples::bigint, pg_relation_size(c.oid), pg_indexes_size(c.oid),
       pg_total_relation_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r' AND pg_total_relation_size(c.oid) > 65536
ORDER BY pg_total_relation_size(c.oid) DESC
"""
INDEXES = """
SELECT i.relname, pg_relation_size(i.oid) FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relname = %s ORDER BY 2 DESC
"""


def mb(b: int) -> str:
    return f"{b / 2**20:,.1f} MB"


def sizes() -> None:
    with psycopg.connect(bi.DSN, autocommit=True) as c:
        c.execute("VACUUM ANALYZE")
        print(f"\n== sizes after {N:,} identities (VACUUM ANALYZE), per table")
        print("| table | rows | heap | indexes | TOAST | total | bytes per identity |")
        print("|---|---|---|---|---|---|---|")
        for name, rows, heap, idx, total in c.execute(SIZES).fetchall():
            toast = total - heap - idx
            print(
                f"| {name} | {rows:,} | {mb(heap)} | {mb(idx)} | {mb(toast)} | {mb(total)} "
                f"| {total / N:,.0f} |"
            )
        for table in ("identities", "account_blocks"):
            print(
                f"\n{table} indexes: "
                + ", ".join(f"{name} {mb(size)}" for name, size in c.execute(INDEXES, (table,)).fetchall())
            )


def cpu_seconds(pids: list[int]) -> float:
    return sum(common.cpu_seconds(pid, children=False) for pid in pids)


def backends(application: str) -> list[int]:
    with psycopg.connect(bi.DSN, autocommit=True) as c:
        rows = c.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            (bi.DB, application),
        ).fetchall()
    return [int(r[0]) for r in rows]


def cpu_per_request(api_pid: int, script: str, key: str, per: int) -> None:
    bi.wrk(bi_port, script, key, 3)  # warm-up: connections, prepared statements, caches
    pg = backends("vncomply-read")
    api0, pg0 = cpu_seconds([api_pid]), cpu_seconds(pg)
    r = bi.wrk(bi_port, script, key)
    api1, pg1 = cpu_seconds([api_pid]), cpu_seconds(pg)
    done = r["rps"] * bi.SECONDS * per
    print(
        f"{script}: {r['rps']:,.0f} req/s ({done / bi.SECONDS:,.0f} decisions/s), p99 {r['p99']:.1f} ms, "
        f"non-2xx {r['errors']:.0f}; CPU per decision: API {1e6 * (api1 - api0) / done:.1f} us, "
        f"PostgreSQL {1e6 * (pg1 - pg0) / done:.1f} us over {len(pg)} backends"
    )


bi_port = 8197


def main() -> None:
    platform_id, key = setup()
    api = bi.serve("vncomply.app:create_app", bi_port, {}, factory=True)
    try:
        t = time.perf_counter()
        out = asyncio.run(ingest(bi_port, key, N))
        took = time.perf_counter() - t
        print(f"bulk ingest: {N:,} identities in {took:.1f} s ({N / took:,.0f}/s): {out}")
        sizes()
        with psycopg.connect(bi.DSN, autocommit=True) as c:  # 1 % blocked, as in the identities bench
            bi.seed_blocks(c, platform_id)
        print(f"\n== CPU per check, {N:,} identities, 1 % blocked, wrk -t1 -c{bi.CONNS} -d{bi.SECONDS}s")
        cpu_per_request(api.pid, "perm.lua", key, 1)
        cpu_per_request(api.pid, "batch.lua", key, 1000)
    finally:
        bi.stop(api)
        if "--keep" not in sys.argv:
            with psycopg.connect(f"{bi.PG}/postgres", autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{bi.DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
