"""The authorization matrix, generated from the app's route table: every route declares who may call
it (``require(...)``) or is explicitly public. A route added without a rule fails here.

The permission check's fast path answers in front of its route; it reads the route's rule, and the
matrix checks it admits exactly the route's roles. A request without a key is refused before its
body is read, on every route."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from prometheus_client import REGISTRY

from tests.factories import make_authority, make_key, make_platform
from vncomply.auth.deps import route_roles as _allowed_roles
from vncomply.health.router import PUBLIC_PATHS
from vncomply.identities.fastpath import TEMPLATE as FAST_PATH
from vncomply.identities.fastpath import PermissionFastPath
from vncomply.kit.principal import Role
from vncomply.registry import routers


def all_routes() -> list[tuple[str, str, APIRoute]]:
    out = []
    for router in routers():
        for route in router.routes:
            assert isinstance(route, APIRoute)
            for method in sorted(route.methods - {"HEAD"}):
                out.append((method, route.path, route))
    return out


def _fill(path: str) -> str:
    parts = []
    for seg in path.split("/"):
        if seg.startswith("{") and seg.endswith("}"):
            name = seg[1:-1]
            parts.append("acct-1" if "account" in name else str(uuid.uuid4()))
        else:
            parts.append(seg)
    return "/".join(parts)


def _fast_path_count(outcome: str) -> float:
    value = REGISTRY.get_sample_value("vncomply_permission_fast_path_total", {"outcome": outcome})
    return value or 0.0


def _fast_path_layer(app: Any) -> PermissionFastPath:
    layer = app.build_middleware_stack()
    while not isinstance(layer, PermissionFastPath):
        layer = layer.app
    return layer


async def _never_read() -> AsyncIterator[bytes]:
    raise AssertionError("the body of a request without a key was read")
    yield b""  # pragma: no cover  (makes this an async generator)


def test_every_route_has_an_auth_rule() -> None:
    missing = [f"{m} {p}" for m, p, r in all_routes() if p not in PUBLIC_PATHS and _allowed_roles(r) is None]
    assert not missing, f"routes without an authorization rule: {missing}"


def test_the_fast_path_admits_exactly_its_routes_roles(app) -> None:
    (route,) = [r for m, p, r in all_routes() if (m, p) == ("GET", FAST_PATH)]
    assert _fast_path_layer(app).allowed_roles == _allowed_roles(route)


async def test_matrix(client, db, monkeypatch) -> None:
    pid = await make_platform(db, "MatrixCo")
    keys = {
        Role.admin: (await make_key(db, Role.admin))[1],
        Role.platform: (await make_key(db, Role.platform, platform_id=pid))[1],
        Role.officer: (await make_key(db, Role.officer, platform_id=pid))[1],
    }
    keys[Role.authority] = (await make_authority(db, "MATRIX", [pid]))[1]
    checked = 0
    for method, path, route in all_routes():
        if path in PUBLIC_PATHS:
            continue
        allowed = _allowed_roles(route)
        assert allowed is not None
        url = _fill(path)
        r = await client.request(method, url, content=_never_read())
        assert r.status_code == 401, f"{method} {path} without a key → {r.status_code}"
        fast = (method, path) == ("GET", FAST_PATH)
        for role, key in keys.items():
            headers = {"Authorization": f"Bearer {key}"}
            kw: dict[str, Any] = {"headers": headers}
            if method in {"POST", "PUT", "PATCH"}:
                kw["json"] = {}
            served, handed_on = _fast_path_count("served"), _fast_path_count("handed_on")
            r = await client.request(method, url, **kw)
            if role in allowed:
                assert r.status_code not in (401, 403), f"{role} {method} {path} → {r.status_code}"
                assert r.status_code < 500, f"{role} {method} {path} → {r.status_code}: {r.text}"
            else:
                assert r.status_code == 403, f"{role} {method} {path} → {r.status_code}"
                assert r.headers["content-type"].startswith("application/problem+json")
            if fast:  # answered by the fast path exactly for the route's roles, else by the route
                outcome = "served" if role in allowed else "handed_on"
                assert _fast_path_count(outcome) == (served if role in allowed else handed_on) + 1, role
            checked += 1
    assert checked >= 40


@pytest.mark.parametrize("path", sorted(PUBLIC_PATHS))
async def test_public_routes_need_no_key(client, db, path: str) -> None:
    r = await client.get(path)
    assert r.status_code in (200, 503)
