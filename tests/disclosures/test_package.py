"""The package: minimal disclosure, tenant isolation, expiry, and an audit record per fetch."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.disclosures.conftest import (
    ALL_FIELDS,
    NAME,
    NID,
    PHONE_E164,
    World,
    create,
    decide,
    package,
    request_body,
)
from tests.factories import auth
from vncomply.config import get_settings
from vncomply.kit import clock


async def _approved(client: httpx.AsyncClient, world: World, **body: object) -> dict[str, object]:
    req = await create(client, world.key_a, request_body(world.a.platform_id, **body))
    r = await decide(client, world.a.officer, str(req["id"]), decision="approve")
    assert r.status_code == 200, r.text
    return req


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_never_requested_or_approved_fields_never_appear(
    client: httpx.AsyncClient, world: World, data: st.DataObject
) -> None:
    requested = data.draw(st.lists(st.sampled_from(ALL_FIELDS), min_size=1, unique=True))
    approved = data.draw(
        st.lists(st.sampled_from(requested), min_size=1, max_size=len(requested), unique=True)
    )
    subject = data.draw(
        st.sampled_from([{"phone_number": "0912345678"}, {"national_id": NID}, {"account_id": "a-1"}])
    )
    body = request_body(world.a.platform_id, fields=requested, subject=subject)
    req = await create(client, world.key_a, body)
    if set(approved) == set(requested):
        r = await decide(client, world.a.officer, req["id"], decision="approve")
    else:
        r = await decide(
            client, world.a.officer, req["id"], decision="partially_approve", fields=approved,
            reason="minimal",
        )  # fmt: skip
    assert r.status_code == 200, r.text
    p = await package(client, world.key_a, req["id"])
    assert p.status_code == 200, p.text
    out = p.json()
    assert set(out["fields"]) == set(approved)
    assert out["accounts"], "the subject matches at least a-1"
    for account in out["accounts"]:
        assert set(account) == {"account_id", *approved}
        assert account["account_id"].startswith("a-")
    raw = p.text
    # Values of fields not approved are nowhere in the body.
    if "full_name" not in approved:
        assert NAME not in raw
    if "phone_number" not in approved:
        assert PHONE_E164 not in raw
    if "national_id" not in approved:
        assert NID not in raw
    if "date_of_birth" not in approved:
        assert "1990-05-17" not in raw
    if "verification" not in approved:
        assert "sms_otp" not in raw
    if "account_status" not in approved:
        assert 'verified"' not in raw


async def test_another_platforms_identity_is_never_matched(client: httpx.AsyncClient, world: World) -> None:
    for subject in ({"phone_number": "0912345678"}, {"national_id": NID}):
        req = await _approved(client, world, subject=subject, fields=ALL_FIELDS)
        accounts = (await package(client, world.key_a, str(req["id"]))).json()["accounts"]
        assert {a["account_id"] for a in accounts} <= {"a-1", "a-2"}
        assert "Lê Văn Cường" not in orjson.dumps(accounts).decode()
    # The same ID number asked of platform B finds only B's user.
    req = await create(
        client, world.key_a,
        request_body(world.b.platform_id, subject={"national_id": NID}, fields=["full_name"]),
    )  # fmt: skip
    r = await decide(client, world.b.officer, req["id"], decision="approve")
    assert r.json()["status"] == "approved"
    accounts = (await package(client, world.key_a, req["id"])).json()["accounts"]
    assert accounts == [{"account_id": "b-1", "full_name": "Lê Văn Cường"}]


async def test_all_fields(client: httpx.AsyncClient, world: World) -> None:
    req = await _approved(client, world, subject={"account_id": "a-1"}, fields=ALL_FIELDS)
    (account,) = (await package(client, world.key_a, str(req["id"]))).json()["accounts"]
    assert account["national_id"] == NID
    assert account["guardian"] is None
    assert account["verification"]["method"] == "sms_otp"
    assert account["account_status"]["status"] == "verified"


async def test_package_expires(client: httpx.AsyncClient, world: World) -> None:
    req = await _approved(client, world)
    days = get_settings().disclosure_package_days
    clock.advance(timedelta(days=days) - timedelta(seconds=1))
    assert (await package(client, world.key_a, str(req["id"]))).status_code == 200
    clock.advance(timedelta(seconds=1))
    p = await package(client, world.key_a, str(req["id"]))
    assert p.status_code == 410
    assert "gone" in p.json()["type"]
    r = await client.get(f"/v1/disclosure-requests/{req['id']}", headers=auth(world.key_a))
    assert r.json()["package_available"] is False


async def test_other_authority_cannot_read(client: httpx.AsyncClient, world: World) -> None:
    req = await _approved(client, world)
    rid = str(req["id"])
    assert (await package(client, world.key_b, rid)).status_code == 404
    r = await client.get(f"/v1/disclosure-requests/{rid}", headers=auth(world.key_b))
    assert r.status_code == 404
    r = await client.get("/v1/disclosure-requests", headers=auth(world.key_b))
    assert r.json()["items"] == []
    # Officers and platform keys never receive the package (only the requesting authority).
    for key in (world.a.officer, world.a.platform):
        assert (await package(client, key, rid)).status_code == 403
    assert (await package(client, world.key_a, str(uuid.uuid4()))).status_code == 404


async def test_every_fetch_is_audited(db: AsyncSession, client: httpx.AsyncClient, world: World) -> None:
    req = await _approved(client, world, fields=ALL_FIELDS)
    for _ in range(3):
        p = await package(client, world.key_a, str(req["id"]))
        assert p.status_code == 200
        assert p.headers["cache-control"] == "no-store"
    rows = (
        await db.execute(
            text(
                "select a.actor_key_id, a.actor_role, a.actor_authority_id, a.details::text "
                "from audit_events a where a.resource_id = :r and a.action = "
                "'disclosure.package_fetched' order by a.seq"
            ),
            {"r": str(req["id"])},
        )
    ).all()
    assert len(rows) == 3
    key_ids = (
        (await db.execute(text("select id from api_keys where authority_id = :a"), {"a": world.authority_a}))
        .scalars()
        .all()
    )
    for n, (key_id, role, authority_id, details) in enumerate(rows, start=1):
        assert key_id in key_ids
        assert role == "authority"
        assert authority_id == world.authority_a
        d = orjson.loads(details)
        assert d["fetch_no"] == n
        assert d["accounts"] == 2
        for plain in (NAME, PHONE_E164, NID, "1990-05-17"):
            assert plain not in details
    # Nothing in the whole audit trail or outbox carries the PII.
    dump = "\n".join(
        (await db.execute(text("select details::text from audit_events"))).scalars().all()
        + (await db.execute(text("select data::text from events"))).scalars().all()
    )
    for plain in (NAME, PHONE_E164, NID):
        assert plain not in dump


async def test_refused_fetches_are_audited_too(
    client: httpx.AsyncClient, world: World, db: AsyncSession
) -> None:
    """Before approval (409) and after expiry (410) the fetch fails, and the attempt is on record."""
    req = await create(client, world.key_a, request_body(world.a.platform_id))
    path = f"/v1/disclosure-requests/{req['id']}/package"
    early = await package(client, world.key_a, str(req["id"]))
    assert early.status_code == 409
    assert early.headers["content-type"].startswith("application/problem+json")
    assert early.json() == {
        "type": "https://vncomply.dev/problems/illegal-transition",
        "title": "Not possible in the current state",
        "status": 409,
        "detail": "No package: the request is pending_review; a package exists only once an officer "
        "has approved the request (approved or partially_approved).",
        "instance": path,
        "request_id": early.headers["x-request-id"],
        "current_state": "pending_review",
    }
    r = await decide(client, world.a.officer, str(req["id"]), decision="approve")
    assert r.status_code == 200
    expires = r.json()["package_expires_at"]
    clock.advance(timedelta(days=get_settings().disclosure_package_days))
    late = await package(client, world.key_a, str(req["id"]))
    assert late.status_code == 410
    assert late.json() == {
        "type": "https://vncomply.dev/problems/gone",
        "title": "No longer available",
        "status": 410,
        "detail": f"The package for this request was available until {expires.replace('Z', '+00:00')} "
        "and has expired; ask the platform's compliance officer through a new request if you still "
        "need the data.",
        "instance": path,
        "request_id": late.headers["x-request-id"],
    }
    assert late.headers["cache-control"] == "no-store"  # every response: kit/headers.py
    rows = (
        await db.execute(
            text(
                "SELECT action, details FROM audit_events WHERE resource_id = :rid "
                "AND action LIKE 'disclosure.package%' ORDER BY seq"
            ),
            {"rid": str(req["id"])},
        )
    ).all()
    assert [(a, d["http_status"]) for a, d in rows] == [
        ("disclosure.package_refused", 409),
        ("disclosure.package_refused", 410),
    ]
