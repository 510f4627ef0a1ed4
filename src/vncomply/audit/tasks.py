"""Thin Celery wrapper: beat seals the audit chains every few seconds."""

from __future__ import annotations

from vncomply.audit import service as audit_service
from vncomply.kit.db import session_scope
from vncomply.worker import celery_app, run_async


async def _seal() -> int:
    total = 0
    while True:
        async with session_scope() as session:
            n = await audit_service.seal(session)
        total += n
        if n < audit_service.SEAL_BATCH:
            return total


@celery_app.task(name="vncomply.audit.seal")
def seal_audit() -> int:
    return run_async(_seal)
