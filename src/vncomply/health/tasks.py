"""Thin Celery wrapper: beat stamps its heartbeat (exposed on /metrics)."""

from __future__ import annotations

from vncomply.health import heartbeat
from vncomply.worker import celery_app, run_async


@celery_app.task(name="vncomply.heartbeat")
def beat_heartbeat() -> None:
    run_async(heartbeat.record_beat)
