"""Reference numbers belong to one platform: takedown orders, block orders and disclosure requests
are unique per (authority, platform, reference_no), replay identical resubmissions, and a 409 names
only the caller's own order (vncomply.kit.references)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from tests.blocks.helpers import order_body as block_body
from tests.disclosures.conftest import request_body as disclosure_body
from tests.factories import auth, make_authority, make_key, platform_keys
from tests.takedowns.helpers import T0
from tests.takedowns.helpers import order_body as takedown_body
from vncomply.blocks import service as blocks
from vncomply.blocks.models import AccountBlock
from vncomply.blocks.schemas import BlockOrder
from vncomply.disclosures import service as disclosures
from vncomply.disclosures.models import DisclosureRequest
from vncomply.disclosures.schemas import DisclosureRequestCreate
from vncomply.kit import clock, references
from vncomply.kit.principal import Principal, Role
from vncomply.takedowns import intake
from vncomply.takedowns.models import TakedownOrder
from vncomply.takedowns.schemas import TakedownCreate

REF = "1234/CV-BTTTT"


@dataclass(frozen=True)
class Kind:
    name: str
    url: str
    body: Callable[[uuid.UUID, str], dict[str, Any]]
    change: dict[str, Any]  # other content under the same reference
    model: type[Any]


KINDS = [
    Kind(
        "takedown",
        "/v1/takedown-orders",
        lambda pid, ref: takedown_body(pid, ref=ref),
        {"category": "gambling"},
        TakedownOrder,
    ),
    Kind(
        "block",
        "/v1/account-blocks",
        lambda pid, ref: block_body(pid, reference_no=ref),
        {"duration_days": 20},
        AccountBlock,
    ),
    Kind(
        "disclosure",
        "/v1/disclosure-requests",
        lambda pid, ref: disclosure_body(pid, reference_no=ref),
        {"reason": "Another investigation"},
        DisclosureRequest,
    ),
]
by_name = pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])


@dataclass
class Two:
    a: Any
    b: Any
    authority_id: uuid.UUID
    key: str


async def _two(db) -> Two:
    """Platforms A and B, and one authority that may address both."""
    clock.set_now(T0)
    a = await platform_keys(db, "SocialA")
    b = await platform_keys(db, "SocialB")
    aid, key = await make_authority(db, "ABEI", [a.platform_id, b.platform_id])
    return Two(a, b, aid, key)


async def _post(client: httpx.AsyncClient, key: str, url: str, body: dict[str, Any], status: int) -> Any:
    r = await client.post(url, headers=auth(key), json=body)
    assert r.status_code == status, r.text
    return r.json()


@by_name
async def test_one_letter_to_two_platforms(client, db, kind: Kind) -> None:
    t = await _two(db)
    to_a = await _post(client, t.key, kind.url, kind.body(t.a.platform_id, REF), 201)
    to_b = await _post(client, t.key, kind.url, kind.body(t.b.platform_id, REF), 201)
    assert to_a["id"] != to_b["id"]
    assert (to_a["platform_id"], to_b["platform_id"]) == (str(t.a.platform_id), str(t.b.platform_id))
    # Each retry replays its own platform's order.
    again_a = await _post(client, t.key, kind.url, kind.body(t.a.platform_id, REF), 200)
    again_b = await _post(client, t.key, kind.url, kind.body(t.b.platform_id, REF), 200)
    assert (again_a["id"], again_b["id"]) == (to_a["id"], to_b["id"])


@by_name
async def test_other_content_is_a_409_naming_only_the_callers_order(client, db, kind: Kind) -> None:
    t = await _two(db)
    to_a = await _post(client, t.key, kind.url, kind.body(t.a.platform_id, REF), 201)
    to_b = await _post(client, t.key, kind.url, kind.body(t.b.platform_id, REF), 201)
    r = await client.post(
        kind.url, headers=auth(t.key), json={**kind.body(t.a.platform_id, REF), **kind.change}
    )
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["existing_id"] == to_a["id"]
    assert REF in problem["detail"]
    assert to_a["id"] in problem["detail"]
    assert to_b["id"] not in r.text
    assert str(t.b.platform_id) not in r.text
    # What it names, the caller may read.
    got = await client.get(f"{kind.url}/{problem['existing_id']}", headers=auth(t.key))
    assert got.status_code == 200


async def test_an_officer_cannot_take_a_reference_from_another_platform(client, db) -> None:
    """Officers record phone and written orders on an authority's behalf. Platform A's officer
    using a reference platform B received (or will receive) blocks nothing and learns nothing."""
    t = await _two(db)
    url = "/v1/takedown-orders"
    to_b = await _post(client, t.key, url, takedown_body(t.b.platform_id, ref=REF), 201)
    phone = takedown_body(ref=REF, authority_id=str(t.authority_id), channel="phone")
    r = await client.post(url, headers=auth(t.a.officer), json=phone)
    assert r.status_code == 201, r.text
    assert to_b["id"] not in r.text
    assert str(t.b.platform_id) not in r.text
    recorded_by_a = r.json()

    # A "future" reference: A's officer records first; the authority's order to B still goes in.
    future = "5678/CV-BTTTT"
    phone_future = takedown_body(ref=future, authority_id=str(t.authority_id), channel="phone")
    mine = await _post(client, t.a.officer, url, phone_future, 201)
    to_b2 = await _post(client, t.key, url, takedown_body(t.b.platform_id, ref=future), 201)
    assert mine["id"] not in str(to_b2)

    # On A itself the number is taken: the officer and the authority are both told about A's order,
    # which both may read.
    other = {**phone, "category": "gambling"}
    r = await client.post(url, headers=auth(t.a.officer), json=other)
    assert (r.status_code, r.json()["existing_id"]) == (409, recorded_by_a["id"])
    r = await client.post(url, headers=auth(t.key), json=takedown_body(t.a.platform_id, ref=REF))
    assert (r.status_code, r.json()["existing_id"]) == (409, recorded_by_a["id"])
    for key in (t.a.officer, t.key):
        got = await client.get(f"{url}/{recorded_by_a['id']}", headers=auth(key))
        assert got.status_code == 200


def test_fingerprint_is_canonical() -> None:
    pid = uuid.uuid4()
    a = TakedownCreate.model_validate(takedown_body(pid, legal_basis=" Decree 147 "))
    b = TakedownCreate.model_validate(takedown_body(pid, legal_basis="Decree 147"))
    assert references.fingerprint(a, authority_id=pid) == references.fingerprint(b, authority_id=pid)
    assert len(references.fingerprint(a)) == 32
    assert references.fingerprint({"x": 1, "y": None}) != references.fingerprint({"x": 1})
    assert references.fingerprint({"x": 1, "y": 2}) == references.fingerprint({"y": 2, "x": 1})
    assert references.Created("r", True).status_code == 201
    assert references.Created("r", False).status_code == 200


# -- two identical submissions in flight make one order (real commits) ------------------------------


async def _submit(kind: str, s: Any, actor: Principal, body: dict[str, Any]) -> uuid.UUID:
    if kind == "takedown":
        return (await intake.create(s, actor, TakedownCreate.model_validate(body))).resource.order.id
    if kind == "block":
        return (await blocks.order_block(s, actor, BlockOrder.model_validate(body))).resource.id
    return (await disclosures.create(s, actor, DisclosureRequestCreate.model_validate(body))).resource.id


async def _waiting_for_advisory_lock(s: Any) -> bool:
    q = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = :ns "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    return bool((await s.execute(q, {"ns": references._LOCK_NS})).scalar_one())


@by_name
async def test_concurrent_identical_submissions_make_one_order(committed, kind: Kind) -> None:
    clock.set_now(T0)
    async with committed() as s:
        k = await platform_keys(s)
        aid, raw = await make_authority(s, "ABEI", [k.platform_id])
        key_id, _ = await make_key(s, Role.authority, authority_id=aid)
        await s.commit()
    body = kind.body(k.platform_id, REF)
    actor = Principal(key_id, Role.authority, None, aid)

    from vncomply.app import create_app

    transport = httpx.ASGITransport(app=create_app(), raise_app_exceptions=False)
    async with (
        committed() as first,
        committed() as probe,
        httpx.AsyncClient(transport=transport, base_url="http://t") as c,
    ):
        first_id = await _submit(kind.name, first, actor, body)  # uncommitted: holds the reference
        second = asyncio.create_task(c.post(kind.url, headers=auth(raw), json=body))
        for _ in range(500):  # until the second submission waits on the reference lock
            if second.done() or await _waiting_for_advisory_lock(probe):
                break
            await asyncio.sleep(0.01)
        assert not second.done()
        await first.commit()
        r = await second
    assert r.status_code == 200, r.text
    assert r.json()["id"] == str(first_id)
    async with committed() as s:
        n = (await s.execute(select(func.count()).select_from(kind.model))).scalar_one()
    assert n == 1
