"""Batch writers for transitions that fire thousands of rows per sweep.

Each has the contract of its one-row counterpart — ``vncomply.events.outbox.emit`` (per-platform
gap-free ``seq`` from the row-locked counter) and ``vncomply.audit.service.record`` with the system
actor — in the caller's transaction, but sends arrays through ``jsonb_to_recordset``: a handful of statements
per batch with a handful of parameters, instead of one or two round trips (or one giant multi-VALUES
statement that psycopg and SQLAlchemy must parse) per row. Measured in bench/takedowns: the ORM
path ran ~1,000 transitions/s on the bench machine, this one an order of magnitude more.

They write the tables of the events and audit domains directly, so a column added there must be
added here (tests/deadlines/test_bulk.py compares them with the one-row path). Candidates to move
into those packages.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply import clock
from vncomply.events.outbox import EVENT_TYPES


@dataclass(frozen=True)
class PendingEvent:
    platform_id: uuid.UUID
    type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class PendingAudit:
    action: str
    resource_type: str
    resource_id: object
    platform_id: uuid.UUID | None
    details: dict[str, Any]


# Rows travel as one JSON document per statement (orjson in, jsonb_to_recordset out): one parameter,
# no per-element array escaping in Python.
_SEQ = text(
    """
    INSERT INTO event_sequences (platform_id, last_seq)
    SELECT r.platform_id, r.n FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(platform_id uuid, n bigint)
    ON CONFLICT (platform_id) DO UPDATE SET last_seq = event_sequences.last_seq + excluded.last_seq
    RETURNING platform_id, last_seq
    """
)
_EVENTS = text(
    """
    INSERT INTO events (id, platform_id, seq, type, occurred_at, data)
    SELECT r.id, r.platform_id, r.seq, r.type, :at, r.data
    FROM jsonb_to_recordset(CAST(:rows AS jsonb))
         AS r(id uuid, platform_id uuid, seq bigint, type text, data jsonb)
    """
)
_AUDIT = text(
    """
    INSERT INTO audit_events (at, actor_role, action, resource_type, resource_id, platform_id,
                              details)
    SELECT :at, 'system', r.action, r.resource_type, r.resource_id, r.platform_id, r.details
    FROM jsonb_to_recordset(CAST(:rows AS jsonb))
         AS r(action text, resource_type text, resource_id text, platform_id uuid, details jsonb)
    """
)


def rows_json(rows: list[dict[str, Any]]) -> str:
    return orjson.dumps(rows).decode()


async def emit_many(session: AsyncSession, pending: Sequence[PendingEvent]) -> list[uuid.UUID]:
    """Outbox events for many rows; returns their ids (in input order)."""
    if not pending:
        return []
    by_platform: dict[uuid.UUID, list[int]] = {}
    for i, e in enumerate(pending):
        if e.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {e.type!r}")
        by_platform.setdefault(e.platform_id, []).append(i)
    # Counters are locked in platform-id order: concurrent sweepers cannot deadlock on them.
    order = sorted(by_platform, key=str)
    counts = [{"platform_id": p, "n": len(by_platform[p])} for p in order]
    rows = await session.execute(_SEQ, {"rows": rows_json(counts)})
    seqs = [0] * len(pending)
    for platform_id, last in rows.tuples():
        idx = by_platform[platform_id]
        first = last - len(idx) + 1
        for n, i in enumerate(idx):
            seqs[i] = first + n
    ids = [uuid.uuid4() for _ in pending]
    await session.execute(
        _EVENTS,
        {
            "at": clock.now(),
            "rows": rows_json(
                [
                    {"id": i, "platform_id": e.platform_id, "seq": n, "type": e.type, "data": e.data}
                    for i, e, n in zip(ids, pending, seqs, strict=True)
                ]
            ),
        },
    )
    return ids


async def record_many(session: AsyncSession, pending: Sequence[PendingAudit]) -> None:
    """System-actor audit rows for many resources (``details`` must hold no plaintext PII)."""
    if not pending:
        return
    await session.execute(
        _AUDIT,
        {
            "at": clock.now(),
            "rows": rows_json(
                [
                    {
                        "action": a.action,
                        "resource_type": a.resource_type,
                        "resource_id": str(a.resource_id),
                        "platform_id": a.platform_id,
                        "details": a.details,
                    }
                    for a in pending
                ]
            ),
        },
    )
