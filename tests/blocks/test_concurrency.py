"""Two violations recorded at the same moment for one subject create one block (real commits)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from tests.blocks.helpers import T0
from tests.factories import make_authority, platform_keys
from vncomply.blocks import service
from vncomply.blocks.models import AccountBlock, Violation
from vncomply.kit import clock


async def test_simultaneous_violations_create_one_block(committed) -> None:
    clock.set_now(T0)
    async with committed() as s:
        k = await platform_keys(s)
        aid, _ = await make_authority(s, "ABEI", [k.platform_id])
        await s.commit()

    async def record(ref: str) -> None:
        async with committed() as s:
            await service.record_violation(
                s,
                platform_id=k.platform_id,
                subject_type="account",
                subject_id="acct-1",
                authority_id=aid,
                reference_no=ref,
                category="fraud",
                occurred_at=clock.now(),
            )
            await asyncio.sleep(0.05)  # hold the transaction open so the two overlap
            await s.commit()

    await asyncio.gather(*(record(f"R-{i}") for i in range(3)))
    # 3 recorded; the 4th and 5th arrive together, then a 6th and 7th together.
    await asyncio.gather(record("R-3"), record("R-4"))
    await asyncio.gather(record("R-5"), record("R-6"))

    async with committed() as s:
        n_blocks = (await s.execute(select(func.count()).select_from(AccountBlock))).scalar_one()
        consumed = (
            await s.execute(select(func.count()).where(Violation.consumed_by_block_id.is_not(None)))
        ).scalar_one()
        total = (await s.execute(select(func.count()).select_from(Violation))).scalar_one()
    assert (n_blocks, consumed, total) == (1, 5, 7)
