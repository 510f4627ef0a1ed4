"""The request coalescer: every caller gets the value for its own key, whatever the interleaving;
concurrency stays within its bound; a failing batch fails its callers and nobody else."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vncomply.kit.coalescing import Coalescer


class Store:
    """A fake *data source* (not a mock of the code under test): answers key -> key * 10 after a
    delay, records every batch and the peak number of batches running at once."""

    def __init__(self, delay: float = 0.001, fail_on: int | None = None) -> None:
        self.delay = delay
        self.fail_on = fail_on
        self.batches: list[list[int]] = []
        self.running = 0
        self.peak = 0

    async def fetch(self, keys: list[int]) -> list[int]:
        self.running += 1
        self.peak = max(self.peak, self.running)
        self.batches.append(list(keys))
        try:
            await asyncio.sleep(self.delay)
            if self.fail_on is not None and self.fail_on in keys:
                raise LookupError(f"cannot read {self.fail_on}")
            return [k * 10 for k in keys]
        finally:
            self.running -= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    keys=st.lists(st.integers(0, 50), min_size=1, max_size=120),
    max_in_flight=st.integers(1, 6),
    max_batch=st.integers(1, 40),
    stagger=st.lists(st.integers(0, 3), min_size=1, max_size=120),
)
def test_each_caller_gets_its_own_value(
    keys: list[int], max_in_flight: int, max_batch: int, stagger: list[int]
) -> None:
    async def scenario() -> None:
        store = Store()
        co: Coalescer[int, int] = Coalescer(store.fetch, max_in_flight=max_in_flight, max_batch=max_batch)

        async def caller(i: int, key: int) -> int:
            for _ in range(stagger[i % len(stagger)]):  # arrive over several loop iterations
                await asyncio.sleep(0)
            return await co.get(key)

        got = await asyncio.gather(*(caller(i, k) for i, k in enumerate(keys)))
        assert got == [k * 10 for k in keys]
        assert store.peak <= max_in_flight
        assert all(1 <= len(b) <= max_batch for b in store.batches)
        assert sum(len(b) for b in store.batches) == len(keys)  # every key asked exactly once

    asyncio.run(scenario())


async def test_a_lone_request_goes_alone_and_a_crowd_is_coalesced() -> None:
    store = Store(delay=0.01)
    co: Coalescer[int, int] = Coalescer(store.fetch, max_in_flight=2)
    assert await co.get(7) == 70
    assert store.batches == [[7]]
    store.batches.clear()
    got = await asyncio.gather(*(co.get(k) for k in range(100)))
    assert got == [k * 10 for k in range(100)]
    # Arriving together, they leave together: one statement, not a hundred.
    assert len(store.batches) <= 2, store.batches


async def test_a_failure_reaches_only_its_batch() -> None:
    store = Store(delay=0.005, fail_on=3)
    co: Coalescer[int, int] = Coalescer(store.fetch, max_in_flight=1, max_batch=5)
    results = await asyncio.gather(*(co.get(k) for k in range(10)), return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results[:5])  # keys 0-4 shared a batch with 3
    assert results[5:] == [50, 60, 70, 80, 90]
    # The coalescer keeps working afterwards: a failure is per batch, not a broken state.
    assert await co.get(4) == 40
    with pytest.raises(LookupError):
        await co.get(3)


async def test_a_caller_that_gives_up_does_not_disturb_the_others() -> None:
    store = Store(delay=0.02)
    co: Coalescer[int, int] = Coalescer(store.fetch, max_in_flight=1)
    first = asyncio.ensure_future(co.get(1))
    await asyncio.sleep(0.001)  # batch [1] is running; the next two wait for the slot
    quitter = asyncio.ensure_future(co.get(2))
    stayer = asyncio.ensure_future(co.get(3))
    await asyncio.sleep(0)
    quitter.cancel()
    assert await first == 10
    assert await stayer == 30
    with pytest.raises(asyncio.CancelledError):
        await quitter
    assert all(2 not in b for b in store.batches)


async def test_a_short_answer_is_an_error_not_a_mix_up() -> None:
    async def short(keys: list[int]) -> list[int]:
        return keys[:-1]

    co: Coalescer[int, int] = Coalescer(short, max_in_flight=1)
    with pytest.raises(RuntimeError, match="values for"):
        await co.get(1)
