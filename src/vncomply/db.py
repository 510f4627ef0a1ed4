"""Async engine and sessions (SQLAlchemy 2 on psycopg 3).

One transaction per request: ``get_session`` yields a session and commits when the endpoint returns,
*before* the response is sent (routers declare it with ``scope="function"``), so a failed commit
answers 500 and never 200. Workers use ``session_scope()``. Services never commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from vncomply.config import get_settings

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


def database_url() -> str:
    url = get_settings().database_url
    if not url:
        raise RuntimeError("VNCOMPLY_DATABASE_URL is not set; run `vncomply up` for the embedded database")
    return url


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
            connect_args={"prepare_threshold": None},
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
    global _engine, _sessionmaker
    if _engine is not None:
        await _engine.dispose()
    _engine = None
    _sessionmaker = None


@asynccontextmanager
async def session_scope() -> AsyncIterator[AsyncSession]:
    """A worker's unit of work: commit on success, roll back on any exception."""
    async with get_sessionmaker()() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with session_scope() as session:
        # Route wrappers (idempotency) write into the same transaction as the endpoint.
        request.state.db_session = session
        yield session


# Every router uses this alias, so the commit-before-response rule is declared once.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
