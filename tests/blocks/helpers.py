"""Shared builders for the blocks tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.blocks import service
from vncomply.blocks.models import AccountBlock, Violation
from vncomply.events.models import Event
from vncomply.kit import clock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def violate(
    db: AsyncSession,
    platform_id: uuid.UUID,
    authority_id: uuid.UUID,
    subject_id: str = "acct-1",
    *,
    subject_type: str = "account",
    category: str = "fraud",
    ref: str | None = None,
) -> Violation:
    v = await service.record_violation(
        db,
        platform_id=platform_id,
        subject_type=subject_type,
        subject_id=subject_id,
        authority_id=authority_id,
        reference_no=ref or f"REF-{uuid.uuid4().hex[:8]}",
        category=category,
        occurred_at=clock.now(),
    )
    await db.flush()
    return v


async def blocks_of(
    db: AsyncSession, platform_id: uuid.UUID, subject_id: str = "acct-1"
) -> list[AccountBlock]:
    db.expire_all()
    rows = await db.scalars(
        select(AccountBlock)
        .where(AccountBlock.platform_id == platform_id, AccountBlock.subject_id == subject_id)
        .order_by(AccountBlock.created_at, AccountBlock.temporary_lock_no)
    )
    return list(rows.all())


async def events_of(db: AsyncSession, platform_id: uuid.UUID, type_: str) -> list[dict[str, Any]]:
    rows = await db.scalars(
        select(Event).where(Event.platform_id == platform_id, Event.type == type_).order_by(Event.seq)
    )
    return [e.data for e in rows.all()]


def violation_body(authority_id: uuid.UUID, subject_id: str = "acct-1", **over: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "subject_type": "account",
        "subject_id": subject_id,
        "authority_id": str(authority_id),
        "reference_no": f"ABEI-{uuid.uuid4().hex[:8]}",
        "occurred_at": clock.now().isoformat(),
        "category": "fraud",
    }
    b.update(over)
    return b


def order_body(platform_id: uuid.UUID, subject_id: str = "page-1", **over: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "platform_id": str(platform_id),
        "subject_type": "page",
        "subject_id": subject_id,
        "duration_days": 15,
        "category": "fraud",
        "reason": "Repeated fraudulent investment offers",
        "legal_basis": "Decree 147/2024",
        "reference_no": f"ABEI-BL-{uuid.uuid4().hex[:8]}",
    }
    b.update(over)
    return {k: v for k, v in b.items() if v is not None}
