"""Running it as a person would: an idle worker and beat are quiet (Celery's lines about each
scheduled task are DEBUG), and a database outage is one line when it starts and one when it ends,
not a traceback every tick. (The end-to-end view, `vncomply up`'s own output: tests/test_up.py.)"""

from __future__ import annotations

import logging

import pytest
from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS
from celery.exceptions import Ignore
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.factories import free_port
from vncomply import worker
from vncomply.kit.tasklogs import ROUTINE_LOGGERS

SCHEDULED = "vncomply.events.dispatch"


def _success(task: str) -> tuple[str, dict[str, object]]:
    return LOG_SUCCESS, {
        "id": "1f0e",
        "name": task,
        "return_value": 0,
        "runtime": 0.01,
        "args": "",
        "kwargs": "",
    }


def test_scheduled_tasks_are_received_and_succeed_quietly(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    strategy, trace, beat = (logging.getLogger(name) for name in ROUTINE_LOGGERS)
    strategy.info(LOG_RECEIVED, {"id": "1f0e", "name": SCHEDULED, "args": "", "kwargs": "", "eta": None})
    trace.info(*_success(SCHEDULED))
    beat.info("Scheduler: Sending due task %s (%s)", "events-dispatch", SCHEDULED)
    assert caplog.records == []
    # Anything else keeps its level: a task outside the schedule, and every failure.
    trace.info(*_success("someone.elses.task"))
    trace.error("Task %s[%s] raised unexpected: %s", SCHEDULED, "1f0e", "boom")
    assert [(r.levelname, r.getMessage()[:30]) for r in caplog.records] == [
        ("INFO", "Task someone.elses.task[1f0e] "),
        ("ERROR", "Task vncomply.events.dispatch["),
    ]


def test_the_routine_lines_come_back_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("celery.app.trace").info(*_success(SCHEDULED))
    assert [r.levelname for r in caplog.records] == ["DEBUG"]


def test_every_scheduled_task_is_quieted() -> None:
    (ticks,) = {f for name in ROUTINE_LOGGERS for f in logging.getLogger(name).filters}
    scheduled = {e["task"] for e in worker.beat_schedule(5.0).values()}
    assert set(ticks.task_names) == scheduled  # type: ignore[attr-defined]


def test_a_database_outage_is_one_line_each_way(capsys: pytest.CaptureFixture[str]) -> None:
    down = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none"

    async def tick() -> int:  # what every scheduled task does first: reach PostgreSQL
        engine = create_async_engine(down, connect_args={"connect_timeout": 2})
        try:
            async with engine.connect() as conn:
                return int((await conn.execute(text("select 1"))).scalar_one())
        finally:
            await engine.dispose()

    async def fine() -> int:
        return 1

    capsys.readouterr()
    for _ in range(3):
        with pytest.raises(Ignore):  # skipped: no traceback, the next tick tries again
            worker.run_async(tick)
    assert worker.run_async(fine) == 1
    assert worker.run_async(fine) == 1
    out = capsys.readouterr().out
    assert out.count("database_unreachable") == 1, out
    assert out.count("database_reachable_again") == 1, out
    assert out.index("database_unreachable") < out.index("database_reachable_again")
    assert "Traceback" not in out


def test_other_failures_still_fail_the_task() -> None:
    async def broken() -> int:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        worker.run_async(broken)
