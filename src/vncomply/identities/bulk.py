"""Bulk ingest: an NDJSON stream of identities, validated per line, upserted per chunk.

The body is read incrementally and split into lines as it arrives; at most two chunks of prepared
(encrypted) rows are in memory, however the lines repeat account ids (a chunk is so many *lines*).
Each chunk is its own short transaction on its own session: COPY into a temporary staging table and
one INSERT … ON CONFLICT inside a SAVEPOINT, so a chunk lands whole or not at all, a bad line only
rejects itself, and no connection or transaction is held while the client is still sending (a
stream may take minutes). One audit record per stored chunk. Error details are capped; counts are
exact. A stream past ``bulk_max_bytes`` or ``bulk_max_lines`` is cut there: what came before the
cut is stored, and the 413 problem reports it like a normal reply, with ``lines_read``.
"""

from __future__ import annotations

import asyncio
import operator
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from vncomply.audit import service as audit
from vncomply.config import get_settings
from vncomply.identities.keys import bi_key, ring
from vncomply.identities.prepare import COLUMNS, COPY_TYPES, Prepared, prepare
from vncomply.identities.schemas import BulkError, BulkLine, BulkOut
from vncomply.identities.service import RefCheck, check_references
from vncomply.identities.validation import ValidationProblem, validate_account_id
from vncomply.kit.crypto import KeyRing
from vncomply.kit.db import session_scope
from vncomply.kit.errors import PayloadTooLarge
from vncomply.kit.logs import get_logger
from vncomply.kit.middleware import CLOSE_UNREAD
from vncomply.kit.principal import Principal
from vncomply.kit.problems import log_unhandled

CHUNK = 2000
YIELD_EVERY = 100  # lines between yields to the event loop while parsing
MAX_ERRORS = 1000
MAX_LINE_BYTES = 64 * 1024
STAGE = "identities_stage"
log = get_logger("vncomply.identities.bulk")

# Created in each chunk's transaction and dropped by its commit (safe behind a transaction pooler).
_CREATE_STAGE = text(
    f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} (LIKE identities INCLUDING DEFAULTS) ON COMMIT DROP"
)
_COLS = ", ".join(COLUMNS)
_UPDATE = ", ".join(
    f"{c} = EXCLUDED.{c}" for c in COLUMNS if c not in ("platform_id", "account_id", "created_at")
)
_UPSERT = text(
    f"INSERT INTO identities ({_COLS}) SELECT {_COLS} FROM {STAGE} "  # noqa: S608
    f"ON CONFLICT (platform_id, account_id) DO UPDATE SET {_UPDATE}"
)
_TRUNCATE = text(f"TRUNCATE {STAGE}")
_COPY = f"COPY {STAGE} ({_COLS}) FROM STDIN (FORMAT BINARY)"
# Binary COPY: ciphertexts travel as raw bytes instead of hex text (half the bytes, no escaping).
_COPY_TYPES = [COPY_TYPES[c] for c in COLUMNS]
_row_values = operator.itemgetter(*COLUMNS)


class StreamCut(PayloadTooLarge):
    """The stream passed a cap; ``extra`` holds the reply for the lines read before it."""


class _OverCap(Exception):
    pass


@dataclass
class _Result:
    accepted: int = 0
    rejected: int = 0
    errors: list[BulkError] = field(default_factory=list)
    chunks: int = 0
    lines_read: int = 0  # the last line read whole (and so stored or rejected)
    unexpected: int = 0  # lines refused by an error of ours rather than their data

    def reject(self, line: int, account_id: str | None, problem: str) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(BulkError(line=line, account_id=account_id, problem=problem))


async def line_batches(
    stream: AsyncIterator[bytes],
) -> AsyncGenerator[list[tuple[int, bytes | None]], None]:
    """The (line number, line) pairs completed by each piece of the body, as the bytes arrive;
    ``None`` for a line over ``MAX_LINE_BYTES`` (never buffered past the limit).

    Pieces are split with ``bytes.split`` (in C) and handed on a piece at a time: per line, no
    Python-level scanning and no async-generator step.
    """
    limit = MAX_LINE_BYTES
    rest = b""  # the unfinished line so far
    overlong = False  # ... which has already passed the limit
    n = 0
    async for piece in stream:
        parts = piece.split(b"\n")
        if len(parts) == 1:
            if not overlong:
                rest += piece
                if len(rest) > limit:
                    overlong, rest = True, b""
            continue
        head = parts[0]
        n += 1
        done: list[tuple[int, bytes | None]] = [
            (n, None if overlong or len(rest) + len(head) > limit else rest + head)
        ]
        for middle in parts[1:-1]:
            n += 1
            done.append((n, None if len(middle) > limit else middle))
        rest, overlong = parts[-1], False
        if len(rest) > limit:
            overlong, rest = True, b""
        yield done
    if overlong:
        yield [(n + 1, None)]
    elif rest.strip():
        yield [(n + 1, rest)]


