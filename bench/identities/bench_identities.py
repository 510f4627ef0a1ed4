"""Identities benchmarks: the permission check vs a bare ASGI reference, the batch check, and bulk
ingest vs a raw COPY — each figure printed next to its reference measured in the same run.

    VNCOMPLY_BENCH_PG=postgresql://postgres@127.0.0.1:5432 \
    VNCOMPLY_REDIS_URL=redis://127.0.0.1:6379/0 \
    BENCH_IDENTITIES=1000000 BENCH_BULK=1000000 BENCH_SECONDS=20 \
        .venv/bin/python bench/identities/bench_identities.py

Creates (and drops first) the scratch database ``vnc_bench_ident``; needs ``wrk`` on PATH.
Permission-check rows are seeded with SQL (placeholder ciphertext: the check never decrypts);
bulk ingest goes through HTTP, validation and real encryption.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import httpx
import orjson
import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import common  # noqa: E402  (bench/common.py)

ROOT = HERE.parents[1]
BIN = Path(sys.executable).parent
PG = os.environ.get("VNCOMPLY_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("VNCOMPLY_REDIS_URL", "redis://127.0.0.1:6379/0")
DB = "vnc_bench_ident"
DSN = f"{PG}/{DB}"
N = int(os.environ.get("BENCH_IDENTITIES", "1000000"))
BULK_N = int(os.environ.get("BENCH_BULK", "1000000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "20"))
CONNS = int(os.environ.get("BENCH_CONNECTIONS", "32"))


def env(**extra: str) -> dict[str, str]:
    e = dict(os.environ)
    e.update(
        VNCOMPLY_ENV="dev",
        VNCOMPLY_DATABASE_URL=DSN.replace("postgresql://", "postgresql+psycopg://", 1),
        VNCOMPLY_REDIS_URL=REDIS,
        VNCOMPLY_REDIS_KEY_PREFIX="vncbenchident",
        VNCOMPLY_RATE_LIMIT_PLATFORM="100000000,100000000",
        VNCOMPLY_LOG_LEVEL="WARNING",
        **extra,
    )
    return e


def setup_database() -> tuple[uuid.UUID, str]:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{DB}"')
    subprocess.run(
        [str(BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=env(), check=True, capture_output=True
    )
    out = subprocess.run(
        [str(BIN / "python"), "-c", SETUP_SNIPPET],
        cwd=ROOT,
        env=env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    platform_id, key = uuid.UUID(out[-2]), out[-1]
    t = time.perf_counter()
    with psycopg.connect(DSN, autocommit=True) as c:
        c.execute(
            """
            INSERT INTO identities (platform_id, account_id, status, method, verified_at,
                full_name_enc, date_of_birth_enc, key_id, has_guardian, has_national_id,
                no_vn_mobile_attested, commercial_livestreamer, created_at, updated_at)
            SELECT %(p)s, 'acc' || g, CASE WHEN g %% 50 = 0 THEN 'revoked' ELSE 'verified' END,
                'sms_otp', now(), '\\x00', '\\x00', 'dev1', false, g %% 10 = 0, false,
                g %% 10 = 0, now(), now()
            FROM generate_series(1, %(n)s) g
            """,
            {"p": platform_id, "n": N},
        )
        seed_blocks(c, platform_id)
        c.execute("VACUUM ANALYZE identities")
    print(f"seeded {N:,} identities in {time.perf_counter() - t:.1f} s")
    return platform_id, key


def seed_blocks(c: psycopg.Connection, platform_id: uuid.UUID) -> None:
    """Block 1 % of the accounts acc1…accN (7 days), so the check's block join does real work."""
    c.execute(
        """
        INSERT INTO account_blocks (id, platform_id, subject_type, subject_id, starts_at,
            ends_at, permanent, rule_id, apply_by, created_at, updated_at)
        SELECT gen_random_uuid(), %(p)s, 'account', 'acc' || g, now() - interval '1 day',
            now() + interval '6 days', false, 'lock.v1', now(), now(), now()
        FROM generate_series(1, %(n)s, 100) g
        """,
        {"p": platform_id, "n": N},
    )
    c.execute("VACUUM ANALYZE account_blocks")


SETUP_SNIPPET = """
import asyncio
from vncomply.kit.db import session_scope, dispose_engine
from vncomply.auth import service as auth_service
from vncomply.kit.principal import Role
from vncomply.platforms import service as platform_service
from vncomply.platforms.schemas import PlatformCreate
from vncomply.kit import clock

async def main():
    async with session_scope() as s:
        p = await platform_service.create(s, None, PlatformCreate.model_validate({
            "name": "Bench", "legal_name": "Bench Inc.",
            "contact_point": {"name": "B", "email": "b@example.com", "phone": "+84 24 3825 0000",
                              "address": "Ha Noi"},
            "monthly_vn_visits": 500000, "contact_filed_at": clock.now().isoformat()}))
        await s.flush()
        _, raw = await auth_service.create_key(s, None, role=Role.platform, name="bench",
                                               platform_id=p.id)
    await dispose_engine()
    print(p.id, raw)

asyncio.run(main())
"""


