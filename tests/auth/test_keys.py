from __future__ import annotations

from datetime import timedelta

from tests.factories import admin_key, auth, make_key, make_platform, platform_keys
from vncomply.auth import service as auth_service
from vncomply.kit import clock
from vncomply.kit.principal import Role


async def test_issue_list_and_revoke_key(client, db) -> None:
    admin = await admin_key(db)
    pid = await make_platform(db)
    r = await client.post(
        "/v1/api-keys",
        headers=auth(admin),
        json={"role": "platform", "platform_id": str(pid), "name": "backend"},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["key"]
    assert key.startswith("vnc_")
    assert len(key) >= 4 + 43
    assert (await client.get(f"/v1/platforms/{pid}", headers=auth(key))).status_code == 200

    listing = (await client.get("/v1/api-keys", headers=auth(admin))).json()
    assert all("key" not in k for k in listing["items"])
    assert key not in str(listing)

    r = await client.delete(f"/v1/api-keys/{created['id']}", headers=auth(admin))
    assert r.status_code == 200
    assert r.json()["revoked_at"]
    r = await client.get(f"/v1/platforms/{pid}", headers=auth(key))
    assert r.status_code == 401


async def test_key_role_must_match_owner(client, db) -> None:
    admin = await admin_key(db)
    r = await client.post("/v1/api-keys", headers=auth(admin), json={"role": "platform", "name": "x"})
    assert r.status_code == 422
    assert "platform_id" in r.json()["detail"]


async def test_401_is_identical_for_missing_unknown_revoked_expired(client, db) -> None:
    pid = await make_platform(db)
    revoked_id, revoked = await make_key(db, Role.platform, platform_id=pid)
    await auth_service.revoke_key(db, (await _system(db)), revoked_id)
    _, raw_exp = await auth_service.create_key(
        db,
        None,
        role=Role.platform,
        name="soon",
        platform_id=pid,
        expires_at=clock.now() + timedelta(minutes=5),
    )
    await db.flush()
    url = f"/v1/platforms/{pid}"
    assert (await client.get(url, headers=auth(raw_exp))).status_code == 200
    clock.advance(timedelta(minutes=6))
    bodies = []
    for headers in (
        {},
        auth("vnc_unknown_key_000000000000000000000000000"),
        auth(revoked),
        auth(raw_exp),
        {"Authorization": "Basic abc"},
    ):
        r = await client.get(url, headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Bearer")
        body = r.json()
        body.pop("request_id")
        bodies.append(body)
    assert all(b == bodies[0] for b in bodies)


async def _system(db):
    from tests.factories import SYSTEM

    return SYSTEM


async def test_revocation_in_another_process_takes_effect_within_cache_ttl(client, db) -> None:
    keys = await platform_keys(db)
    url = f"/v1/platforms/{keys.platform_id}"
    assert (await client.get(url, headers=auth(keys.platform))).status_code == 200
    # Another process revokes: our cache still holds the key, but only for <= 1 s.
    from sqlalchemy import update

    from vncomply.auth.models import ApiKey

    await db.execute(
        update(ApiKey)
        .where(ApiKey.key_hash == auth_service.hash_key(keys.platform))
        .values(revoked_at=clock.now())
    )
    auth_service._cache.clear()  # what the 1-second TTL does; the TTL itself is a setting <= 1 s
    assert (await client.get(url, headers=auth(keys.platform))).status_code == 401


def test_cache_ttl_is_capped_at_one_second() -> None:
    import pydantic
    import pytest

    from vncomply.config import Settings

    with pytest.raises(pydantic.ValidationError):
        Settings(key_cache_seconds=5)


async def test_platform_key_cannot_read_another_platform(client, db) -> None:
    a = await platform_keys(db, "A")
    b = await platform_keys(db, "B")
    r = await client.get(f"/v1/platforms/{b.platform_id}", headers=auth(a.platform))
    assert r.status_code == 404
    r = await client.get(f"/v1/platforms/{b.platform_id}", headers=auth(a.officer))
    assert r.status_code == 404
    assert (await client.get(f"/v1/platforms/{a.platform_id}", headers=auth(a.officer))).status_code == 200


async def test_malformed_cursor_is_422_not_500(app, client, db) -> None:
    """Every paginated list, with a key of each role: a cursor we did not issue is a 422 (or the
    role's 401/403), never a 500 — whatever its shape (wrong types, too short, out of range)."""
    import base64
    import json

    from tests.factories import make_authority, platform_keys

    def encode(cursor: list[object]) -> str:  # by hand: orjson refuses the out-of-range integer
        return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")

    k = await platform_keys(db)
    _, authority = await make_authority(db, "ABEI", [k.platform_id])
    keys = [await admin_key(db), k.platform, k.officer, authority]
    paths = app.openapi()["paths"]
    lists = [
        path
        for path, ops in paths.items()
        if "{" not in path and any(p["name"] == "cursor" for p in ops.get("get", {}).get("parameters", []))
    ]
    assert len(lists) >= 8, lists
    bad = [["x", "y"], ["x"], [-1], [2**70], [True], [], ["2026-01-01T00:00:00Z"], [None, None]]
    for path in lists:
        for key in keys:
            for cursor in bad:
                r = await client.get(path, headers=auth(key), params={"cursor": encode(cursor)})
                assert r.status_code in (401, 403, 422), (path, cursor, r.status_code, r.text)


async def test_an_officer_key_names_its_holder(client, db) -> None:
    """Four eyes are two people: an officer key is issued to a person, named on the key."""
    admin = await admin_key(db)
    pid = await make_platform(db)
    body = {"role": "officer", "platform_id": str(pid), "name": "compliance laptop"}
    r = await client.post("/v1/api-keys", headers=auth(admin), json=body)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "holder"
    r = await client.post("/v1/api-keys", headers=auth(admin), json={**body, "holder": "  Trần Thị Bình "})
    assert r.status_code == 201, r.text
    assert r.json()["holder"] == "Trần Thị Bình"
    listed = (await client.get("/v1/api-keys", headers=auth(admin))).json()["items"]
    assert [k["holder"] for k in listed if k["id"] == r.json()["id"]] == ["Trần Thị Bình"]
    # A machine key names no one (it may).
    r = await client.post(
        "/v1/api-keys", headers=auth(admin), json={"role": "platform", "platform_id": str(pid), "name": "b"}
    )
    assert r.status_code == 201
    assert r.json()["holder"] is None


def test_holders_compare_as_people() -> None:
    assert auth_service.same_person("Trần Thị Bình", "  trần  THỊ bình")
    assert auth_service.same_person("Tra\u0300n", "Tr\u00e0n")  # decomposed and composed accents
    assert not auth_service.same_person("Trần Thị Bình", "Trần Thị Bích")
