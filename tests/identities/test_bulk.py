"""Bulk NDJSON ingest: per-line results, chunk atomicity, streaming, audit per chunk."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.factories import auth, platform_keys
from tests.identities.helpers import NID, body
from vncomply.identities import bulk
from vncomply.identities.bulk import lines
from vncomply.kit import clock

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.fixture(autouse=True)
def _frozen() -> None:
    clock.set_now(NOW)


def line(account_id: str, **over) -> bytes:
    return orjson.dumps({"account_id": account_id, **body(**over)})


def phone(i: int) -> str:
    return f"09{i:08d}"


async def test_mixed_good_and_bad_lines(client, db):
    k = await platform_keys(db)
    payload = (
        b"\n".join(
            [
                line("a"),
                b"{not json",
                line("b", national_id="123456789"),
                line("bad id!"),
                b"",
                line("c", national_id=NID, commercial_livestreamer=True),
                orjson.dumps({"account_id": "d"}),
                line("a", phone_number="0987654321"),  # a later line for the same account wins
            ]
        )
        + b"\n"
    )
    r = await client.post("/v1/identities/bulk", content=payload, headers={**auth(k.platform), **NDJSON})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["accepted"] == 3  # a, c and the second a
    assert out["rejected"] == 4
    assert [(e["line"], e["account_id"]) for e in out["errors"]] == [
        (2, None),
        (3, "b"),
        (4, "bad id!"),
        (7, "d"),
    ]
    assert "CMND" in out["errors"][1]["problem"]
    assert "123456789" not in r.text
    rows = (
        await db.execute(
            text(
                "SELECT account_id, has_national_id, commercial_livestreamer FROM identities "
                "ORDER BY account_id"
            )
        )
    ).all()
    assert [tuple(r) for r in rows] == [("a", False, False), ("c", True, True)]
    g = await client.get("/v1/identities/a", headers=auth(k.platform))
    assert g.json()["masked"]["phone_number"] == "+84 98* *** *21"
    audits = (
        await db.execute(text("SELECT count(*) FROM audit_events WHERE action = 'identity.bulk_chunk'"))
    ).scalar()
    assert audits == 1


async def test_chunks_are_atomic(client, db, monkeypatch):
    k = await platform_keys(db)
    monkeypatch.setattr(bulk, "CHUNK", 3)
    real = bulk._UPSERT
    calls = {"n": 0}

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(8):
            yield line(f"u{i}", phone_number=phone(i)) + b"\n"

    from vncomply.identities import service as _service  # noqa: F401

    original = bulk._store

    async def failing_store(actor, pending, superseded, res):
        calls["n"] += 1
        if calls["n"] == 2:  # the second chunk breaks inside the database
            monkeypatch.setattr(bulk, "_UPSERT", text("INSERT INTO identities SELECT 1/0"))
        else:
            monkeypatch.setattr(bulk, "_UPSERT", real)
        await original(actor, pending, superseded, res)

    monkeypatch.setattr(bulk, "_store", failing_store)
    from vncomply.kit.principal import Principal, Role

    actor = Principal(k.platform_id, Role.platform, k.platform_id, None)
    out = await bulk.ingest(actor, chunks(), chunk_size=3)
    assert (out.accepted, out.rejected) == (5, 3)
    assert [e.line for e in out.errors] == [4, 5, 6]
    stored = (await db.execute(text("SELECT account_id FROM identities ORDER BY 1"))).scalars().all()
    assert stored == ["u0", "u1", "u2", "u6", "u7"]
    assert client is not None


async def test_lines_split_across_pieces():
    async def pieces() -> AsyncIterator[bytes]:
        for p in (b'{"a":', b"1}\n{", b'"b":2}\n\n', b"x" * 10, b"\n", b"tail"):
            yield p

    got = [(n, raw) async for n, raw in lines(pieces())]
    assert got == [(1, b'{"a":1}'), (2, b'{"b":2}'), (3, b""), (4, b"x" * 10), (5, b"tail")]


async def test_overlong_line(monkeypatch):
    monkeypatch.setattr(bulk, "MAX_LINE_BYTES", 8)

    async def pieces() -> AsyncIterator[bytes]:
        yield b"short\n" + b"y" * 5
        yield b"y" * 10 + b"\nok\n"

    assert [x async for x in lines(pieces())] == [(1, b"short"), (2, None), (3, b"ok")]


async def test_100k_line_stream(client, db):
    k = await platform_keys(db)
    n = 100_000
    bad_every = 1000

    async def gen() -> AsyncIterator[bytes]:
        batch = []
        for i in range(n):
            if i % bad_every == 7:
                batch.append(line(f"acc{i}", phone_number="02438250000"))
            else:
                batch.append(line(f"acc{i}", phone_number=phone(i % 10**8)))
            if len(batch) == 500:
                yield b"\n".join(batch) + b"\n"
                batch = []
        if batch:
            yield b"\n".join(batch)

    r = await client.post(
        "/v1/identities/bulk", content=gen(), headers={**auth(k.platform), **NDJSON}, timeout=600
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["rejected"] == n // bad_every
    assert out["accepted"] == n - n // bad_every
    assert out["errors"][0]["line"] == 8
    count = (await db.execute(text("SELECT count(*) FROM identities"))).scalar()
    assert count == out["accepted"]


async def test_errors_capped_counts_exact(client, db):
    k = await platform_keys(db)
    payload = b"\n".join(b"{bad" for _ in range(1500))
    r = await client.post("/v1/identities/bulk", content=payload, headers={**auth(k.platform), **NDJSON})
    out = r.json()
    assert out["rejected"] == 1500
    assert len(out["errors"]) == 1000
    assert out["errors_truncated"] is True


async def test_bulk_checks_otp_reference(client, db):
    k = await platform_keys(db)
    r = await client.post(
        "/v1/phone-verifications",
        json={"account_id": "a", "phone_number": "0912345678"},
        headers=auth(k.platform),
    )
    vid = r.json()["id"]
    verification = {"method": "sms_otp", "verified_at": "2026-11-25T03:00:00Z", "reference": vid}
    payload = line("a", verification=verification) + b"\n" + line("b") + b"\n"
    r = await client.post("/v1/identities/bulk", content=payload, headers={**auth(k.platform), **NDJSON})
    out = r.json()
    assert (out["accepted"], out["rejected"]) == (1, 1)
    assert out["errors"][0]["account_id"] == "a"
    assert "confirm" in out["errors"][0]["problem"]


async def test_needs_ndjson_content_type(client, db):
    k = await platform_keys(db)
    r = await client.post(
        "/v1/identities/bulk",
        content=line("a"),
        headers={**auth(k.platform), "Content-Type": "application/json"},
    )
    assert r.status_code == 415
    assert r.headers["content-type"] == "application/problem+json"
    r = await client.post("/v1/identities/bulk", content=line("a"), headers=NDJSON)
    assert r.status_code == 401


async def test_a_stream_that_breaks_mid_way_keeps_only_whole_chunks(committed):
    """The client goes away after two and a half chunks: the chunk being stored is stopped, the
    error reaches the request, no task is left behind, and what is stored is whole chunks only
    (each chunk is its own transaction: the one stored before the break stays)."""
    import asyncio

    from starlette.requests import ClientDisconnect

    from tests.factories import make_platform
    from vncomply.kit.principal import Principal, Role

    async with committed() as s:
        pid = await make_platform(s)
        await s.commit()
    actor = Principal(pid, Role.platform, pid, None)

    async def breaks() -> AsyncIterator[bytes]:
        for i in range(25):
            yield line(f"b{i}", phone_number=phone(i)) + b"\n"
        raise ClientDisconnect()

    with pytest.raises(ClientDisconnect):
        await bulk.ingest(actor, breaks(), chunk_size=10)
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not [t for t in others if "_store" in repr(t.get_coro())]
    async with committed() as s:
        stored = (await s.execute(text("SELECT account_id FROM identities"))).scalars().all()
    assert len(stored) in (10, 20)  # the first chunk, and the second if it was done before the break
    assert set(stored) == {f"b{i}" for i in range(len(stored))}


def _reference_lines(body: bytes, limit: int) -> list[tuple[int, bytes | None]]:
    """What a reader holding the whole body would say (the streaming splitter must agree)."""
    parts = body.split(b"\n")
    out: list[tuple[int, bytes | None]] = [
        (i + 1, None if len(p) > limit else p) for i, p in enumerate(parts[:-1])
    ]
    last = parts[-1]
    if len(last) > limit:
        out.append((len(parts), None))
    elif last.strip():
        out.append((len(parts), last))
    return out


@settings(max_examples=300, deadline=None)
@given(
    body=st.binary(max_size=300).map(lambda b: b.replace(b"\r", b"\n")),
    cuts=st.lists(st.integers(0, 300), max_size=12),
    limit=st.integers(1, 40),
)
def test_streamed_lines_equal_the_whole_body_split(body: bytes, cuts: list[int], limit: int) -> None:
    import asyncio

    points = sorted({c for c in cuts if c <= len(body)} | {0, len(body)})
    pieces = [body[a:b] for a, b in itertools.pairwise(points)]

    async def stream() -> AsyncIterator[bytes]:
        for p in pieces:
            yield p

    async def collect() -> list[tuple[int, bytes | None]]:
        return [x async for x in lines(stream())]

    original = bulk.MAX_LINE_BYTES
    bulk.MAX_LINE_BYTES = limit
    try:
        assert asyncio.run(collect()) == _reference_lines(body, limit)
    finally:
        bulk.MAX_LINE_BYTES = original


async def test_copy_types_match_the_table(db):
    """Binary COPY needs each column's type; a new or changed column must be listed."""
    from vncomply.identities.prepare import COLUMNS, COPY_TYPES

    assert list(COPY_TYPES) == list(COLUMNS)
    rows = await db.execute(
        text("SELECT column_name, udt_name FROM information_schema.columns WHERE table_name = 'identities'")
    )
    actual = dict(rows.all())
    assert set(actual) == set(COLUMNS)
    same = {"varchar": "text", "bool": "bool", "uuid": "uuid", "bytea": "bytea", "date": "date"}
    for column, udt in actual.items():
        assert same.get(udt, udt) == COPY_TYPES[column], column


