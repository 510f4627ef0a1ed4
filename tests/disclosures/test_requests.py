"""Creating and reading disclosure requests: validation, idempotency, scoping, deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.disclosures.conftest import (
    NID,
    PHONE,
    PHONE_E164,
    T0,
    World,
    create,
    request_body,
)
from tests.factories import auth, make_authority
from vncomply.kit import clock

URL = "/v1/disclosure-requests"


async def test_create_returns_pending_with_24h_deadline(client: httpx.AsyncClient, world: World) -> None:
    out = await create(client, world.key_a, request_body(world.a.platform_id))
    assert out["status"] == "pending_review"
    assert datetime.fromisoformat(out["received_at"]) == T0
    assert datetime.fromisoformat(out["due_at"]) == T0 + timedelta(hours=24)
    assert out["rule"] == {"id": "disclosure.standard.v2", "hours": 24}
    assert out["subject"] == {"type": "phone_number", "account_id": None, "masked": "+84 91* *** *78"}
    # The authority learns nothing about matches before a decision.
    assert out["matched_account_ids"] is None
    assert out["overdue"] is False
    assert out["remaining_seconds"] == 24 * 3600


async def test_emergency_after_july_2026_is_3_hours(client: httpx.AsyncClient, world: World) -> None:
    out = await create(client, world.key_a, request_body(world.a.platform_id, urgency="emergency"))
    assert datetime.fromisoformat(out["due_at"]) == T0 + timedelta(hours=3)
    assert out["rule"] == {"id": "disclosure.emergency.v2", "hours": 3}


async def test_no_statutory_deadline_before_july_2026(client: httpx.AsyncClient, world: World) -> None:
    # 2026-06-30 23:59 Vietnam time: the old rule still applies.
    clock.set_now(datetime(2026, 6, 30, 16, 59, tzinfo=UTC))
    for urgency in ("standard", "emergency"):
        out = await create(client, world.key_a, request_body(world.a.platform_id, urgency=urgency))
        assert out["due_at"] is None
        assert out["rule"] == {"id": f"disclosure.{urgency}.v1", "hours": None}
        assert out["overdue"] is False
        assert out["remaining_seconds"] is None
    # One minute later (00:00 on 1 July in Vietnam) the new law applies, and it does not move the
    # requests already received.
    clock.set_now(datetime(2026, 6, 30, 17, 0, tzinfo=UTC))
    out = await create(client, world.key_a, request_body(world.a.platform_id, urgency="emergency"))
    assert datetime.fromisoformat(out["due_at"]) == datetime(2026, 6, 30, 20, 0, tzinfo=UTC)
    clock.advance(timedelta(days=30))
    r = await client.get(URL, params={"overdue": "true"}, headers=auth(world.key_a))
    assert [i["id"] for i in r.json()["items"]] == [out["id"]]


async def test_same_reference_same_payload_returns_existing(client: httpx.AsyncClient, world: World) -> None:
    body = request_body(world.a.platform_id)
    first = await create(client, world.key_a, body)
    # The same phone in another spelling is the same subject.
    again = {**body, "subject": {"phone_number": "+84 912 345 678"}, "fields": body["fields"][::-1]}
    r = await client.post(URL, json=again, headers=auth(world.key_a))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == first["id"]
    r = await client.post(URL, json={**body, "reason": "something else"}, headers=auth(world.key_a))
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    # Another authority may use the same reference number.
    r = await client.post(URL, json=body, headers=auth(world.key_b))
    assert r.status_code == 201


async def test_idempotency_key_replays(client: httpx.AsyncClient, world: World) -> None:
    body = request_body(world.a.platform_id)
    h = {**auth(world.key_a), "Idempotency-Key": "disc-1"}
    r1 = await client.post(URL, json=body, headers=h)
    r2 = await client.post(URL, json=body, headers=h)
    assert r1.status_code == r2.status_code == 201
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert r1.json()["id"] == r2.json()["id"]


async def test_subject_validation(client: httpx.AsyncClient, world: World) -> None:
    pid = world.a.platform_id
    cases = [
        ({"national_id": "012345678"}, "CMND"),
        ({"national_id": "0010901234"}, "exactly 12"),
        ({"national_id": "999090123456"}, "province"),
        ({"phone_number": "02438250000"}, "landline"),
        ({"phone_number": PHONE, "national_id": NID}, "exactly one"),
        ({}, "exactly one"),
    ]
    for subject, words in cases:
        r = await client.post(URL, json=request_body(pid, subject=subject), headers=auth(world.key_a))
        assert r.status_code == 422, (subject, r.text)
        assert words in r.text, (subject, r.text)
        # A phone or ID number is never echoed back in an error.
        for value in subject.values():
            assert value not in r.text or len(value) < 9
    for fields in ([], ["full_name", "full_name"], ["password"]):
        r = await client.post(URL, json=request_body(pid, fields=fields), headers=auth(world.key_a))
        assert r.status_code == 422, fields
    r = await client.post(URL, json=request_body(pid, legal_basis=""), headers=auth(world.key_a))
    assert r.status_code == 422


async def test_only_authorities_for_addressable_platforms(
    db: AsyncSession, client: httpx.AsyncClient, world: World
) -> None:
    _, narrow = await make_authority(db, "DIC-HANOI", [world.b.platform_id])
    r = await client.post(URL, json=request_body(world.a.platform_id), headers=auth(narrow))
    assert r.status_code == 404
    # An officer records only phone or written requests, naming the authority (tests/disclosures/
    # test_by_phone.py); a platform key never submits one.
    r = await client.post(URL, json=request_body(world.a.platform_id), headers=auth(world.a.officer))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "authority_id"
    r = await client.post(URL, json=request_body(world.a.platform_id), headers=auth(world.a.platform))
    assert r.status_code == 403


async def test_scoping_of_reads(client: httpx.AsyncClient, world: World) -> None:
    mine = await create(client, world.key_a, request_body(world.a.platform_id))
    await create(client, world.key_b, request_body(world.a.platform_id))
    on_b = await create(client, world.key_a, request_body(world.b.platform_id))

    r = await client.get(f"{URL}/{mine['id']}", headers=auth(world.key_b))
    assert r.status_code == 404
    r = await client.get(f"{URL}/{mine['id']}", headers=auth(world.b.officer))
    assert r.status_code == 404
    r = await client.get(f"{URL}/{mine['id']}", headers=auth(world.a.officer))
    assert r.status_code == 200
    # The officer sees the preview of matched accounts (account ids only).
    assert r.json()["matched_account_ids"] == ["a-1", "a-2"]

    r = await client.get(URL, headers=auth(world.key_a))
    assert {i["id"] for i in r.json()["items"]} == {mine["id"], on_b["id"]}
    r = await client.get(URL, headers=auth(world.a.officer))
    assert len(r.json()["items"]) == 2
    assert on_b["id"] not in {i["id"] for i in r.json()["items"]}
    r = await client.get(URL, headers=auth(world.b.officer))
    assert [i["id"] for i in r.json()["items"]] == [on_b["id"]]


async def test_list_filters_and_pagination(client: httpx.AsyncClient, world: World) -> None:
    ids = []
    for _ in range(5):
        ids.append((await create(client, world.key_a, request_body(world.a.platform_id)))["id"])
        clock.advance(timedelta(minutes=1))
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        r = await client.get(URL, params=params, headers=auth(world.a.officer))
        assert r.status_code == 200
        seen += [i["id"] for i in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    r = await client.post(
        f"{URL}/{ids[0]}/decision",
        json={"decision": "reject", "reason": "no basis"},
        headers=auth(world.a.officer),
    )
    assert r.status_code == 200
    r = await client.get(URL, params={"status": "rejected"}, headers=auth(world.a.officer))
    assert [i["id"] for i in r.json()["items"]] == [ids[0]]
    r = await client.get(
        URL, params=[("status", "pending_review"), ("status", "rejected")], headers=auth(world.a.officer)
    )
    assert len(r.json()["items"]) == 5
    # 24 h after the first request, that one is rejected (answered) and the second is overdue.
    clock.set_now(T0 + timedelta(hours=24, minutes=1, seconds=30))
    r = await client.get(URL, params={"overdue": "true"}, headers=auth(world.a.officer))
    assert [i["id"] for i in r.json()["items"]] == [ids[1]]
    assert r.json()["items"][0]["overdue"] is True
    r = await client.get(URL, params={"overdue": "false"}, headers=auth(world.a.officer))
    assert [i["id"] for i in r.json()["items"]] == [ids[0], *ids[2:]]
    r = await client.get(URL, params={"cursor": "garbage"}, headers=auth(world.a.officer))
    assert r.status_code == 422


async def test_subject_pii_is_not_stored(db: AsyncSession, client: httpx.AsyncClient, world: World) -> None:
    await create(client, world.key_a, request_body(world.a.platform_id))
    await create(client, world.key_a, request_body(world.a.platform_id, subject={"national_id": NID}))
    rows = (await db.execute(text("select row_to_json(d)::text from disclosure_requests d"))).scalars()
    dump = "\n".join(rows)
    for plain in (PHONE, PHONE_E164, PHONE_E164[1:], NID, "912345678"):
        assert plain not in dump
    assert "001******456" in dump


async def test_account_subject(client: httpx.AsyncClient, world: World) -> None:
    out = await create(client, world.key_a, request_body(world.a.platform_id, subject={"account_id": "a-3"}))
    assert out["subject"] == {"type": "account_id", "account_id": "a-3", "masked": None}
    r = await client.get(f"{URL}/{out['id']}", headers=auth(world.a.officer))
    assert r.json()["matched_account_ids"] == ["a-3"]


async def test_request_received_event_and_audit(
    db: AsyncSession, client: httpx.AsyncClient, world: World
) -> None:
    out = await create(client, world.key_a, request_body(world.a.platform_id))
    ev = (
        await db.execute(
            text("select type, data::text from events where platform_id = :p order by seq"),
            {"p": world.a.platform_id},
        )
    ).all()
    assert [t for t, _ in ev] == ["disclosure.received"]
    assert out["id"] in ev[0][1]
    assert PHONE_E164 not in ev[0][1]
    audit = (
        (await db.execute(text("select action from audit_events where resource_id = :r"), {"r": out["id"]}))
        .scalars()
        .all()
    )
    assert audit == ["disclosure.received"]
