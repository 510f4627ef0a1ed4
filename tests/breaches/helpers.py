"""Shared set-up for breach tests: a platform with its keys, a valid breach body, the clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.breaches.deadline import HANDLER_NAME
from vncomply.deadlines.engine import sweep
from vncomply.events.models import Event
from vncomply.kit import clock

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def breach_body(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "detected_at": T0.isoformat(),
        "occurred_at": "2026-11-24T22:30:00Z",
        "description": "A misconfigured export bucket exposed profile data of Vietnamese users",
        "data_categories": ["identity", "contact"],
        "subjects_affected": 1200,
        "measures": "Bucket closed, keys rotated, access logs under review",
    }
    body.update(kw)
    return body


async def run_clock() -> int:
    return (await sweep(None, clock.now(), names=[HANDLER_NAME], record=False)).processed


async def events(db: AsyncSession, type_: str, breach_id: Any | None = None) -> list[Event]:
    rows = (await db.scalars(select(Event).where(Event.type == type_).order_by(Event.seq))).all()
    return [e for e in rows if breach_id is None or e.data.get("breach_id") == str(breach_id)]