async def test_every_invalid_value_refuses_only_its_own_line(client, db):
    """A zone-less time (once a 500 for the whole upload) or a control character (once a DataError
    that refused its whole chunk with "resend it") is that line's problem alone, named by field."""
    k = await platform_keys(db)
    verification = {"method": "sms_otp", "verified_at": "2026-11-25T01:00:00Z"}
    bad = {
        "naive": {"verification": {**verification, "verified_at": "2026-11-25T08:00:00"}},
        "bare-date": {"verification": {**verification, "verified_at": "2026-11-25"}},
        "nul-reference": {"verification": {**verification, "reference": "ref\x00x"}},
        "esc-name": {"full_name": "Nguy\x1bn Van An"},
        "tab-phone": {"phone_number": "0912\t345678"},
        "far-birth": {"date_of_birth": "9999-12-31"},
    }
    payload = b"\n".join(
        [line("ok-1"), *(line(acc, **over) for acc, over in bad.items()), line("ok-2", phone_number=phone(2))]
    )
    r = await client.post("/v1/identities/bulk", content=payload, headers={**auth(k.platform), **NDJSON})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["accepted"], out["rejected"]) == (2, len(bad))
    problems = {e["account_id"]: e["problem"] for e in out["errors"]}
    assert problems["naive"].startswith("verification.verified_at: must be a date and time with a time zone")
    assert problems["bare-date"].startswith("verification.verified_at: ")
    assert problems["nul-reference"].startswith("verification.reference: must not contain control characters")
    assert problems["esc-name"].startswith("full_name: ")
    assert problems["tab-phone"].startswith("phone_number: must be on one line")
    assert problems["far-birth"].startswith("date_of_birth: ")
    assert not any("resend" in p for p in problems.values())
    assert "345678" not in r.text
    stored = (await db.execute(text("SELECT account_id FROM identities ORDER BY 1"))).scalars().all()
    assert stored == ["ok-1", "ok-2"]


async def test_a_line_that_meets_a_bug_is_refused_alone_and_logged(client, db, monkeypatch, capsys):
    k = await platform_keys(db)
    real = bulk.prepare

    def prepare(platform_id, account_id, body, **kw):  # type: ignore[no-untyped-def]
        if account_id == "boom":
            raise TypeError(f"cannot compare {body.phone_number}")
        return real(platform_id, account_id, body, **kw)

    monkeypatch.setattr(bulk, "prepare", prepare)
    payload = b"\n".join([line("ok-1"), line("boom"), line("ok-2", phone_number=phone(2))])
    r = await client.post(
        "/v1/identities/bulk",
        content=payload,
        headers={**auth(k.platform), **NDJSON, "X-Request-ID": "rid-bulk-bug"},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["accepted"], out["rejected"]) == (2, 1)
    assert out["errors"][0]["account_id"] == "boom"
    assert "could not be processed" in out["errors"][0]["problem"]
    logged = capsys.readouterr().out
    for sign in ("unhandled_exception", "rid-bulk-bug", "TypeError"):
        assert sign in logged, sign
    assert "0912345678" not in logged
