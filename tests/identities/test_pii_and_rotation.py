"""PII never reaches logs, errors or audit; key rotation re-encrypts and resumes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from tests.factories import auth, platform_keys
from tests.identities.helpers import DOB, NAME, NID, PHONE, PHONE_E164, body, last_code
from vncomply.config import get_settings, reset_settings
from vncomply.identities import rotation
from vncomply.identities.keys import ring
from vncomply.kit import clock
from vncomply.kit.crypto import aad_for, decrypt, generate_key, key_id_of

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
GUARDIAN_PHONE = "0987654321"


@pytest.fixture(autouse=True)
def _frozen() -> None:
    clock.set_now(NOW)


async def test_no_pii_in_logs_errors_or_audit(client, db, capsys, caplog):
    caplog.set_level("DEBUG")
    k = await platform_keys(db)
    h = auth(k.platform)
    await client.put("/v1/identities/a", json=body(national_id=NID), headers=h)
    await client.put("/v1/identities/a", json=body(national_id="001091123456"), headers=h)  # 422
    await client.put("/v1/identities/b", json=body(phone_number="02438250000"), headers=h)  # 422
    ndjson = b"\n".join(
        [
            b'{"account_id":"c","full_name":"' + NAME.encode() + b'","date_of_birth":"1990-05-17",'
            b'"phone_number":"' + PHONE.encode() + b'","verification":{"method":"sms_otp",'
            b'"verified_at":"2026-01-01T00:00:00Z"},"national_id":"' + NID[:9].encode() + b'"}',
            b'{"account_id":"d","full_name":"' + NAME.encode() + b'","date_of_birth":"not a date",'
            b'"phone_number":"' + PHONE.encode() + b'"}',
        ]
    )
    r = await client.post(
        "/v1/identities/bulk", content=ndjson, headers={**h, "Content-Type": "application/x-ndjson"}
    )
    assert r.json()["rejected"] == 2
    await client.post("/v1/identities/search", json={"phone_number": PHONE}, headers=auth(k.officer))
    await client.post("/v1/identities/search", json={"national_id": NID}, headers=auth(k.officer))
    r = await client.post(
        "/v1/phone-verifications", json={"account_id": "a", "phone_number": GUARDIAN_PHONE}, headers=h
    )
    vid = r.json()["id"]
    await client.post(f"/v1/phone-verifications/{vid}/confirm", json={"code": "999999"}, headers=h)
    code = last_code()
    captured = capsys.readouterr().out + capsys.readouterr().err + caplog.text
    audit = " ".join(
        (await db.execute(text("SELECT details::text || resource_id FROM audit_events"))).scalars()
    )
    for secret in (
        NAME,
        "Nguy",
        PHONE,
        PHONE_E164,
        "912345678",
        NID,
        NID[:9],
        DOB.isoformat(),
        GUARDIAN_PHONE,
        "987654321",
    ):
        assert secret not in captured, secret
        assert secret not in audit, secret
    # The console SMS provider logs the dev code, never the number it went to.
    assert code in captured


async def test_rotate_batch_resumable(client, db, monkeypatch):
    k = await platform_keys(db)
    h = auth(k.platform)
    guardian = {
        "full_name": "Trần Thị B",
        "date_of_birth": "1980-01-01",
        "national_id": "001180123456",
        "relationship": "mother",
    }
    for i in range(5):
        await client.put(f"/v1/identities/u{i}", json=body(national_id=NID), headers=h)
    await client.put(
        "/v1/identities/kid", json=body(date_of_birth="2012-06-01", guardian=guardian), headers=h
    )
    await client.post("/v1/phone-verifications", json={"account_id": "u0", "phone_number": PHONE}, headers=h)
    old = ring().active_key_id
    monkeypatch.setenv("VNCOMPLY_FIELD_KEYS", f"{get_settings().field_keys},k2:{generate_key()}")
    reset_settings()
    try:
        kr = ring()
        assert kr.active_key_id == "k2"
        first = rotation.Rotation()
        assert await first.remaining(db) == 7
        assert await first.step(db, 4) == (4, 4)  # stop part-way ...
        second = rotation.Rotation()  # ... and resume in a new run
        assert await second.remaining(db) == 3
        steps = [await second.step(db, 4) for _ in range(3)]
        assert steps == [(2, 2), (1, 1), (0, 0)]  # the rows already done are not selected again
        rows = (await db.execute(text("SELECT * FROM identities"))).mappings().all()
        for row in rows:
            assert row["key_id"] == "k2"
            for col, field in (
                ("full_name_enc", "full_name"),
                ("guardian_enc", "guardian"),
                ("national_id_enc", "national_id"),
            ):
                if row[col] is not None:
                    assert key_id_of(row[col]) == "k2"
                    decrypt(kr, row[col], aad_for(k.platform_id, row["account_id"], field))
        # Reading through the API still works, and the old key is no longer needed.
        monkeypatch.setenv("VNCOMPLY_FIELD_KEYS", get_settings().field_keys.split(",", 1)[1])
        reset_settings()
        assert old not in ring()
        r = await client.get("/v1/identities/kid", headers=h)
        assert r.status_code == 200
        assert r.json()["masked"]["full_name"] == "N***** V** A*"
    finally:
        monkeypatch.undo()
        reset_settings()


async def test_blind_index_key_rotation(client, db, monkeypatch):
    """Change the blind-index key: while the old one is the previous key every lookup still matches
    (search, OTP resend limit, OTP references, pending codes); `rotate` re-indexes every row; then
    the old key can go."""
    from vncomply.identities.keys import bi_fingerprint, bi_key
    from vncomply.kit.crypto import blind_index, decode_key

    k = await platform_keys(db)
    h, officer = auth(k.platform), auth(k.officer)
    for acc in ("u0", "u1"):
        await client.put(f"/v1/identities/{acc}", json=body(national_id=NID), headers=h)

    async def start(account: str, phone: str) -> tuple[int, str]:
        r = await client.post(
            "/v1/phone-verifications", json={"account_id": account, "phone_number": phone}, headers=h
        )
        return r.status_code, r.json().get("id", "")

    _, confirmed = await start("w", "0912000001")
    r = await client.post(
        f"/v1/phone-verifications/{confirmed}/confirm", json={"code": last_code()}, headers=h
    )
    assert r.status_code == 200
    _, pending = await start("v", "0912000002")
    pending_code = last_code()
    for _ in range(3):
        assert (await start("x", "0912000003"))[0] == 201
    old = get_settings().blind_index_key
    monkeypatch.setenv("VNCOMPLY_BLIND_INDEX_KEY", generate_key())
    monkeypatch.setenv("VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS", old)
    reset_settings()
    try:

        async def search(**q: str) -> list[str]:
            r = await client.post("/v1/identities/search", json=q, headers=officer)
            assert r.status_code == 200, r.text
            return [i["account_id"] for i in r.json()["items"]]

        # Mid-rotation: rows under either key are found and honoured.
        assert await search(phone_number=PHONE) == ["u0", "u1"]
        assert await search(national_id=NID) == ["u0", "u1"]
        assert (await start("x", "0912000003"))[0] == 429  # the 3 earlier sends still count
        r = await client.post(
            f"/v1/phone-verifications/{pending}/confirm", json={"code": pending_code}, headers=h
        )
        assert r.status_code == 200, r.text  # a code sent before the change still works
        ref = {"method": "sms_otp", "verified_at": "2026-01-01T00:00:00Z", "reference": confirmed}
        r = await client.put(
            "/v1/identities/w", json=body(phone_number="0912000001", verification=ref), headers=h
        )
        assert r.status_code == 201, r.text  # the reference indexed under the old key matches

        run = rotation.Rotation()
        assert run.fingerprint == bi_fingerprint(bi_key()) != bi_fingerprint(decode_key(old))
        assert await run.remaining(db) == 2 + 5  # u0, u1 and five verifications (w is new)
        changed = 0
        while (step := await run.step(db, 3))[1]:
            changed += step[0]
        assert changed == 7
        assert await rotation.Rotation().remaining(db) == 0
        rows = (await db.execute(text("SELECT account_id, phone_bi, bi_key_fp FROM identities"))).all()
        for account_id, phone_bi, fp in rows:
            assert fp == run.fingerprint, account_id
            phone = "+84912000001" if account_id == "w" else PHONE_E164
            assert phone_bi == blind_index(bi_key(), k.platform_id, phone)

        # Rotation done: the previous key is no longer needed.
        monkeypatch.delenv("VNCOMPLY_BLIND_INDEX_KEY_PREVIOUS")
        reset_settings()
        assert await search(phone_number=PHONE) == ["u0", "u1"]
        assert await search(phone_number="0912000001") == ["w"]
        assert await search(national_id=NID) == ["u0", "u1"]
        assert (await start("x", "0912000003"))[0] == 429  # re-indexed sends still count
    finally:
        monkeypatch.undo()
        reset_settings()


async def test_rotation_reencrypts_webhook_signing_secrets(client, db, monkeypatch):
    """Both the current and the previous (rotated-out, still signing) secret move to the new key;
    with the old key gone from the ring they still unseal, and the endpoint's updated_at stays."""
    from vncomply.events import signing
    from vncomply.events.models import WebhookEndpoint

    k = await platform_keys(db)
    h = auth(k.platform)
    r = await client.post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/a"}, headers=h)
    first = r.json()["secret"]
    r = await client.post(f"/v1/webhook-endpoints/{r.json()['id']}/rotate-secret", headers=h)
    second = r.json()["secret"]
    r = await client.post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/b"}, headers=h)
    third = r.json()["secret"]
    before = {e.id: e.updated_at for e in (await db.scalars(select(WebhookEndpoint))).all()}
    monkeypatch.setenv("VNCOMPLY_FIELD_KEYS", f"{get_settings().field_keys},k2:{generate_key()}")
    reset_settings()
    try:
        run = rotation.Rotation()
        assert await run.remaining(db) == 2
        while (await run.step(db, 1))[1]:
            pass
        assert await rotation.Rotation().remaining(db) == 0
        monkeypatch.setenv("VNCOMPLY_FIELD_KEYS", get_settings().field_keys.split(",", 1)[1])
        reset_settings()
        db.expire_all()
        endpoints = (await db.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.url))).all()
        a, b = endpoints
        assert key_id_of(a.secret_enc) == key_id_of(a.previous_secret_enc) == key_id_of(b.secret_enc) == "k2"
        assert signing.unseal(a.secret_enc, a.platform_id, a.id) == second
        assert signing.unseal(a.previous_secret_enc, a.platform_id, a.id) == first
        assert signing.unseal(b.secret_enc, b.platform_id, b.id) == third
        assert {e.id: e.updated_at for e in endpoints} == before
    finally:
        monkeypatch.undo()
        reset_settings()


