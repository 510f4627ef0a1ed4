"""Celery: the app, the one beat schedule, and the bridge from tasks to the async services.

Deadlines never ride on ETA/countdown tasks (a Redis broker redelivers them after the visibility
timeout and loses them with the worker): beat runs short sweeps, PostgreSQL holds the clocks.

Every task has a time limit (``VNCOMPLY_TASK_SOFT_TIME_LIMIT_SECONDS``/``_TIME_LIMIT_SECONDS``): at
the soft one the running coroutine is cancelled, so its transaction rolls back and the next sweep
picks the rows up; at the hard one Celery replaces the worker process.

Idle, the processes are quiet, and a database outage is two lines, not a traceback a tick
(``vncomply.kit.tasklogs``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from celery import Celery
from celery.exceptions import Ignore, SoftTimeLimitExceeded
from celery.schedules import crontab
from celery.signals import worker_process_init, worker_process_shutdown

from vncomply.config import get_settings
from vncomply.kit.broker import broker_options
from vncomply.kit.problems import database_unavailable
from vncomply.kit.tasklogs import Outage, quiet_routine_ticks
from vncomply.registry import task_modules

T = TypeVar("T")
PURGE_INTERVAL = 300.0


def _make_app() -> Celery:
    s = get_settings()
    app = Celery("vncomply", broker=s.redis_url or "redis://127.0.0.1:6379/0", include=task_modules())
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        # Reconnecting after a Redis outage within a second, and surviving it (kit/broker.py).
        **broker_options(),
        task_soft_time_limit=s.task_soft_time_limit_seconds,
        task_time_limit=s.task_time_limit_seconds,
        beat_schedule=beat_schedule(s.sweep_interval_seconds),
    )
    return app


def beat_schedule(sweep_interval: float) -> dict[str, dict[str, Any]]:
    """The one beat schedule. Sweeps are idempotent, so a duplicate tick costs nothing."""
    return {
        "heartbeat": {"task": "vncomply.heartbeat", "schedule": 10.0, "options": {"expires": 10}},
        "audit-seal": {"task": "vncomply.audit.seal", "schedule": 5.0, "options": {"expires": 5}},
        "events-dispatch": {"task": "vncomply.events.dispatch", "schedule": 2.0, "options": {"expires": 2}},
        "deadlines-sweep": {
            "task": "vncomply.deadlines.sweep",
            "schedule": sweep_interval,
            "options": {"expires": sweep_interval},
        },
        # Retention: what is kept only for a while (replayable replies, spent one-time codes).
        "idempotency-purge": {
            "task": "vncomply.idempotency.purge",
            "schedule": PURGE_INTERVAL,
            "options": {"expires": PURGE_INTERVAL},
        },
        "phone-verifications-purge": {
            "task": "vncomply.identities.purge_verifications",
            "schedule": PURGE_INTERVAL,
            "options": {"expires": PURGE_INTERVAL},
        },
        # Hourly; stores last month's snapshot once per platform (catches up after a beat outage).
        "reports-freeze-monthly": {
            "task": "vncomply.reports.freeze_monthly",
            "schedule": crontab(minute=7),
            "options": {"expires": 3600},
        },
        # Daily at 02:30 and 02:45 Vietnam time (beat runs in UTC).
        "identities-retention": {
            "task": "vncomply.identities.retention_purge",
            "schedule": crontab(hour=19, minute=30),
            "options": {"expires": 3600},
        },
        "events-retention": {
            "task": "vncomply.events.retention_purge",
            "schedule": crontab(hour=19, minute=45),
            "options": {"expires": 3600},
        },
    }


# One event loop per worker process, created after the fork (with the engine it drives).
_loop: asyncio.AbstractEventLoop | None = None
outage = Outage()


def run_async(func: Callable[[], Awaitable[T]]) -> T:
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    task = _loop.create_task(_awaited(func))
    try:
        result = _loop.run_until_complete(task)
    except SoftTimeLimitExceeded:
        # Raised by Celery's signal handler wherever the loop was: cancel the coroutine and let it
        # unwind (sessions roll back, connections go back to the pool) before the task fails.
        task.cancel()
        with contextlib.suppress(BaseException):
            _loop.run_until_complete(task)
        raise
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        # One line when the database goes, none per tick after: the task is skipped ("ignored",
        # no traceback) and the next tick tries again.
        outage.failed(exc)
        raise Ignore() from None
    outage.recovered()
    return result


async def _awaited(func: Callable[[], Awaitable[T]]) -> T:
    return await func()


@worker_process_init.connect
def _after_fork(**_: Any) -> None:
    global _loop
    from vncomply.kit import db
    from vncomply.kit import redis as redis_client

    # Inherited engine/clients belong to the parent's sockets; start clean in the child.
    db.forget_after_fork()
    redis_client.forget_after_fork()
    _loop = asyncio.new_event_loop()


@worker_process_shutdown.connect
def _on_shutdown(**_: Any) -> None:
    from vncomply.kit import db
    from vncomply.kit import redis as redis_client

    if _loop is not None and not _loop.is_closed():
        _loop.run_until_complete(db.dispose_engine())
        _loop.run_until_complete(redis_client.close_redis())
        _loop.close()


celery_app = _make_app()
quiet_routine_ticks(entry["task"] for entry in beat_schedule(get_settings().sweep_interval_seconds).values())
