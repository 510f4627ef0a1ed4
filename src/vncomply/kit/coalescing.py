"""Request coalescing: concurrent callers asking for one row each share one statement.

The permission check is one indexed lookup, so its cost is dominated by the round trip and the
driver's per-statement overhead, not by the lookup itself. When requests arrive faster than the
database answers, the ones that would queue for a pool connection are instead gathered and sent
as one batch statement (one `unnest` over all their keys), so the per-statement cost is paid once
per batch. Under light load nothing changes: a lone request goes out at once, alone.

Freshness is untouched: a request's batch is always *sent after* the request arrived, so every
answer reflects a statement that started after the question (nothing is cached or reused).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Coalescer(Generic[K, V]):
    """Runs ``fetch(keys) -> values`` (same length, same order) for whoever is waiting.

    At most ``max_in_flight`` batches run at once (the pool they draw from has that many
    connections); while all are busy new keys wait, and the next free slot takes every waiting
    key (up to ``max_batch``) in one call.
    """

    def __init__(
        self,
        fetch: Callable[[list[K]], Awaitable[Sequence[V]]],
        *,
        max_in_flight: int,
        max_batch: int = 1000,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._fetch = fetch
        self._max_in_flight = max_in_flight
        self._max_batch = max_batch
        self._on_batch = on_batch
        self._waiting: list[tuple[K, asyncio.Future[V]]] = []
        self._in_flight = 0
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests): nothing of the old one carries over
            self._loop, self._waiting, self._in_flight, self._scheduled = loop, [], 0, False
        future: asyncio.Future[V] = loop.create_future()
        self._waiting.append((key, future))
        self._schedule()
        return await future

    def _schedule(self) -> None:
        # Deferred to the end of this loop iteration, so requests that arrived together (one
        # read from the sockets) leave together.
        if not self._scheduled and self._in_flight < self._max_in_flight and self._loop is not None:
            self._scheduled = True
            self._loop.call_soon(self._launch)

    def _launch(self) -> None:
        self._scheduled = False
        while self._waiting and self._in_flight < self._max_in_flight:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            live = [(k, f) for k, f in batch if not f.done()]  # a caller may have given up
            if not live:
                continue
            self._in_flight += 1
            task = asyncio.get_running_loop().create_task(self._run(live))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        try:
            if self._on_batch is not None:
                self._on_batch(len(batch))
            values = await self._fetch([k for k, _ in batch])
            if len(values) != len(batch):
                raise RuntimeError(f"batch fetch returned {len(values)} values for {len(batch)} keys")
            for (_, future), value in zip(batch, values, strict=True):
                if not future.done():
                    future.set_result(value)
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # every waiter learns of the failure, none hangs
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        finally:
            if asyncio.get_running_loop() is self._loop:
                self._in_flight -= 1
                if self._waiting:
                    self._schedule()
