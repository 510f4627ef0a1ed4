"""Deadline gauges, computed from PostgreSQL when /metrics is scraped.

The sweep runs in Celery workers while /metrics is served by the API process, so in-process gauges
set by the sweep would never be seen; instead each collector runs a few index-backed queries on a
small synchronous engine, with a short cache so frequent scrapes cost nothing. A failing query never
fails the scrape (the collector yields nothing and logs).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, Engine, create_engine, func, select

from vncomply.deadlines.models import DeadlineSweep
from vncomply.kit import clock
from vncomply.kit.logs import get_logger

log = get_logger("vncomply.deadlines.metrics")
CACHE_SECONDS = 10.0
STATEMENT_TIMEOUT_MS = 2000

_engines: dict[str, Engine] = {}
_engine_lock = threading.Lock()


def sync_engine() -> Engine:
    from vncomply.kit.db import database_url

    url = database_url()
    with _engine_lock:
        eng = _engines.get(url)
        if eng is None:
            eng = create_engine(
                url,
                pool_size=1,
                max_overflow=0,
                pool_pre_ping=True,
                connect_args={
                    "prepare_threshold": None,
                    "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
                },
            )
            _engines[url] = eng
    return eng


def dispose_engines() -> None:
    with _engine_lock:
        for eng in _engines.values():
            eng.dispose()
        _engines.clear()


class CachedCollector(Collector):
    """Runs ``compute(conn, now)`` at most every ``CACHE_SECONDS``."""

    def __init__(self, cache_seconds: float = CACHE_SECONDS) -> None:
        self.cache_seconds = cache_seconds
        self._cached: list[Metric] = []
        self._at = 0.0
        self._lock = threading.Lock()

    def compute(self, conn: Connection, now: datetime) -> Iterable[Metric]:
        raise NotImplementedError

    def describe(self) -> list[Metric]:
        return []  # never query the database at registration time

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if self.cache_seconds <= 0 or time.monotonic() - self._at >= self.cache_seconds:
                try:
                    with sync_engine().connect() as conn:
                        self._cached = list(self.compute(conn, clock.now()))
                    self._at = time.monotonic()
                except Exception:
                    log.warning(
                        "metrics query failed", extra={"collector": type(self).__name__}, exc_info=True
                    )
                    self._cached = []
            yield from self._cached


def _seconds(delta: Any) -> float:
    return float(delta.total_seconds())


class SweepCollector(CachedCollector):
    def compute(self, conn: Connection, now: datetime) -> Iterable[Metric]:
        from vncomply.deadlines.engine import handlers

        last_run = GaugeMetricFamily(
            "vncomply_deadline_sweep_last_run_timestamp_seconds",
            "When the sweep last finished, per handler",
            labels=["handler"],
        )
        duration = GaugeMetricFamily(
            "vncomply_deadline_sweep_last_duration_seconds",
            "Duration of the last sweep, per handler",
            labels=["handler"],
        )
        processed = GaugeMetricFamily(
            "vncomply_deadline_sweep_last_processed",
            "Transitions fired by the last sweep",
            labels=["handler"],
        )
        failed = GaugeMetricFamily(
            "vncomply_deadline_sweep_last_failed",
            "Rows that failed and were pushed back in the last sweep",
            labels=["handler"],
        )
        t = DeadlineSweep.__table__
        for r in conn.execute(select(t)).mappings():
            name = [r["handler"]]
            last_run.add_metric(name, r["last_finished_at"].timestamp())
            duration.add_metric(name, r["last_duration_seconds"])
            processed.add_metric(name, r["last_processed"])
            failed.add_metric(name, r["last_failed"])
        due = GaugeMetricFamily(
            "vncomply_deadline_due_rows",
            "Rows whose next action is due now (the sweep's backlog)",
            labels=["handler"],
        )
        lag = GaugeMetricFamily(
            "vncomply_deadline_oldest_due_age_seconds",
            "Age of the oldest due, unfired action (0 when none)",
            labels=["handler"],
        )
        nxt = GaugeMetricFamily(
            "vncomply_deadline_next_action_seconds",
            "Seconds until the next scheduled action (-1 when none)",
            labels=["handler"],
        )
        for h in handlers():
            col = h.due_column
            count, oldest = conn.execute(select(func.count(), func.min(col)).where(col <= now)).one()
            due.add_metric([h.name], count)
            lag.add_metric([h.name], _seconds(now - oldest) if oldest else 0.0)
            upcoming = conn.execute(select(func.min(col)).where(col > now)).scalar()
            nxt.add_metric([h.name], _seconds(upcoming - now) if upcoming else -1.0)
        return [last_run, duration, processed, failed, due, lag, nxt]


_registered: dict[str, Collector] = {}


def register_collector(name: str, collector: Collector) -> Collector:
    """Register once per process (module reloads in tests must not double-register)."""
    if name not in _registered:
        REGISTRY.register(collector)
        _registered[name] = collector
    return _registered[name]


sweep_collector = register_collector("deadlines.sweep", SweepCollector())
