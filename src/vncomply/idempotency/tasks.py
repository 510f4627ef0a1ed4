"""Thin Celery wrapper: beat purges expired idempotency records."""

from __future__ import annotations

from vncomply.idempotency import service
from vncomply.kit import clock
from vncomply.kit.db import drain
from vncomply.worker import celery_app, run_async


async def _purge() -> int:
    return await drain(lambda s: service.purge_expired(s, clock.now()), service.PURGE_BATCH)


@celery_app.task(name="vncomply.idempotency.purge")
def purge_idempotency_records() -> int:
    return run_async(_purge)
