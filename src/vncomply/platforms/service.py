"""Platforms (tenants): registration, scope status and the Form No. 10 filing clock."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.filings import calendar
from vncomply.kit import clock
from vncomply.kit.errors import InvalidInput, NotFound
from vncomply.kit.pagination import created_id_after
from vncomply.kit.principal import Principal
from vncomply.platforms.models import Platform
from vncomply.platforms.schemas import PlatformCreate, PlatformOut, PlatformUpdate
from vncomply.platforms.scope import filing_due_at, in_scope
from vncomply.rulebook import rules as rulebook


def _check_lock_days(days: list[int] | None) -> None:
    if days is None:
        return
    lock = rulebook.in_force("lock", clock.now()).params
    if any(not lock["min_days"] <= d <= lock["max_days"] for d in days):
        raise InvalidInput(
            f"each of `lock_days` must be between {lock['min_days']} and {lock['max_days']} days "
            "(Decree 147 temporary lock)",
            field="lock_days",
        )


async def in_scope_ids(session: AsyncSession, registered_before: datetime) -> list[uuid.UUID]:
    """The platforms in scope now (``in_scope``, in SQL) registered before the given instant."""
    rule = rulebook.in_force("scope", clock.now())
    stmt = select(Platform.id).where(
        or_(
            Platform.stores_data_in_vn.is_(True),
            Platform.monthly_vn_visits >= rule.params["min_monthly_visits"],
        ),
        Platform.created_at < registered_before,
    )
    return list((await session.scalars(stmt.order_by(Platform.id))).all())


def to_out(p: Platform) -> PlatformOut:
    due = filing_due_at(p)
    filed = p.contact_filed_at is not None
    return PlatformOut.model_validate(
        {
            **{c: getattr(p, c) for c in PlatformOut.model_fields if hasattr(p, c)},
            "in_scope": in_scope(p),
            "filing_due_at": due,
            "filing_overdue": bool(due and not filed and clock.now() >= due),
            "livestream_allowed": filed,
        }
    )


async def create(session: AsyncSession, actor: Principal, body: PlatformCreate) -> Platform:
    _check_lock_days(body.lock_days)
    now = clock.now()
    if body.contact_filed_at is not None and body.contact_filed_at > now:
        raise InvalidInput("`contact_filed_at` cannot be in the future", field="contact_filed_at")
    data = body.model_dump(mode="json")
    data["contact_point"] = body.contact_point.model_dump(mode="json")
    values: dict[str, Any] = body.model_dump()
    values["contact_point"] = data["contact_point"]
    if values["lock_days"] is None:
        values["lock_days"] = [7, 15, 30]
    p = Platform(**values)
    session.add(p)
    await session.flush()
    audit.record(session, actor, "platform.created", "platform", p.id, p.id, {"name": p.name})
    await calendar.open_for_platform(session, actor, p, now)
    return p


async def get(session: AsyncSession, actor: Principal, platform_id: uuid.UUID) -> Platform:
    # A platform or officer key sees only its own platform; another id is a 404.
    if not actor.is_admin and actor.platform_id != platform_id:
        raise NotFound(f"No platform with id {platform_id} is visible to this key.")
    p = await session.get(Platform, platform_id)
    if p is None:
        raise NotFound(f"No platform with id {platform_id}.")
    return p


async def update(
    session: AsyncSession, actor: Principal, platform_id: uuid.UUID, body: PlatformUpdate
) -> Platform:
    p = await session.get(Platform, platform_id, with_for_update=True)
    if p is None:
        raise NotFound(f"No platform with id {platform_id}.")
    changes = body.model_dump(exclude_unset=True)
    _check_lock_days(changes.get("lock_days"))
    for field, value in changes.items():
        if field == "contact_point" and value is not None:
            value = body.contact_point.model_dump(mode="json") if body.contact_point else None
        if value is None and field != "in_scope_since":
            raise InvalidInput(f"`{field}` cannot be null", field=field)
        setattr(p, field, value)
    await session.flush()
    audit.record(session, actor, "platform.updated", "platform", p.id, p.id, {"fields": sorted(changes)})
    now = clock.now()
    if "in_scope_since" in changes:
        await calendar.retime_contact(session, actor, p, now)
    await calendar.open_for_platform(session, actor, p, now)  # it may have come in scope
    return p


async def list_platforms(session: AsyncSession, cursor: list[Any] | None, limit: int) -> list[Platform]:
    stmt = select(Platform).order_by(Platform.created_at, Platform.id).limit(limit)
    if cursor:
        stmt = stmt.where(created_id_after(Platform, cursor))
    return list((await session.scalars(stmt)).all())
