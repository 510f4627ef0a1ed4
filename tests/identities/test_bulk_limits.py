"""Bulk ingest's bounds: the stream's byte and line caps (cut with a 413 that still reports what was
stored before the cut), memory bounded by the chunk size whatever the account ids, and no database
connection or transaction held between chunks. (A declared Content-Length over the cap is refused
before the body is read: tests/auth/test_gate.py, against a real server.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import orjson
import psycopg
import pytest
from sqlalchemy import text

from tests.factories import auth, platform_keys
from tests.identities.helpers import body
from vncomply.config import get_settings
from vncomply.identities import bulk
from vncomply.kit import clock

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.fixture(autouse=True)
def _frozen() -> None:
    clock.set_now(NOW)


def line(account_id: str, i: int = 0) -> bytes:
    return orjson.dumps({"account_id": account_id, **body(phone_number=f"09{i:08d}")}) + b"\n"


async def _count(db, sql: str) -> int:
    return int((await db.execute(text(sql))).scalar() or 0)


async def test_a_stream_past_the_byte_cap_is_cut_after_storing_what_came_before(
    client, db, monkeypatch
) -> None:
    k = await platform_keys(db)
    lines = [line(f"c{i}", i) for i in range(10)]
    cap = sum(len(x) for x in lines[:7]) + len(lines[7]) // 2  # in the middle of line 8
    monkeypatch.setattr(get_settings(), "bulk_max_bytes", cap)
    monkeypatch.setattr(bulk, "CHUNK", 3)

    async def pieces() -> AsyncIterator[bytes]:  # chunked: no Content-Length to refuse up front
        for x in lines:
            yield x

    r = await client.post("/v1/identities/bulk", content=pieces(), headers={**auth(k.platform), **NDJSON})
    assert r.status_code == 413, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["connection"] == "close"  # the rest of the stream is not read
    problem = r.json()
    assert (problem["accepted"], problem["rejected"], problem["lines_read"]) == (7, 0, 7)
    # The per-line results are `line_errors`: a problem's `errors` are field errors (the Problem schema).
    assert problem["line_errors"] == []
    assert "errors" not in problem
    assert str(cap) in problem["detail"]
    assert "line 8" in problem["detail"]
    # Seven lines stored (three chunks), the half line never parsed.
    assert await _count(db, "SELECT count(*) FROM identities") == 7
    assert await _count(db, "SELECT count(*) FROM audit_events WHERE action = 'identity.bulk_chunk'") == 3


async def test_a_stream_past_the_line_cap_is_cut(client, db, monkeypatch) -> None:
    k = await platform_keys(db)
    monkeypatch.setattr(get_settings(), "bulk_max_lines", 5)
    headers = {**auth(k.platform), **NDJSON}
    payload = b"".join(line(f"l{i}", i) for i in range(8))
    r = await client.post("/v1/identities/bulk", content=payload, headers=headers)
    assert r.status_code == 413, r.text
    assert (r.json()["accepted"], r.json()["lines_read"]) == (5, 5)
    assert await _count(db, "SELECT count(*) FROM identities") == 5
    # Exactly at the cap (blank lines after it are no records) is a normal reply.
    r = await client.post(
        "/v1/identities/bulk", content=payload[: len(payload) // 8 * 5] + b"\n\n", headers=headers
    )
    assert r.status_code == 200, r.text


async def test_one_account_on_every_line_keeps_memory_to_a_chunk(client, db, monkeypatch) -> None:
    """A chunk is so many *lines*: the lines for one repeated account are stored chunk by chunk,
    never collected for the whole stream."""
    k = await platform_keys(db)
    monkeypatch.setattr(bulk, "CHUNK", 3)
    held: list[int] = []
    original = bulk._store

    async def spying(actor, pending, superseded, res):
        held.append(len(pending) + sum(len(v) for v in superseded.values()))
        await original(actor, pending, superseded, res)

    monkeypatch.setattr(bulk, "_store", spying)
    payload = b"".join(line("same", i) for i in range(10))
    r = await client.post("/v1/identities/bulk", content=payload, headers={**auth(k.platform), **NDJSON})
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 10
    assert held == [3, 3, 3, 1]
    assert await _count(db, "SELECT count(*) FROM identities") == 1
    g = await client.get("/v1/identities/same", headers=auth(k.platform))
    assert g.json()["masked"]["phone_number"].endswith("*09")  # the last line won: 0900000009


async def test_no_connection_or_transaction_is_held_between_chunks(committed, test_database, monkeypatch):
    """While the client is still sending, the chunk already received is committed and its connection
    is back in the pool."""
    from tests.factories import make_key, make_platform
    from vncomply.app import create_app
    from vncomply.kit.principal import Role

    async with committed() as s:
        pid = await make_platform(s)
        _, raw = await make_key(s, Role.platform, platform_id=pid)
        await s.commit()
    monkeypatch.setattr(bulk, "CHUNK", 3)
    pool = committed.kw["bind"].pool
    plain = test_database.replace("postgresql+psycopg://", "postgresql://", 1)
    seen: dict[str, int] = {}

    async def stored() -> int:
        async with await psycopg.AsyncConnection.connect(plain, autocommit=True) as conn:
            cur = await conn.execute("SELECT count(*) FROM identities")
            row = await cur.fetchone()
            return int(row[0]) if row else 0

    async def pieces() -> AsyncIterator[bytes]:
        for i in range(3):
            yield line(f"h{i}", i)
        for _ in range(500):  # waits for an event (the first chunk committed), not for a time
            seen["stored"], seen["checked_out"] = await stored(), pool.checkedout()
            if seen == {"stored": 3, "checked_out": 0}:
                break
            await asyncio.sleep(0.01)
        for i in range(3, 5):
            yield line(f"h{i}", i)

    transport = httpx.ASGITransport(app=create_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.post("/v1/identities/bulk", content=pieces(), headers={**auth(raw), **NDJSON})
    assert r.status_code == 200, r.text
    assert seen == {"stored": 3, "checked_out": 0}, seen
    assert r.json()["accepted"] == 5
    assert await stored() == 5
