"""Phone OTP: send, confirm, wrong code, expiry, exhaustion, resend limit, use as a reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from tests.factories import auth, platform_keys
from tests.identities.helpers import PHONE, PHONE_E164, body, last_code
from vncomply.identities.sms import ConsoleSms, HttpSms
from vncomply.kit import clock
from vncomply.kit.errors import ServiceUnavailable

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen() -> None:
    clock.set_now(NOW)
    ConsoleSms.sent.clear()


async def _start(client, key, account="u", phone=PHONE):
    return await client.post(
        "/v1/phone-verifications",
        json={"account_id": account, "phone_number": phone},
        headers=auth(key),
    )


async def test_confirm_and_use_as_reference(client, db):
    k = await platform_keys(db)
    r = await _start(client, k.platform)
    assert r.status_code == 201, r.text
    vid = r.json()["id"]
    assert r.json()["expires_at"] == (NOW + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    to, _ = ConsoleSms.sent[-1]
    assert to == PHONE_E164
    code = last_code()
    row = (await db.execute(text("SELECT * FROM phone_verifications"))).mappings().one()
    assert code.encode() not in row["code_hash"]
    assert PHONE_E164.encode() not in row["phone_enc"]

    verification = {"method": "sms_otp", "verified_at": "2026-11-25T03:00:00Z", "reference": vid}
    # Not confirmed yet: cannot back an identity.
    r = await client.put("/v1/identities/u", json=body(verification=verification), headers=auth(k.platform))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "verification.reference"

    r = await client.post(
        f"/v1/phone-verifications/{vid}/confirm", json={"code": code}, headers=auth(k.platform)
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "confirmed"}
    r = await client.post(
        f"/v1/phone-verifications/{vid}/confirm", json={"code": code}, headers=auth(k.platform)
    )
    assert r.status_code == 410

    # Confirmed, but for another phone or account: refused.
    r = await client.put(
        "/v1/identities/u",
        json=body(phone_number="0987654321", verification=verification),
        headers=auth(k.platform),
    )
    assert r.status_code == 422
    r = await client.put(
        "/v1/identities/other", json=body(verification=verification), headers=auth(k.platform)
    )
    assert r.status_code == 422
    r = await client.put("/v1/identities/u", json=body(verification=verification), headers=auth(k.platform))
    assert r.status_code == 201, r.text
    # Another tenant cannot confirm or even see it.
    other = await platform_keys(db, "Other")
    r = await client.post(
        f"/v1/phone-verifications/{vid}/confirm", json={"code": code}, headers=auth(other.platform)
    )
    assert r.status_code == 404


async def test_wrong_codes_then_exhausted(client, db):
    k = await platform_keys(db)
    vid = (await _start(client, k.platform)).json()["id"]
    wrong = "000000" if last_code() != "000000" else "111111"
    for left in (4, 3, 2, 1, 0):
        r = await client.post(
            f"/v1/phone-verifications/{vid}/confirm", json={"code": wrong}, headers=auth(k.platform)
        )
        assert r.status_code == 422, r.text
        assert r.json()["attempts_left"] == left
    # The spent attempts were committed although the answers were errors; now it is used up.
    r = await client.post(
        f"/v1/phone-verifications/{vid}/confirm", json={"code": last_code()}, headers=auth(k.platform)
    )
    assert r.status_code == 410


async def test_expiry(client, db):
    k = await platform_keys(db)
    vid = (await _start(client, k.platform)).json()["id"]
    clock.advance(timedelta(minutes=5))
    r = await client.post(
        f"/v1/phone-verifications/{vid}/confirm", json={"code": last_code()}, headers=auth(k.platform)
    )
    assert r.status_code == 410
    assert "expired" in r.json()["detail"]


async def test_resend_limit(client, db):
    k = await platform_keys(db)
    for _ in range(3):
        assert (await _start(client, k.platform)).status_code == 201
        clock.advance(timedelta(minutes=1))
    r = await _start(client, k.platform, phone="+84 912 345 678")  # same phone, other spelling
    assert r.status_code == 429
    assert r.headers["Retry-After"] == str(12 * 60)
    assert (await _start(client, k.platform, phone="0987654321")).status_code == 201
    clock.advance(timedelta(minutes=12))
    assert (await _start(client, k.platform)).status_code == 201


async def test_invalid_phone(client, db):
    k = await platform_keys(db)
    r = await _start(client, k.platform, phone="02438250000")
    assert r.status_code == 422
    assert "landline" in r.json()["detail"]


async def test_http_provider_retries(monkeypatch):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503 if len(calls) < 3 else 200)

    real = httpx.AsyncClient
    monkeypatch.setattr(
        httpx,
        "AsyncClient",
        lambda **kw: real(transport=httpx.MockTransport(handler), **kw),
    )
    monkeypatch.setattr("asyncio.sleep", _no_sleep)
    await HttpSms("https://sms.example/send", "tok").send(PHONE_E164, "code 123456")
    assert len(calls) == 3
    assert calls[0].headers["Authorization"] == "Bearer tok"

    calls.clear()

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(400)

    monkeypatch.setattr(httpx, "AsyncClient", lambda **kw: real(transport=httpx.MockTransport(refuse), **kw))
    with pytest.raises(ServiceUnavailable):
        await HttpSms("https://sms.example/send", None).send(PHONE_E164, "x")
    assert len(calls) == 1


async def _no_sleep(_: float) -> None:
    return None


async def test_a_wrong_code_is_a_typed_422_whose_spent_attempt_commits(client, db):
    """The wrong-code answer is raised as ``WrongCode`` (a committing error, kit.errors): the same
    problem body as ever (plus ``instance``, as every problem has), and the attempt and its audit
    record are kept although the answer is an error."""
    k = await platform_keys(db)
    vid = (await _start(client, k.platform)).json()["id"]
    wrong = "000000" if last_code() != "000000" else "111111"
    path = f"/v1/phone-verifications/{vid}/confirm"
    r = await client.post(path, json={"code": wrong}, headers=auth(k.platform))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json() == {
        "type": "https://vncomply.dev/problems/wrong-code",
        "title": "Your request is not valid",
        "status": 422,
        "detail": "The code is wrong; 4 attempt(s) left.",
        "instance": path,
        "request_id": r.headers["x-request-id"],
        "attempts_left": 4,
        "errors": [{"field": "code", "message": "wrong code", "code": "wrong_code"}],
    }
    left = await db.execute(text("SELECT attempts_left FROM phone_verifications WHERE id = :i"), {"i": vid})
    assert left.scalar_one() == 4
    audited = await db.execute(
        text("SELECT details FROM audit_events WHERE action = 'phone_verification.wrong_code'")
    )
    assert audited.scalars().all() == [{"attempts_left": 4}]
