"""Security headers (kit/headers.py), swept over the route table: every route and method, called
with no key and with a key of a role it allows, plus what lies outside the routers (docs, the
OpenAPI document, 404, 405, 413) and the permission check's fast path."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from prometheus_client import REGISTRY

from tests.auth.test_matrix import all_routes
from tests.factories import admin_key, auth
from tests.identities.helpers import NID, body
from tests.kit.conftest import caller, fill
from vncomply.kit.principal import Role

UNIVERSAL = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}
NO_FRAMING = {"x-frame-options": "DENY", "content-security-policy": "frame-ancestors 'none'"}


def _check(r: httpx.Response, what: str, *, no_store: bool = True) -> None:
    for name, value in UNIVERSAL.items():
        assert r.headers.get(name) == value, f"{what} → {r.status_code}: {name}={r.headers.get(name)!r}"
    if no_store:
        assert r.headers.get("cache-control") == "no-store", f"{what} → {r.status_code}: not no-store"


async def test_every_route_answers_with_the_security_headers(client, role_keys) -> None:
    checked = 0
    for method, path, route in all_routes():
        url = fill(path)
        for headers in ({}, caller(route, role_keys)):
            kw: dict[str, Any] = {"headers": headers}
            if method in {"POST", "PUT", "PATCH"}:
                kw["json"] = {}
            r = await client.request(method, url, **kw)
            _check(r, f"{method} {path} {'with' if headers else 'without'} a key")
            checked += 1
    assert checked >= 80


async def test_outside_the_routers_too(client, db) -> None:
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect", "/openapi.json", "/v1/no-such-thing"):
        r = await client.get(path)
        _check(r, f"GET {path}")
    _check(await client.patch("/healthz"), "PATCH /healthz (405)")
    # With a key: a request without one is refused (401) before the body limit is even reached.
    too_big = await client.post(
        "/v1/platforms",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={"content-type": "application/json", **auth(await admin_key(db))},
    )
    assert too_big.status_code == 413
    _check(too_big, "a 413 from the body limit")


async def test_the_docs_pages_may_not_be_framed(client) -> None:
    for path in ("/docs", "/redoc"):
        r = await client.get(path)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["x-frame-options"] == "DENY"
        # The page's own policy, alone (it forbids framing too: tests/test_docs_pages.py).
        (policy,) = r.headers.get_list("content-security-policy")
        assert "frame-ancestors 'none'" in policy.split("; "), policy


async def test_responses_with_personal_data_are_never_stored(client, db, role_keys) -> None:
    platform, officer = auth(role_keys[Role.platform]), auth(role_keys[Role.officer])
    answers = {
        "PUT identity": await client.put("/v1/identities/p-1", headers=platform, json=body(national_id=NID)),
        "PUT identity again": await client.put("/v1/identities/p-1", headers=platform, json=body()),
        "GET identity": await client.get("/v1/identities/p-1", headers=officer),
        "search": await client.post("/v1/identities/search", headers=officer, json={"national_id": NID}),
        "bulk": await client.post(
            "/v1/identities/bulk",
            headers={**platform, "content-type": "application/x-ndjson"},
            content=orjson.dumps({"account_id": "p-2", **body()}),
        ),
    }
    for what, r in answers.items():
        assert r.status_code in (200, 201), (what, r.text)
        _check(r, what)
    # (The disclosure package sets no-store itself; tests/disclosures/test_package.py holds it to that.)


async def test_the_permission_fast_path_answers_with_them(client, role_keys) -> None:
    platform = auth(role_keys[Role.platform])
    served = REGISTRY.get_sample_value("vncomply_permission_fast_path_total", {"outcome": "served"}) or 0.0
    r = await client.get("/v1/accounts/p-9/permissions", headers=platform)
    assert r.status_code == 200, r.text
    assert (
        REGISTRY.get_sample_value("vncomply_permission_fast_path_total", {"outcome": "served"}) == served + 1
    )
    _check(r, "the fast path's answer")
    _check(await client.get("/v1/accounts/a b/permissions", headers=platform), "a 422 handed on")


async def test_a_response_keeps_its_own_cache_control(client) -> None:
    from starlette.responses import Response
    from starlette.types import Receive, Scope, Send

    from vncomply.kit.headers import SecurityHeadersMiddleware

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await Response("x", headers={"Cache-Control": "max-age=60"})(scope, receive, send)

    transport = httpx.ASGITransport(app=SecurityHeadersMiddleware(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/")
    assert r.headers.get_list("cache-control") == ["max-age=60"]
    _check(r, "own cache-control", no_store=False)
