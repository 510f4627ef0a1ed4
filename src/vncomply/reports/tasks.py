"""Thin Celery wrapper: beat freezes last month's compliance report for every platform in scope.

Beat asks every hour; the service stores a month's snapshot at most once per platform (a unique
index), so the first tick after Vietnam midnight on the 1st freezes it and the rest find it done —
and a beat that was down on the 1st catches up at its next tick.
"""

from __future__ import annotations

from vncomply.kit.db import session_scope
from vncomply.reports import service
from vncomply.worker import celery_app, run_async


async def _freeze() -> int:
    period = service.previous_month(service.today_vn())
    async with session_scope() as session:
        due = await service.platforms_due(session, period)
    frozen = 0
    for platform_id in due:  # one transaction per platform: one failure holds up no other
        async with session_scope() as session:
            frozen += await service.freeze_month(session, platform_id, period)
    return frozen


@celery_app.task(name="vncomply.reports.freeze_monthly")
def freeze_monthly() -> int:
    return run_async(_freeze)
