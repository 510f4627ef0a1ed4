"""The blocks' handler on the shared deadline engine."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from tests.blocks.helpers import T0, blocks_of, events_of, violate
from tests.factories import make_authority, platform_keys
from vncomply.blocks.deadline import HANDLER_NAME
from vncomply.blocks.models import AccountBlock
from vncomply.deadlines.engine import handlers, sweep
from vncomply.kit import clock
from vncomply.registry import deadline_modules


def test_worker_loads_the_blocks_handler() -> None:
    # The worker imports only the engine; it finds this handler through the registry.
    assert "vncomply.blocks.deadline" in deadline_modules()
    assert HANDLER_NAME in [h.name for h in handlers()]


async def test_repair_pass_reschedules_a_block_that_lost_its_next_action(db) -> None:
    clock.set_now(T0)
    k = await platform_keys(db)
    aid, _ = await make_authority(db, "ABEI", [k.platform_id])
    for _ in range(5):
        await violate(db, k.platform_id, aid)
    [b] = await blocks_of(db, k.platform_id)
    await db.execute(update(AccountBlock).where(AccountBlock.id == b.id).values(next_action_at=None))
    clock.advance(timedelta(days=8))
    result = await sweep(None, clock.now(), names=[HANDLER_NAME], record=False)
    assert result.handlers[0].repaired == 1
    assert len(await events_of(db, k.platform_id, "block.apply_overdue")) == 1
    assert len(await events_of(db, k.platform_id, "block.ended")) == 1
    [b] = await blocks_of(db, k.platform_id)
    assert b.next_action_at is None
