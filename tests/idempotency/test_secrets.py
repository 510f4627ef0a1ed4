"""A one-time secret (a new API key, a webhook signing secret) is shown once, to the first reply,
and kept nowhere: not in the stored idempotent reply, not anywhere else in the database."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import admin_key, auth, platform_keys
from vncomply.idempotency.route import IdempotentRoute, idempotent

# Every column that can hold text or bytes, in every table.
_COLUMNS = """
SELECT table_name, column_name, data_type FROM information_schema.columns
WHERE table_schema = 'public'
  AND data_type IN ('text', 'character varying', 'character', 'bytea', 'json', 'jsonb')
"""


async def tables_holding(db: AsyncSession, secret: str) -> list[str]:
    """``table.column`` of every value that contains ``secret`` (as text, or as bytes)."""
    found = []
    for table, column, kind in (await db.execute(text(_COLUMNS))).all():
        if kind == "bytea":
            cond = f'position(CAST(:needle AS bytea) IN "{column}") > 0'
            needle: Any = secret.encode()
        else:
            cond = f'strpos(CAST("{column}" AS text), :needle) > 0'
            needle = secret
        # Names from information_schema, not from input.
        query = text(f'SELECT count(*) FROM "{table}" WHERE {cond}')  # noqa: S608
        n = (await db.execute(query, {"needle": needle})).scalar()
        if n:
            found.append(f"{table}.{column}")
    return found


async def test_scan_finds_what_it_looks_for(client, db) -> None:
    """The scan itself works: a value that is stored is found (else the tests below prove nothing)."""
    admin = await admin_key(db)
    r = await client.post(
        "/v1/api-keys",
        headers={**auth(admin), "Idempotency-Key": "scan-check"},
        json={"role": "admin", "name": "needle-in-a-name-7f3a"},
    )
    assert r.status_code == 201
    found = await tables_holding(db, "needle-in-a-name-7f3a")
    assert "api_keys.name" in found
    assert "idempotency_records.body" in found  # bytea: the stored reply


async def test_new_api_key_is_stored_nowhere_and_the_replay_withholds_it(client, db) -> None:
    admin = await admin_key(db)
    h = {**auth(admin), "Idempotency-Key": "new-admin-key"}
    body = {"role": "admin", "name": "second admin"}
    first = await client.post("/v1/api-keys", headers=h, json=body)
    assert first.status_code == 201
    raw = first.json()["key"]
    assert raw.startswith("vnc_")
    assert "secret_shown" not in first.json()  # the first reply is as it always was
    # The key works, and its plaintext is nowhere in the database.
    assert (await client.get("/v1/platforms", headers=auth(raw))).status_code == 200
    assert await tables_holding(db, raw) == []
    assert await tables_holding(db, raw.removeprefix("vnc_")) == []

    again = await client.post("/v1/api-keys", headers=h, json=body)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    replay = again.json()
    assert replay["key"] is None
    assert replay["secret_shown"] is False
    # The same resource otherwise: a retry learns which key was made (and can revoke it).
    assert {k: v for k, v in replay.items() if k not in ("key", "secret_shown")} == {
        k: v for k, v in first.json().items() if k != "key"
    }
    assert raw not in again.text


async def test_webhook_signing_secrets_are_stored_nowhere_in_clear(client, db) -> None:
    keys = await platform_keys(db)
    h = {**auth(keys.platform), "Idempotency-Key": "hook-1"}
    body = {"url": "http://127.0.0.1:9/hook"}
    first = await client.post("/v1/webhook-endpoints", headers=h, json=body)
    assert first.status_code == 201, first.text
    secret = first.json()["secret"]
    assert secret.startswith("whsec_")
    again = await client.post("/v1/webhook-endpoints", headers=h, json=body)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["secret"] is None
    assert again.json()["secret_shown"] is False

    endpoint = first.json()["id"]
    rh = {**auth(keys.platform), "Idempotency-Key": "rotate-1"}
    rotated = await client.post(f"/v1/webhook-endpoints/{endpoint}/rotate-secret", headers=rh)
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    replay = await client.post(f"/v1/webhook-endpoints/{endpoint}/rotate-secret", headers=rh)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == {
        "secret": None,
        "previous_secret_expires_at": rotated.json()["previous_secret_expires_at"],
        "secret_shown": False,
    }
    for s in (secret, new_secret):
        assert await tables_holding(db, s) == [], s
        assert await tables_holding(db, s.removeprefix("whsec_")) == [], s


async def test_replay_documents_the_withheld_secret_in_openapi(client) -> None:
    spec = (await client.get("/openapi.json")).json()
    op = spec["paths"]["/v1/api-keys"]["post"]
    assert "`key`: shown once" in op["description"]
    assert "secret_shown" in op["description"]


def test_declaring_a_secret_the_reply_does_not_have_fails_at_import() -> None:
    class Out(BaseModel):
        token: str

    router = APIRouter(route_class=IdempotentRoute)
    with pytest.raises(TypeError, match="not in Out"):

        @router.post("/x", response_model=Out)
        @idempotent(secrets=("tokn",))
        async def make() -> Out:  # pragma: no cover - never registered
            return Out(token="t")
