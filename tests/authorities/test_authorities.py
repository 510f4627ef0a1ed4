"""Authority codes: typed in any case, stored upper-case, validated with a clear 422."""

from __future__ import annotations

from tests.factories import admin_key, auth


async def test_code_in_lower_case_is_stored_upper_case(client, db) -> None:
    h = auth(await admin_key(db))
    r = await client.post(
        "/v1/authorities", headers=h, json={"code": " mps-a05 ", "name": "Police", "kind": "ministry"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["code"] == "MPS-A05"
    again = await client.post(
        "/v1/authorities", headers=h, json={"code": "MPS-A05", "name": "Police", "kind": "ministry"}
    )
    assert again.status_code == 409  # the same code, whatever case it was sent in


async def test_a_bad_code_is_a_422_naming_the_field(client, db) -> None:
    h = auth(await admin_key(db))
    r = await client.post("/v1/authorities", headers=h, json={"code": "-x", "name": "X", "kind": "ministry"})
    assert r.status_code == 422
    assert any(e["field"].endswith("code") for e in r.json()["errors"]), r.json()
