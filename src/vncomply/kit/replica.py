"""Hot reads from a streaming replica, never staler than ``VNCOMPLY_READ_MAX_LAG_SECONDS``.

With ``VNCOMPLY_DATABASE_READ_URL`` set, ``kit.db.read_rows`` (the permission check, the batch
check, API-key lookups) asks the replica first, and ``read_session`` gives the reports an ORM
session on it. A read goes to the replica only while the replica is known to hold everything the
primary had committed ``max_lag`` seconds ago; otherwise — lagging, paused, unreachable, promoted,
or not yet measured — to the primary. ``vncomply_db_reads_total{target, reason}`` counts which.

How fresh the replica is, measured without trusting any clock but this process's monotonic one and
without writing anything to the primary (an idle primary is the usual trap of
``now() - pg_last_xact_replay_timestamp()``, which then grows for ever):

Reasons a read went to the primary: ``no_replica`` (none configured), ``stale`` (not known to be
within the bound: lagging, paused, not measured yet), ``replica_unreachable``, ``replica_failed``
(this read failed there, e.g. a conflict with recovery) and ``replica_miss`` (no row, asked again).

- every ``PROBE_EVERY`` s (only while reads arrive), a probe notes (t, the primary's
  ``pg_current_wal_insert_lsn()``) — every transaction committed before t ends before that
  position — and then asks the replica for ``pg_last_wal_replay_lsn()``;
- the newest noted t whose position the replica has replayed is ``fresh_as_of``: the replica holds
  every commit made before it. A read at time r uses the replica iff ``r - fresh_as_of <= max_lag``,
  so a block committed on the primary more than ``max_lag`` seconds before a check is always seen.

On a quiet primary the replica replays up to the insert position at once, so it stays fresh; on a
busy one the bound is the replication delay plus at most one probe period.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
from prometheus_client import Counter, Gauge
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import make_url

from vncomply.config import get_settings
from vncomply.kit.logs import get_logger

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

log = get_logger("vncomply.kit.replica")

READS = Counter(
    "vncomply_db_reads_total",
    "Reads routed by kit.replica (hot reads and report sessions): the server that answered and why",
    ["target", "reason"],
)
STALENESS = Gauge(
    "vncomply_db_replica_staleness_seconds",
    "Upper bound on how far the replica is behind the primary (+Inf: unknown or unreachable)",
)
_REPLICA = READS.labels("replica", "fresh")
_NO_REPLICA = READS.labels("primary", "no_replica")
_STALE = READS.labels("primary", "stale")
_UNREACHABLE = READS.labels("primary", "replica_unreachable")
_FAILED = READS.labels("primary", "replica_failed")
_MISS = READS.labels("primary", "replica_miss")

PROBE_EVERY = 0.25  # seconds (at most max_lag / 4)
# How long a read waits for a replica connection before it goes to the primary instead.
CONNECT_WAIT = 0.5
_SAMPLES = 64
_LSN_SQL = "SELECT pg_current_wal_insert_lsn()::text"
_REPLAY_SQL = (
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, current_setting('wal_block_size')::int"
)
# A WAL page header: the insert position of a record that ends exactly at a page boundary points
# past the next page's header, while the replica's replay position stops at the boundary.
_MAX_PAGE_HEADER = 40


def lsn(text: str) -> int:
    hi, _, lo = text.partition("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def covers(replayed: int, position: int, block_size: int) -> bool:
    """Whether a replica that replayed up to ``replayed`` holds everything before ``position``."""
    if replayed >= position:
        return True
    return replayed % block_size == 0 and position - replayed <= _MAX_PAGE_HEADER


@dataclass
class _State:
    loop: asyncio.AbstractEventLoop
    pool: AsyncConnectionPool | None = None
    fresh_as_of: float = -math.inf
    reachable: bool = True
    samples: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=_SAMPLES))
    probe: asyncio.Task[None] | None = None
    last_probe: float = -math.inf
    warned: bool = False


_state: _State | None = None
_engine: AsyncEngine | None = None


def configured() -> bool:
    return get_settings().database_read_url is not None


def _current() -> _State:
    """This event loop's state (pools and tasks belong to one loop; tests run many)."""
    global _state
    loop = asyncio.get_running_loop()
    if _state is None or _state.loop is not loop:
        _state = _State(loop)
    return _state


def _conninfo() -> str:
    url = get_settings().database_read_url
    assert url is not None
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _open_pool(st: _State) -> AsyncConnectionPool:
    from vncomply.kit.db import server_options

    s = get_settings()
    pool: AsyncConnectionPool = AsyncConnectionPool(
        _conninfo(),
        min_size=1,
        max_size=s.db_read_pool_size,
        timeout=CONNECT_WAIT,
        kwargs={
            "autocommit": True,
            "prepare_threshold": 0 if s.db_read_prepared else None,
            "options": server_options(s.db_read_statement_timeout_seconds),
            "application_name": "vncomply-read-replica",
            "connect_timeout": 2,
        },
        open=False,
    )
    st.pool = pool
    return pool


def _fresh(st: _State, now: float) -> bool:
    return now - st.fresh_as_of <= get_settings().read_max_lag_seconds


def _maybe_probe(st: _State, now: float) -> None:
    every = min(PROBE_EVERY, get_settings().read_max_lag_seconds / 4)
    if (st.probe is None or st.probe.done()) and now - st.last_probe >= every:
        st.last_probe = now
        st.probe = st.loop.create_task(_probe(st))


