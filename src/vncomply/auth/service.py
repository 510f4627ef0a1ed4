"""API keys: issue (shown once), list, revoke, and the cached lookup on every request."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply import clock
from vncomply.audit import service as audit
from vncomply.auth.models import ApiKey
from vncomply.auth.principal import Principal, Role
from vncomply.authorities.models import Authority
from vncomply.config import get_settings
from vncomply.errors import InvalidInput, NotFound
from vncomply.pagination import created_id_after
from vncomply.platforms.models import Platform

KEY_PREFIX = "vnc_"


def hash_key(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def create_key(
    session: AsyncSession,
    actor: Principal | None,
    *,
    role: Role,
    name: str,
    platform_id: uuid.UUID | None = None,
    authority_id: uuid.UUID | None = None,
    expires_at: datetime | None = None,
    raw_key: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the secret (never stored)."""
    if role in (Role.platform, Role.officer):
        if platform_id is None or authority_id is not None:
            raise InvalidInput(
                f"a {role} key needs `platform_id` (and no `authority_id`)", field="platform_id"
            )
        if await session.get(Platform, platform_id) is None:
            raise InvalidInput(f"platform {platform_id} does not exist", field="platform_id")
    elif role is Role.authority:
        if authority_id is None or platform_id is not None:
            raise InvalidInput(
                "an authority key needs `authority_id` (and no `platform_id`)", field="authority_id"
            )
        if await session.get(Authority, authority_id) is None:
            raise InvalidInput(f"authority {authority_id} does not exist", field="authority_id")
    elif platform_id is not None or authority_id is not None:
        raise InvalidInput("an admin key belongs to no platform or authority", field="role")
    if expires_at is not None and expires_at <= clock.now():
        raise InvalidInput("`expires_at` must be in the future", field="expires_at")
    raw = raw_key or new_key()
    key = ApiKey(
        name=name,
        role=role.value,
        platform_id=platform_id,
        authority_id=authority_id,
        key_hash=hash_key(raw),
        prefix=raw[:12],
        expires_at=expires_at,
    )
    session.add(key)
    await session.flush()
    audit.record(
        session,
        actor,
        "api_key.created",
        "api_key",
        key.id,
        platform_id,
        {"role": role.value, "authority_id": str(authority_id) if authority_id else None},
    )
    return key, raw


async def list_keys(session: AsyncSession, cursor: list[Any] | None, limit: int) -> list[ApiKey]:
    stmt = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id).limit(limit)
    if cursor:
        stmt = stmt.where(created_id_after(ApiKey, cursor))
    return list((await session.scalars(stmt)).all())


async def revoke_key(session: AsyncSession, actor: Principal, key_id: uuid.UUID) -> ApiKey:
    key = await session.get(ApiKey, key_id, with_for_update=True)
    if key is None:
        raise NotFound(f"No API key with id {key_id}.")
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        audit.record(session, actor, "api_key.revoked", "api_key", key.id, key.platform_id)
    _cache.pop(key.key_hash, None)
    return key


async def ensure_key(session: AsyncSession, raw: str, role: Role, name: str) -> bool:
    """Register ``raw`` as a key if unknown (the bootstrap admin key). True when created."""
    if (await session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(raw)))).first():
        return False
    await create_key(session, None, role=role, name=name, raw_key=raw)
    return True


# Positive lookups are cached for at most `key_cache_seconds` (<= 1 s), so a revocation made in any
# process takes effect within a second; revocations in this process evict at once.
_cache: dict[bytes, tuple[float, Principal, datetime | None]] = {}
_CACHE_MAX = 10_000


async def authenticate(session: AsyncSession, raw: str) -> Principal | None:
    if not raw.startswith(KEY_PREFIX) or len(raw) > 200:
        return None
    digest = hash_key(raw)
    ttl = get_settings().key_cache_seconds
    hit = _cache.get(digest)
    now_mono = time.monotonic()
    if hit is not None and hit[0] > now_mono:
        principal, expires = hit[1], hit[2]
    else:
        row = (
            await session.execute(
                select(
                    ApiKey.id,
                    ApiKey.role,
                    ApiKey.platform_id,
                    ApiKey.authority_id,
                    ApiKey.expires_at,
                    ApiKey.revoked_at,
                ).where(ApiKey.key_hash == digest)
            )
        ).first()
        if row is None or row.revoked_at is not None:
            _cache.pop(digest, None)
            return None
        principal = Principal(row.id, Role(row.role), row.platform_id, row.authority_id)
        expires = row.expires_at
        if ttl > 0:
            if len(_cache) >= _CACHE_MAX:
                _cache.clear()
            _cache[digest] = (now_mono + ttl, principal, expires)
    if expires is not None and expires <= clock.now():
        return None
    return principal


def clear_cache() -> None:
    _cache.clear()
