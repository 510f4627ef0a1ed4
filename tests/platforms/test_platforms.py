"""The Form No. 10 clock: 60 days from coming in scope, or from the decree's start for platforms
that were in scope before it (found by schemathesis: that case was a 500)."""

from __future__ import annotations

import pytest

from tests.factories import admin_key, auth


def _body(in_scope_since: str) -> dict[str, object]:
    return {
        "name": f"P-{in_scope_since}",
        "legal_name": "P Inc.",
        "contact_point": {
            "name": "A",
            "email": "a@example.com",
            "phone": "+84 24 3825 0000",
            "address": "HN",
        },
        "monthly_vn_visits": 200000,
        "in_scope_since": in_scope_since,
    }


@pytest.mark.parametrize(
    ("in_scope_since", "due"),
    [
        ("2026-10-01", "2026-11-29T17:00:00Z"),  # 60 days from 1 Oct 2026 00:00 Vietnam time
        ("2000-01-01", "2025-02-22T17:00:00Z"),  # before the decree: 60 days from 25 Dec 2024
        ("2024-12-25", "2025-02-22T17:00:00Z"),
    ],
)
async def test_filing_due_date(client, db, in_scope_since: str, due: str) -> None:
    r = await client.post("/v1/platforms", headers=auth(await admin_key(db)), json=_body(in_scope_since))
    assert r.status_code == 201, r.text
    assert r.json()["filing_due_at"] == due


async def test_a_nul_character_is_a_422_not_a_500(client, db) -> None:
    """PostgreSQL cannot store U+0000 in text; the request is refused whole (found by schemathesis),
    by validation naming the field (kit/types.py) rather than by the database."""
    body = {**_body("2026-10-01"), "name": "Bad\u0000Name"}
    r = await client.post("/v1/platforms", headers=auth(await admin_key(db)), json=body)
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["field"] == "body.name"
    assert "U+0000" in error["message"]
    assert "Bad" not in r.text  # values are never echoed
    listed = await client.get("/v1/platforms", headers=auth(await admin_key(db)))
    assert listed.json()["items"] == []  # nothing was saved
