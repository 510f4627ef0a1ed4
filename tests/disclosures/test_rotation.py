"""A blind-index key rotation in progress never turns a disclosure request into a false no_data:
identity rows still indexed under VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS are matched, whichever key the
request's subject was indexed under."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.disclosures.conftest import NID, World, create, decide, package, request_body
from vncomply.config import get_settings, reset_settings
from vncomply.identities import rotation
from vncomply.kit.crypto import generate_key

FIELDS = ["full_name", "phone_number"]


@pytest.fixture
def rotate_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Call it to start a rotation: a new blind-index key, the old one kept as the previous."""

    def start() -> None:
        monkeypatch.setenv("VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS", get_settings().blind_index_key)
        monkeypatch.setenv("VNCOMPLY_BLIND_INDEX_KEY", generate_key())
        reset_settings()

    yield start
    monkeypatch.undo()
    reset_settings()


async def _fingerprints(db: AsyncSession, platform_id: object) -> dict[str, str]:
    rows = await db.execute(
        text("SELECT account_id, bi_key_fp FROM identities WHERE platform_id = :p"), {"p": platform_id}
    )
    return dict(rows.all())  # type: ignore[arg-type]


@pytest.mark.parametrize("subject", [{"phone_number": "0912345678"}, {"national_id": NID}])
async def test_request_received_mid_rotation_matches_rows_under_the_previous_key(
    db: AsyncSession, client: httpx.AsyncClient, world: World, rotate_keys: object, subject: dict[str, str]
) -> None:
    before = await _fingerprints(db, world.a.platform_id)
    rotate_keys()  # type: ignore[operator]
    assert await _fingerprints(db, world.a.platform_id) == before  # nothing re-indexed yet
    req = await create(client, world.key_a, request_body(world.a.platform_id, subject=subject, fields=FIELDS))
    r = await decide(client, world.a.officer, req["id"], decision="approve")
    assert r.status_code == 200, r.text
    expected = ["a-1", "a-2"] if "phone_number" in subject else ["a-1"]
    assert r.json()["status"] == "approved"
    assert r.json()["matched_account_ids"] == expected
    accounts = (await package(client, world.key_a, req["id"])).json()["accounts"]
    assert [a["account_id"] for a in accounts] == expected


async def test_request_received_before_the_rotation_matches_rows_already_rotated(
    db: AsyncSession, client: httpx.AsyncClient, world: World, rotate_keys: object
) -> None:
    """The other way round: the subject is indexed under the key that is now the previous one, and
    part of the rows have moved to the new key when the officer decides."""
    req = await create(client, world.key_a, request_body(world.a.platform_id, fields=FIELDS))
    rotate_keys()  # type: ignore[operator]
    run = rotation.Rotation()
    moved = await _fingerprints(db, world.a.platform_id)
    while moved["a-1"] != run.fingerprint:  # rows go in (platform, account) order: a-1 before a-2
        await run.step(db, 1)
        moved = await _fingerprints(db, world.a.platform_id)
    assert moved["a-1"] == run.fingerprint != moved["a-2"]
    r = await decide(client, world.a.officer, req["id"], decision="approve")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    assert r.json()["matched_account_ids"] == ["a-1", "a-2"]


async def test_an_account_that_no_longer_carries_the_subject_is_not_matched(
    db: AsyncSession, client: httpx.AsyncClient, world: World, rotate_keys: object
) -> None:
    """Checking a previewed account by its value is a check, not a pass: a-2 changed its phone."""
    from tests.disclosures.conftest import OTHER_PHONE, identity, put_identity

    req = await create(client, world.key_a, request_body(world.a.platform_id, fields=FIELDS))
    rotate_keys()  # type: ignore[operator]
    await put_identity(client, world.a.platform, "a-2", identity(phone=OTHER_PHONE, nid=None))
    r = await decide(client, world.a.officer, req["id"], decision="approve")
    assert r.json()["matched_account_ids"] == ["a-1"]
