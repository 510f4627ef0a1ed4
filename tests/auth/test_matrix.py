"""The authorization matrix, generated from the app's route table: every route declares who may call
it (``require(...)``) or is explicitly public. A route added without a rule fails here."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.routing import APIRoute

from tests.factories import make_authority, make_key, make_platform
from vncomply.health.router import PUBLIC_PATHS
from vncomply.kit.principal import Role
from vncomply.registry import routers


def _allowed_roles(route: APIRoute) -> frozenset[Role] | None:
    stack: list[Any] = [route.dependant]
    while stack:
        dep = stack.pop()
        roles = getattr(dep.call, "allowed_roles", None)
        if roles is not None:
            return frozenset(roles)
        stack.extend(dep.dependencies)
    return None


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


def test_every_route_has_an_auth_rule() -> None:
    missing = [f"{m} {p}" for m, p, r in all_routes() if p not in PUBLIC_PATHS and _allowed_roles(r) is None]
    assert not missing, f"routes without an authorization rule: {missing}"


async def test_matrix(client, db) -> None:
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
        r = await client.request(method, url)
        assert r.status_code == 401, f"{method} {path} without a key → {r.status_code}"
        for role, key in keys.items():
            headers = {"Authorization": f"Bearer {key}"}
            kw: dict[str, Any] = {"headers": headers}
            if method in {"POST", "PUT", "PATCH"}:
                kw["json"] = {}
            r = await client.request(method, url, **kw)
            if role in allowed:
                assert r.status_code not in (401, 403), f"{role} {method} {path} → {r.status_code}"
                assert r.status_code < 500, f"{role} {method} {path} → {r.status_code}: {r.text}"
            else:
                assert r.status_code == 403, f"{role} {method} {path} → {r.status_code}"
                assert r.headers["content-type"].startswith("application/problem+json")
            checked += 1
    assert checked >= 40


@pytest.mark.parametrize("path", sorted(PUBLIC_PATHS))
async def test_public_routes_need_no_key(client, db, path: str) -> None:
    r = await client.get(path)
    assert r.status_code in (200, 503)
