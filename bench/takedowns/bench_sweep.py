"""Deadline-engine benchmark: open takedown orders, some falling due at once, the real sweep beside
a plain-SQL limit reference that performs the same writes (issue 18).

    VNCOMPLY_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/takedowns/bench_sweep.py [--orders 100000] [--due 10000] [--trials 3]

It migrates a template database ``<prefix>_tpl`` with Alembic and seeds it once (one INSERT …
SELECT generate_series, then VACUUM ANALYZE). Every measured run gets a fresh, identical copy
(``CREATE DATABASE … TEMPLATE``), and the runs are interleaved: reference, sweep, sweep,
reference, … (``--trials`` pairs); the medians are printed with their ratio.

- **Overdue burst.** The sweep is ``vncomply.deadlines.sweep(now=T0, names=["takedowns.clock"])``.
  The reference (``reference_overdue``) is one psycopg statement per claimed batch of the same size:
  claim ``FOR UPDATE SKIP LOCKED``, update the orders, insert the audit rows (unsealed, in the
  sweep's lock order: the sealer chains them later, exactly as it does the sweep's), bump the
  per-platform event counters in platform order and insert the outbox events with their gap-free
  ``seq`` — no ORM, nothing per row in Python. After each run the written rows are fingerprinted
  (orders, audit rows, events; batch-order independent) and the two kinds must agree.
  The sweep runs with ``repair=False`` (the reference has no stuck-row pass).
- **Idle sweep** (the takedown handler, then every registered handler) before T0, interleaved with
  its references on the same SQLAlchemy pool: a ``SELECT 1`` transaction (BEGIN, SELECT 1,
  COMMIT) and an autocommit ``SELECT 1`` (one round trip, the floor); once with the clock fixed and
  once moving 3 s per sweep as under beat (so the throttled bookkeeping write and stuck-row probe
  land where they would).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # for tests.factories and bench.common
from bench.common import load  # noqa: E402

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class Urls:
    def __init__(self, server: str, prefix: str) -> None:
        plain = server.replace("postgresql+psycopg://", "postgresql://", 1)
        self.admin = plain
        self.base = plain.rpartition("/")[0]
        self.template = f"{prefix}_tpl"
        self.run = f"{prefix}_run"

    def plain(self, db: str) -> str:
        return f"{self.base}/{db}"

    def sqla(self, db: str) -> str:
        return self.plain(db).replace("postgresql://", "postgresql+psycopg://", 1)


def admin(urls: Urls, *sql: str) -> None:
    with psycopg.connect(urls.admin, autocommit=True) as conn:
        for s in sql:
            conn.execute(s)


def fresh_copy(urls: Urls) -> None:
    admin(
        urls,
        f'DROP DATABASE IF EXISTS "{urls.run}" WITH (FORCE)',
        f'CREATE DATABASE "{urls.run}" TEMPLATE "{urls.template}"',
    )


def create_template(urls: Urls) -> None:
    admin(
        urls, f'DROP DATABASE IF EXISTS "{urls.template}" WITH (FORCE)', f'CREATE DATABASE "{urls.template}"'
    )
    url = urls.sqla(urls.template)
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
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")
    return time.perf_counter() - t


def _iso(col: str) -> str:
    """``datetime.isoformat()`` of a timestamptz in SQL (the session runs in UTC)."""
    return (
        f"to_char({col}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_part('microseconds', {col})::int"
        f" %% 1000000 <> 0 THEN to_char({col}, '.US') ELSE '' END || to_char({col}, 'TZH:TZM')"
    )


# The takedown overdue step (``vncomply.takedowns.deadline.step``) for one claimed batch, as one
# statement. reminders_sent = 3 is len(REMINDER_FRACTIONS); the claim keeps the sweep's ORDER BY
# and SKIP LOCKED; audit rows and event seqs follow the sweep's (platform_id, id) lock order.
REFERENCE_BATCH = f"""
WITH claimed AS (
    SELECT id, status <> 'completed' AND breached_at IS NULL AND due_at <= %(now)s AS overdue
    FROM takedown_orders WHERE next_action_at <= %(now)s
    ORDER BY next_action_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED
), upd AS (
    -- = ANY(ARRAY(…)): a primary-key probe per row (a join with the CTE hashes a scan of the table)
    UPDATE takedown_orders AS t
    SET breached_at = t.due_at, reminders_sent = 3, next_action_at = NULL, updated_at = %(now)s
    WHERE t.id = ANY(ARRAY(SELECT id FROM claimed WHERE overdue))
    RETURNING t.id, t.platform_id, t.authority_id, t.reference_no, t.urgency, t.due_at, t.items_pending
), aud AS (
    INSERT INTO audit_events (at, actor_role, action, resource_type, resource_id, platform_id, details)
    SELECT %(now)s, 'system', 'takedown.overdue', 'takedown_order', u.id::text, u.platform_id,
           jsonb_build_object('due_at', {_iso("u.due_at")})
    FROM upd AS u ORDER BY u.platform_id, u.id
), cnt AS (
    SELECT platform_id, count(*) AS n FROM upd GROUP BY platform_id
), seqs AS (
    INSERT INTO event_sequences (platform_id, last_seq)
    SELECT platform_id, n FROM cnt ORDER BY platform_id
    ON CONFLICT (platform_id) DO UPDATE SET last_seq = event_sequences.last_seq + excluded.last_seq
    RETURNING platform_id, last_seq
), ev AS (
    INSERT INTO events (id, platform_id, seq, type, occurred_at, data)
    SELECT gen_random_uuid(), u.platform_id,
           s.last_seq - c.n + row_number() OVER (PARTITION BY u.platform_id ORDER BY u.id),
           'takedown.overdue', %(now)s,
           jsonb_build_object(
               'order_id', u.id::text, 'authority_id', u.authority_id::text,
               'reference_no', u.reference_no, 'urgency', u.urgency::text,
               'due_at', {_iso("u.due_at")}, 'items_pending', u.items_pending,
               'breached_at', {_iso("u.due_at")}, 'detected_at', {_iso("%(now)s::timestamptz")})
    FROM upd AS u JOIN cnt AS c USING (platform_id) JOIN seqs AS s USING (platform_id)
)
SELECT (SELECT count(*) FROM claimed), (SELECT count(*) FROM upd)
"""  # noqa: S608 (constant SQL built from constants)


def reference_overdue(plain_url: str, batch: int) -> int:
    """The limit reference: returns the transitions committed."""
    fired = 0
    with psycopg.connect(plain_url, options="-c timezone=UTC") as conn:
        while True:
            got = conn.execute(REFERENCE_BATCH, {"now": T0, "batch": batch}).fetchone()
            conn.commit()
            assert got is not None
            claimed, done = got
            assert claimed == done, "the reference covers the overdue step only"
            fired += done
            if claimed < batch:
                return fired


FINGERPRINT = """
SELECT
  (SELECT md5(string_agg(concat_ws('|', id, breached_at, reminders_sent, next_action_at, updated_at),
                         ',' ORDER BY id)) FROM takedown_orders),
  (SELECT md5(string_agg(concat_ws('|', at, actor_role, action, resource_type, resource_id, platform_id,
                                   details::text, hash IS NULL), ',' ORDER BY resource_id, action))
   FROM audit_events WHERE resource_type = 'takedown_order'),
  (SELECT md5(string_agg(concat_ws('|', platform_id, type, occurred_at, data::text), ','
                         ORDER BY data->>'order_id', type)) FROM events),
  (SELECT count(*) FROM (SELECT platform_id FROM events GROUP BY platform_id
                         HAVING max(seq) - min(seq) + 1 <> count(*) OR count(DISTINCT seq) <> count(*)) g),
  (SELECT count(*) FROM events WHERE type = 'takedown.overdue'),
  (SELECT count(*) FROM takedown_orders WHERE next_action_at <= %(now)s)
