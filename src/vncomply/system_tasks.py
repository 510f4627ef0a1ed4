"""Operational tasks: beat heartbeat and audit sealing."""

from __future__ import annotations

from vncomply import heartbeat
from vncomply.audit import service as audit_service
from vncomply.db import session_scope
from vncomply.worker import celery_app, run_async


@celery_app.task(name="vncomply.heartbeat")
def beat_heartbeat() -> None:
    run_async(heartbeat.record_beat)


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
