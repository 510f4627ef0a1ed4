"""Work done in batches, each batch its own transaction (retention purges, …).

A long purge must never hold one transaction, or one set of row locks, for its whole run: each
batch commits on its own, so a stopped run loses at most one batch and the next run resumes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.kit.db import session_scope

Step = Callable[[AsyncSession], Awaitable[int]]


async def drain(step: Step, progress: Callable[[int], object] | None = None) -> int:
    """Run ``step`` (returns how many rows it handled) in fresh transactions until it handles none.
    Rows locked by others are skipped by the steps (SKIP LOCKED) and left to the next run."""
    total = 0
    while True:
        async with session_scope() as session:
            n = await step(session)
        if n == 0:
            return total
        total += n
        if progress is not None:
            progress(n)