"""


def fingerprint(plain_url: str) -> tuple[Any, ...]:
    with psycopg.connect(plain_url, options="-c timezone=UTC") as conn:
        row = conn.execute(FINGERPRINT, {"now": T0}).fetchone()
    assert row is not None
    return tuple(row)


async def sweep_overdue(url: str, batch: int) -> tuple[float, int]:
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from vncomply.deadlines import engine as deadlines
    from vncomply.kit import clock

    engine = create_async_engine(url, pool_size=2, connect_args={"prepare_threshold": None})
    maker = async_sessionmaker(engine, expire_on_commit=False)
    clock.set_now(T0 - timedelta(seconds=1))
    await deadlines.sweep(maker, names=["takedowns.clock"], repair=False)  # warm: connection, caches
    clock.set_now(T0)
    t = time.perf_counter()
    res = await deadlines.sweep(maker, T0, batch, names=["takedowns.clock"], repair=False)
    elapsed = time.perf_counter() - t
    await engine.dispose()
    return elapsed, res.processed


def _pct(ms: list[float], q: float) -> float:
    s = sorted(ms)
    return s[max(0, int(len(s) * q) - 1)]


async def idle_runs(
    url: str, runs: int, names: list[str] | None, cadence: float | None
) -> dict[str, list[float]]:
    """Interleaved: one idle sweep, one ``SELECT 1`` transaction (BEGIN, SELECT 1, COMMIT) and one
    autocommit ``SELECT 1`` (a single round trip: the floor) on the same pool, … With ``cadence``
    the clock moves that many seconds per sweep, as under beat, so the throttled repair pass (every
    60 s) and the idle bookkeeping write (every 15 s) land on the sweeps they would land on."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

    from vncomply.deadlines.engine import sweep
    from vncomply.kit import clock

    engine = create_async_engine(url, pool_size=2, connect_args={"prepare_threshold": None})
    maker = async_sessionmaker(engine, expire_on_commit=False)
    step = timedelta(seconds=cadence or 0)
    now = T0 - timedelta(seconds=1) - step * (runs + 10)  # still before anything is due at the end

    async def one_sweep() -> None:
        nonlocal now
        now += step
        clock.set_now(now)
        await sweep(maker, now, names=names)

    async def select_one() -> None:
        s: AsyncSession
        async with maker() as s:
            await s.execute(text("SELECT 1"))
            await s.commit()

    async def select_one_autocommit() -> None:
        async with engine.connect() as c:
            c = await c.execution_options(isolation_level="AUTOCOMMIT")
            await c.execute(text("SELECT 1"))

    async def timed(f: Callable[[], Awaitable[None]]) -> float:
        t = time.perf_counter()
        await f()
        return (time.perf_counter() - t) * 1000

    kinds = {"sweep": one_sweep, "tx": select_one, "autocommit": select_one_autocommit}
    for _ in range(10):  # warm-up: connections, imports, compiled statements
        for f in kinds.values():
            await f()
    out: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(runs):
        for k, f in kinds.items():
            out[k].append(await timed(f))
    await engine.dispose()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orders", type=int, default=100_000)
    p.add_argument("--due", type=int, default=10_000)
    p.add_argument("--platforms", type=int, default=50)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--trials", type=int, default=3, help="reference/sweep pairs (fresh data each)")
    p.add_argument("--idle-runs", type=int, default=200)
    p.add_argument("--db-prefix", default="vnc_bench_takedowns", help="scratch databases <prefix>_tpl/_run")
    p.add_argument("--keep", action="store_true", help="keep the scratch databases")
    args = p.parse_args()
    import logging

    logging.disable(logging.WARNING)
    server = os.environ.get("VNCOMPLY_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    urls = Urls(server, args.db_prefix)
    create_template(urls)  # Alembic's env runs its own event loop
    pids, aid = asyncio.run(seed_parties(urls.sqla(urls.template), args.platforms))
    seconds = seed_orders(urls.plain(urls.template), pids, aid, args.orders, args.due)
    print(
        f"seeded {args.orders:,} open orders ({args.due:,} due at T0) over "
        f"{args.platforms} platforms in {seconds:.1f} s ({load()})"
    )

    rates: dict[str, list[float]] = {"reference": [], "sweep": []}
    prints: dict[str, set[tuple[Any, ...]]] = {"reference": set(), "sweep": set()}
    for trial in range(args.trials):
        # A B B A A B …: each kind runs as often first as second (what runs after a copy or after
        # the other kind's run pays for the background writes they leave).
        for kind in ("reference", "sweep") if trial % 2 == 0 else ("sweep", "reference"):
            fresh_copy(urls)
            if kind == "reference":
                t = time.perf_counter()
                fired = reference_overdue(urls.plain(urls.run), args.batch)
                elapsed = time.perf_counter() - t
            else:
                elapsed, fired = asyncio.run(sweep_overdue(urls.sqla(urls.run), args.batch))
            fp = fingerprint(urls.plain(urls.run))
            assert fired == args.due == fp[4], (kind, fired, fp)
            assert fp[3] == 0, ("gaps in event seqs", kind, fp)
            assert fp[5] == 0, ("orders still due", kind, fp)
            prints[kind].add(fp)
            rates[kind].append(fired / elapsed)
            print(
                f"  trial {trial + 1} {kind:9}: {fired:,} overdue transitions in {elapsed:.2f} s "
                f"= {fired / elapsed:,.0f}/s ({load()})"
            )
    same = len(prints["reference"] | prints["sweep"]) == 1
    figure, reference = statistics.median(rates["sweep"]), statistics.median(rates["reference"])
    print(
        f"overdue burst, {args.due:,} due of {args.orders:,}, batch {args.batch}, median of {args.trials}: "
        f"sweep {figure:,.0f}/s vs plain-SQL reference {reference:,.0f}/s = {figure / reference:.2f}x "
        f"(target >= 0.5x: {'met' if figure / reference >= 0.5 else 'MISSED'}); "
        f"same writes (orders, audit rows, events): {'yes' if same else 'NO'}"
    )

    fresh_copy(urls)
    from vncomply.deadlines.engine import handlers

    n = len(handlers())
    for label, names, cadence in (
        ("takedowns.clock only", ["takedowns.clock"], None),
        (f"all {n} handlers", None, None),
        (f"all {n} handlers, clock moving 3 s per sweep as under beat", None, 3.0),
    ):
        got = asyncio.run(idle_runs(urls.sqla(urls.run), args.idle_runs, names, cadence))
        ms, tx, ac = got["sweep"], got["tx"], got["autocommit"]
        med, p95 = statistics.median(ms), _pct(ms, 0.95)
        print(
            f"idle sweep ({label}), {len(ms)} runs: median {med:.2f} ms, p95 {p95:.2f} ms, "
            f"max {max(ms):.2f} ms (target p95 <= 5 ms: {'met' if p95 <= 5 else 'MISSED'}; {load()})"
        )
        for ref_label, ref in (("SELECT 1 transaction", tx), ("autocommit SELECT 1", ac)):
            rmed, rp95 = statistics.median(ref), _pct(ref, 0.95)
            print(
                f"    vs {ref_label} on the same pool: median {rmed:.2f} ms, p95 {rp95:.2f} ms"
                f" = {med / rmed:.2f}x at the median, {p95 / rp95:.2f}x at p95"
            )
    if not args.keep:
        admin(
            urls,
            f'DROP DATABASE IF EXISTS "{urls.run}" WITH (FORCE)',
            f'DROP DATABASE IF EXISTS "{urls.template}" WITH (FORCE)',
        )


if __name__ == "__main__":
    main()
