"""Thin Celery wrapper: beat runs the sweep every ``VNCOMPLY_SWEEP_INTERVAL_SECONDS``."""

from __future__ import annotations

from vncomply.deadlines.engine import sweep
from vncomply.worker import celery_app, run_async


async def _sweep() -> int:
    return (await sweep()).processed


@celery_app.task(name="vncomply.deadlines.sweep")
def sweep_deadlines() -> int:
    return run_async(_sweep)
