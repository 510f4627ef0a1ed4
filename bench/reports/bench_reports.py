"""Reports benchmark: the compliance report for one platform with 1,000,000 takedown orders
(2,000,000 items) over a year, in each format, beside the plain SQL aggregates it is built on.

    VNCOMPLY_BENCH_PG=postgresql://postgres@127.0.0.1:5432 VNCOMPLY_REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/reports/bench_reports.py [--orders 1000000] [--runs 3] [--keep]

It creates (and drops afterwards, unless --keep) a scratch database `vnc_bench_reports`, migrates
it, generates the rows with INSERT … SELECT generate_series straight into the tables (orders spread
evenly over the Vietnam year 2026, two items each; plus identities, blocks and
disclosure requests), ANALYZEs, then times, in the same run:

- "plain SQL": the report's own statements (``vncomply.reports.queries.STATEMENTS``), run with
  psycopg on one connection, nothing else;
- each format through the app: ``GET /v1/platforms/{id}/reports/compliance?from&to&format=`` with an
  officer key, in process (httpx ASGI transport: FastAPI, auth, the statements, serialising,
  rendering; no socket), and the annual report (one more statement).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # for tests.factories
DB_NAME = "vnc_bench_reports"
YEAR_START = datetime(2025, 12, 31, 17, 0, tzinfo=UTC)  # 2026-01-01 00:00 in Vietnam
YEAR_END = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
NOW = datetime(2027, 1, 2, 3, 0, tzinfo=UTC)
PERIOD = {"from": "2026-01-01", "to": "2026-12-31"}


def urls() -> tuple[str, str, str]:
    server = os.environ.get("VNCOMPLY_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
    server = server.replace("postgresql+psycopg://", "postgresql://", 1).rstrip("/")
    if server.count("/") > 2:  # a database named in the URL: use the server it is on
        server = server.rsplit("/", 1)[0]
    plain = f"{server}/{DB_NAME}"
    return f"{server}/postgres", plain, plain.replace("postgresql://", "postgresql+psycopg://", 1)


def create_database(admin: str, url: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    os.environ["VNCOMPLY_DATABASE_URL"] = url
    os.environ.setdefault("VNCOMPLY_ENV", "test")
    os.environ.setdefault("VNCOMPLY_REDIS_URL", "redis://127.0.0.1:6379/0")
    os.environ["VNCOMPLY_RATE_LIMIT_OFFICER"] = "1000,1000"
    from alembic import command
    from alembic.config import Config

    from vncomply.config import reset_settings

    reset_settings()
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logging"] = False
    command.upgrade(cfg, "head")


async def seed_parties(url: str) -> tuple[str, list[str], str]:
    """A platform, three authorities, an officer key (through the services, as the tests do)."""
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
    from tests.factories import make_authority, make_key, make_platform

    from vncomply.kit import clock
    from vncomply.kit.principal import Role

    clock.set_now(YEAR_START.replace(year=2025))
    engine = create_async_engine(url, connect_args={"prepare_threshold": None})
    async with async_sessionmaker(engine, expire_on_commit=False)() as s:
        pid = await make_platform(s, "BenchSocial")
        aids = [str((await make_authority(s, code, [pid]))[0]) for code in ("ABEI", "MPS-A05", "DIC-HANOI")]
        _, officer = await make_key(s, Role.officer, platform_id=pid)
        await s.commit()
    await engine.dispose()
    return str(pid), aids, officer


# Orders spread evenly over the year; 97 % completed (90 % on time, 5 % late with a recorded breach,
# 2 % every item contested), 3 % still open; one late order in five claims a backdated action.
ORDERS_SQL = """
INSERT INTO takedown_orders (
    id, platform_id, authority_id, reference_no, payload_hash, channel, urgency, category, legal_basis,
    received_at, rule_id, rule_hours, due_at, status, acknowledged_at, completed_at, verdict, on_time,
    breached_at, items_backdated, reminders_sent, items_total, items_pending, created_at, updated_at)
SELECT gen_random_uuid(), %(pid)s, (%(aids)s::uuid[])[1 + g %% 3], 'BENCH-' || g,
       sha256(g::text::bytea), 'electronic',
       CASE WHEN g %% 50 = 0 THEN 'emergency' ELSE 'standard' END,
       (ARRAY['fraud', 'gambling', 'defamation', 'public_order', 'national_security',
              'intellectual_property', 'child_safety', 'other'])[1 + g %% 8],
       'Decree 147/2024', r.at, 'takedown.standard.v1', 24, r.at + interval '24 hours',
       CASE WHEN k < 97 THEN 'completed' ELSE 'acknowledged' END, r.at + interval '10 minutes',
       CASE WHEN k < 97 THEN r.at + interval '5 hours' END,
       CASE WHEN k < 90 THEN 'on_time' WHEN k < 95 THEN 'late' WHEN k < 97 THEN 'contested' END,
       CASE WHEN k < 90 THEN true WHEN k < 95 THEN false END,
       CASE WHEN k BETWEEN 90 AND 94 THEN r.at + interval '24 hours' END,
       CASE WHEN k = 90 THEN 1 ELSE 0 END, 0, 2, CASE WHEN k < 97 THEN 0 ELSE 1 END, r.at, r.at