async def _probe(st: _State) -> None:
    from vncomply.kit.db import primary_rows

    if st.pool is None:
        try:
            await _open_pool(st).open(wait=True, timeout=5)
        except PoolTimeout:  # the pool keeps connecting in the background
            _unreachable(st, "PoolTimeout")
            return
    assert st.pool is not None
    try:
        t = time.monotonic()
        st.samples.append((t, lsn((await primary_rows(_LSN_SQL, {}))[0][0])))
    except Exception as exc:  # the primary is the one down: nothing to compare with
        log.debug("replica_probe_no_primary", error_type=type(exc).__name__)
        return
    try:
        async with st.pool.connection() as conn:
            row = await (await conn.execute(_REPLAY_SQL)).fetchone()
    except (psycopg.Error, PoolTimeout, OSError) as exc:
        _unreachable(st, type(exc).__name__)
        return
    st.reachable = True
    in_recovery, replayed, block = row if row is not None else (False, None, 0)
    if not in_recovery or replayed is None:
        if not st.warned:  # a promoted or mistaken server: never read from it as a replica
            st.warned = True
            log.warning("replica_not_in_recovery")
        st.fresh_as_of = -math.inf
    else:
        done = [ts for ts, pos in st.samples if covers(lsn(replayed), pos, int(block))]
        if done:
            st.fresh_as_of = max(st.fresh_as_of, max(done))
            while st.samples and st.samples[0][0] < st.fresh_as_of:
                st.samples.popleft()
    STALENESS.set(time.monotonic() - st.fresh_as_of)


def _unreachable(st: _State, error: str) -> None:
    if st.reachable:
        log.warning("replica_unreachable", error_type=error)
    st.reachable = False
    st.fresh_as_of = -math.inf
    STALENESS.set(math.inf)


async def read_rows(
    sql: str, params: Mapping[str, Any], *, primary_on_empty: bool = False
) -> list[tuple[Any, ...]] | None:
    """The rows from the replica, or None: then the caller asks the primary. ``primary_on_empty``:
    no row from the replica is asked again of the primary (an API key issued a moment ago)."""
    if get_settings().database_read_url is None:
        _NO_REPLICA.inc()
        return None
    st = _current()
    now = time.monotonic()
    _maybe_probe(st, now)
    if st.pool is None or not _fresh(st, now):
        (_STALE if st.reachable else _UNREACHABLE).inc()
        return None
    try:
        # A replica gone silent (no reset, e.g. a network partition) must not hold a check for
        # longer than the server would have let the statement run.
        async with asyncio.timeout(get_settings().db_read_statement_timeout_seconds + 1):
            async with st.pool.connection() as conn:
                try:
                    rows = await (await conn.execute(sql, params)).fetchall()
                except psycopg.Error:
                    if conn.broken:
                        _unreachable(st, "connection lost")
                    raise
    except (psycopg.Error, PoolTimeout, OSError, TimeoutError) as exc:
        if isinstance(exc, PoolTimeout | TimeoutError):
            _unreachable(st, type(exc).__name__)
        _FAILED.inc()
        return None  # a conflict with recovery, a stopped replica: the primary answers this one
    if primary_on_empty and not rows:
        _MISS.inc()
        return None
    _REPLICA.inc()
    return rows


async def fresh() -> bool:
    """Whether a read started now may go to the replica (starts a probe when one is due)."""
    if get_settings().database_read_url is None:
        return False
    st = _current()
    now = time.monotonic()
    _maybe_probe(st, now)
    return st.pool is not None and _fresh(st, now)


def _read_engine() -> AsyncEngine:
    global _engine
    if _engine is None:
        from sqlalchemy.ext.asyncio import create_async_engine

        from vncomply.kit.db import server_options

        s = get_settings()
        url = s.database_read_url
        assert url is not None
        _engine = create_async_engine(
            url,
            pool_size=s.db_pool_size,
            max_overflow=s.db_max_overflow,
            connect_args={
                "prepare_threshold": None,
                "options": server_options(s.db_statement_timeout_seconds),
                "application_name": "vncomply-reports-replica",
            },
        )
    return _engine


@asynccontextmanager
async def read_session() -> AsyncIterator[AsyncSession]:
    """A read-only ORM session for long reads (the reports): on the replica while it is within the
    lag bound when the session starts, else on the primary. Nothing in it is committed."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from vncomply.kit.db import get_sessionmaker, reads_share_a_connection

    if reads_share_a_connection() or not await fresh():
        if configured() and not reads_share_a_connection():
            (_STALE if _current().reachable else _UNREACHABLE).inc()
        maker = get_sessionmaker()
    else:
        _REPLICA.inc()
        maker = async_sessionmaker(_read_engine(), expire_on_commit=False)
    async with maker() as session:
        try:
            yield session
        finally:
            await session.rollback()


async def close() -> None:
    """Close this process's replica pools (``kit.db.dispose_engine``)."""
    global _state, _engine
    st, _state = _state, None
    if st is not None:
        if st.probe is not None and not st.probe.done():
            st.probe.cancel()
        if st.pool is not None and st.loop is asyncio.get_running_loop():
            await st.pool.close()
    engine, _engine = _engine, None
    if engine is not None:
        await engine.dispose()


def forget() -> None:
    """Drop what a fork inherited (``kit.db.forget_after_fork``)."""
    global _state, _engine
    _state = None
    _engine = None
