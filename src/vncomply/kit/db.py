"""Async engine and sessions (SQLAlchemy 2 on psycopg 3).

One transaction per request: ``get_session`` yields a session and commits when the endpoint returns,
*before* the response is sent (routers declare it with ``scope="function"``), so a failed commit
answers 500 and never 200. Workers use ``session_scope()``. Services never commit.

An exception rolls the transaction back, except a ``DomainError`` marked as committing
(``commits``, see ``vncomply.kit.errors``): the transaction commits and the error is re-raised, to
be rendered as its problem after its side effects (an audit record, a spent attempt) are durable.
That is the one way to answer an error whose side effects must stay; never return a problem
response from a route for it.

A network call the request must wait for (an SMS) is registered with ``after_commit`` and runs
after the commit, outside the transaction. Every connection carries server-side statement and
idle-in-transaction timeouts (``server_options``), so nothing waits for ever.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

import orjson
import psycopg
from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import (
    ClauseElement,
    DateTime,
    MetaData,
    TextClause,
    TextualSelect,
    bindparam,
    column,
    make_url,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.compiler import SQLCompiler

from vncomply.config import get_settings
from vncomply.kit import replica
from vncomply.kit.errors import DomainError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


_engine: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None


def json_rows(rows: list[dict[str, Any]]) -> str:
    """Rows as one JSON parameter, for ``jsonb_to_recordset`` batch statements."""
    return orjson.dumps(rows).decode()


# PostgreSQL's INSERT … ON CONFLICT has no cache key in SQLAlchemy 2.0 (the dialect's Insert sets
# ``inherit_cache = False``), so it is compiled again on every execution: 15 % of the API's CPU under
# mixed load went to compiling the identity upsert.
_NAMED = postgresql.dialect(paramstyle="named")  # type: ignore[no-untyped-call]
_CAST = re.compile(r":(\w+)::(\w+(?:\[\])?)")


def compiled_once(stmt: ClauseElement) -> TextClause | TextualSelect:
    """``stmt`` compiled once into a ``text()`` that SQLAlchemy caches, with the same typed bind
    parameters and result columns. Build ``stmt`` with ``bindparam(name)`` placeholders for what
    varies; constants stay as they are."""
    compiled = stmt.compile(dialect=_NAMED)
    assert isinstance(compiled, SQLCompiler)
    binds = {  # one per name: the compiler may hold a placeholder and its copy for a column
        name: bindparam(name, p.value, type_=p.type, required=p.required)
        for p, name in compiled.bind_names.items()
    }
    # The dialect casts some binds as ``:name::UUID``, which text() would not read as a bind.
    sql = _CAST.sub(r"CAST(:\1 AS \2)", str(compiled))
    clause = text(sql).bindparams(*binds.values())
    returned = getattr(stmt, "exported_columns", ())
    if not returned:
        return clause
    return clause.columns(*(column(c.name, c.type) for c in returned))


def database_url() -> str:
    url = get_settings().database_url
    if not url:
        raise RuntimeError("VNCOMPLY_DATABASE_URL is not set; run `vncomply up` for the embedded database")
    return url


def server_options(statement_timeout: float) -> str:
    """libpq ``options`` for our connections: server-side limits on how long one statement may run
    and how long a transaction may sit idle (a stuck client must not hold locks for ever), after
    whatever ``options`` the database URL itself carries."""
    s = get_settings()
    given = make_url(database_url()).query.get("options")
    ours = (
        f"-c statement_timeout={round(statement_timeout * 1000)} "
        f"-c idle_in_transaction_session_timeout={round(s.db_idle_in_transaction_timeout_seconds * 1000)}"
    )
    given_text = " ".join(given) if isinstance(given, tuple) else given
    return f"{given_text} {ours}" if given_text else ours


def get_engine() -> AsyncEngine:
    """The process's engine, created on first use (after a Celery fork, never before)."""
    global _engine
    if _engine is None:
        s = get_settings()
        _engine = create_async_engine(
            database_url(),
            pool_size=s.db_pool_size,
            max_overflow=s.db_max_overflow,
            pool_pre_ping=False,
            connect_args={
                "prepare_threshold": None,
                "options": server_options(s.db_statement_timeout_seconds),
            },
        )
    return _engine


def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    global _sessionmaker
    if _sessionmaker is None:
        _sessionmaker = async_sessionmaker(get_engine(), expire_on_commit=False)
    return _sessionmaker


def use_sessionmaker(maker: async_sessionmaker[AsyncSession] | None) -> None:
    """Point the process at another session factory (tests bind one to their outer transaction)."""
    global _sessionmaker
    _sessionmaker = maker


async def dispose_engine() -> None:
    global _engine, _sessionmaker, _read_pool
    if _engine is not None:
        await _engine.dispose()
    if _read_pool is not None:
        await _read_pool.close()
    await replica.close()
    _engine = None
    _sessionmaker = None
    _read_pool = None


def forget_after_fork() -> None:
    """Drop the engine and pools inherited through a fork: their sockets belong to the parent."""
    global _engine, _sessionmaker, _read_pool
    _engine = None
    _sessionmaker = None
    _read_pool = None
    replica.forget()


# The hot read path (the permission check, called on every post) skips the ORM: a plain psycopg pool
# in autocommit (no BEGIN/COMMIT round trips) whose statements are server-side prepared. The ORM
# engine keeps `prepare_threshold=None` because its statements are many and varied; these are two.
_read_pool: AsyncConnectionPool | None = None
READ_ATTEMPTS = 3  # a pool whose connections all died at once heals within a few reads
_read_pool_lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None