FROM generate_series(1, %(n)s) AS g,
LATERAL (SELECT %(start)s::timestamptz + (g - 1) * %(step)s * interval '1 second' AS at,
                (g * 37) %% 100 AS k) AS r
"""
# Two items per order, resolved 10 minutes to 20 hours after receipt (a late order's 24 to 48 hours).
ITEMS_SQL = """
INSERT INTO takedown_items (
    id, order_id, position, content_url, account_id, subject_type, status, actioned_at, resolved_at,
    created_at, updated_at)
SELECT gen_random_uuid(), o.id, p, 'https://social.example/' || o.reference_no || '/' || p,
       o.reference_no || '-' || p, 'post', s.status,
       CASE WHEN s.status <> 'pending' THEN o.received_at + s.took END,
       CASE WHEN s.status <> 'pending' THEN o.received_at + s.took END,
       o.received_at, o.received_at
FROM takedown_orders o CROSS JOIN generate_series(0, 1) AS p,
LATERAL (SELECT
    CASE WHEN o.status <> 'completed' AND p = 1 THEN 'pending'
         WHEN o.verdict = 'contested' THEN 'contested'
         ELSE (ARRAY['removed', 'removed', 'removed', 'restricted', 'not_found'])
              [1 + abs(hashtext(o.reference_no)) %% 5]
    END AS status,
    make_interval(mins => CASE WHEN o.verdict = 'late' THEN 1440 + abs(hashtext(o.reference_no || p)) %% 1440
                               ELSE 10 + abs(hashtext(o.reference_no || p)) %% 1200 END) AS took) AS s
