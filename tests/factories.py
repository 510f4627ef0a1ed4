"""Small typed factories. They go through the services (not raw SQL) so rows are realistic."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.auth import service as auth_service
from vncomply.authorities import service as authority_service
from vncomply.authorities.schemas import AuthorityCreate
from vncomply.kit.principal import Principal, Role
from vncomply.platforms import service as platform_service
from vncomply.platforms.schemas import PlatformCreate

SYSTEM = Principal(uuid.UUID(int=0), Role.admin, None, None)


@dataclass
class Keys:
    platform_id: uuid.UUID
    platform: str
    officer: str


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def make_platform(
    db: AsyncSession,
    name: str = "ExampleSocial",
    *,
    filed: bool = True,
    two_officers: bool = False,
) -> uuid.UUID:
    from vncomply.kit import clock

    body = PlatformCreate.model_validate(
        {
            "name": name,
            "legal_name": f"{name} Inc.",
            "contact_point": {
                "name": "Tran Thi B",
                "email": "c@example.com",
                "phone": "+84 24 3825 0000",
                "address": "Ha Noi",
            },
            "monthly_vn_visits": 500_000,
            "stores_data_in_vn": False,
            "in_scope_since": date(2025, 1, 1).isoformat(),
            "contact_filed_at": clock.now().isoformat() if filed else None,
            "disclosure_two_officers": two_officers,
        }
    )
    p = await platform_service.create(db, SYSTEM, body)
    await db.flush()
    return p.id


async def make_key(
    db: AsyncSession,
    role: Role,
    *,
    platform_id: uuid.UUID | None = None,
    authority_id: uuid.UUID | None = None,
    holder: str | None = None,
) -> tuple[uuid.UUID, str]:
    """An API key; an officer key's holder defaults to a person of its own (two keys, two people)."""
    if role is Role.officer and holder is None:
        holder = f"Officer {uuid.uuid4().hex[:8]}"
    key, raw = await auth_service.create_key(
        db,
        SYSTEM,
        role=role,
        name=f"test {role}",
        holder=holder,
        platform_id=platform_id,
        authority_id=authority_id,
    )
    await db.flush()
    return key.id, raw


async def admin_key(db: AsyncSession) -> str:
    return (await make_key(db, Role.admin))[1]


async def platform_keys(db: AsyncSession, name: str = "ExampleSocial", **kw: bool) -> Keys:
    pid = await make_platform(db, name, **kw)
    _, pk = await make_key(db, Role.platform, platform_id=pid)
    _, ok = await make_key(db, Role.officer, platform_id=pid)
    return Keys(pid, pk, ok)


async def make_authority(
    db: AsyncSession, code: str = "ABEI", platforms: list[uuid.UUID] | None = None
) -> tuple[uuid.UUID, str]:
    a = await authority_service.create(
        db,
        SYSTEM,
        AuthorityCreate.model_validate(
            {
                "code": code,
                "name": f"{code} authority",
                "kind": "ministry",
                "platforms": [str(p) for p in platforms] if platforms is not None else "all",
            }
        ),
    )
    await db.flush()
    _, raw = await make_key(db, Role.authority, authority_id=a.id)
    return a.id, raw


def free_port() -> int:
    """A TCP port nothing listens on right now (for tests that start real servers)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
