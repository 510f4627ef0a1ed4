"""The deadline engine's reads: the idle probe and the claims (docs/deadlines.md); and its
autocommit connection.

The hot ones go straight to the driver (psycopg statements composed once per handler): on an idle
sweep, building and cache-keying a SQLAlchemy statement cost more CPU than its round trip, and on a
burst, hydrating ORM objects (or SQLAlchemy rows with their type processors) cost more than the
whole transition of a batch (bench/takedowns). Each runs on the session's own connection, so
the claim's row locks belong to the batch's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from psycopg import sql
from psycopg.rows import namedtuple_row
from sqlalchemy import DateTime, bindparam, exists, false, inspect, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

if TYPE_CHECKING:
    from vncomply.deadlines.engine import DeadlineHandler

RowT = TypeVar("RowT")


def _table(h: DeadlineHandler[Any]) -> tuple[Any, sql.Identifier]:
    mapper: Any = inspect(h.model)
    table: Any = mapper.local_table
    return table, sql.Identifier(*([table.schema] if table.schema else []), table.name)


async def autocommit(session: AsyncSession) -> AsyncConnection:
    """The session's connection in autocommit mode: a lone statement is one round trip (no BEGIN,
    no COMMIT). A session bound to a connection already in a transaction (tests) uses that."""
    if isinstance(session.bind, AsyncEngine):
        return await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return await session.connection()


@cache
def batch_claim(h: DeadlineHandler[Any]) -> sql.Composed:
    """The batch path's claim (``claim_rows``), composed once per handler."""
    table, ident = _table(h)
    cols = h.batch_columns or tuple(c.name for c in table.columns)
    return sql.SQL(
        "SELECT {cols} FROM {table} WHERE next_action_at <= %(now)s"
        " ORDER BY next_action_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED"
    ).format(cols=sql.SQL(", ").join(sql.Identifier(c) for c in cols), table=ident)


@cache
def due_probe(h: DeadlineHandler[Any]) -> sql.Composed:
    """A handler's part of the idle probe (``probe``): its name if any of its rows is due."""
    _, ident = _table(h)
    return sql.SQL(
        "SELECT {name}::text WHERE EXISTS (SELECT 1 FROM {table} WHERE next_action_at <= %(now)s)"
    ).format(name=sql.Literal(h.name), table=ident)


async def probe(
    factory: async_sessionmaker[AsyncSession],
    selected: Sequence[DeadlineHandler[Any]],
    now: datetime,
    repairing: set[str],
) -> tuple[set[str], set[str]]:
    """Which handlers have due rows, and which of ``repairing`` have stuck rows: one statement in
    one round trip (autocommit: no BEGIN, no ROLLBACK), so an idle sweep costs about one
    ``SELECT 1`` whatever the number of handlers (bench/takedowns). Only a hint: the claim
    (``FOR UPDATE SKIP LOCKED``, the WHERE re-checked) still decides what fires, and a row that
    falls due after the probe is the next sweep's."""
    if not selected:
        return set(), set()
    async with factory() as session:
        conn = await autocommit(session)
        if repairing:  # at most every REPAIR_EVERY (engine): built and compiled by SQLAlchemy
            rows = (await conn.execute(full_probe(tuple(selected), frozenset(repairing)), {"now": now})).all()
            return {r.handler for r in rows if r.due}, {r.handler for r in rows if r.stuck}
        # The usual case, composed once per handler and sent straight to the driver: building and
        # cache-keying the statement cost more CPU than the round trip (bench/takedowns).
        raw: Any = (await conn.get_raw_connection()).driver_connection
        async with raw.cursor() as cur:
            await cur.execute(sql.SQL(" UNION ALL ").join(due_probe(h) for h in selected), {"now": now})
            return {name for (name,) in await cur.fetchall()}, set()


@lru_cache(maxsize=64)
def full_probe(selected: tuple[DeadlineHandler[Any], ...], repairing: frozenset[str]) -> Any:
    """The probe with the stuck predicates, built once per set of handlers (SQLAlchemy memoizes a
    statement's cache key, so a reused statement is not walked again). The sweep's ``now`` is the
    bound parameter ``now``; the stuck predicates get it as that parameter, for SQL only (none of
    today's uses it at all)."""
    now: Any = bindparam("now", type_=DateTime(timezone=True))
    parts = [
        select(
            literal(h.name).label("handler"),
            exists().where(h.due_column <= now).label("due"),
            (exists().where(h.stuck(now)) if h.stuck is not None and h.name in repairing else false()).label(
                "stuck"
            ),
        )
        for h in selected
    ]
    return parts[0] if len(parts) == 1 else union_all(*parts)


async def claim(session: AsyncSession, h: DeadlineHandler[RowT], now: datetime, limit: int) -> Sequence[RowT]:
    stmt = (
        select(h.model)
        .where(h.due_column <= now)
        .order_by(h.due_column)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(stmt)).all()


async def claim_rows(session: AsyncSession, h: DeadlineHandler[Any], now: datetime, limit: int) -> list[Any]:
    """The batch path's claim: the same statement, on the session's connection and transaction, but
    read straight from the driver as named tuples. Hydrating ORM objects (or even SQLAlchemy rows
    with their type processors) cost more CPU than the whole transition of a batch (bench/takedowns)."""
    conn = await session.connection()
    raw: Any = (await conn.get_raw_connection()).driver_connection
    async with raw.cursor(row_factory=namedtuple_row) as cur:
        await cur.execute(batch_claim(h), {"now": now, "limit": limit})
        return list(await cur.fetchall())
