"""Work done in batches, each batch its own transaction (retention purges, …).

A long purge must never hold one transaction, or one set of row locks, for its whole run: each
batch commits on its own, so a stopped run loses at most one batch and the next run resumes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import ColumnElement, delete, inspect, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.kit.db import Base, session_scope

Step = Callable[[AsyncSession], Awaitable[int]]


async def drain(step: Step, batch: int | None = None, progress: Callable[[int], object] | None = None) -> int:
    """Run ``step`` (returns how many rows it handled) in fresh transactions until it handles none,
    or fewer than ``batch`` when the step's batch size is known (that was the last one). Rows
    locked by others are skipped by the steps (SKIP LOCKED) and left to the next run."""
    total = 0
    while True:
        async with session_scope() as session:
            n = await step(session)
        total += n
        if n and progress is not None:
            progress(n)
        if n == 0 or (batch is not None and n < batch):
            return total


async def delete_batch(
    session: AsyncSession, model: type[Base], where: ColumnElement[bool], batch: int
) -> int:
    """Delete up to ``batch`` rows of ``model`` matching ``where`` (a retention purge): by primary
    key, skipping rows another transaction holds, so a purge never waits on a live request."""
    pk = inspect(model).primary_key
    doomed = select(*pk).where(where).limit(batch).with_for_update(skip_locked=True)
    result = await session.execute(delete(model).where(tuple_(*pk).in_(doomed)))
    return int(result.rowcount)  # type: ignore[attr-defined]
