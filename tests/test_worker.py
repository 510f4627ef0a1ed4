"""Celery tasks have time limits, and the soft one really stops the coroutine it interrupts."""

from __future__ import annotations

import asyncio
import signal

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from vncomply import worker
from vncomply.config import get_settings


def test_tasks_have_soft_and_hard_time_limits() -> None:
    conf = worker.celery_app.conf
    s = get_settings()
    assert conf.task_soft_time_limit == s.task_soft_time_limit_seconds == 240
    assert conf.task_time_limit == s.task_time_limit_seconds == 300


def test_hard_limit_must_exceed_the_soft_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from vncomply.config import Settings

    monkeypatch.setenv("VNCOMPLY_TASK_SOFT_TIME_LIMIT_SECONDS", "300")
    monkeypatch.setenv("VNCOMPLY_TASK_TIME_LIMIT_SECONDS", "300")
    with pytest.raises(ValidationError, match="VNCOMPLY_TASK_TIME_LIMIT_SECONDS"):
        Settings()


def test_soft_time_limit_cancels_the_running_coroutine() -> None:
    """Celery delivers the soft limit as a signal whose handler raises; run_async must cancel the
    task's coroutine (its transaction rolls back in `finally`/`except`) and then fail the task."""
    unwound: list[str] = []

    async def stuck() -> None:
        try:
            await asyncio.sleep(3600)  # a statement that never returns
        except asyncio.CancelledError:
            unwound.append("cancelled")
            raise
        finally:
            unwound.append("finally")

    def raise_soft_limit(*_: object) -> None:
        raise SoftTimeLimitExceeded()

    previous = signal.signal(signal.SIGALRM, raise_soft_limit)
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    try:
        with pytest.raises(SoftTimeLimitExceeded):
            worker.run_async(stuck)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert unwound == ["cancelled", "finally"]
    # The worker's loop is usable for the next task.
    assert worker.run_async(lambda: asyncio.sleep(0, result=7)) == 7
