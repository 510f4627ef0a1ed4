"""Celery wrapper: beat runs ``vncomply.events.dispatch`` every ~2 s (see ``delivery.run_cycle``)."""

from __future__ import annotations

from vncomply.events import delivery
from vncomply.worker import celery_app, run_async


async def _dispatch() -> int:
    stats = await delivery.run_cycle()
    return stats.sent


@celery_app.task(name="vncomply.events.dispatch")
def dispatch() -> int:
    return run_async(_dispatch)
