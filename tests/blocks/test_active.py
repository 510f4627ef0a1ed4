"""One definition of "a block is active": the blocks service (Python and its SQL) and the permission
check's raw statement agree on every block at its edges; the table refuses a block whose kind and
end disagree."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.blocks.helpers import T0, order_body
from tests.factories import Keys, auth, make_authority, platform_keys
from vncomply.blocks.deadline import HANDLER_NAME
from vncomply.blocks.enums import BlockStatus, Origin, SubjectType
from vncomply.blocks.models import AccountBlock
from vncomply.blocks.status import active_sql, is_active, status_at
from vncomply.deadlines.engine import sweep
from vncomply.identities import permissions
from vncomply.kit import clock

US = timedelta(microseconds=1)
WEEK: dict[str, datetime | bool | None] = {
    "starts_at": T0,
    "ends_at": T0 + timedelta(days=7),
    "permanent": False,
    "lifted_at": None,
}
FOREVER: dict[str, datetime | bool | None] = {**WEEK, "ends_at": None, "permanent": True}


def _row(platform_id: uuid.UUID, **kw: object) -> AccountBlock:
    fields: dict[str, object] = {
        "platform_id": platform_id,
        "subject_type": "account",
        "subject_id": f"acct-{uuid.uuid4().hex[:8]}",
        "starts_at": T0,
        "ends_at": T0 + timedelta(days=7),
        "permanent": False,
        "rule_id": "lock.v1",
        "apply_by": T0,
    }
    fields.update(kw)
    return AccountBlock(**fields)


@pytest.mark.parametrize(
    "kw",
    [
        {"permanent": True, "ends_at": T0 + timedelta(days=7)},  # "permanent", yet it ends
        {"permanent": False, "ends_at": None},  # "temporary", yet it never ends
    ],
)
async def test_the_table_refuses_a_kind_its_end_contradicts(db: AsyncSession, kw: dict[str, object]) -> None:
    k = await platform_keys(db)
    db.add(_row(k.platform_id, **kw))
    with pytest.raises(IntegrityError, match="ck_account_blocks_permanent_iff_no_end"):
        await db.flush()


async def test_every_code_path_keeps_kind_and_end_together(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    """Ordered, lifted, expired (swept), permanent: each row still satisfies the constraint, and
    the permission check agrees with the service at every step."""
    clock.set_now(T0)
    k = await platform_keys(db)
    _, akey = await make_authority(db, "ABEI", [k.platform_id])
    ids = []
    for body in (
        order_body(k.platform_id, subject_id="a1", subject_type="account"),
        order_body(k.platform_id, subject_id="a2", subject_type="account"),
        order_body(
            k.platform_id, subject_id="a3", subject_type="account", duration_days=None, permanent=True,
            category="national_security",
        ),
    ):  # fmt: skip
        r = await client.post("/v1/account-blocks", json=body, headers=auth(akey))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    r = await client.post(f"/v1/account-blocks/{ids[0]}/lift", json={"reason": "x"}, headers=auth(k.officer))
    assert r.status_code == 200, r.text
    clock.advance(timedelta(days=15))
    await sweep(None, clock.now(), names=[HANDLER_NAME], record=False)
    bad = await db.execute(text("SELECT count(*) FROM account_blocks WHERE permanent <> (ends_at IS NULL)"))
    assert bad.scalar_one() == 0
    statuses = {}
    for i, account in zip(ids, ("a1", "a2", "a3"), strict=True):
        out = (await client.get(f"/v1/account-blocks/{i}", headers=auth(k.platform))).json()
        perm = (await client.get(f"/v1/accounts/{account}/permissions", headers=auth(k.platform))).json()
        assert out["active"] == (perm["locked"] or perm["blocked_until"] is not None)
        statuses[account] = out["status"]
    assert statuses == {"a1": "lifted", "a2": "expired", "a3": "active"}


def test_the_permission_check_renders_the_blocks_definition() -> None:
    """Not a copy: the rule the permission check runs is the blocks domain's, rendered."""
    assert active_sql("ab") in permissions.PAIRS
    assert active_sql("ab") in permissions.BATCH


@st.composite
def block_and_now(draw: st.DrawFn) -> tuple[dict[str, datetime | bool | None], datetime]:
    starts = T0 + timedelta(seconds=draw(st.integers(-3600, 3600)))
    permanent = draw(st.booleans())
    ends = None if permanent else starts + timedelta(microseconds=draw(st.integers(1, 10**10)))
    lifted = draw(st.none() | st.sampled_from([starts, starts + timedelta(hours=1)]))
    edge = draw(st.sampled_from([e for e in (starts, ends, lifted) if e is not None]))
    nudge = draw(st.sampled_from([-1, 0, 1]) | st.integers(-(10**10), 10**10))
    block = {"starts_at": starts, "ends_at": ends, "permanent": permanent, "lifted_at": lifted}
    return block, edge + nudge * US


@pytest.fixture
async def keys(db: AsyncSession) -> Keys:
    return await platform_keys(db)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=block_and_now())
@example(case=(WEEK, T0))  # the first instant
@example(case=(WEEK, T0 + timedelta(days=7) - US))  # the last instant
@example(case=(WEEK, T0 + timedelta(days=7)))  # over
@example(case=(FOREVER, T0 - US))  # not yet
@example(case=({**FOREVER, "lifted_at": T0}, T0 + US))  # lifted
async def test_service_and_permission_check_agree_at_the_edges(
    db: AsyncSession,
    client: httpx.AsyncClient,
    keys: Keys,
    case: tuple[dict[str, datetime | bool | None], datetime],
) -> None:
    block, now = case
    b = _row(keys.platform_id, **block)
    db.add(b)
    await db.flush()
    clock.set_now(now)
    expected = is_active(b, now)
    assert (status_at(b, now) is BlockStatus.active) == expected

    h = auth(keys.platform)
    one = (await client.get(f"/v1/account-blocks/{b.id}", headers=h)).json()
    assert one["active"] is expected
    for flag in (True, False):  # the list filter: the service's SQL form of the rule
        r = await client.get(
            "/v1/account-blocks", params={"subject_id": b.subject_id, "active": str(flag).lower()}, headers=h
        )
        assert [i["id"] for i in r.json()["items"]] == ([str(b.id)] if expected is flag else [])
    perm = (await client.get(f"/v1/accounts/{b.subject_id}/permissions", headers=h)).json()
    assert perm["locked"] is (expected and b.permanent)
    blocked_until = perm["blocked_until"]
    assert (blocked_until is not None) is (expected and not b.permanent)


async def test_columns_hold_members(db: AsyncSession, keys: Keys) -> None:
    """States and kinds load as enum members however they were set; other values never reach the table."""
    b = _row(keys.platform_id, subject_type="page", origin="order")
    assert b.subject_type is SubjectType.page
    assert b.origin is Origin.order
    db.add(b)
    await db.flush()
    block_id = b.id
    db.expire_all()
    loaded = (await db.scalars(select(AccountBlock).where(AccountBlock.id == block_id))).one()
    assert (loaded.subject_type, loaded.origin) == (SubjectType.page, Origin.order)
    with pytest.raises(ValueError, match="'user'"):
        _row(keys.platform_id, subject_type="user")
