"""Many outbox events in one go, with ``outbox.emit``'s contract (per-platform gap-free ``seq`` from
the row-locked counter, in the caller's transaction) for transitions that fire thousands of rows per
sweep (bench/takedowns).

Rows travel as one JSON document per statement (orjson in, ``jsonb_to_recordset`` out): one
parameter, no per-element array escaping in Python, instead of a round trip per row or one giant
multi-VALUES statement that psycopg and SQLAlchemy must parse. tests/deadlines/test_bulk.py holds it
to what the one-row path writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.kit import clock
from vncomply.kit.db import json_rows
from vncomply.registry import event_types


@dataclass(frozen=True)
class PendingEvent:
    platform_id: uuid.UUID
    type: str
    data: dict[str, Any]


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


async def emit_many(session: AsyncSession, pending: Sequence[PendingEvent]) -> list[uuid.UUID]:
    """Outbox events for many rows; returns their ids (in input order)."""
    if not pending:
        return []
    by_platform: dict[uuid.UUID, list[int]] = {}
    for i, e in enumerate(pending):
        if e.type not in event_types():
            raise ValueError(f"unknown event type {e.type!r}")
        by_platform.setdefault(e.platform_id, []).append(i)
    # Counters are locked in platform-id order: concurrent sweepers cannot deadlock on them.
    order = sorted(by_platform, key=str)
    counts = [{"platform_id": p, "n": len(by_platform[p])} for p in order]
    rows = await session.execute(_SEQ, {"rows": json_rows(counts)})
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
            "rows": json_rows(
                [
                    {"id": i, "platform_id": e.platform_id, "seq": n, "type": e.type, "data": e.data}
                    for i, e, n in zip(ids, pending, seqs, strict=True)
                ]
            ),
        },
    )
    return ids
