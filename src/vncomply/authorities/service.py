"""Registered authorities (data, not an enum) and the platforms each may address."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.authorities.models import Authority
from vncomply.authorities.schemas import AuthorityCreate, AuthorityOut, AuthorityUpdate
from vncomply.kit.errors import Conflict, InvalidInput, NotFound
from vncomply.kit.pagination import created_id_after
from vncomply.kit.principal import Principal
from vncomply.platforms.models import Platform


def to_out(a: Authority) -> AuthorityOut:
    return AuthorityOut(
        id=a.id,
        code=a.code,
        name=a.name,
        kind=a.kind,
        platforms="all" if a.all_platforms else sorted(p.id for p in a.platforms),
        created_at=a.created_at,
        updated_at=a.updated_at,
    )


async def _set_platforms(
    session: AsyncSession, a: Authority, platforms: Literal["all"] | list[uuid.UUID]
) -> None:
    if platforms == "all":
        a.all_platforms, a.platforms = True, []
        return
    ids = set(platforms)
    found = list((await session.scalars(select(Platform).where(Platform.id.in_(ids)))).all()) if ids else []
    missing = ids - {p.id for p in found}
    if missing:
        raise InvalidInput(
            f"unknown platform id(s): {', '.join(sorted(map(str, missing)))}", field="platforms"
        )
    a.all_platforms, a.platforms = False, found


async def create(session: AsyncSession, actor: Principal, body: AuthorityCreate) -> Authority:
    if (await session.scalars(select(Authority).where(Authority.code == body.code))).first():
        raise Conflict(f"An authority with code {body.code} already exists.")
    a = Authority(code=body.code, name=body.name, kind=body.kind.value, platforms=[])
    await _set_platforms(session, a, body.platforms)
    session.add(a)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent create with the same code
        raise Conflict(f"An authority with code {body.code} already exists.") from exc
    audit.record(session, actor, "authority.created", "authority", a.id, None, {"code": a.code})
    return a


async def get(session: AsyncSession, authority_id: uuid.UUID) -> Authority:
    a = await session.get(Authority, authority_id)
    if a is None:
        raise NotFound(f"No authority with id {authority_id}.")
    return a


async def update(
    session: AsyncSession, actor: Principal, authority_id: uuid.UUID, body: AuthorityUpdate
) -> Authority:
    a = await get(session, authority_id)
    changes = body.model_dump(exclude_unset=True)
    for field in ("name", "kind"):
        if field in changes:
            if changes[field] is None:
                raise InvalidInput(f"`{field}` cannot be null", field=field)
            setattr(a, field, str(changes[field]))
    if "platforms" in changes:
        if body.platforms is None:
            raise InvalidInput('`platforms` cannot be null; send [] or "all"', field="platforms")
        await _set_platforms(session, a, body.platforms)
    await session.flush()
    audit.record(session, actor, "authority.updated", "authority", a.id, None, {"fields": sorted(changes)})
    return a


async def list_authorities(session: AsyncSession, cursor: list[Any] | None, limit: int) -> list[Authority]:
    stmt = select(Authority).order_by(Authority.created_at, Authority.id).limit(limit)
    if cursor:
        stmt = stmt.where(created_id_after(Authority, cursor))
    return list((await session.scalars(stmt)).all())


async def addressable(session: AsyncSession, authority_id: uuid.UUID, platform_id: uuid.UUID) -> Authority:
    """The authority, if it may address ``platform_id``; otherwise the platform is a 404 to it."""
    a = await get(session, authority_id)
    if not a.may_address(platform_id) or await session.get(Platform, platform_id) is None:
        raise NotFound(f"No platform with id {platform_id} is addressable by this authority.")
    return a
