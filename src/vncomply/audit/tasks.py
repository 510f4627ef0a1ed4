"""Thin Celery wrapper: beat seals the audit chains every few seconds."""

from __future__ import annotations

from vncomply.audit import service as audit_service
from vncomply.kit.db import drain
from vncomply.worker import celery_app, run_async


async def _seal() -> int:
    return await drain(audit_service.seal, audit_service.SEAL_BATCH)


@celery_app.task(name="vncomply.audit.seal")
def seal_audit() -> int:
    return run_async(_seal)