async def lines(stream: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, bytes | None]]:
    """``line_batches`` one line at a time."""
    async for batch in line_batches(stream):
        for item in batch:
            yield item


async def _capped(stream: AsyncIterator[bytes], max_bytes: int) -> AsyncIterator[bytes]:
    """The stream up to ``max_bytes``, then ``_OverCap``: the splitter yields the lines completed
    before the cap and never the unfinished one it was in."""
    seen = 0
    async for piece in stream:
        seen += len(piece)
        if seen > max_bytes:
            keep = len(piece) - (seen - max_bytes)
            if keep > 0:
                yield piece[:keep]
            raise _OverCap
        yield piece


def _account_id_of(raw: bytes) -> str | None:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    acc = doc.get("account_id") if isinstance(doc, dict) else None
    return acc[:128] if isinstance(acc, str) else None


def _describe(exc: ValidationError) -> str:
    # Field and message only: pydantic's default rendering echoes the input, which may be PII.
    parts = []
    for err in exc.errors(include_input=False, include_url=False)[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(line)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


class _Chunks:
    """Collects prepared lines into chunks and stores each chunk while the next one is built.

    Chunk N is stored while chunk N+1 is parsed and encrypted, so PostgreSQL's work (COPY, upsert,
    index maintenance) runs on its own core meanwhile. One chunk is in the database at a time, in
    order, each in its own transaction; at most two chunks are in memory.
    """

    def __init__(self, actor: Principal, res: _Result, size: int) -> None:
        self.actor, self.res, self.size = actor, res, size
        self.pending: dict[str, tuple[int, Prepared]] = {}  # account_id → its latest line here
        # Earlier lines for an account replaced later in the same chunk share that line's fate.
        self.superseded: dict[str, list[int]] = {}
        self.lines = 0  # lines in this chunk: pending and superseded (bounds both)
        self.storing: asyncio.Task[None] | None = None

    async def add(self, line_no: int, account_id: str, prep: Prepared) -> None:
        earlier = self.pending.get(account_id)
        if earlier is not None:
            self.superseded.setdefault(account_id, []).append(earlier[0])
        self.pending[account_id] = (line_no, prep)
        self.lines += 1
        if self.lines >= self.size:
            await self.flush()

    async def flush(self) -> None:
        await self.wait()
        if self.pending:
            chunk, superseded = self.pending, self.superseded
            self.pending, self.superseded, self.lines = {}, {}, 0
            self.storing = asyncio.ensure_future(_store(self.actor, chunk, superseded, self.res))

    async def wait(self) -> None:
        if self.storing is not None:
            storing, self.storing = self.storing, None
            await storing

    async def abandon(self) -> None:
        """The request failed mid-stream: stop the chunk in flight (its transaction rolls back;
        the chunks stored before it stay)."""
        if self.storing is not None and not self.storing.done():
            self.storing.cancel()
            await asyncio.gather(self.storing, return_exceptions=True)


async def ingest(
    actor: Principal,
    stream: AsyncIterator[bytes],
    chunk_size: int | None = None,
) -> BulkOut:
    settings = get_settings()
    max_bytes, max_lines = settings.bulk_max_bytes, settings.bulk_max_lines
    platform_id = actor.require_platform()
    kr, bk = ring(), bi_key()
    res = _Result()
    chunks = _Chunks(actor, res, chunk_size or CHUNK)
    batches = line_batches(_capped(stream, max_bytes))
    cut: str | None = None
    try:
        try:
            async for batch in batches:
                for line_no, raw in batch:
                    if line_no > max_lines:
                        if raw is not None and not raw.strip():
                            continue  # a blank line past the cap is no record: nothing to refuse
                        cut = f"a stream may hold {max_lines} lines"
                        break
                    if line_no % YIELD_EVERY == 0:
                        await asyncio.sleep(0)  # let the chunk being stored (and others) move on
                    parsed = _parse_line(line_no, raw, platform_id, kr, bk, res)
                    res.lines_read = line_no
                    if parsed is not None:
                        await chunks.add(line_no, *parsed)
                if cut is not None:
                    break
        except _OverCap:
            cut = f"a stream may hold {max_bytes} bytes"
        finally:
            await batches.aclose()
        await chunks.flush()
        await chunks.wait()
    except BaseException:
        await chunks.abandon()
        raise
    log.info("identities.bulk", accepted=res.accepted, rejected=res.rejected, chunks=res.chunks)
    out = BulkOut(
        accepted=res.accepted,
        rejected=res.rejected,
        errors=res.errors,
        errors_truncated=res.rejected > len(res.errors),
    )
    if cut is not None:
        raise StreamCut(
            f"The stream was cut after line {res.lines_read}: {cut}. The lines up to it were "
            f"handled as reported here; send the rest (from line {res.lines_read + 1}) in another "
            "request.",
            # `errors` of a problem are always field errors (the documented Problem schema): the
            # per-line results travel as `line_errors`.
            extra={**_as_problem(out), "lines_read": res.lines_read},
            headers=dict(CLOSE_UNREAD),  # the rest of the stream is not read
        )
    return out


def _as_problem(out: BulkOut) -> dict[str, Any]:
    reply = out.model_dump(mode="json")
    reply["line_errors"] = reply.pop("errors")
    return reply


def _parse_line(
    line_no: int, raw: bytes | None, platform_id: uuid.UUID, kr: KeyRing, bk: bytes, res: _Result
) -> tuple[str, Prepared] | None:
    """Validate and encrypt one line; None (and the rejection recorded) when it is bad."""
    if raw is None:
        res.reject(line_no, None, f"line is longer than {MAX_LINE_BYTES} bytes")
        return None
    if not raw.strip():
        return None  # blank lines (e.g. a trailing newline) are not records
    try:
        body = BulkLine.model_validate_json(raw)
    except ValidationError as exc:
        res.reject(line_no, _account_id_of(raw), _describe(exc))
        return None
    try:
        account_id = validate_account_id(body.account_id)
        return account_id, prepare(platform_id, account_id, body, keyring=kr, bikey=bk)
    except ValidationProblem as p:
        res.reject(line_no, body.account_id[:128], f"{p.field}: {p.message}")
        return None
    except Exception as exc:
        # A bug met by one line's data must not fail the whole upload: that line is refused and the
        # first such failure logged (frames only, no values) under the request id.
        if not res.unexpected:
            log_unhandled(exc, path="/v1/identities/bulk", line=line_no)
        res.unexpected += 1
        res.reject(
            line_no, body.account_id[:128], "this line could not be processed; nothing was stored for it"
        )
        return None


async def _store(
    actor: Principal,
    pending: dict[str, tuple[int, Prepared]],
    superseded: dict[str, list[int]],
    res: _Result,
) -> None:
    platform_id = actor.require_platform()
    checks = [
        RefCheck(p.otp_reference, acc, p.ref_phone_bis)
        for acc, (_, p) in pending.items()
        if p.otp_reference is not None
    ]
    lines_in_chunk: list[tuple[int, str]] = []
    async with session_scope() as session:  # this chunk's own transaction (and connection)
        bad = await check_references(session, platform_id, checks)
        rows: list[tuple[Any, ...]] = []
        for acc, (line_no, p) in pending.items():
            if p.otp_reference is not None and p.otp_reference in bad:
                for n in (*superseded.get(acc, ()), line_no):
                    res.reject(n, acc, f"verification.reference: {bad[p.otp_reference]}")
                continue
            rows.append(_row_values(p.row))
            lines_in_chunk.append((line_no, acc))
            lines_in_chunk.extend((n, acc) for n in superseded.get(acc, ()))
        if not rows:
            return
        first, last = min(n for n, _ in lines_in_chunk), max(n for n, _ in lines_in_chunk)
        try:
            async with session.begin_nested():
                await session.execute(_CREATE_STAGE)
                conn = await session.connection()
                raw = await conn.get_raw_connection()
                pg: Any = raw.driver_connection
                async with pg.cursor() as cur, cur.copy(_COPY) as copy:
                    copy.set_types(_COPY_TYPES)
                    for row in rows:
                        await copy.write_row(row)
                await session.execute(_UPSERT)
                await session.execute(_TRUNCATE)
                audit.record(
                    session, actor, "identity.bulk_chunk", "identity", f"lines {first}-{last}",
                    platform_id, {"chunk": res.chunks + 1, "stored": len(rows)},
                )  # fmt: skip
                await session.flush()
        except (DBAPIError, psycopg.Error) as exc:
            # The type only: the message of a failed COPY/INSERT can quote row values (PII).
            log.warning("identities.bulk_chunk_failed", error_type=type(exc).__name__)
            for line_no, acc in sorted(lines_in_chunk):
                res.reject(line_no, acc, "the chunk holding this line could not be stored; resend it")
            return
    # Counted once the chunk's transaction has committed.
    res.chunks += 1
    res.accepted += len(lines_in_chunk)
