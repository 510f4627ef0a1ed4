"""Officer review: approve, partial approval, rejection, no data, the two-officer rule."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.disclosures.conftest import World, create, decide, package, request_body
from tests.factories import auth, make_key
from vncomply.kit.principal import Role

FIELDS = ["full_name", "date_of_birth", "phone_number"]


async def test_approve_releases_requested_fields(client: httpx.AsyncClient, world: World) -> None:
    req = await create(client, world.key_a, request_body(world.a.platform_id, fields=FIELDS))
    r = await decide(client, world.a.officer, req["id"], decision="approve")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "approved"
    assert out["approved_fields"] == FIELDS
    assert out["package_available"] is True
    assert out["answered_on_time"] is True
    p = await package(client, world.key_a, req["id"])
    assert p.status_code == 200, p.text
    assert [a["account_id"] for a in p.json()["accounts"]] == ["a-1", "a-2"]
    assert p.json()["accounts"][0] == {
        "account_id": "a-1",
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "1990-05-17",
        "phone_number": "+84912345678",
    }


async def test_partial_approval(client: httpx.AsyncClient, world: World) -> None:
    req = await create(client, world.key_a, request_body(world.a.platform_id, fields=FIELDS))
    officer = world.a.officer
    r = await decide(client, officer, req["id"], decision="partially_approve", fields=["full_name"])
    assert r.status_code == 422
    assert "reason" in r.text
    r = await decide(client, officer, req["id"], decision="partially_approve", fields=FIELDS, reason="x")
    assert r.status_code == 422
    assert "at least one" in r.text
    r = await decide(
        client, officer, req["id"], decision="partially_approve", fields=["national_id"], reason="x"
    )
    assert r.status_code == 422
    assert "not requested" in r.text
    r = await decide(client, officer, req["id"], decision="partially_approve", reason="x")
    assert r.status_code == 422
    r = await decide(client, officer, req["id"], decision="approve", fields=["full_name"])
    assert r.status_code == 422
    assert "partially_approve" in r.text

    r = await decide(
        client, officer, req["id"], decision="partially_approve",
        fields=["phone_number", "full_name"], reason="Date of birth is not needed",
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "partially_approved"
    assert r.json()["approved_fields"] == ["full_name", "phone_number"]
    assert r.json()["decision_reason"] == "Date of birth is not needed"
    p = (await package(client, world.key_a, req["id"])).json()
    assert p["fields"] == ["full_name", "phone_number"]
    for account in p["accounts"]:
        assert set(account) == {"account_id", "full_name", "phone_number"}


async def test_rejection(db: AsyncSession, client: httpx.AsyncClient, world: World) -> None:
    req = await create(client, world.key_a, request_body(world.a.platform_id))
    r = await decide(client, world.a.officer, req["id"], decision="reject")
    assert r.status_code == 422
    assert "reason" in r.text
    r = await decide(client, world.a.officer, req["id"], decision="reject", reason="No legal basis")
    assert r.status_code == 200
    out = r.json()
    assert out["status"] == "rejected"
    assert out["approved_fields"] is None
    assert out["package_available"] is False
    # The authority sees the reason, but never the accounts.
    r = await client.get(f"/v1/disclosure-requests/{req['id']}", headers=auth(world.key_a))
    assert r.json()["decision_reason"] == "No legal basis"
    assert r.json()["matched_account_ids"] is None
    p = await package(client, world.key_a, req["id"])
    assert p.status_code == 409
    assert p.json()["current_state"] == "rejected"
    # A decision is final.
    r = await decide(client, world.a.officer, req["id"], decision="approve")
    assert r.status_code == 409
    assert r.json()["current_state"] == "rejected"
    assert "illegal-transition" in r.json()["type"]
    types = (
        (
            await db.execute(
                text("select type from events where platform_id = :p order by seq"),
                {"p": world.a.platform_id},
            )
        )
        .scalars()
        .all()
    )
    assert types == ["disclosure.received", "disclosure.decided"]


async def test_package_not_before_approval(client: httpx.AsyncClient, world: World) -> None:
    req = await create(client, world.key_a, request_body(world.a.platform_id))
    p = await package(client, world.key_a, req["id"])
    assert p.status_code == 409
    assert p.json()["current_state"] == "pending_review"


async def test_no_match_is_no_data(client: httpx.AsyncClient, world: World) -> None:
    # b-1 exists only on platform B; asking platform A about it finds nothing.
    req = await create(client, world.key_a, request_body(world.a.platform_id, subject={"account_id": "b-1"}))
    r = await decide(client, world.a.officer, req["id"], decision="approve")
    assert r.status_code == 200
    assert r.json()["status"] == "no_data"
    assert r.json()["package_available"] is False
    p = await package(client, world.key_a, req["id"])
    assert p.status_code == 409
    assert p.json()["current_state"] == "no_data"


async def test_only_the_platforms_officer_decides(client: httpx.AsyncClient, world: World) -> None:
    req = await create(client, world.key_a, request_body(world.a.platform_id))
    r = await decide(client, world.b.officer, req["id"], decision="approve")
    assert r.status_code == 404
    for key in (world.key_a, world.a.platform):
        r = await decide(client, key, req["id"], decision="approve")
        assert r.status_code == 403


async def test_two_officer_rule(db: AsyncSession, client: httpx.AsyncClient, world2: World) -> None:
    w = world2
    _, officer2 = await make_key(db, Role.officer, platform_id=w.a.platform_id)
    req = await create(client, w.key_a, request_body(w.a.platform_id, fields=FIELDS))

    r = await decide(client, w.a.officer, req["id"], decision="approve")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "awaiting_second_approval"
    assert r.json()["approved_fields"] is None
    assert r.json()["first_approval"]["fields"] == FIELDS
    p = await package(client, w.key_a, req["id"])
    assert p.status_code == 409
    assert p.json()["current_state"] == "awaiting_second_approval"

    # The same officer key cannot confirm its own approval.
    r = await decide(client, w.a.officer, req["id"], decision="approve")
    assert r.status_code == 409
    assert r.json()["current_state"] == "awaiting_second_approval"
    assert "different officer" in r.json()["detail"]

    # The second officer may narrow the approval, never widen it.
    r = await decide(
        client, officer2, req["id"], decision="partially_approve", fields=["full_name"],
        reason="Name suffices",
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "partially_approved"
    assert r.json()["approved_fields"] == ["full_name"]
    p = await package(client, w.key_a, req["id"])
    assert p.status_code == 200
    assert all(set(a) == {"account_id", "full_name"} for a in p.json()["accounts"])


async def test_two_officers_second_confirms_first_partial(
    db: AsyncSession, client: httpx.AsyncClient, world2: World
) -> None:
    w = world2
    _, officer2 = await make_key(db, Role.officer, platform_id=w.a.platform_id)
    req = await create(client, w.key_a, request_body(w.a.platform_id, fields=FIELDS))
    r = await decide(
        client, w.a.officer, req["id"], decision="partially_approve",
        fields=["full_name", "date_of_birth"], reason="No phone",
    )  # fmt: skip
    assert r.json()["status"] == "awaiting_second_approval"
    # Widening what the first officer approved is refused.
    r = await decide(
        client, officer2, req["id"], decision="partially_approve",
        fields=["full_name", "phone_number"], reason="x",
    )  # fmt: skip
    assert r.status_code == 422
    r = await decide(client, officer2, req["id"], decision="approve")
    assert r.status_code == 200
    assert r.json()["status"] == "partially_approved"
    assert r.json()["approved_fields"] == ["full_name", "date_of_birth"]


async def test_two_officers_second_rejects(
    db: AsyncSession, client: httpx.AsyncClient, world2: World
) -> None:
    w = world2
    _, officer2 = await make_key(db, Role.officer, platform_id=w.a.platform_id)
    req = await create(client, w.key_a, request_body(w.a.platform_id))
    await decide(client, w.a.officer, req["id"], decision="approve")
    r = await decide(client, officer2, req["id"], decision="reject", reason="Disagree")
    assert r.json()["status"] == "rejected"
    actions = (
        (
            await db.execute(
                text("select action from audit_events where resource_id = :r order by seq"),
                {"r": req["id"]},
            )
        )
        .scalars()
        .all()
    )
    assert actions == ["disclosure.received", "disclosure.first_approval", "disclosure.decided"]


async def test_two_officers_a_first_rejection_is_final(client: httpx.AsyncClient, world2: World) -> None:
    req = await create(client, world2.key_a, request_body(world2.a.platform_id))
    r = await decide(client, world2.a.officer, req["id"], decision="reject", reason="No basis")
    assert r.json()["status"] == "rejected"


async def test_two_keys_of_one_person_are_one_officer(
    db: AsyncSession, client: httpx.AsyncClient, world2: World
) -> None:
    """The two-officer rule counts people: a second key held by the first approver (however the
    name is spelled in case and spacing) cannot confirm; another person can."""
    w = world2
    pid = w.a.platform_id
    _, hoa = await make_key(db, Role.officer, platform_id=pid, holder="Nguyễn Thị Hoa")
    _, hoa_phone = await make_key(db, Role.officer, platform_id=pid, holder="  nguyễn thị  HOA ")
    _, binh = await make_key(db, Role.officer, platform_id=pid, holder="Trần Văn Bình")
    req = await create(client, w.key_a, request_body(pid, fields=FIELDS))
    assert (await decide(client, hoa, req["id"], decision="approve")).json()["status"] == (
        "awaiting_second_approval"
    )
    for decision in ({"decision": "approve"}, {"decision": "reject", "reason": "changed my mind"}):
        r = await decide(client, hoa_phone, req["id"], **decision)
        assert r.status_code == 409, r.text
        assert r.json()["current_state"] == "awaiting_second_approval"
        assert "person who holds this key" in r.json()["detail"]
    r = await decide(client, binh, req["id"], decision="approve")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"


async def test_a_key_naming_no_one_cannot_take_part_in_four_eyes(
    db: AsyncSession, client: httpx.AsyncClient, world2: World
) -> None:
    """Officer keys issued before holders existed name no one: on a two-officer platform they
    cannot approve (who they are is unknown); elsewhere they work as before."""
    pid = world2.a.platform_id
    legacy_id, legacy = await make_key(db, Role.officer, platform_id=pid)
    await db.execute(text("UPDATE api_keys SET holder = NULL WHERE id = :i"), {"i": legacy_id})
    _, other = await make_key(db, Role.officer, platform_id=pid)
    req = await create(client, world2.key_a, request_body(pid, fields=FIELDS))
    r = await decide(client, legacy, req["id"], decision="approve")
    assert r.status_code == 403, r.text
    assert "holder" in r.json()["detail"]
    # A first approval made with such a key (before the upgrade) cannot be confirmed, only rejected.
    assert (await decide(client, other, req["id"], decision="approve")).status_code == 200
    await db.execute(
        text("UPDATE disclosure_requests SET first_officer_key_id = :k WHERE id = :r"),
        {"k": legacy_id, "r": req["id"]},
    )
    _, third = await make_key(db, Role.officer, platform_id=pid)
    r = await decide(client, third, req["id"], decision="approve")
    assert r.status_code == 409
    assert "names no holder" in r.json()["detail"]
    r = await decide(client, third, req["id"], decision="reject", reason="re-send it")
    assert r.json()["status"] == "rejected"
    # One officer suffices on a platform without the rule: a holderless key decides as before.
    one_id, one = await make_key(db, Role.officer, platform_id=world2.b.platform_id)
    await db.execute(text("UPDATE api_keys SET holder = NULL WHERE id = :i"), {"i": one_id})
    req = await create(client, world2.key_a, request_body(world2.b.platform_id, fields=FIELDS))
    assert (await decide(client, one, req["id"], decision="approve")).json()["status"] == "approved"
