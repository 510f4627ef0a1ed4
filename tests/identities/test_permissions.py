"""The permission check: every reason, blocks and locks from the same statement, the batch form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, text

from tests.factories import auth, platform_keys
from tests.identities.helpers import NID, body
from vncomply.blocks.models import AccountBlock
from vncomply.kit import clock

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
# Savepoint statements come from the test harness's outer transaction, not from the app.
HARNESS = ("SAVEPOINT", "RELEASE", "ROLLBACK TO SAVEPOINT")
ALL = ("post", "comment", "share", "livestream", "livestream_commercial", "monetise")
# The actions needing a verified identity by the rule in force (verified_actions.v1): not monetise,
# which the rulebook gates on the contact filing only.
IDENTITY = ALL[:5]


@pytest.fixture(autouse=True)
def _frozen() -> None:
    clock.set_now(NOW)


async def _perm(client, key, account):
    r = await client.get(f"/v1/accounts/{account}/permissions", headers=auth(key))
    assert r.status_code == 200, r.text
    return r.json()


def _reasons(p):
    return {a: p["actions"][a]["reason"] for a in ALL}


async def _block(db, platform_id, account, *, days=None, starts=NOW, lifted=False, subject="account"):
    b = AccountBlock(
        platform_id=platform_id,
        subject_type=subject,
        subject_id=account,
        starts_at=starts,
        ends_at=starts + timedelta(days=days) if days else None,
        permanent=days is None,
        lifted_at=NOW if lifted else None,
        rule_id="lock.v1",
        apply_by=starts,
    )
    db.add(b)
    await db.flush()
    return b


async def test_verified_adult_and_commercial(client, db):
    k = await platform_keys(db)
    await client.put("/v1/identities/a", json=body(), headers=auth(k.platform))
    await client.put(
        "/v1/identities/c", json=body(national_id=NID, commercial_livestreamer=True), headers=auth(k.platform)
    )
    p = await _perm(client, k.platform, "a")
    assert p == {
        "account_id": "a",
        "verified": True,
        "blocked_until": None,
        "locked": False,
        "actions": {
            **{a: {"allowed": True, "reason": None} for a in ALL},
            "livestream_commercial": {"allowed": False, "reason": "national_id_required"},
        },
    }
    p = await _perm(client, k.platform, "c")
    assert all(p["actions"][a]["allowed"] for a in ALL)


async def test_unknown_revoked_closed(client, db):
    k = await platform_keys(db)
    p = await _perm(client, k.platform, "ghost")
    assert p["verified"] is False
    assert _reasons(p) == dict.fromkeys(IDENTITY, "unverified") | {"monetise": None}
    await client.put("/v1/identities/r", json=body(), headers=auth(k.platform))
    await client.post("/v1/identities/r/revoke", headers=auth(k.platform))
    assert _reasons(await _perm(client, k.platform, "r")) == dict.fromkeys(IDENTITY, "revoked") | {
        "monetise": None
    }
    await client.delete("/v1/identities/r", headers=auth(k.platform))
    # Closed wins over a block too.
    await _block(db, k.platform_id, "r")
    assert set(_reasons(await _perm(client, k.platform, "r")).values()) == {"closed"}
    # Another tenant's identity is unknown here.
    other = await platform_keys(db, "Other")
    await client.put("/v1/identities/x", json=body(), headers=auth(other.platform))
    assert (await _perm(client, k.platform, "x"))["verified"] is False


async def test_blocked_then_expires_and_locked(client, db):
    k = await platform_keys(db)
    await client.put("/v1/identities/a", json=body(), headers=auth(k.platform))
    await _block(db, k.platform_id, "a", days=7)
    await _block(db, k.platform_id, "a", days=15, starts=NOW + timedelta(days=1))  # not yet
    await _block(db, k.platform_id, "a", days=30, lifted=True)  # lifted
    await _block(db, k.platform_id, "a", subject="page")  # a page with the same id
    p = await _perm(client, k.platform, "a")
    assert p["blocked_until"] == "2026-12-02T03:00:00Z"
    assert p["locked"] is False
    assert set(_reasons(p).values()) == {"blocked"}
    clock.advance(timedelta(days=7))  # the 7-day block ends; nobody has to lift it
    p = await _perm(client, k.platform, "a")
    assert p["blocked_until"] == "2026-12-11T03:00:00Z"  # the second one has started
    clock.advance(timedelta(days=20))
    assert _reasons(await _perm(client, k.platform, "a")) == dict.fromkeys(ALL) | {
        "livestream_commercial": "national_id_required"
    }
    # A permanent lock outranks a concurrent temporary block.
    await _block(db, k.platform_id, "a", starts=clock.now())
    await _block(db, k.platform_id, "a", days=7, starts=clock.now())
    p = await _perm(client, k.platform, "a")
    assert p["locked"] is True
    assert set(_reasons(p).values()) == {"locked"}
    # Unverified comes before locked.
    await _block(db, k.platform_id, "ghost", starts=clock.now())
    p = await _perm(client, k.platform, "ghost")
    assert p["locked"] is True
    assert _reasons(p) == dict.fromkeys(IDENTITY, "unverified") | {"monetise": "locked"}


async def test_guardian_required(client, db):
    k = await platform_keys(db)
    guardian = {
        "full_name": "Trần Thị B",
        "date_of_birth": "1980-01-01",
        "phone_number": "0987654321",
        "relationship": "mother",
    }
    r = await client.put(
        "/v1/identities/kid",
        json=body(date_of_birth="2012-06-01", guardian=guardian),
        headers=auth(k.platform),
    )
    assert r.status_code == 201, r.text
    assert _reasons(await _perm(client, k.platform, "kid"))["post"] is None
    # A minor's row without a guardian (e.g. loaded before the rule): every identity action refused.
    await db.execute(text("UPDATE identities SET has_guardian = false WHERE account_id = 'kid'"))
    assert _reasons(await _perm(client, k.platform, "kid")) == dict.fromkeys(
        IDENTITY, "guardian_required"
    ) | {"monetise": None}
    # On the 16th birthday (Vietnam date) the guardian rule stops applying.
    clock.set_now(datetime(2028, 5, 31, 17, 0, tzinfo=UTC))  # 00:00 on 1 June in Hanoi
    assert _reasons(await _perm(client, k.platform, "kid"))["post"] is None


async def test_platform_contact_not_filed(client, db):
    k = await platform_keys(db, filed=False)
    await client.put(
        "/v1/identities/c", json=body(national_id=NID, commercial_livestreamer=True), headers=auth(k.platform)
    )
    assert _reasons(await _perm(client, k.platform, "c")) == {
        "post": None,
        "comment": None,
        "share": None,
        "livestream": "platform_contact_not_filed",
        "livestream_commercial": "platform_contact_not_filed",
        "monetise": "platform_contact_not_filed",
    }


async def test_batch_in_input_order(client, db):
    k = await platform_keys(db)
    await client.put("/v1/identities/a", json=body(), headers=auth(k.platform))
    await client.put("/v1/identities/b", json=body(), headers=auth(k.platform))
    await _block(db, k.platform_id, "b", days=7)
    ids = ["b", "ghost", "a", "b"]
    r = await client.post(
        "/v1/permissions/check", json={"action": "post", "account_ids": ids}, headers=auth(k.platform)
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"] == [
        {"account_id": "b", "allowed": False, "reason": "blocked"},
        {"account_id": "ghost", "allowed": False, "reason": "unverified"},
        {"account_id": "a", "allowed": True, "reason": None},
        {"account_id": "b", "allowed": False, "reason": "blocked"},
    ]
    r = await client.post(
        "/v1/permissions/check",
        json={"action": "livestream_commercial", "account_ids": ["a"]},
        headers=auth(k.platform),
    )
    assert r.json()["results"][0]["reason"] == "national_id_required"
    too_many = {"action": "post", "account_ids": [f"u{i}" for i in range(1001)]}
    r = await client.post("/v1/permissions/check", json=too_many, headers=auth(k.platform))
    assert r.status_code == 422
    r = await client.post(
        "/v1/permissions/check", json={"action": "dance", "account_ids": ["a"]}, headers=auth(k.platform)
    )
    assert r.status_code == 422
    assert (await client.get("/v1/accounts/a/permissions", headers=auth(k.officer))).status_code == 403


async def test_one_statement(client, db):
    """With the API key cached (1 s), a permission check is exactly one SQL statement."""
    k = await platform_keys(db)
    await client.put("/v1/identities/a", json=body(), headers=auth(k.platform))
    await _block(db, k.platform_id, "a", days=7)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sync_engine = (await db.connection()).engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", count)
    try:
        await _perm(client, k.platform, "a")  # warms the key cache
        statements.clear()
        p = await _perm(client, k.platform, "a")
        assert p["blocked_until"] is not None
        user = [s for s in statements if not s.lstrip().upper().startswith(HARNESS)]
        assert len(user) == 1, user
        assert "account_blocks" in user[0]
        assert "identities" in user[0]
        statements.clear()
        r = await client.post(
            "/v1/permissions/check",
            json={"action": "post", "account_ids": ["a", "b", "c"]},
            headers=auth(k.platform),
        )
        assert r.status_code == 200
        user = [s for s in statements if not s.lstrip().upper().startswith(HARNESS)]
        assert len(user) == 1, user
    finally:
        event.remove(sync_engine, "before_cursor_execute", count)


async def test_hot_path_outside_a_transaction(committed, monkeypatch):
    """With a real database (no outer test transaction) the check reads through the hot read pool:
    plain psycopg in autocommit (no BEGIN/COMMIT round trips), statements prepared."""
    from tests.factories import make_platform
    from vncomply.identities import permissions
    from vncomply.identities import service as identity_service
    from vncomply.identities.schemas import IdentityIn
    from vncomply.kit import db as dbmod
    from vncomply.kit.principal import Principal, Role

    async with committed() as s:
        pid = await make_platform(s)
        actor = Principal(pid, Role.platform, pid, None)
        await identity_service.put_identity(s, actor, "a", IdentityIn.model_validate(body()))
        await s.commit()
    from vncomply.config import get_settings

    await dbmod.dispose_engine()
    monkeypatch.setattr(get_settings(), "db_read_pool_size", 1)  # one connection: inspect its state
    p = await permissions.check_account(pid, "a")
    assert p["verified"] is True
    res = await permissions.check_batch(pid, "post", ["a", "b"])
    assert [r["allowed"] for r in res] == [True, False]
    pool = dbmod._read_pool
    assert pool is not None
    async with pool.connection() as conn:
        assert conn.autocommit is True
        cur = await conn.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [r[0] for r in await cur.fetchall()]
    assert sum("account_blocks" in p for p in prepared) == 2  # the single and the batch statement
