"""The edge in front of the routes: a request is authenticated before any of its body is read,
bodies are bounded before they are read, and failed authentication is cheap and throttled per
client address.

The body tests talk raw HTTP/1.1 to a real uvicorn server (started here on a free port, in this
event loop): each request *declares* a body far larger than what it sends, so an answer can only
arrive if the server refused the request without waiting for the rest of its body.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import orjson
import pytest

from tests.factories import auth, free_port, make_key, make_platform, platform_keys
from vncomply.auth import service as auth_service
from vncomply.config import get_settings
from vncomply.kit import ratelimit
from vncomply.kit.principal import Role

GUARD_SECONDS = 20  # a hang guard, not a timing assertion: a server waiting for the body never answers


@dataclass
class Keys:
    platform: str
    admin: str


@pytest.fixture
async def keys(committed) -> Keys:
    async with committed() as s:
        pid = await make_platform(s)
        _, platform = await make_key(s, Role.platform, platform_id=pid)
        _, admin = await make_key(s, Role.admin)
        await s.commit()
    return Keys(platform, admin)


@pytest.fixture
async def server(keys: Keys) -> AsyncIterator[int]:
    import uvicorn

    from vncomply.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, lifespan="off", log_level="warning", access_log=False
    )
    srv = uvicorn.Server(config)
    task = asyncio.ensure_future(srv.serve())
    while not srv.started:
        if task.done():
            task.result()  # it failed to start: show why
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        srv.should_exit = True
        await task


async def _exchange(port: int, head: str, sent: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` and the first bytes of a body, then read the answer (the rest is never sent)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + sent)
        await writer.drain()
        raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), GUARD_SECONDS)
        status_line, *lines = raw.decode("latin-1").split("\r\n")
        headers = {}
        for h in lines:
            if h:
                name, _, value = h.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), GUARD_SECONDS)
        return int(status_line.split()[1]), headers, body
    finally:
        writer.close()


def _head(method: str, path: str, key: str | None, length: int | None, media: str) -> str:
    lines = [f"{method} {path} HTTP/1.1", "Host: test", f"Content-Type: {media}"]
    if key is not None:
        lines.append(f"Authorization: Bearer {key}")
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    return "\r\n".join(lines) + "\r\n\r\n"


JSON, NDJSON = "application/json", "application/x-ndjson"
PART = b'{"account_id": "a", "full_name": "' + b"x" * 4000


@pytest.mark.parametrize(
    ("method", "path", "key", "length", "media"),
    [
        # PUT /v1/identities/bulk is PUT /v1/identities/{account_id}: no streaming exemption.
        ("PUT", "/v1/identities/bulk", None, 10**10, JSON),
        ("POST", "/v1/identities/bulk", None, 10**12, NDJSON),
        # Under the body limit: still refused before FastAPI reads (and parses) it.
        ("POST", "/v1/authorities", None, 900_000, JSON),
        ("POST", "/v1/authorities", "vnc_" + "u" * 43, 900_000, JSON),
        ("POST", "/v1/authorities", "not-even-a-key", None, JSON),  # chunked
        ("POST", "/v1/identities/bulk", "vnc_" + "u" * 43, None, NDJSON),
    ],
)
async def test_no_valid_key_is_refused_before_the_body(
    server: int, method: str, path: str, key: str | None, length: int | None, media: str
) -> None:
    sent = PART if length is not None else b"fa0\r\n" + PART[:4000]
    status, headers, body = await _exchange(server, _head(method, path, key, length, media), sent)
    assert status == 401, body
    assert headers["content-type"] == "application/problem+json"
    assert headers["www-authenticate"].startswith("Bearer")
    assert headers["connection"] == "close"  # nor is the rest read later on this connection
    assert orjson.loads(body)["status"] == 401


async def test_a_body_over_its_limit_is_refused_before_it_is_read(server: int, keys: Keys) -> None:
    bulk_cap = get_settings().bulk_max_bytes
    cases = [
        # The bulk exemption covers POST /v1/identities/bulk only: this PUT has the ordinary limit.
        ("PUT", "/v1/identities/bulk", 10**10, JSON, get_settings().max_body_bytes),
        ("POST", "/v1/identities/bulk", bulk_cap + 1, NDJSON, bulk_cap),
    ]
    for method, path, length, media, limit in cases:
        head = _head(method, path, keys.platform, length, media)
        status, headers, body = await _exchange(server, head, PART)
        assert status == 413, (method, path, body)
        problem = orjson.loads(body)
        assert str(limit) in problem["detail"]
        assert headers["content-type"] == "application/problem+json"
        assert headers["connection"] == "close"


async def test_only_the_bulk_post_streams_without_the_body_limit(client, db) -> None:
    """Chunked (no length to refuse up front): PUT /v1/identities/bulk is counted against the
    ordinary limit as it arrives, like any other route."""
    k = await platform_keys(db)

    async def pieces() -> AsyncIterator[bytes]:
        yield b'{"full_name": "'
        for _ in range(40):
            yield b"x" * 32_768
        yield b'"}'

    r = await client.put("/v1/identities/bulk", content=pieces(), headers=auth(k.platform))
    assert r.status_code == 413, r.text
    assert r.headers["content-type"] == "application/problem+json"


# --- failed authentication: the unknown-key cache, one lookup per request, the address limiter --


def _count_digests(monkeypatch) -> list[bytes]:
    """Every key lookup starts by hashing the key: counting hashes counts lookups (cached or not)."""
    seen: list[bytes] = []
    real = auth_service.hash_key

    def counting(raw: str) -> bytes:
        seen.append(digest := real(raw))
        return digest

    monkeypatch.setattr(auth_service, "hash_key", counting)
    return seen


async def test_an_unknown_key_is_remembered_briefly(db, monkeypatch) -> None:
    queries: list[str] = []
    real = auth_service.read_rows

    async def counting(sql, params, **kw):
        queries.append(sql)
        return await real(sql, params, **kw)

    monkeypatch.setattr(auth_service, "read_rows", counting)
    unknown = "vnc_" + "n" * 43
    assert await auth_service.authenticate(unknown) is None
    assert await auth_service.authenticate(unknown) is None
    assert len(queries) == 1  # the second refusal cost no query


async def test_create_key_forgets_a_negative_entry(db) -> None:
    pid = await make_platform(db)
    raw = auth_service.new_key()
    assert await auth_service.authenticate(raw) is None  # cached as unknown for up to 1 s
    await auth_service.create_key(db, None, role=Role.platform, name="t", platform_id=pid, raw_key=raw)
    assert await auth_service.authenticate(raw) is not None


@pytest.mark.parametrize(
    ("who", "account", "status"),
    [
        ("officer", "a", 403),  # the fast path resolves the key, the route refuses the role
        ("unknown", "a", 401),
        ("platform", "a b", 422),  # handed on before any lookup: the route's one lookup
        ("platform", "a", 200),
    ],
)
async def test_one_key_lookup_per_request(client, db, monkeypatch, who: str, account: str, status: int):
    k = await platform_keys(db)
    key = {"officer": k.officer, "platform": k.platform, "unknown": "vnc_" + "z" * 43}[who]
    seen = _count_digests(monkeypatch)
    r = await client.get(f"/v1/accounts/{account}/permissions", headers=auth(key))
    assert r.status_code == status, r.text
    assert len(seen) == 1


async def test_one_key_lookup_on_a_regular_route(client, db, monkeypatch) -> None:
    k = await platform_keys(db)
    seen = _count_digests(monkeypatch)
    assert (await client.get("/v1/identities/a", headers=auth(k.platform))).status_code == 404
    assert (await client.get("/v1/identities/a", headers=auth("vnc_" + "q" * 43))).status_code == 401
    assert len(seen) == 2


async def test_repeated_failures_from_one_address_get_429(app, db, monkeypatch) -> None:
    from vncomply.auth import gate

    k = await platform_keys(db)
    monkeypatch.setattr(get_settings(), "auth_failure_limit", [1, 3])
    ratelimit.forget_leases()
    gate.forget()
    # An address of its own, so no other test's failures count here (the limiter is in Redis).
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        bad = [await c.get("/v1/identities/a", headers=auth(f"vnc_bad{i:040d}")) for i in range(3)] + [
            await c.get("/v1/accounts/a/permissions", headers=auth("vnc_" + "b" * 43)),  # fast path
            await c.post("/v1/authorities", json={}),  # no key at all
        ]
        assert [r.status_code for r in bad] == [401, 401, 401, 429, 429]
        for r in bad[3:]:
            assert int(r.headers["retry-after"]) >= 1
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["status"] == 429
        # Valid keys from the same address keep working, on the fast path and off it.
        assert (await c.get("/v1/accounts/a/permissions", headers=auth(k.platform))).status_code == 200
        assert (await c.get("/v1/identities/a", headers=auth(k.platform))).status_code == 404
    # Another address is not affected.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("198.51.100.8", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        assert (await c.get("/v1/identities/a", headers=auth("vnc_" + "c" * 43))).status_code == 401