async def _committed_identities(committed, n: int) -> None:
    from tests.factories import make_platform
    from vncomply.identities import service as identity_service
    from vncomply.identities.schemas import IdentityIn
    from vncomply.kit.principal import Principal, Role

    async with committed() as s:
        pid = await make_platform(s)
        actor = Principal(pid, Role.platform, pid, None)
        for i in range(n):
            await identity_service.put_identity(s, actor, f"r{i}", IdentityIn.model_validate(body()))
        await s.commit()


async def _lock_identity(account_id: str):
    """Another connection holding a row lock, like a request writing that identity."""
    import psycopg

    url = get_settings().database_url
    assert url
    conn = await psycopg.AsyncConnection.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    await conn.execute("SELECT 1 FROM identities WHERE account_id = %s FOR UPDATE", (account_id,))
    return conn


async def test_rotation_comes_back_to_a_row_locked_during_the_pass(committed, monkeypatch):
    await _committed_identities(committed, 5)
    monkeypatch.setenv("VNCOMPLY_FIELD_KEYS", f"{get_settings().field_keys},k2:{generate_key()}")
    reset_settings()
    locker = await _lock_identity("r2")
    passes: list[int] = []

    async def release(finished: int) -> None:
        passes.append(finished)
        await locker.rollback()  # the "request" ends; its row is free for the next pass

    try:
        left = await rotation.rotate_all(batch_size=2, passes=3, between_passes=release)
        assert left == 0
        assert passes == [1]  # the first pass skipped r2, the second came back for it
        async with committed() as s:
            ids = (await s.execute(text("SELECT key_id FROM identities"))).scalars().all()
        assert set(ids) == {"k2"}
    finally:
        await locker.close()
        monkeypatch.undo()
        reset_settings()


async def test_rotate_command_is_not_done_while_a_row_stays_locked(committed, monkeypatch):
    """`vncomply keys rotate` run as an operator would: exits 1 and says how many rows are left
    while one is locked through every pass; once the lock is gone, it finishes and says done."""
    import asyncio
    import os
    import sys

    await _committed_identities(committed, 3)
    env = {**os.environ, "VNCOMPLY_FIELD_KEYS": f"{get_settings().field_keys},k2:{generate_key()}"}

    async def rotate() -> tuple[int | None, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "vncomply.cli", "keys", "rotate", "--passes", "1", "--batch-size", "2"),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
        return proc.returncode, out.decode()

    locker = await _lock_identity("r1")
    try:
        code, out = await rotate()
        assert code == 1, out
        assert "1 row(s) are still under an old key" in out
        assert "done" not in out
    finally:
        await locker.close()
    code, out = await rotate()
    assert code == 0, out
    assert "done: every row is under field key k2" in out
