"""Decree 147 lock rules applied after each violation, with the clock moved across 90+ days."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update

import vncomply.blocks.deadline  # noqa: F401  (registers the handler with the engine)
from tests.blocks.helpers import T0, blocks_of, events_of, violate, violation_body
from tests.factories import auth, make_authority, platform_keys
from tests.identities.helpers import body as identity_body
from vncomply.blocks.deadline import HANDLER_NAME
from vncomply.blocks.models import Violation
from vncomply.deadlines.engine import sweep
from vncomply.kit import clock
from vncomply.platforms.models import Platform


async def _sweep() -> int:
    return (await sweep(None, clock.now(), names=[HANDLER_NAME], record=False)).processed


async def test_fifth_violation_in_30_days_locks_for_7_days(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    aid, _ = await make_authority(db, "ABEI", [k.platform_id])
    for _ in range(4):
        r = await client.post("/v1/violations", headers=auth(k.officer), json=violation_body(aid))
        assert r.status_code == 201, r.text
        assert r.json()["consumed_by_block_id"] is None
        clock.advance(timedelta(days=6))
    r = await client.get("/v1/account-blocks", headers=auth(k.platform))
    assert r.json()["items"] == []

    r = await client.post("/v1/violations", headers=auth(k.officer), json=violation_body(aid))
    assert r.status_code == 201, r.text
    block_id = r.json()["consumed_by_block_id"]
    assert block_id is not None

    r = await client.get("/v1/account-blocks", headers=auth(k.platform))
    [b] = r.json()["items"]
    assert b["id"] == block_id
    assert (b["origin"], b["kind"], b["status"], b["active"]) == ("rule", "temporary", "active", True)
    assert b["duration_days"] == 7
    assert b["temporary_lock_no"] == 1
    assert b["rule_id"] == "lock.v1"
    assert b["trigger"]["met"] == {"count": 5, "days": 30}
    now = clock.now()
    [row] = await blocks_of(db, k.platform_id)
    assert row.ends_at == now + timedelta(days=7)
    assert row.apply_by == now + timedelta(hours=24)
    assert row.next_action_at == row.apply_by
    assert len(await events_of(db, k.platform_id, "block.started")) == 1

    r = await client.get("/v1/accounts/acct-1/violations", headers=auth(k.officer))
    items = r.json()["items"]
    assert len(items) == 5
    assert {v["consumed_by_block_id"] for v in items} == {block_id}
    r = await client.get(
        "/v1/violations",
        params={"subject_type": "account", "subject_id": "acct-1"},
        headers=auth(k.platform),
    )
    assert len(r.json()["items"]) == 5


async def test_permission_check_right_at_ends_at_and_block_ended_by_sweep(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    aid, _ = await make_authority(db, "ABEI", [k.platform_id])
    r = await client.put("/v1/identities/acct-1", headers=auth(k.platform), json=identity_body())
    assert r.status_code in (200, 201), r.text
    for _ in range(5):
        await violate(db, k.platform_id, aid)
    [b] = await blocks_of(db, k.platform_id)
    assert b.ends_at is not None
    r = await client.post(f"/v1/account-blocks/{b.id}/applied", headers=auth(k.platform))
    assert r.status_code == 200
    assert r.json()["applied_at"] is not None

    perm = await client.get("/v1/accounts/acct-1/permissions", headers=auth(k.platform))
    assert perm.json()["actions"]["post"] == {"allowed": False, "reason": "blocked"}

    clock.set_now(b.ends_at - timedelta(seconds=1))
    perm = (await client.get("/v1/accounts/acct-1/permissions", headers=auth(k.platform))).json()
    assert perm["actions"]["post"] == {"allowed": False, "reason": "blocked"}
    assert perm["blocked_until"] is not None
    assert (await client.get(f"/v1/account-blocks/{b.id}", headers=auth(k.officer))).json()["active"]
    assert await _sweep() == 0  # nothing due yet

    clock.set_now(b.ends_at)  # the sweep has not run: reads are right anyway
    perm = (await client.get("/v1/accounts/acct-1/permissions", headers=auth(k.platform))).json()
    assert perm["actions"]["post"] == {"allowed": True, "reason": None}
    got = (await client.get(f"/v1/account-blocks/{b.id}", headers=auth(k.officer))).json()
    assert (got["status"], got["active"]) == ("expired", False)
    r = await client.get("/v1/account-blocks", params={"active": "true"}, headers=auth(k.officer))
    assert r.json()["items"] == []
    assert await events_of(db, k.platform_id, "block.ended") == []

    clock.advance(timedelta(minutes=5))  # the sweep runs late
    assert await _sweep() == 1
    ended = await events_of(db, k.platform_id, "block.ended")
    assert len(ended) == 1
    assert ended[0]["block_id"] == str(b.id)
    assert await _sweep() == 0
    assert len(await events_of(db, k.platform_id, "block.ended")) == 1
    [b] = await blocks_of(db, k.platform_id)
    assert b.end_recorded_at is not None
    assert b.next_action_at is None


async def test_ten_in_90_days_without_five_in_any_30(db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    aid, _ = await make_authority(db, "ABEI", [k.platform_id])
    for i in range(10):
        if i:
            clock.advance(timedelta(days=9))  # at most 4 in any 30-day window
        v = await violate(db, k.platform_id, aid)
        if i < 9:
            assert v.consumed_by_block_id is None
            assert await blocks_of(db, k.platform_id) == []
    [b] = await blocks_of(db, k.platform_id)
    assert b.trigger is not None
    assert b.trigger["met"] == {"count": 10, "days": 90}
    assert [c["found"] for c in b.trigger["counts"]] == [4, 10]
    assert b.duration_days == 7


async def test_violations_during_a_lock_count_toward_the_next(db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    aid, _ = await make_authority(db, "ABEI", [k.platform_id])
    for _ in range(5):
        await violate(db, k.platform_id, aid)
    clock.advance(timedelta(days=1))
    for _ in range(5):  # already locked: recorded, no second block
        v = await violate(db, k.platform_id, aid)
        assert v.consumed_by_block_id is None
    assert len(await blocks_of(db, k.platform_id)) == 1
    clock.advance(timedelta(days=7))  # the first lock is over; 5 unconsumed in 30 days remain
    consumed_by = (await violate(db, k.platform_id, aid)).consumed_by_block_id
    _, second = await blocks_of(db, k.platform_id)
    assert consumed_by == second.id
    assert (second.temporary_lock_no, second.duration_days) == (2, 15)


async def test_fourth_lock_after_three_temporary_is_permanent(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    aid, _ = await make_authority(db, "ABEI", [k.platform_id])
    # The platform's enforcement setting gives the lengths of the 1st, 2nd, 3rd lock.
    await db.execute(update(Platform).where(Platform.id == k.platform_id).values(lock_days=[10, 20, 30]))
    expected = [10, 20, 30]
    for n in range(3):
        for _ in range(5):
            await violate(db, k.platform_id, aid)
            clock.advance(timedelta(hours=1))
        blocks = await blocks_of(db, k.platform_id)
        assert len(blocks) == n + 1
        assert (blocks[-1].temporary_lock_no, blocks[-1].duration_days) == (n + 1, expected[n])
        assert not blocks[-1].permanent
        clock.advance(timedelta(days=expected[n] + 1))
    for _ in range(5):
        await violate(db, k.platform_id, aid)
    blocks = await blocks_of(db, k.platform_id)
    assert len(blocks) == 4
    last = blocks[-1]
    assert last.permanent
    assert last.ends_at is None
    assert last.temporary_lock_no is None
    got = (await client.get(f"/v1/account-blocks/{last.id}", headers=auth(k.platform))).json()
    assert (got["kind"], got["status"]) == ("permanent", "active")
    clock.advance(timedelta(days=3650))
    got = (await client.get(f"/v1/account-blocks/{last.id}", headers=auth(k.platform))).json()
    assert got["active"] is True
    r = await client.get("/v1/account-blocks", params={"kind": "permanent"}, headers=auth(k.officer))
    assert [b["id"] for b in r.json()["items"]] == [str(last.id)]


async def test_old_and_other_subjects_violations_do_not_count(db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    aid, _ = await make_authority(db, "ABEI", [k.platform_id])
    for _ in range(4):
        await violate(db, k.platform_id, aid)
    await violate(db, k.platform_id, aid, subject_id="acct-2")
    await violate(db, k.platform_id, aid, subject_type="page")  # page acct-1 is another subject
    assert await blocks_of(db, k.platform_id) == []
    clock.advance(timedelta(days=31))  # the four fall out of the 30-day window
    await violate(db, k.platform_id, aid)
    assert await blocks_of(db, k.platform_id) == []


async def test_manual_violation_validation(client, db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    aid, akey = await make_authority(db, "ABEI", [k.platform_id])
    r = await client.post(
        "/v1/violations",
        headers=auth(k.officer),
        json=violation_body(aid, occurred_at=(T0 + timedelta(hours=1)).isoformat()),
    )
    assert r.status_code == 422
    assert "future" in r.json()["detail"]
    r = await client.post(
        "/v1/violations",
        headers=auth(k.officer),
        json=violation_body(uuid.UUID(int=1)),
    )
    assert r.status_code == 404  # as `addressable` answers everywhere for an unknown authority
    assert str(uuid.UUID(int=1)) in r.json()["detail"]
    r = await client.post("/v1/violations", headers=auth(k.platform), json=violation_body(aid))
    assert r.status_code == 403
    r = await client.post("/v1/violations", headers=auth(akey), json=violation_body(aid))
    assert r.status_code == 403


async def test_manual_violation_names_only_an_authority_that_may_address_the_platform(client, db) -> None:
    """An officer cannot pin a violation (and so a lock) on an authority that could not have sent
    the order: the same `addressable` check as the authority's own orders, the same 404."""
    clock.set_now(T0)
    k = await platform_keys(db)
    other = await platform_keys(db, "OtherSocial")
    elsewhere, _ = await make_authority(db, "DTTT-HN", [other.platform_id])  # addresses only `other`
    r = await client.post("/v1/violations", headers=auth(k.officer), json=violation_body(elsewhere))
    assert r.status_code == 404, r.text
    assert r.json()["detail"] == (f"No platform with id {k.platform_id} is addressable by this authority.")
    assert (await db.scalars(select(Violation).where(Violation.platform_id == k.platform_id))).all() == []
    # The other platform's officer may name it.
    r = await client.post("/v1/violations", headers=auth(other.officer), json=violation_body(elsewhere))
    assert r.status_code == 201, r.text


