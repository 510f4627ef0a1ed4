"""The servers a fault test controls: a PostgreSQL and a Redis of its own (never the machine's), on
free ports, that it may stop and start again on the same port; and one fresh database per test,
copied from a template migrated once by `vncomply migrate`."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

from tests.faults.procs import ROOT, Processes, command
from vncomply.embedded import EmbeddedServer, start_postgres, start_redis

ADMIN_KEY = "vnc_faults_" + "a" * 40
TEMPLATE = "faults_template"


def plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def with_db(url: str, name: str) -> str:
    return f"{url.rpartition('/')[0]}/{name}"


def base_env() -> dict[str, str]:
    """The environment of every process we start: ours without any VNCOMPLY_ setting (the test
    harness's point at the machine's servers), this checkout first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VNCOMPLY_")}
    env.update(
        PYTHONPATH=str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", ""),
        PYTHONUNBUFFERED="1",
        VNCOMPLY_ENV="test",
        VNCOMPLY_BOOTSTRAP_ADMIN_KEY=ADMIN_KEY,
        VNCOMPLY_WEBHOOK_ALLOW_PRIVATE="127.0.0.1/32",
        # What is measured is the service, not the limiter.
        VNCOMPLY_RATE_LIMIT_PLATFORM="100000,200000",
        VNCOMPLY_RATE_LIMIT_AUTHORITY="10000,20000",
        VNCOMPLY_RATE_LIMIT_ADMIN="10000,20000",
        VNCOMPLY_LOG_LEVEL="WARNING",
    )
    return env


class Servers:
    """An embedded PostgreSQL and Redis under ``base``, restartable on the same ports."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.pg: EmbeddedServer = start_postgres(base / "pg")
        self.redis: EmbeddedServer = start_redis(base / "redis")
        self.pg_url = self.pg.url
        self.redis_url = self.redis.url

    def stop_postgres(self) -> None:
        self.pg.stop()

    def start_postgres(self) -> None:
        self.pg = start_postgres(self.base / "pg")
        assert self.pg.url == self.pg_url, "PostgreSQL came back on another port"

    def stop_redis(self) -> None:
        self.redis.stop()

    def start_redis(self) -> None:
        self.redis = start_redis(self.base / "redis")
        assert self.redis.url == self.redis_url, "Redis came back on another port"

    def ensure_running(self) -> None:
        """A test that failed half-way through an outage leaves the next one its servers."""
        if self.pg.stopped:
            self.start_postgres()
        if self.redis.stopped:
            self.start_redis()

    def make_template(self) -> None:
        with psycopg.connect(plain(self.pg_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
            conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
        env = {**base_env(), "VNCOMPLY_DATABASE_URL": with_db(self.pg_url, TEMPLATE)}
        done = subprocess.run(
            command("migrate"), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def stop(self) -> None:
        self.redis.stop()
        self.pg.stop()


@dataclass
class Stack:
    """One test's database on the fault servers, and the processes it starts."""

    servers: Servers
    db_url: str  # postgresql+psycopg://… for the processes
    env: dict[str, str]
    procs: Processes

    @property
    def dsn(self) -> str:
        return plain(self.db_url)

    def sql(self, query: str, params: Mapping[str, object] | None = None) -> list[tuple[object, ...]]:
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(query, params)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def one(self, query: str, params: Mapping[str, object] | None = None) -> object:
        return self.sql(query, params)[0][0]

    def count(self, query: str, params: Mapping[str, object] | None = None) -> int:
        value = self.one(query, params)
        assert isinstance(value, int)
        return value


@contextlib.contextmanager
def stack(servers: Servers, logs: Path, **env: str) -> Iterator[Stack]:
    servers.ensure_running()
    name = f"f_{secrets.token_hex(4)}"
    with psycopg.connect(plain(servers.pg_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    redis.Redis.from_url(servers.redis_url).flushall()
    url = with_db(servers.pg_url, name)
    full_env = {
        **base_env(),
        "VNCOMPLY_DATABASE_URL": url,
        "VNCOMPLY_REDIS_URL": servers.redis_url,
        **{f"VNCOMPLY_{k.upper()}": v for k, v in env.items()},
    }
    procs = Processes(full_env, logs)
    try:
        yield Stack(servers, url, full_env, procs)
    finally:
        procs.stop_all()
        servers.ensure_running()
        with psycopg.connect(plain(servers.pg_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
