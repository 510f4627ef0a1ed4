"""The one tenant-scoping helper. Every query of tenant data goes through ``scoped``/``get_scoped``
so that another tenant's resource answers 404 (never 403: do not reveal that it exists)."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import Select, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.kit.errors import NotFound
from vncomply.kit.principal import Principal, Role

M = TypeVar("M")


def platform_filter(model: Any, principal: Principal) -> Any:
    """The WHERE clause restricting ``model`` (which has ``platform_id``) to what the caller sees.

    Admin: everything. Platform and officer keys: their platform. Authority keys: rows they created
    (``authority_id`` on the model) — an authority never browses a platform's other data.
    """
    if principal.role is Role.admin:
        return None
    if principal.role in (Role.platform, Role.officer):
        return model.platform_id == principal.platform_id
    if principal.role is Role.authority and hasattr(model, "authority_id"):
        return model.authority_id == principal.authority_id
    return false()


def scoped(stmt: Select[Any], model: Any, principal: Principal) -> Select[Any]:
    cond = platform_filter(model, principal)
    return stmt if cond is None else stmt.where(cond)


async def get_scoped(
    session: AsyncSession,
    model: type[M],
    ident: uuid.UUID | str,
    principal: Principal,
    what: str,
    *,
    for_update: bool = False,
) -> M:
    stmt = scoped(select(model).where(model.id == ident), model, principal)  # type: ignore[attr-defined]
    if for_update:
        stmt = stmt.with_for_update()
    obj: M | None = (await session.scalars(stmt)).first()
    if obj is None:
        raise NotFound(f"No {what} with id {ident} is visible to this key.")
    return obj
