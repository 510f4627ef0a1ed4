"""Thin Celery wrappers: beat purges spent phone verifications, and runs the retention purge of
closed identities once a day."""

from __future__ import annotations

from vncomply.config import get_settings
from vncomply.identities import purge, retention
from vncomply.kit import clock
from vncomply.kit.batches import drain
from vncomply.worker import celery_app, run_async


async def purge_verifications_once() -> int:
    return await drain(lambda s: purge.purge_spent(s, clock.now()), purge.PURGE_BATCH)


@celery_app.task(name="vncomply.identities.purge_verifications")
def purge_phone_verifications() -> int:
    return run_async(purge_verifications_once)


async def retention_once() -> int:
    now, months = clock.now(), get_settings().retention_months
    return await drain(lambda s: retention.purge_batch(s, now, months))


@celery_app.task(name="vncomply.identities.retention_purge")
def retention_purge() -> int:
    return run_async(retention_once)
