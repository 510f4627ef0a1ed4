"""PUT/GET/revoke/close/search of identities: the Decree 147 rules, masking, encryption at rest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.factories import auth, platform_keys
from tests.identities.helpers import DOB, NAME, NID, PHONE, PHONE_E164, body, make_nid
from vncomply.identities.keys import ring
from vncomply.kit import clock
from vncomply.kit.crypto import DecryptionError, aad_for, decrypt

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen() -> None:
    clock.set_now(NOW)


async def test_create_then_replace_masked(client, db):
    k = await platform_keys(db)
    r = await client.put("/v1/identities/u-1", json=body(), headers=auth(k.platform))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["status"] == "verified"
    assert out["method"] == "sms_otp"
    assert out["is_minor"] is False
    assert out["masked"] == {
        "full_name": "N***** V** A*",
        "phone_number": "+84 91* *** *78",
        "national_id": None,
    }
    r = await client.put(
        "/v1/identities/u-1",
        json=body(national_id=NID, commercial_livestreamer=True),
        headers=auth(k.platform),
    )
    assert r.status_code == 200, r.text
    assert r.json()["masked"]["national_id"] == "001******456"
    assert r.json()["created_at"] == out["created_at"]
    for key in (k.platform, k.officer):
        g = await client.get("/v1/identities/u-1", headers=auth(key))
        assert g.status_code == 200
        assert g.json()["masked"]["national_id"] == "001******456"
        assert NAME not in g.text
        assert PHONE_E164 not in g.text
        assert NID not in g.text


async def test_encrypted_at_rest_and_bound_to_row(client, db):
    k = await platform_keys(db)
    nid_body = body(national_id=NID)
    assert (await client.put("/v1/identities/a", json=nid_body, headers=auth(k.platform))).status_code == 201
    assert (await client.put("/v1/identities/b", json=body(), headers=auth(k.platform))).status_code == 201
    row = (await db.execute(text("SELECT * FROM identities WHERE account_id = 'a'"))).mappings().one()
    raw = b"".join(v for v in row.values() if isinstance(v, bytes))
    for plain in (NAME, PHONE_E164, PHONE, NID, DOB.isoformat(), "1990"):
        assert plain.encode() not in raw
    blob = row["full_name_enc"]
    assert decrypt(ring(), blob, aad_for(k.platform_id, "a", "full_name")) == NAME
    # Copied into another row (or read as another field) it fails authentication.
    await db.execute(text("UPDATE identities SET full_name_enc = :b WHERE account_id = 'b'"), {"b": blob})
    with pytest.raises(DecryptionError):
        decrypt(ring(), blob, aad_for(k.platform_id, "b", "full_name"))
    with pytest.raises(DecryptionError):
        decrypt(ring(), row["phone_enc"], aad_for(k.platform_id, "a", "national_id"))


@pytest.mark.parametrize(
    ("over", "field", "words"),
    [
        ({"phone_number": "02438250000"}, "phone_number", "landline"),
        ({"phone_number": "+14155552671"}, "phone_number", "foreign"),
        ({"national_id": "123456789"}, "national_id", "2024-12-31"),
        ({"national_id": make_nid("001", date(1991, 1, 1))}, "national_id", "digits 5-6"),
        ({"national_id": make_nid("001", date(2090, 1, 1))[:3] + "2" + NID[4:]}, "national_id", "digit 4"),
        ({"national_id": make_nid("003", DOB)}, "national_id", "not a province"),
        ({"phone_number": None}, "phone_number", "no_vn_mobile_attested"),
        (
            {
                "phone_number": None,
                "no_vn_mobile_attested": True,
                "verification": {"method": "national_id", "verified_at": "2026-01-01T00:00:00Z"},
            },
            "national_id",
            "required",
        ),
        ({"commercial_livestreamer": True}, "national_id", "commercial"),
        ({"date_of_birth": "2027-01-01"}, "date_of_birth", "future"),
        ({"date_of_birth": "1900-01-01"}, "date_of_birth", "120"),
        ({"full_name": "An\u200bNguyen"}, "full_name", "invisible"),
        (
            {"verification": {"method": "national_id", "verified_at": "2026-01-01T00:00:00Z"}},
            "verification.method",
            "national_id",
        ),
        (
            {"verification": {"method": "sms_otp", "verified_at": "2027-01-01T00:00:00Z"}},
            "verification.verified_at",
            "future",
        ),
    ],
)
async def test_rules_rejected(client, db, over, field, words):
    k = await platform_keys(db)
    r = await client.put("/v1/identities/u", json=body(**over), headers=auth(k.platform))
    assert r.status_code == 422, r.text
    p = r.json()
    assert p["errors"][0]["field"] == field
    assert words in p["detail"]
    # Error messages never echo the number back.
    for v in over.values():
        if isinstance(v, str) and len(v) >= 9 and v.isdigit():
            assert v not in r.text


async def test_no_mobile_attested_with_national_id(client, db):
    k = await platform_keys(db)
    r = await client.put(
        "/v1/identities/u",
        json=body(
            phone_number=None,
            no_vn_mobile_attested=True,
            national_id=NID,
            verification={"method": "national_id", "verified_at": "2026-01-01T00:00:00Z"},
        ),
        headers=auth(k.platform),
    )
    assert r.status_code == 201, r.text
    assert r.json()["masked"]["phone_number"] is None


async def test_account_id_rules(client, db):
    k = await platform_keys(db)
    r = await client.put("/v1/identities/bad%20id", json=body(), headers=auth(k.platform))
    assert r.status_code == 422
    r = await client.put("/v1/identities/" + "x" * 129, json=body(), headers=auth(k.platform))
    assert r.status_code == 422
    r = await client.put("/v1/identities/ok.id:1@x-_", json=body(), headers=auth(k.platform))
    assert r.status_code == 201


MINOR_DOB = date(2012, 6, 1)  # 14 on NOW
GUARDIAN = {
    "full_name": "Nguyễn Thị Bình",
    "date_of_birth": "1985-02-03",
    "phone_number": "0987654321",
    "relationship": "mother",
}


async def test_under_16_needs_adult_guardian(client, db):
    k = await platform_keys(db)
    h = auth(k.platform)
    r = await client.put("/v1/identities/kid", json=body(date_of_birth=MINOR_DOB.isoformat()), headers=h)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "guardian"
    young = {**GUARDIAN, "date_of_birth": "2010-01-01"}
    r = await client.put(
        "/v1/identities/kid", json=body(date_of_birth=MINOR_DOB.isoformat(), guardian=young), headers=h
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "guardian.date_of_birth"
    no_contact = {k2: v for k2, v in GUARDIAN.items() if k2 != "phone_number"}
    r = await client.put(
        "/v1/identities/kid", json=body(date_of_birth=MINOR_DOB.isoformat(), guardian=no_contact), headers=h
    )
    assert r.status_code == 422
    bad_phone = {**GUARDIAN, "phone_number": "02438250000"}
    r = await client.put(
        "/v1/identities/kid", json=body(date_of_birth=MINOR_DOB.isoformat(), guardian=bad_phone), headers=h
    )
    assert r.json()["errors"][0]["field"] == "guardian.phone_number"
    r = await client.put(
        "/v1/identities/kid", json=body(date_of_birth=MINOR_DOB.isoformat(), guardian=GUARDIAN), headers=h
    )
    assert r.status_code == 201, r.text
    assert r.json()["is_minor"] is True
    assert r.json()["has_guardian"] is True
    row = (await db.execute(text("SELECT guardian_enc FROM identities WHERE account_id='kid'"))).one()
    assert "Bình".encode() not in row[0]
    assert b"0987654321" not in row[0]


async def test_sixteen_by_vietnam_date(client, db):
    # 16th birthday is 2026-11-25 in Vietnam while it is still the 24th in UTC.
    clock.set_now(datetime(2026, 11, 24, 18, 0, tzinfo=UTC))  # 01:00 on the 25th in Hanoi
    k = await platform_keys(db)
    r = await client.put("/v1/identities/t", json=body(date_of_birth="2010-11-25"), headers=auth(k.platform))
    assert r.status_code == 201, r.text
    assert r.json()["is_minor"] is False


async def test_revoke_close_and_tenancy(client, db):
    k = await platform_keys(db)
    other = await platform_keys(db, "Other")
    h = auth(k.platform)
    assert (await client.put("/v1/identities/u", json=body(), headers=h)).status_code == 201
    assert (await client.get("/v1/identities/u", headers=auth(other.platform))).status_code == 404
    assert (await client.post("/v1/identities/u/revoke", headers=auth(other.platform))).status_code == 404
    r = await client.post("/v1/identities/u/revoke", headers=h)
    assert r.status_code == 200
    assert r.json()["status"] == "revoked"
    assert (await client.post("/v1/identities/u/revoke", headers=h)).status_code == 200
    r = await client.delete("/v1/identities/u", headers=h)
    assert r.status_code == 200
    assert r.json()["status"] == "closed"
    assert r.json()["closed_at"] == NOW.isoformat().replace("+00:00", "Z")
    assert (await client.post("/v1/identities/u/revoke", headers=h)).status_code == 409
    assert (await client.get("/v1/identities/nobody", headers=h)).status_code == 404
    # Officers read but do not write.
    assert (await client.put("/v1/identities/v", json=body(), headers=auth(k.officer))).status_code == 403
    # Re-recording a closed account verifies it again.
    r = await client.put("/v1/identities/u", json=body(), headers=h)
    assert r.status_code == 200
    assert r.json()["status"] == "verified"
    assert r.json()["closed_at"] is None


async def test_search_by_blind_index(client, db):
    k = await platform_keys(db)
    other = await platform_keys(db, "Other")
    h = auth(k.platform)
    await client.put("/v1/identities/a", json=body(national_id=NID), headers=h)
    await client.put("/v1/identities/b", json=body(phone_number="+84 912 345 678"), headers=h)
    await client.put("/v1/identities/c", json=body(phone_number="0987654321"), headers=h)
    await client.put("/v1/identities/z", json=body(), headers=auth(other.platform))
    r = await client.post(
        "/v1/identities/search", json={"phone_number": "84912345678"}, headers=auth(k.officer)
    )
    assert r.status_code == 200, r.text
    assert [i["account_id"] for i in r.json()["items"]] == ["a", "b"]
    r = await client.post("/v1/identities/search", json={"national_id": NID}, headers=auth(k.officer))
    assert [i["account_id"] for i in r.json()["items"]] == ["a"]
    r = await client.post("/v1/identities/search", json={"national_id": "123456789"}, headers=auth(k.officer))
    assert r.status_code == 422
    assert "CMND" in r.json()["detail"]
    r = await client.post("/v1/identities/search", json={}, headers=auth(k.officer))
    assert r.status_code == 422
    r = await client.post("/v1/identities/search", json={"phone_number": PHONE}, headers=h)
    assert r.status_code == 403
    audit = (
        (await db.execute(text("SELECT details::text FROM audit_events WHERE action='identity.searched'")))
        .scalars()
        .all()
    )
    assert audit
    assert all(PHONE_E164 not in d and NID not in d for d in audit)


async def test_national_id_method_needs_the_no_mobile_attestation(client, db):
    """Decree 147: the ID number verifies an account only when the user has no Vietnamese mobile."""
    k = await platform_keys(db)
    nid_method = {"method": "national_id", "verified_at": "2026-01-01T00:00:00Z"}
    r = await client.put(
        "/v1/identities/u", json=body(national_id=NID, verification=nid_method), headers=auth(k.platform)
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "verification.method"
    assert "no_vn_mobile_attested" in r.json()["detail"]
    assert NID not in r.text
    # Attesting no VN mobile while sending one is a contradiction.
    r = await client.put(
        "/v1/identities/u", json=body(no_vn_mobile_attested=True, national_id=NID), headers=auth(k.platform)
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "no_vn_mobile_attested"
    # A phone-verified user may still hold an ID number (e.g. for commercial livestream).
    r = await client.put("/v1/identities/u", json=body(national_id=NID), headers=auth(k.platform))
    assert r.status_code == 201, r.text


async def test_minor_age_comes_from_the_rule_in_force(client, db, monkeypatch):
    """A rule version raising the minor age to 18: a 17-year-old now needs a guardian."""
    from tests.rulebook.swap import new_version

    k = await platform_keys(db)
    seventeen = "2009-06-01"  # 17 at NOW
    r = await client.put("/v1/identities/teen", json=body(date_of_birth=seventeen), headers=auth(k.platform))
    assert r.status_code == 201, r.text
    assert r.json()["is_minor"] is False
    new_version(monkeypatch, "verified_actions.v1", NOW - timedelta(days=1), minor_age=18)
    r = await client.put("/v1/identities/teen2", json=body(date_of_birth=seventeen), headers=auth(k.platform))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "guardian"
    assert "under 18" in r.json()["detail"]