def serve(
    target: str,
    port: int,
    extra_env: dict[str, str],
    app_dir: Path | None = None,
    factory: bool = False,
    workers: int = 1,
) -> subprocess.Popen[bytes]:
    cmd = [
        str(BIN / "uvicorn"),
        target,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    if factory:
        cmd.append("--factory")
    if app_dir:
        cmd += ["--app-dir", str(app_dir)]
    return started(subprocess.Popen(cmd, cwd=ROOT, env=env(**extra_env)), port, target)


def started(
    proc: subprocess.Popen[bytes], port: int, what: str, seconds: float = 20
) -> subprocess.Popen[bytes]:
    """``proc`` once its /healthz answers on ``port``; killed and an error after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{what} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(10)


def peak_rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    m = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(m.group(1)) / 1024 if m else float("nan")


def wrk(
    port: int, script: str, key: str, seconds: int = SECONDS, conns: int | None = None
) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{conns or CONNS}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(HERE / script),
            f"http://127.0.0.1:{port}",
        ],
        env={**os.environ, "BENCH_N": str(N), "BENCH_KEY": key},
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50": ms("50%"),
        "p99": ms("99%"),
        "errors": float(non2xx.group(1)) if non2xx else 0.0,
    }


def bench_permission(platform_id: uuid.UUID, key: str) -> None:
    print(
        f"\n== permission check: {N:,} identities, random ids, wrk -t1 -c{CONNS} -d{SECONDS}s, "
        f"{common.ROUNDS} interleaved rounds"
    )
    servers = [
        serve("bare_app:app", 8191, {"BENCH_DSN": DSN, "BENCH_PLATFORM": str(platform_id)}, app_dir=HERE),
        serve("const_app:app", 8190, {}, app_dir=HERE),
        serve("vncomply.app:create_app", 8192, {}, factory=True),
    ]
    try:
        for port in (8191, 8190, 8192):
            wrk(port, "perm.lua", key, 3)  # warm-up
        before = coalescing(8192)
        runs = common.interleaved(
            {
                "bare ASGI + psycopg pool": lambda: wrk(8191, "perm.lua", key),
                "vncomply GET permissions": lambda: wrk(8192, "perm.lua", key),
                "constant-response ASGI": lambda: wrk(8190, "perm.lua", key),
            }
        )
        after = coalescing(8192)
    finally:
        for proc in servers:
            stop(proc)
    for name, rs in runs.items():
        print(
            f"{name:28s} req/s {series([r['rps'] for r in rs], '7.0f')}  "
            f"p99 ms {series([r['p99'] for r in rs], '6.2f')}  non-2xx {sum(r['errors'] for r in rs):.0f}"
        )
    got, ref = runs["vncomply GET permissions"], runs["bare ASGI + psycopg pool"]
    ceiling = runs["constant-response ASGI"]
    rps = common.median_ratio([r["rps"] for r in got], [r["rps"] for r in ref])
    p99 = common.median_ratio([r["p99"] for r in got], [r["p99"] for r in ref])
    top = common.median_ratio([r["rps"] for r in got], [r["rps"] for r in ceiling])
    print(
        f"median ratios: throughput {rps:.2f}x the bare lookup (target >= 1.5), p99 {p99:.2f}x "
        f"(target <= 1.5); {top:.2f}x the constant-response ceiling; {common.load()}"
    )
    served, handed_on, statements, checks = (a - b for a, b in zip(after, before, strict=True))
    print(
        f"vncomply: {served:.0f} answered by the fast path, {handed_on:.0f} handed on to the route; "
        f"{checks:.0f} checks in {statements:.0f} statements "
        f"({checks / max(statements, 1):.1f} per statement)"
    )


def series(xs: list[float], fmt: str) -> str:
    return " ".join(format(x, fmt) for x in xs)


def coalescing(port: int) -> tuple[float, float, float, float]:
    """(fast-path served, handed on, statements, checks) from the server's /metrics."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text

    def value(name: str) -> float:
        m = re.search(rf"^{re.escape(name)} ([\d.e+]+)$", text, re.M)
        return float(m.group(1)) if m else 0.0

    return (
        value('vncomply_permission_fast_path_total{outcome="served"}'),
        value('vncomply_permission_fast_path_total{outcome="handed_on"}'),
        value("vncomply_permission_coalesced_batch_size_count"),
        value("vncomply_permission_coalesced_batch_size_sum"),
    )


async def _raw_batch(platform_id: uuid.UUID, conns: int, seconds: int) -> float:
    """The endpoint's own BATCH statement straight on psycopg, same concurrency: statements/s."""
    import random
    from datetime import UTC, datetime

    from vncomply.identities.permissions import BATCH, batch_params

    stop_at = time.perf_counter() + seconds
    done = 0

    async def one() -> None:
        nonlocal done
        async with await psycopg.AsyncConnection.connect(DSN, autocommit=True) as c:
            while time.perf_counter() < stop_at:
                ids = [f"acc{random.randint(1, N)}" for _ in range(1000)]
                params = batch_params(platform_id, ids, datetime.now(UTC))
                await (await c.execute(BATCH, params, prepare=True)).fetchall()
                done += 1

    await asyncio.gather(*(one() for _ in range(conns)))
    return done / seconds


def bench_batch(key: str, platform_id: uuid.UUID) -> None:
    print(
        f"\n== batch check: 1,000 ids per request, wrk -t1 -c8 -d{SECONDS}s, "
        f"{common.ROUNDS} interleaved rounds"
    )
    app = serve("vncomply.app:create_app", 8193, {}, factory=True)
    try:
        wrk(8193, "batch.lua", key, 3, conns=8)
        runs = common.interleaved(
            {
                "raw": lambda: asyncio.run(_raw_batch(platform_id, 8, SECONDS)),
                "http": lambda: wrk(8193, "batch.lua", key, conns=8)["rps"],
            }
        )
    finally:
        stop(app)
    print(f"vncomply, decisions/s:            {' '.join(f'{r * 1000:9,.0f}' for r in runs['http'])}")
    print(f"raw BATCH on psycopg (8 conns):   {' '.join(f'{r * 1000:9,.0f}' for r in runs['raw'])}")
    print(
        f"median ratio {common.median_ratio(runs['http'], runs['raw']):.2f} (target >= 0.8); {common.load()}"
    )


def ndjson_rows(n: int) -> list[dict[str, object]]:
    rows = []
    for i in range(n):
        dob = date(1960 + i % 45, 1 + i % 12, 1 + i % 28)
        row: dict[str, object] = {
            "account_id": f"bulk{i}",
            "full_name": "Nguyễn Văn An" if i % 2 else "Trần Thị Bình",
            "date_of_birth": dob.isoformat(),
            "phone_number": f"09{i % 10**8:08d}",
            "verification": {"method": "sms_otp", "verified_at": "2026-01-01T00:00:00Z"},
        }
        if i % 5 == 0:
            row["national_id"] = f"001{(dob.year // 100 - 19) * 2}{dob.year % 100:02d}{i % 10**6:06d}"
        rows.append(row)
    return rows


async def _stream(port: int, key: str, n: int, prefix: str = "bulk") -> dict[str, object]:
    async def body():  # generated while sending: the client holds no more than the server does
        batch = []
        for row in ndjson_rows_iter(n, prefix):
            batch.append(orjson.dumps(row))
            if len(batch) == 1000:
                yield b"\n".join(batch) + b"\n"
                batch = []
        if batch:
            yield b"\n".join(batch) + b"\n"

    async with httpx.AsyncClient(timeout=3600) as c:
        r = await c.post(
            f"http://127.0.0.1:{port}/v1/identities/bulk",
            content=body(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"},
        )
        r.raise_for_status()
        return dict(r.json())


def ndjson_rows_iter(n: int, prefix: str = "bulk"):
    step = 10_000
    for start in range(0, n, step):
        for row in ndjson_rows(min(step, n - start)):
            row["account_id"] = f"{prefix}{start}_{row['account_id']}"
            yield row


def encrypted_copy(platform_id: uuid.UUID) -> float:
    """The encrypted-ingest limit: the same rows encrypted and blind-indexed by the ingest's own
    ``prepare`` in this one process, then one binary COPY into an unlogged copy of the table (no HTTP,
    no reference checks, no upsert). The schema parse that ``prepare`` takes as input is included."""
    os.environ.update(env())
    from vncomply.identities.keys import bi_key, ring
    from vncomply.identities.prepare import COLUMNS, COPY_TYPES, prepare
    from vncomply.identities.schemas import BulkLine

    kr, bk = ring(), bi_key()
    with psycopg.connect(DSN, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS bare_enc")
        c.execute("CREATE UNLOGGED TABLE bare_enc (LIKE identities INCLUDING DEFAULTS)")
        t = time.perf_counter()
        with (
            c.cursor() as cur,
            cur.copy(f"COPY bare_enc ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as cp,
        ):
            cp.set_types([COPY_TYPES[col] for col in COLUMNS])
            for row in ndjson_rows_iter(BULK_N):
                body = BulkLine.model_validate(row)
                p = prepare(platform_id, body.account_id, body, keyring=kr, bikey=bk)
                cp.write_row([p.row[col] for col in COLUMNS])
        return BULK_N / (time.perf_counter() - t)


def raw_copy() -> float:
    """Plaintext COPY of the same rows (no validation, no encryption): rows/s."""
    with psycopg.connect(DSN, autocommit=True) as c:
        c.execute(
            "CREATE UNLOGGED TABLE IF NOT EXISTS bare_bulk (account_id text primary key, "
            "full_name text, date_of_birth date, phone text, national_id text)"
        )
        c.execute("TRUNCATE bare_bulk")
        t = time.perf_counter()
        with c.cursor() as cur, cur.copy("COPY bare_bulk FROM STDIN") as cp:
            for row in ndjson_rows_iter(BULK_N):
                cp.write_row(
                    (
                        row["account_id"],
                        row["full_name"],
                        row["date_of_birth"],
                        row["phone_number"],
                        row.get("national_id"),
                    )
                )
        return BULK_N / (time.perf_counter() - t)


class Bulk:
    """The HTTP ingest on a running API: one stream (``streams=1``) or several in parallel, each
    round under fresh account ids (inserts, as a first upload is). Keeps the CPU each part spent."""

    def __init__(self, key: str, port: int, streams: int) -> None:
        self.key, self.port, self.streams, self.round = key, port, streams, 0
        self.cpu: list[tuple[float, float, float]] = []  # API, PostgreSQL, client s per 1,000

    def __call__(self, app_pid: int) -> float:
        self.round += 1
        each = BULK_N // self.streams
        before = (common.cpu_seconds(app_pid), common.postgres_cpu_seconds(DB), time.process_time())
        t = time.perf_counter()

        async def go() -> list[dict[str, object]]:
            return await asyncio.gather(
                *(
                    _stream(self.port, self.key, each, f"s{self.streams}r{self.round}n{i}_")
                    for i in range(self.streams)
                )
            )

        outs = asyncio.run(go())
        took = time.perf_counter() - t
        assert all(o["rejected"] == 0 for o in outs), outs
        after = (common.cpu_seconds(app_pid), common.postgres_cpu_seconds(DB), time.process_time())
        n = each * self.streams
        self.cpu.append(tuple((a - b) / n * 1000 for a, b in zip(after, before, strict=True)))  # type: ignore[arg-type]
        return n / took


def bench_bulk(key: str, platform_id: uuid.UUID) -> None:
    print(
        f"\n== bulk ingest: {BULK_N:,} identities over HTTP (validation, encryption, upsert), "
        f"{common.ROUNDS} interleaved rounds"
    )
    one_app = serve("vncomply.app:create_app", 8194, {}, factory=True)
    # One stream is one request, so one API process does its parsing, validation and encryption:
    # a platform with more cores to spend sends parallel streams (of disjoint accounts).
    two_app = serve("vncomply.app:create_app", 8196, {}, factory=True, workers=2)
    one, two = Bulk(key, 8194, 1), Bulk(key, 8196, 2)
    try:
        runs = common.interleaved(
            {
                "one stream": lambda: one(one_app.pid),
                "encrypted COPY": lambda: encrypted_copy(platform_id),
                "two streams, --workers 2": lambda: two(two_app.pid),
                "plaintext COPY": raw_copy,
            }
        )
        rss = peak_rss_mb(one_app.pid)
    finally:
        stop(one_app)
        stop(two_app)
    for name, xs in runs.items():
        print(f"{name:26s} {series(xs, '9,.0f')} rows/s")
    for name, b in (("one stream", one), ("two streams", two)):
        api, pg, me = (statistics.median(c[i] for c in b.cpu) for i in range(3))
        print(f"CPU per 1,000 identities, {name}: API {api:.3f} s, PostgreSQL {pg:.3f} s, client {me:.3f} s")
    ratio = common.median_ratio(runs["one stream"], runs["encrypted COPY"])
    scale = common.median_ratio(runs["two streams, --workers 2"], runs["one stream"])
    print(
        f"one stream {ratio:.2f}x the encrypted-ingest limit (target >= 0.5); API peak RSS {rss:.0f} MB "
        f"(target < 300 MB); two parallel streams {scale:.2f}x one stream on {os.cpu_count()} cores "
        f"shared with PostgreSQL and the client; {common.load()}"
    )


def main() -> None:
    which = set(sys.argv[1:]) or {"permission", "batch", "bulk"}
    if which & {"permission", "batch"} and shutil.which("wrk") is None:
        sys.exit("wrk is needed for the permission and batch benchmarks: apt-get install wrk")
    print(f"cpus: {os.cpu_count()}, database: {DSN}")
    platform_id, key = setup_database()
    if "permission" in which:
        bench_permission(platform_id, key)
    if "batch" in which:
        bench_batch(key, platform_id)
    if "bulk" in which:
        bench_bulk(key, platform_id)


if __name__ == "__main__":
    main()