"""
EXTRAS_SQL = [
    # 200,000 identities (opaque bytes stand in for the ciphertexts: the report reads no PII).
    """INSERT INTO identities (platform_id, account_id, status, method, verified_at, full_name_enc,
           date_of_birth_enc, key_id, has_guardian, has_national_id, no_vn_mobile_attested,
           commercial_livestreamer, minor_until, closed_at, revoked_at, created_at, updated_at)
       SELECT %(pid)s, 'acct-' || g, CASE WHEN g %% 20 = 0 THEN 'closed' WHEN g %% 50 = 1 THEN 'revoked'
              ELSE 'verified' END, CASE WHEN g %% 10 = 0 THEN 'national_id' ELSE 'sms_otp' END,
              %(start)s, '\\x00'::bytea, '\\x00'::bytea, 'bench', g %% 100 = 0, g %% 10 = 0, false,
              false, CASE WHEN g %% 100 = 0 THEN date '2030-01-01' END,
              CASE WHEN g %% 20 = 0 THEN %(start)s + interval '30 days' END,
              CASE WHEN g %% 50 = 1 THEN %(start)s + interval '60 days' END, %(start)s, %(start)s
       FROM generate_series(1, 200000) AS g""",
    # 20,000 disclosure requests over the year, most decided within a day.
    """INSERT INTO disclosure_requests (id, platform_id, authority_id, requested_by_key_id, reference_no,
           legal_basis, reason, urgency, subject_type, subject_account_id, fields, payload_hash, status,
           received_at, rule_id, matched_account_ids, decided_at, package_fetches, reminders_sent,
           created_at, updated_at)
       SELECT gen_random_uuid(), %(pid)s, (%(aids)s::uuid[])[1 + g %% 3], gen_random_uuid(), 'DR-' || g,
              'Cybersecurity Law 2025', 'bench', 'standard', 'account_id', 'acct-' || g, '["full_name"]',
              sha256(g::text::bytea), (ARRAY['approved', 'partially_approved', 'rejected', 'no_data',
              'pending_review'])[1 + g %% 5], %(start)s + g * interval '1570 seconds', 'disclosure.v2',
              '[]', CASE WHEN g %% 5 <> 4 THEN %(start)s + g * interval '1570 seconds' + interval '7 hours'
              END, 0, 0, %(start)s, %(start)s
       FROM generate_series(1, 20000) AS g""",
    # 10,000 blocks over the year.
    """INSERT INTO account_blocks (id, platform_id, subject_type, subject_id, starts_at, ends_at,
           permanent, lifted_at, origin, authority_id, reference_no, rule_id, apply_by, created_at,
           updated_at)
       SELECT gen_random_uuid(), %(pid)s, 'account', 'acct-' || g, %(start)s + g * interval '3150 seconds',
              CASE WHEN g %% 25 <> 0 THEN %(start)s + g * interval '3150 seconds' + interval '15 days' END,
              g %% 25 = 0,
              CASE WHEN g %% 40 = 0 THEN %(start)s + g * interval '3150 seconds' + interval '1 day'
              END, CASE WHEN g %% 2 = 0 THEN 'order' ELSE 'rule' END,
              CASE WHEN g %% 2 = 0 THEN (%(aids)s::uuid[])[1 + g %% 3] END,
              CASE WHEN g %% 2 = 0 THEN 'BL-' || g END, 'lock.v1',
              %(start)s + g * interval '3150 seconds' + interval '1 day', %(start)s, %(start)s
       FROM generate_series(1, 10000) AS g""",
]


def seed(plain: str, pid: str, aids: list[str], n: int) -> float:
    t = time.perf_counter()
    step = (YEAR_END - YEAR_START).total_seconds() / n
    params: dict[str, Any] = {"pid": pid, "aids": aids, "n": n, "start": YEAR_START, "step": step}
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(ORDERS_SQL, params)
        conn.execute(ITEMS_SQL, {})  # ({}: so that %% is read as %)
        for sql in EXTRAS_SQL:
            conn.execute(sql, params)
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - t


def plain_sql(plain: str, pid: str, runs: int) -> list[tuple[float, dict[str, float]]]:
    """The report's statements on one psycopg connection, with the report's parameters."""
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql

    from vncomply.reports.queries import STATEMENTS

    params = {
        "platform_id": uuid.UUID(pid),
        "start": YEAR_START,
        "end": YEAR_END,
        "now": NOW,
        "today": NOW.date(),
    }
    dialect = postgresql.psycopg.dialect()  # type: ignore[attr-defined]
    compiled = {}
    for name, sql in STATEMENTS.items():  # :name -> %(name)s, exactly as SQLAlchemy sends them
        c = text(sql).compile(dialect=dialect)
        compiled[name] = (str(c), {k: params[k] for k in c.params})
    out = []
    with psycopg.connect(plain) as conn:
        for _ in range(runs):
            each = {}
            for name, (sql, p) in compiled.items():
                t = time.perf_counter()
                conn.execute(sql, p).fetchall()
                each[name] = time.perf_counter() - t
            out.append((sum(each.values()), each))
    return out


async def via_app(url: str, pid: str, officer: str, runs: int) -> dict[str, list[float]]:
    import logging

    import httpx

    from vncomply.app import create_app
    from vncomply.kit import clock
    from vncomply.kit.db import dispose_engine

    clock.set_now(NOW)
    app = create_app()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    out: dict[str, list[float]] = {}
    headers = {"Authorization": f"Bearer {officer}"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as c,
    ):
        path = f"/v1/platforms/{pid}/reports/compliance"
        await c.get(path, params={**PERIOD, "from": "2026-12-01"}, headers=headers)  # warm-up
        cases = [(f"compliance report, {f}", path, {**PERIOD, "format": f}) for f in ("json", "csv", "html")]
        cases.append(("annual report, json", f"/v1/platforms/{pid}/reports/annual", {"year": "2026"}))
        for label, p, q in cases:
            out[label] = []
            for _ in range(runs):
                t = time.perf_counter()
                r = await c.get(p, params=q, headers=headers)
                out[label].append(time.perf_counter() - t)
                assert r.status_code == 200, r.text
            if label == "compliance report, json":
                doc = r.json()["takedowns"]
                print(
                    f"  report: {doc['orders_received']:,} orders, {doc['items_received']:,} items, "
                    f"on-time rate {doc['on_time_rate']}, p50 {doc['time_to_removal_seconds']['p50']} s"
                )
    await dispose_engine()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = ap.parse_args()
    admin, plain, url = urls()
    create_database(admin, url)
    try:
        pid, aids, officer = asyncio.run(seed_parties(url))
        secs = seed(plain, pid, aids, args.orders)
        print(
            f"seeded {args.orders:,} orders, {2 * args.orders:,} items (+ identities, etc.) in {secs:.0f} s"
        )
        sql_runs = plain_sql(plain, pid, args.runs)
        app_runs = asyncio.run(via_app(url, pid, officer, args.runs))
        best = min(sql_runs, key=lambda r: r[0])
        print(f"plain SQL aggregate (the report's {len(best[1])} statements): "
              f"median {statistics.median(r[0] for r in sql_runs):.2f} s, best {best[0]:.2f} s "
              f"({', '.join(f'{k} {v:.2f}' for k, v in best[1].items())})")  # fmt: skip
        for label, times in app_runs.items():
            print(f"GET {label}: median {statistics.median(times):.2f} s, best {min(times):.2f} s")
    finally:
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    main()
