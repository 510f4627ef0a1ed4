"""Thin Celery wrapper: beat runs the retention purge of closed identities once a day."""

from __future__ import annotations

from vncomply.config import get_settings
from vncomply.identities import retention
from vncomply.kit import clock
from vncomply.kit.batches import drain
from vncomply.worker import celery_app, run_async


async def _purge() -> int:
    now, months = clock.now(), get_settings().retention_months
    return await drain(lambda s: retention.purge_batch(s, now, months))


@celery_app.task(name="vncomply.identities.retention_purge")
def retention_purge() -> int:
    return run_async(_purge)
