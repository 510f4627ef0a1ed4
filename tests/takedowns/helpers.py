"""Shared set-up for takedown tests: a platform with its keys and an authority that may address it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Keys, make_authority, platform_keys
from vncomply.audit.models import AuditEvent
from vncomply.events.models import Event

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@dataclass
class World:
    keys: Keys
    authority_id: uuid.UUID
    authority_key: str


async def world(db: AsyncSession, name: str = "ExampleSocial", code: str = "ABEI") -> World:
    keys = await platform_keys(db, name)
    aid, akey = await make_authority(db, code, [keys.platform_id])
    return World(keys, aid, akey)


def order_body(
    platform_id: uuid.UUID | None = None, ref: str = "REF-1", n: int = 1, **kw: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reference_no": ref,
        "channel": "electronic",
        "urgency": "standard",
        "category": "fraud",
        "legal_basis": "Decree 147/2024 Art. 23",
        "items": [
            {
                "content_url": f"https://social.example/p/{i}",
                "content_id": str(i),
                "account_id": f"u-{i}",
                "subject_type": "post",
            }
            for i in range(n)
        ],
    }
    if platform_id is not None:
        body["platform_id"] = str(platform_id)
    body.update(kw)
    return body


async def events(db: AsyncSession, type_: str, order_id: Any | None = None) -> list[Event]:
    rows = (await db.scalars(select(Event).where(Event.type == type_).order_by(Event.seq))).all()
    return [e for e in rows if order_id is None or e.data.get("order_id") == str(order_id)]


async def audits(db: AsyncSession, action: str) -> list[AuditEvent]:
    return list((await db.scalars(select(AuditEvent).where(AuditEvent.action == action))).all())
