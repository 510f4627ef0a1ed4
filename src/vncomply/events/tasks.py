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


async def _purge() -> int:
    from vncomply.config import get_settings
    from vncomply.events import retention
    from vncomply.kit import clock
    from vncomply.kit.batches import drain

    now, days = clock.now(), get_settings().event_retention_days
    return await drain(lambda s: retention.purge_batch(s, now, days))


@celery_app.task(name="vncomply.events.retention_purge")
def retention_purge() -> int:
    """Daily: events whose deliveries ended more than VNCOMPLY_EVENT_RETENTION_DAYS ago."""
    return run_async(_purge)
