"""Validation messages say what to send, where a newcomer is likely to trip: a body sent without
`Content-Type: application/json`, a date not in YYYY-MM-DD, a lift or a decision without its body
(the message shows the shape), a body that is not text at all; and a domain check reports every
problem of a body at once, not one per try. (The webhook SSRF refusal naming
VNCOMPLY_WEBHOOK_ALLOW_PRIVATE in dev: tests/events/test_ssrf.py.)"""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.factories import admin_key, auth, make_authority, platform_keys

PLATFORM = {
    "name": "MsgCo",
    "legal_name": "MsgCo Ltd.",
    "contact_point": {"name": "A", "email": "a@example.com", "phone": "+84 24 3825 0000", "address": "HN"},
    "monthly_vn_visits": 200000,
}


def _only_error(r: Any) -> dict[str, str]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    (error,) = r.json()["errors"]
    return error  # type: ignore[no-any-return]


async def test_a_json_body_without_its_content_type_is_told_to_send_it(client, db) -> None:
    headers = auth(await admin_key(db))
    for content_type in (
        {},
        {"content-type": "text/plain"},
        {"content-type": "application/x-www-form-urlencoded"},
    ):
        r = await client.post(
            "/v1/platforms", headers={**headers, **content_type}, content=json.dumps(PLATFORM)
        )
        error = _only_error(r)
        assert error["field"] == "body"
        assert "`Content-Type: application/json`" in error["message"], error
        # …and what a body looks like: the documented example.
        assert '"contact_point"' in error["message"]
        assert error["message"] in r.json()["detail"]


async def test_a_date_in_another_format_is_told_the_format(client, db) -> None:
    headers = auth(await admin_key(db))
    for wrong in ("01/10/2026", "2026-1-5", "1 Oct 2026"):
        r = await client.post("/v1/platforms", headers=headers, json={**PLATFORM, "in_scope_since": wrong})
        error = _only_error(r)
        assert error["field"] == "body.in_scope_since"
        assert "YYYY-MM-DD" in error["message"], error


async def test_a_time_in_another_format_is_told_the_format(client, db) -> None:
    headers = auth(await admin_key(db))
    r = await client.get("/v1/audit-events", headers=headers, params={"since": "25/11/2026 08:00"})
    error = _only_error(r)
    assert error["field"] == "query.since"
    assert "2026-11-25T08:00:00Z" in error["message"], error


async def test_a_lift_without_its_body_shows_the_shape(client, db) -> None:
    k = await platform_keys(db)
    r = await client.post(f"/v1/account-blocks/{uuid.uuid4()}/lift", headers=auth(k.officer))
    error = _only_error(r)
    assert error["field"] == "body"
    assert error["code"] == "missing"
    assert 'needs a JSON body, such as {"reason": ' in error["message"], error


async def test_a_decision_without_its_body_shows_the_shape(client, db) -> None:
    k = await platform_keys(db)
    r = await client.post(f"/v1/disclosure-requests/{uuid.uuid4()}/decision", headers=auth(k.officer))
    error = _only_error(r)
    assert '{"decision": "approve"}' in error["message"], error


async def test_a_body_that_is_not_text_is_a_422_not_a_400(client, db) -> None:
    headers = {**auth(await admin_key(db)), "content-type": "application/json"}
    r = await client.post("/v1/platforms", headers=headers, content=b"\xff\xfe{\x00")
    error = _only_error(r)
    assert error["code"] == "json_invalid"
    assert "not valid JSON" in error["message"]


async def test_an_order_reports_every_problem_at_once(client, db) -> None:
    k = await platform_keys(db)
    authority_id, _ = await make_authority(db, "MSG", [k.platform_id])
    order = {
        "authority_id": str(authority_id),
        "platform_id": str(uuid.uuid4()),  # not the officer's platform
        "reference_no": "MSG-1",
        "channel": "electronic",  # officers record phone or written orders
        "urgency": "standard",
        "category": "fraud",
        "legal_basis": "Decree 147",
        "received_at": "2000-01-01T00:00:00Z",  # more than 7 days back
        "issued_at": "2000-01-02T00:00:00Z",  # after receipt
        "items": [{"content_url": "https://social.example/p/1", "subject_type": "post"}],
    }
    r = await client.post("/v1/takedown-orders", headers=auth(k.officer), json=order)
    assert r.status_code == 422, r.text
    fields = [e["field"] for e in r.json()["errors"]]
    assert fields == ["platform_id", "channel", "received_at", "issued_at"]
    assert all(e["code"] for e in r.json()["errors"])
    assert r.json()["detail"].startswith("4 problems: ")


async def test_an_api_key_reports_every_problem_at_once(client, db) -> None:
    body = {
        "role": "officer",
        "name": "x",
        "authority_id": str(uuid.uuid4()),
        "expires_at": "2000-01-01T00:00:00Z",
    }
    r = await client.post("/v1/api-keys", headers=auth(await admin_key(db)), json=body)
    assert r.status_code == 422, r.text
    assert {e["field"] for e in r.json()["errors"]} == {"holder", "platform_id", "authority_id", "expires_at"}