async def test_switching_to_the_draft_profile_is_a_data_change(db, monkeypatch) -> None:
    """The draft (3 in 30 days) is off; turning it on changes the outcome without code changes."""
    import dataclasses

    from vncomply.rulebook import rules as rulebook

    clock.set_now(T0)
    k = await platform_keys(db)
    aid, _ = await make_authority(db, "ABEI", [k.platform_id])
    for _ in range(3):
        await violate(db, k.platform_id, aid)
    assert await blocks_of(db, k.platform_id) == []  # lock.v1 is in force: 3 is not enough

    draft = dataclasses.replace(rulebook.rule_by_id("lock.draft-2026-02"), in_force=True)
    real = rulebook.in_force
    monkeypatch.setattr(rulebook, "in_force", lambda topic, at: draft if topic == "lock" else real(topic, at))
    await violate(db, k.platform_id, aid, subject_id="acct-2")
    await violate(db, k.platform_id, aid, subject_id="acct-2")
    assert await blocks_of(db, k.platform_id, "acct-2") == []
    await violate(db, k.platform_id, aid, subject_id="acct-2")
    [b] = await blocks_of(db, k.platform_id, "acct-2")
    assert b.rule_id == "lock.draft-2026-02"
    assert b.trigger is not None
    assert b.trigger["met"] == {"count": 3, "days": 30}
