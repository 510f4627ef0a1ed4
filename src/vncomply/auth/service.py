"""API keys: issue (shown once), list, revoke, and the cached lookup on every request."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import unicodedata
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.audit import service as audit
from vncomply.auth.models import ApiKey
from vncomply.authorities.models import Authority
from vncomply.config import API_KEY_PREFIX, get_settings
from vncomply.kit import clock
from vncomply.kit.db import read_rows, reads_share_a_connection
from vncomply.kit.errors import Checks, NotFound
from vncomply.kit.logs import get_logger
from vncomply.kit.pagination import created_id_after
from vncomply.kit.principal import Principal, Role
from vncomply.platforms.models import Platform

KEY_PREFIX = API_KEY_PREFIX
log = get_logger("vncomply.auth")


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
    holder: str | None = None,
    platform_id: uuid.UUID | None = None,
    authority_id: uuid.UUID | None = None,
    expires_at: datetime | None = None,
    raw_key: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the secret (never stored). An officer key names the
    person who holds it (``holder``). Every problem with the request is reported at once."""
    checks = Checks()
    holder = holder.strip() if holder else None
    if role is Role.officer and not holder:
        checks.add(
            "holder",
            "an officer key needs `holder`: the name of the person who will hold it (a platform "
            "that requires two officers for a disclosure counts people, not keys)",
            "missing",
        )
    if role in (Role.platform, Role.officer):
        if platform_id is None:
            checks.add("platform_id", f"a {role} key needs `platform_id`", "missing")
        elif await session.get(Platform, platform_id) is None:
            checks.add("platform_id", f"platform {platform_id} does not exist")
        if authority_id is not None:
            checks.add("authority_id", f"a {role} key belongs to a platform; omit `authority_id`")
    elif role is Role.authority:
        if authority_id is None:
            checks.add("authority_id", "an authority key needs `authority_id`", "missing")
        elif await session.get(Authority, authority_id) is None:
            checks.add("authority_id", f"authority {authority_id} does not exist")
        if platform_id is not None:
            checks.add("platform_id", "an authority key belongs to an authority; omit `platform_id`")
    elif platform_id is not None or authority_id is not None:
        checks.add("role", "an admin key belongs to no platform or authority")
    if expires_at is not None and expires_at <= clock.now():
        checks.add("expires_at", "`expires_at` must be in the future")
    checks.raise_if_any()
    raw = raw_key or new_key()
    key = ApiKey(
        name=name,
        role=role.value,
        holder=holder,
        platform_id=platform_id,
        authority_id=authority_id,
        key_hash=hash_key(raw),
        prefix=raw[:12],
        expires_at=expires_at,
    )
    session.add(key)
    await session.flush()
    _forget(key.key_hash)  # it may have just been looked up (and remembered) as unknown
    audit.record(
        session,
        actor,
        "api_key.created",
        "api_key",
        key.id,
        platform_id,
        {
            "role": role.value,
            "authority_id": str(authority_id) if authority_id else None,
            "holder": holder,
        },
    )
    return key, raw


def same_person(a: str, b: str) -> bool:
    """Whether two holder names name one person: compared without case, Unicode form or spacing
    differences ("Trần  Thị Bình" is "trần thị bình")."""
    return _person(a) == _person(b)


def _person(holder: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", holder).casefold().split())


async def holder_of(session: AsyncSession, key_id: uuid.UUID) -> str | None:
    """The person who holds key ``key_id`` (None: unknown key, or one issued without a holder)."""
    key = await session.get(ApiKey, key_id)
    return key.holder if key is not None else None


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
    _forget(key.key_hash)
    return key


def _forget(digest: bytes) -> None:
    global _generation
    _generation += 1
    _cache.pop(digest, None)
    _unknown.pop(digest, None)


async def ensure_key(
    session: AsyncSession, raw: str, role: Role, name: str, *, actor: Principal | None = None
) -> bool:
    """Register ``raw`` as a key if unknown (the bootstrap admin key). True when created."""
    if (await session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(raw)))).first():
        return False
    await create_key(session, actor, role=role, name=name, raw_key=raw)
    return True


# Positive lookups are cached for at most `key_cache_seconds` (<= 1 s), so a revocation made in any
# process takes effect within a second; revocations in this process evict at once. A busy key is
# refreshed in the background during the last quarter of its window, and concurrent misses share
# one lookup, so a hot key never makes a burst of requests wait on the database together.
_cache: dict[bytes, tuple[float, Principal, datetime | None]] = {}
_CACHE_MAX = 10_000
# Unknown (and revoked) keys are remembered for the same window, apart from the known ones: a flood
# of made-up keys fills and clears this map, never the cache of keys that work. Keys created in this
# process are forgotten here at once; elsewhere a new key works within the window.
_unknown: dict[bytes, float] = {}
_REFRESH_AHEAD = 0.25
_inflight: dict[bytes, asyncio.Task[Principal | None]] = {}
_generation = 0  # bumped by every local revocation: a lookup begun before it must not re-cache
_LOOKUP = (
    "SELECT id, role, platform_id, authority_id, expires_at, revoked_at FROM api_keys "
    "WHERE key_hash = %(key_hash)s"
)


def _valid(principal: Principal, expires: datetime | None) -> Principal | None:
    return None if expires is not None and expires <= clock.now() else principal


async def _fetch(digest: bytes) -> Principal | None:
    generation = _generation
    # A key issued a moment ago may not have reached the replica yet: a miss asks the primary.
    rows = await read_rows(_LOOKUP, {"key_hash": digest}, primary_on_empty=True)
    row = rows[0] if rows else None
    ttl = get_settings().key_cache_seconds
    if row is None or row[5] is not None:
        _cache.pop(digest, None)
        if ttl > 0 and generation == _generation:
            if len(_unknown) >= _CACHE_MAX:
                _unknown.clear()
            _unknown[digest] = time.monotonic() + ttl
        return None
    principal = Principal(row[0], Role(row[1]), row[2], row[3])
    if ttl > 0 and generation == _generation:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[digest] = (time.monotonic() + ttl, principal, row[4])
    return _valid(principal, row[4])


def _lookup(digest: bytes) -> asyncio.Task[Principal | None]:
    task = _inflight.get(digest)
    if task is None or task.get_loop() is not asyncio.get_running_loop():
        task = asyncio.get_running_loop().create_task(_fetch(digest))
        _inflight[digest] = task
        task.add_done_callback(lambda t: _settled(digest, t))
    return task


def _settled(digest: bytes, task: asyncio.Task[Principal | None]) -> None:
    if _inflight.get(digest) is task:
        del _inflight[digest]
    if not task.cancelled() and task.exception() is not None:
        # Retrieved here so a background refresh that failed is not reported as "never retrieved";
        # a request waiting on the same lookup still gets the exception.
        log.warning("api_key_lookup_failed", error_type=type(task.exception()).__name__)


async def authenticate(raw: str) -> Principal | None:
    """The key's principal, or None for an unknown, revoked, expired or malformed key."""
    if not raw.startswith(KEY_PREFIX) or len(raw) > 200:
        return None
    digest = hash_key(raw)
    hit = _cache.get(digest)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        refresh = hit[0] - now < _REFRESH_AHEAD * get_settings().key_cache_seconds
        if refresh and digest not in _inflight and not reads_share_a_connection():
            _lookup(digest)
        return _valid(hit[1], hit[2])
    if _unknown.get(digest, 0.0) > now:
        return None
    return await asyncio.shield(_lookup(digest))


def clear_cache() -> None:
    _cache.clear()
    _unknown.clear()
    _inflight.clear()