def _opening_lock() -> asyncio.Lock:
    # One per event loop: a lock that ever had to wait is bound to its loop (tests run many loops).
    global _read_pool_lock
    loop = asyncio.get_running_loop()
    if _read_pool_lock is None or _read_pool_lock[0] is not loop:
        _read_pool_lock = (loop, asyncio.Lock())
    return _read_pool_lock[1]


async def _open_read_pool() -> AsyncConnectionPool:
    global _read_pool
    async with _opening_lock():
        if _read_pool is None:
            s = get_settings()
            conninfo = make_url(database_url()).set(drivername="postgresql")
            pool: AsyncConnectionPool = AsyncConnectionPool(
                conninfo.render_as_string(hide_password=False),
                min_size=1,
                max_size=s.db_read_pool_size,
                timeout=s.db_read_timeout_seconds,
                kwargs={
                    "autocommit": True,
                    "prepare_threshold": 0 if s.db_read_prepared else None,
                    # A permission check is a primary-key probe: seconds mean something is wrong.
                    "options": server_options(s.db_read_statement_timeout_seconds),
                    # Tells these connections apart in pg_stat_activity.
                    "application_name": "vncomply-read",
                },
                open=False,
            )
            await pool.open()
            _read_pool = pool
    return _read_pool


def _bound_maker() -> async_sessionmaker[AsyncSession] | None:
    """The session factory when it is bound to one connection (the test harness's outer
    transaction), else None."""
    maker = _sessionmaker
    return maker if maker is not None and isinstance(maker.kw.get("bind"), AsyncConnection) else None


def reads_share_a_connection() -> bool:
    """Reads then run on that one connection, so nothing may read in the background meanwhile."""
    return _bound_maker() is not None


async def read_rows(
    sql: str, params: Mapping[str, Any], *, primary_on_empty: bool = False
) -> list[tuple[Any, ...]]:
    """Run one read-only statement (psycopg ``%(name)s`` parameters) on the hot read pool: the
    replica's when one is configured and fresh enough (``kit.replica``), else the primary's.
    ``primary_on_empty``: when the replica finds no row, the primary is asked too.

    When the session factory is bound to a single connection (the test harness's outer
    transaction), the statement runs there instead, so it sees what the test wrote.
    """
    maker = _bound_maker()
    if maker is not None:
        async with maker() as session:
            result = await (await session.connection()).exec_driver_sql(sql, dict(params))
            return [tuple(r) for r in result]
    rows = await replica.read_rows(sql, params, primary_on_empty=primary_on_empty)
    return rows if rows is not None else await primary_rows(sql, params)


async def primary_rows(sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """``read_rows`` on the primary's hot read pool."""
    pool = _read_pool or await _open_read_pool()
    for attempt in range(1, READ_ATTEMPTS + 1):
        async with pool.connection() as conn:
            try:
                cur = await conn.execute(sql, params)
                return await cur.fetchall()
            except psycopg.OperationalError:
                # A connection the server dropped (a restart, a proxy's idle timeout): the pool
                # discards it, and a read may safely run again on another one.
                if attempt == READ_ATTEMPTS or not conn.broken:
                    raise
    raise AssertionError("unreachable")


_AFTER_COMMIT = "vncomply.after_commit"
_UNDO = "vncomply.undo_after_commit"
AfterCommit = Callable[[], Awaitable[None]]
Undo = Callable[[AsyncSession], Awaitable[object]]


def after_commit(session: AsyncSession, step: AfterCommit) -> None:
    """Run ``step`` once this session's transaction has committed and its connection is back in
    the pool: a network call (an SMS) must never hold a transaction open. The caller still waits
    for it (a request answers after the step). If it raises, every ``undo_if_after_commit_fails``
    of the session runs in one new transaction, then the error propagates."""
    session.info.setdefault(_AFTER_COMMIT, []).append(step)


def undo_if_after_commit_fails(session: AsyncSession, undo: Undo) -> None:
    """Register what takes this transaction's effect back should an ``after_commit`` step fail."""
    session.info.setdefault(_UNDO, []).append(undo)


async def _run_after_commit(steps: list[AfterCommit], undos: list[Undo]) -> None:
    try:
        for step in steps:
            await step()
    except BaseException:
        if undos:
            async with session_scope() as session:
                for undo in undos:
                    await undo(session)
        raise


@asynccontextmanager
async def session_scope() -> AsyncIterator[AsyncSession]:
    """A unit of work: commit on success, roll back on any exception — but commit, then re-raise,
    for a ``DomainError`` marked as committing (module docstring); then the session's
    ``after_commit`` steps, outside any transaction."""
    async with get_sessionmaker()() as session:
        try:
            yield session
        except DomainError as exc:
            if exc.commits:
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()
        steps: list[AfterCommit] = session.info.pop(_AFTER_COMMIT, [])
        undos: list[Undo] = session.info.pop(_UNDO, [])
    if steps:
        await _run_after_commit(steps, undos)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with session_scope() as session:
        # Route wrappers (idempotency) write into the same transaction as the endpoint.
        request.state.db_session = session
        yield session


_ADVISORY = text("SELECT pg_advisory_xact_lock(CAST(:ns AS integer), hashtext(CAST(:k AS text)))")


async def advisory_lock(session: AsyncSession, namespace: int, key: str) -> None:
    """Serialise the transactions that take the same (``namespace``, ``key``) until they end.
    The two-int form, so it never meets single-bigint locks; each caller owns its namespace
    (kit.references 0x2EF, blocks 0x0B10C, events 0x3E7E)."""
    await session.execute(_ADVISORY, {"ns": namespace, "k": key})


async def get_read_session() -> AsyncIterator[AsyncSession]:
    async with replica.read_session() as session:
        yield session


# Every router uses this alias, so the commit-before-response rule is declared once.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
# Long read-only work (the reports): on the replica while it is within the lag bound, else the
# primary; nothing written in it is kept.
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
