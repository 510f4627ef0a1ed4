"""A blind-index key rotation in progress never turns a disclosure request into a false no_data:
identity rows still indexed under VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS are matched, whichever key the
request's subject was indexed under."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.disclosures.conftest import NID, World, auth, create, decide, package, request_body
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


@pytest.mark.parametrize("subject", [{"phone_number": "0912345678"}, {"national_id": NID}])
async def test_a_request_open_across_a_finished_rotation_still_matches(
    db: AsyncSession,
    client: httpx.AsyncClient,
    world: World,
    rotate_keys: object,
    monkeypatch: pytest.MonkeyPatch,
    subject: dict[str, str],
) -> None:
    """The rotation runs to its end and the previous key goes, as `vncomply keys rotate` says it
    may, while the request waits for its officer: the request's subject is re-indexed with the
    rows, so the decision still finds every account, including one recorded after the rotation."""
    from tests.disclosures.conftest import identity, put_identity

    body = request_body(world.a.platform_id, subject=subject, fields=FIELDS)
    req = await create(client, world.key_a, body)
    expected = ["a-1", "a-2"] if "phone_number" in subject else ["a-1"]
    monkeypatch.setenv("VNCOMPLY_FIELD_KEYS", f"{get_settings().field_keys},k9:{generate_key()}")
    rotate_keys()  # type: ignore[operator]  # both keys change

    async def retry() -> None:
        r = await client.post("/v1/disclosure-requests", json=body, headers=auth(world.key_a))
        assert r.status_code == 200, r.text  # the same request, not a conflict
        assert r.json()["id"] == req["id"]

    await retry()  # mid-rotation: stored under the previous key
    assert await rotation.rotate_all(batch_size=2) == 0
    monkeypatch.delenv("VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS")
    reset_settings()
    await retry()  # after it: re-fingerprinted with the subject's new index
    await put_identity(client, world.a.platform, "a-3", identity())  # the same phone and ID number
    r = await decide(client, world.a.officer, req["id"], decision="approve")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    assert r.json()["matched_account_ids"] == [*expected, "a-3"]
    stored = await db.execute(
        text("SELECT subject_blind_index, subject_enc, key_id FROM disclosure_requests WHERE id = :id"),
        {"id": req["id"]},
    )
    index, sealed, key_id = stored.one()
    assert key_id == "k9", "re-encrypted under the new field key"
    value = subject.get("national_id") or "+84912345678"
    assert value.encode() not in sealed, "the subject is kept encrypted"
    from vncomply.identities.keys import bi_key
    from vncomply.kit.crypto import blind_index

    assert index == blind_index(bi_key(), world.a.platform_id, value), "re-indexed under the new key"


async def test_requests_recorded_before_their_subject_was_sealed_are_counted_not_rotated(
    db: AsyncSession, client: httpx.AsyncClient, world: World, rotate_keys: object
) -> None:
    """A request from before revision 0016 has only its index: the rotation cannot move it, and
    `vncomply keys rotate` says to keep the previous key while such a request is open."""
    req = await create(client, world.key_a, request_body(world.a.platform_id, fields=FIELDS))
    sealed = await create(client, world.key_a, request_body(world.a.platform_id, fields=FIELDS))
    await db.execute(
        text("UPDATE disclosure_requests SET subject_enc = NULL, key_id = NULL WHERE id = :id"),
        {"id": req["id"]},
    )

    async def indexes() -> dict[str, bytes]:
        rows = await db.execute(text("SELECT id::text, subject_blind_index FROM disclosure_requests"))
        return dict(rows.all())  # type: ignore[arg-type]

    before = await indexes()
    rotate_keys()  # type: ignore[operator]
    assert await rotation.legacy_open(db) == 1
    run = rotation.Rotation()
    while (await run.step(db, 10))[1]:
        pass
    assert await run.remaining(db) == 0, "the legacy request is not left as work"
    after = await indexes()
    assert after[req["id"]] == before[req["id"]], "no plaintext to re-index it from"
    assert after[sealed["id"]] != before[sealed["id"]]
    r = await decide(client, world.a.officer, req["id"], decision="approve")
    assert r.json()["matched_account_ids"] == ["a-1", "a-2"], "it still matches by its stored index"
    assert await rotation.legacy_open(db) == 0, "decided: no longer open"
