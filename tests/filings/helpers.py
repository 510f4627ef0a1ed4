"""Shared set-up for filing tests: an admin, a platform registered through the API, its officer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import admin_key, auth, make_key
from vncomply.audit.models import AuditEvent
from vncomply.deadlines.engine import sweep
from vncomply.events.models import Event
from vncomply.filings.deadline import HANDLER_NAME
from vncomply.kit import clock
from vncomply.kit.principal import Role

T0 = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


@dataclass
class Tenant:
    platform_id: uuid.UUID
    admin: str
    officer: str
    platform: str


def platform_body(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "FilingCo",
        "legal_name": "FilingCo Inc.",
        "contact_point": {
            "name": "A",
            "email": "a@example.com",
            "phone": "+84 24 3825 0000",
            "address": "HN",
        },
        "monthly_vn_visits": 250_000,
        "in_scope_since": "2026-10-01",
    }
    body.update(kw)
    return body


async def tenant(client: httpx.AsyncClient, db: AsyncSession, **kw: Any) -> Tenant:
    admin = await admin_key(db)
    r = await client.post("/v1/platforms", headers=auth(admin), json=platform_body(**kw))
    assert r.status_code == 201, r.text
    pid = uuid.UUID(r.json()["id"])
    _, officer = await make_key(db, Role.officer, platform_id=pid)
    _, platform = await make_key(db, Role.platform, platform_id=pid)
    return Tenant(pid, admin, officer, platform)


async def filings(client: httpx.AsyncClient, t: Tenant, **params: Any) -> list[dict[str, Any]]:
    r = await client.get(f"/v1/platforms/{t.platform_id}/filings", headers=auth(t.officer), params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def one(client: httpx.AsyncClient, t: Tenant, kind: str, **params: Any) -> dict[str, Any]:
    found = await filings(client, t, kind=kind, **params)
    assert len(found) == 1, found
    return found[0]


async def run_clock() -> int:
    return (await sweep(None, clock.now(), names=[HANDLER_NAME], record=False)).processed


async def events(db: AsyncSession, type_: str, filing_id: Any | None = None) -> list[Event]:
    rows = (await db.scalars(select(Event).where(Event.type == type_).order_by(Event.seq))).all()
    return [e for e in rows if filing_id is None or e.data.get("filing_id") == str(filing_id)]


async def audits(db: AsyncSession, action: str) -> list[AuditEvent]:
    return list((await db.scalars(select(AuditEvent).where(AuditEvent.action == action))).all())
