"""Deadline-engine benchmark: 1,000,000 open takedown orders, 100,000 of them falling due at once.

Measures (1) the wall time until all 100,000 `takedown.overdue` transitions are committed, with
``--sweepers`` concurrent sweeps, and (2) the cost of one sweep when nothing is due.

    VNCOMPLY_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/takedowns/bench_sweep.py [--orders 1000000] [--due 100000]

It creates (and afterwards drops, unless --keep) a scratch database `vnc_bench_takedowns`, migrates
it with Alembic, bulk-inserts the orders with one INSERT … SELECT generate_series, and runs the real
``vncomply.deadlines.sweep`` against it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # for tests.factories
DB_NAME = "vnc_bench_takedowns"
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def _urls(server: str) -> tuple[str, str]:
    plain = server.replace("postgresql+psycopg://", "postgresql://", 1)
    base = plain.rpartition("/")[0]
    return plain, f"{base}/{DB_NAME}".replace("postgresql://", "postgresql+psycopg://", 1)


def create_database(admin_url: str, url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    os.environ["VNCOMPLY_DATABASE_URL"] = url
    os.environ.setdefault("VNCOMPLY_ENV", "test")
    from alembic import command
    from alembic.config import Config

    from vncomply.config import reset_settings

    reset_settings()
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logging"] = False
    command.upgrade(cfg, "head")


async def seed_parties(url: str, platforms: int) -> tuple[list[str], str]:
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
    from tests.factories import make_authority, make_platform

    from vncomply.kit import clock

    clock.set_now(T0 - timedelta(days=2))
    engine = create_async_engine(url, connect_args={"prepare_threshold": None})
    async with async_sessionmaker(engine, expire_on_commit=False)() as s:
        pids = [str(await make_platform(s, f"Bench{i}")) for i in range(platforms)]
        aid, _ = await make_authority(s, "ABEI", None)  # may address every platform
        await s.commit()
    await engine.dispose()
    return pids, str(aid)


def seed_orders(plain_url: str, pids: list[str], authority: str, orders: int, due: int) -> float:
    """``due`` orders whose only remaining action (overdue) falls at T0; the rest are mid-window,
    their next reminder hours after T0."""
    t = time.perf_counter()
    sql = """
    INSERT INTO takedown_orders (
        id, platform_id, authority_id, reference_no, payload_hash, channel, urgency, category,
        legal_basis, received_at, rule_id, rule_hours, due_at, status, reminders_sent,
        items_total, items_pending, next_action_at, created_at, updated_at)
    SELECT gen_random_uuid(), (%(pids)s::uuid[])[1 + i %% cardinality(%(pids)s::uuid[])],
           %(aid)s::uuid, 'BENCH-' || i, decode(md5(i::text), 'hex'), 'electronic', 'standard', 'fraud',
           'Decree 147/2024', r.received, 'takedown.standard.v1', 24,
           r.received + interval '24 hours', 'open', r.sent, 1, 1, r.next_at, r.received, r.received
    FROM generate_series(1, %(n)s) AS i,
    LATERAL (SELECT
        CASE WHEN i <= %(due)s THEN %(t0)s::timestamptz - interval '24 hours'
             ELSE %(t0)s::timestamptz - interval '6 hours' + (i %% 3600) * interval '1 second'
        END AS received,
        CASE WHEN i <= %(due)s THEN 3 ELSE 0 END AS sent,
        CASE WHEN i <= %(due)s THEN %(t0)s::timestamptz
             ELSE %(t0)s::timestamptz + interval '6 hours' + (i %% 3600) * interval '1 second'
        END AS next_at) AS r
    """
    with psycopg.connect(plain_url, autocommit=True) as conn:
        conn.execute(sql, {"pids": pids, "aid": authority, "n": orders, "due": due, "t0": T0})
        conn.execute("VACUUM ANALYZE takedown_orders")
    return time.perf_counter() - t


async def idle_sweeps(maker: object, runs: int, names: list[str] | None, record: bool = True) -> list[float]:
    from vncomply.deadlines.engine import sweep

    out = []
    for _ in range(runs):
        t = time.perf_counter()
        await sweep(maker, T0 - timedelta(seconds=1), names=names)  # type: ignore[arg-type]
        out.append((time.perf_counter() - t) * 1000)
    return out


async def overdue_run(maker: object, sweepers: int, batch: int) -> tuple[float, int]:
    from vncomply.deadlines.engine import sweep

    t = time.perf_counter()
    results = await asyncio.gather(
        *(sweep(maker, T0, batch, names=["takedowns.clock"]) for _ in range(sweepers))  # type: ignore[arg-type]
    )
    return time.perf_counter() - t, sum(r.processed for r in results)


async def main_async(args: argparse.Namespace, plain_admin: str, url: str) -> None:
    plain_db = url.replace("postgresql+psycopg://", "postgresql://", 1)
    pids, aid = await seed_parties(url, args.platforms)
    seconds = seed_orders(plain_db, pids, aid, args.orders, args.due)
    print(
        f"seeded {args.orders:,} open orders ({args.due:,} due at T0) over "
        f"{args.platforms} platforms in {seconds:.1f} s"
    )

    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from vncomply.deadlines.engine import handlers
    from vncomply.kit import clock

    engine = create_async_engine(url, pool_size=args.sweepers + 2, connect_args={"prepare_threshold": None})
    maker = async_sessionmaker(engine, expire_on_commit=False)
    clock.set_now(T0 - timedelta(seconds=1))
    await idle_sweeps(maker, 5, None)  # warm-up: connections, imports
    for label, names, force in (
        ("takedowns.clock only", ["takedowns.clock"], False),
        ("takedowns.clock only, writing deadline_sweeps (1 in 15 s when idle)", ["takedowns.clock"], True),
        (f"all {len(handlers())} registered handlers", None, False),
    ):
        ms = await idle_sweeps(maker, args.idle_runs, names, force)
        ms.sort()
        print(
            f"idle sweep ({label}): median {statistics.median(ms):.2f} ms, "
            f"p95 {ms[int(len(ms) * 0.95) - 1]:.2f} ms, max {ms[-1]:.2f} ms "
            f"over {len(ms)} runs"
        )

    clock.set_now(T0)
    elapsed, fired = await overdue_run(maker, args.sweepers, args.batch)
    with psycopg.connect(plain_db) as conn:
        events = conn.execute(
            "select count(*), count(distinct data->>'order_id') from events where type = 'takedown.overdue'"
        ).fetchone()
        left = conn.execute(
            "select count(*) from takedown_orders where next_action_at <= %s", (T0,)
        ).fetchone()
    assert events is not None
    assert left is not None
    print(
        f"overdue: {fired:,} transitions committed in {elapsed:.2f} s "
        f"({fired / elapsed:,.0f}/s) with {args.sweepers} sweeper(s), batch {args.batch}; "
        f"events {events[0]:,} (distinct orders {events[1]:,}); still due: {left[0]}"
    )
    clock.set_now(T0 + timedelta(seconds=1))
    ms = sorted(await idle_sweeps(maker, args.idle_runs, ["takedowns.clock"]))
    print(f"idle sweep after the burst (takedowns.clock): median {statistics.median(ms):.2f} ms")
    await engine.dispose()
    if not args.keep:
        with psycopg.connect(plain_admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--orders", type=int, default=1_000_000)
    p.add_argument("--due", type=int, default=100_000)
    p.add_argument("--platforms", type=int, default=50)
    p.add_argument("--sweepers", type=int, default=1)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--idle-runs", type=int, default=200)
    p.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = p.parse_args()
    import logging

    logging.disable(logging.WARNING)
    server = os.environ.get("VNCOMPLY_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    plain_admin, url = _urls(server)
    create_database(plain_admin, url)  # Alembic's env runs its own event loop
    asyncio.run(main_async(args, plain_admin, url))


if __name__ == "__main__":
    main()
