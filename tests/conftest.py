"""Test harness: a real PostgreSQL (migrated by Alembic once per run, in a database created for the
run and dropped after) and a real Redis. Each test runs inside one outer transaction that is rolled
back; the app's commits become savepoint releases.

Servers: VNCOMPLY_TEST_DATABASE_URL / VNCOMPLY_TEST_REDIS_URL when set, else embedded ones.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[1]
RUN_ID = secrets.token_hex(4)


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _with_db(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def servers() -> Iterator[tuple[str, str]]:
    db_url = os.environ.get("VNCOMPLY_TEST_DATABASE_URL")
    redis_url = os.environ.get("VNCOMPLY_TEST_REDIS_URL")
    stack = []
    # The embedded servers' folder (data, logs): removed with them, so `make test` leaves nothing
    # behind in the temporary directory.
    base: Path | None = None
    try:
        if not db_url or not redis_url:
            from vncomply.embedded import start_postgres, start_redis

            base = Path(tempfile.mkdtemp(prefix="vncomply-test-"))
            if not db_url:
                pg = start_postgres(base / "pg")
                stack.append(pg)
                db_url = pg.url
            if not redis_url:
                rd = start_redis(base / "redis")
                stack.append(rd)
                redis_url = rd.url
        if not db_url.startswith("postgresql+psycopg://"):
            db_url = db_url.replace("postgresql://", "postgresql+psycopg://", 1)
        yield db_url, redis_url
    finally:
        for server in reversed(stack):
            server.stop()
        if base is not None:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def test_database(servers: tuple[str, str]) -> Iterator[str]:
    """A fresh database for this run (parallel runs never collide), migrated to head."""
    server_url, redis_url = servers
    name = f"vncomply_test_{RUN_ID}"
    admin = _plain(server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_db(server_url, name)
    os.environ.update(
        VNCOMPLY_ENV="test",
        VNCOMPLY_DATABASE_URL=url,
        VNCOMPLY_REDIS_URL=redis_url,
        VNCOMPLY_REDIS_KEY_PREFIX=f"vnctest{RUN_ID}",
        VNCOMPLY_WEBHOOK_ALLOW_PRIVATE="127.0.0.1/32,::1/128,localhost",
        # Every test client calls from one address: the per-address limit on failed
        # authentications would otherwise couple unrelated tests (tests/auth/test_gate.py sets its own).
        VNCOMPLY_AUTH_FAILURE_LIMIT="100000,100000",
    )
    from vncomply.config import reset_settings

    reset_settings()
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logging"] = False
    command.upgrade(cfg, "head")
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    from vncomply.kit import clock

    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """A directory for an embedded server's data, outside pytest's temp root: when we are root the
    server runs as an unprivileged user who needs search access to every ancestor, and any other
    pytest run on the machine resets that root to 0700 when it starts (hiding a live server's data
    directory from it mid-test). Removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="vncomply-test-server-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def db_connection(test_database: str) -> AsyncIterator[object]:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(test_database, connect_args={"prepare_threshold": None})
    async with engine.connect() as conn:
        trans = await conn.begin()
        yield conn
        if trans.is_active:
            await trans.rollback()
    await engine.dispose()


@pytest.fixture
async def db(db_connection: object) -> AsyncIterator[object]:
    """An AsyncSession inside the test's outer transaction; the app uses the same connection."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from vncomply.auth import service as auth_service
    from vncomply.kit import db as dbmod

    maker = async_sessionmaker(
        bind=db_connection,  # type: ignore[arg-type]
        expire_on_commit=False,
        join_transaction_mode="create_savepoint",
    )
    dbmod.use_sessionmaker(maker)
    auth_service.clear_cache()
    # Per-process limiter state (refused addresses, token leases) must not leak between tests.
    from vncomply.auth import gate
    from vncomply.kit import ratelimit

    gate.forget()
    ratelimit.forget_leases()
    async with maker() as session:
        yield session
    await dbmod.dispose_engine()
    from vncomply.kit.redis import close_redis

    await close_redis()
    dbmod.use_sessionmaker(None)


@pytest.fixture
async def app(db: object) -> object:
    from vncomply.app import create_app

    return create_app()


@pytest.fixture
async def client(app: object) -> AsyncIterator[object]:
    import httpx

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def committed(test_database: str) -> AsyncIterator[object]:
    """Real commits on separate connections (for concurrency tests); tables are emptied after."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from vncomply.kit import db as dbmod
    from vncomply.registry import metadata as load_metadata

    metadata = load_metadata()

    engine = create_async_engine(test_database, connect_args={"prepare_threshold": None})
    maker = async_sessionmaker(engine, expire_on_commit=False)
    dbmod.use_sessionmaker(maker)
    yield maker
    async with engine.begin() as conn:
        existing = set(
            (
                await conn.execute(text("select tablename from pg_tables where schemaname = 'public'"))
            ).scalars()
        )
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables if t.name in existing)
        await conn.execute(text("SET session_replication_role = replica"))
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()
    await dbmod.dispose_engine()
    dbmod.use_sessionmaker(None)
    from vncomply.kit.redis import close_redis

    await close_redis()
