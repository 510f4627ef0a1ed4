"""The API-key cache on real connections: concurrent misses share one lookup, a busy key is
refreshed before it expires, and a revocation is never undone by a lookup that was already running."""

from __future__ import annotations

import asyncio
import time

from vncomply.auth import service as auth_service
from vncomply.kit.principal import Principal, Role


async def _key(committed) -> tuple[str, bytes]:
    from tests.factories import make_platform

    async with committed() as s:
        pid = await make_platform(s)
        _, raw = await auth_service.create_key(s, None, role=Role.platform, name="t", platform_id=pid)
        await s.commit()
    auth_service.clear_cache()
    return raw, auth_service.hash_key(raw)


def _count_lookups(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = auth_service.read_rows

    async def counting(sql, params, **kw):  # a spy: the real query still runs against PostgreSQL
        calls.append(sql)
        return await real(sql, params, **kw)

    monkeypatch.setattr(auth_service, "read_rows", counting)
    return calls


async def test_concurrent_misses_share_one_lookup(committed, monkeypatch) -> None:
    raw, _ = await _key(committed)
    calls = _count_lookups(monkeypatch)
    got = await asyncio.gather(*(auth_service.authenticate(raw) for _ in range(25)))
    assert len(calls) == 1
    assert all(p is not None and p.role is Role.platform for p in got)
    assert len({p.key_id for p in got if p}) == 1
    assert await auth_service.authenticate(raw) == got[0]  # now cached: no second lookup
    assert len(calls) == 1


async def test_a_busy_key_is_refreshed_before_it_expires(committed, monkeypatch) -> None:
    raw, digest = await _key(committed)
    calls = _count_lookups(monkeypatch)
    principal = await auth_service.authenticate(raw)
    assert len(calls) == 1
    _expires, cached, key_expiry = auth_service._cache[digest]
    auth_service._cache[digest] = (time.monotonic() + 0.1, cached, key_expiry)  # last quarter of 1 s
    assert await auth_service.authenticate(raw) == principal  # answered from the cache at once...
    task = auth_service._inflight.get(digest)
    assert task is not None  # ...while one lookup renews it in the background
    await task
    assert len(calls) == 2
    assert auth_service._cache[digest][0] > time.monotonic() + 0.5


async def test_a_revocation_during_a_lookup_is_not_undone(committed) -> None:
    raw, digest = await _key(committed)
    lookup = asyncio.ensure_future(auth_service.authenticate(raw))
    while digest not in auth_service._inflight:
        await asyncio.sleep(0)
    await asyncio.sleep(0)  # the lookup task has taken its first step: it is waiting on the database
    assert not lookup.done()
    auth_service._forget(digest)  # what revoke_key does in this process
    await lookup
    assert digest not in auth_service._cache  # the stale answer was not cached


async def test_a_revoked_key_stops_at_once_in_this_process(committed) -> None:
    raw, _ = await _key(committed)
    principal = await auth_service.authenticate(raw)
    assert principal is not None
    async with committed() as s:
        admin = Principal(principal.key_id, Role.admin, None, None)
        await auth_service.revoke_key(s, admin, principal.key_id)
        await s.commit()
    assert await auth_service.authenticate(raw) is None
