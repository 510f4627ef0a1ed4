"""Emitting events into the outbox, in the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.events.models import Event, EventSequence
from vncomply.kit import clock
from vncomply.kit.db import compiled_once
from vncomply.registry import event_types

_NEXT_SEQ = compiled_once(
    insert(EventSequence)
    .values(platform_id=bindparam("platform_id"), last_seq=1)
    .on_conflict_do_update(
        index_elements=[EventSequence.platform_id], set_={"last_seq": EventSequence.last_seq + 1}
    )
    .returning(EventSequence.last_seq)
)


async def emit(session: AsyncSession, platform_id: uuid.UUID, type_: str, data: dict[str, Any]) -> Event:
    """Add an event to the caller's transaction. ``data`` must never hold plaintext PII."""
    if type_ not in event_types():
        raise ValueError(f"unknown event type {type_!r}")
    # The counter row lock serialises emitters of one platform only until their commit; the
    # upsert makes the first event of a platform safe under concurrency too.
    seq = (await session.execute(_NEXT_SEQ, {"platform_id": platform_id})).scalar_one()
    event = Event(
        id=uuid.uuid4(),
        platform_id=platform_id,
        seq=seq,
        type=type_,
        occurred_at=clock.now(),
        data=data,
    )
    session.add(event)
    await session.flush()
    return event
