"""Keys of every role for the sweeps over the route table, with rate limits out of their way."""

from __future__ import annotations

from typing import Any

import pytest

from tests.auth.test_matrix import _allowed_roles, _fill
from tests.factories import make_authority, make_key, make_platform
from vncomply.kit.principal import Role

# The role a sweep calls a route with: the first one allowed (a platform reaches most validation).
ROLE_ORDER = (Role.platform, Role.officer, Role.authority, Role.admin)


@pytest.fixture
async def role_keys(db, monkeypatch) -> dict[Role, str]:
    from vncomply.config import get_settings
    from vncomply.kit import ratelimit

    for role in ("admin", "platform", "officer", "authority"):
        monkeypatch.setattr(get_settings(), f"rate_limit_{role}", [100_000, 100_000])
    ratelimit.forget_leases()
    pid = await make_platform(db, "SweepCo")
    keys = {
        Role.admin: (await make_key(db, Role.admin))[1],
        Role.platform: (await make_key(db, Role.platform, platform_id=pid))[1],
        Role.officer: (await make_key(db, Role.officer, platform_id=pid))[1],
    }
    keys[Role.authority] = (await make_authority(db, "SWEEP", [pid]))[1]
    return keys


def caller(route: Any, keys: dict[Role, str]) -> dict[str, str]:
    """Headers for a call by a role the route allows (none for a public route)."""
    allowed = _allowed_roles(route)
    if allowed is None:
        return {}
    role = next(r for r in ROLE_ORDER if r in allowed)
    return {"Authorization": f"Bearer {keys[role]}"}


def fill(path: str, **values: str) -> str:
    """A concrete URL for a route template: the given values, else the matrix's defaults."""
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return _fill(path)
