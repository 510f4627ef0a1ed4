"""Thin Celery wrapper: beat purges spent phone verifications."""

from __future__ import annotations

from vncomply.identities import purge
from vncomply.kit import clock
from vncomply.kit.db import drain
from vncomply.worker import celery_app, run_async


async def _purge() -> int:
    return await drain(lambda s: purge.purge_spent(s, clock.now()), purge.PURGE_BATCH)


@celery_app.task(name="vncomply.identities.purge_verifications")
def purge_phone_verifications() -> int:
    return run_async(_purge)
