"""Handler registry and the sweep (house rule 4, docs/architecture.md; docs/deadlines.md).

A handler is a model with an indexed ``next_action_at`` column and an async ``transition(session,
row, now)`` that applies one idempotent step (state change + audit + outbox, in the session it is
given) and sets the row's next ``next_action_at`` (or None). The sweep claims due rows with
``FOR UPDATE SKIP LOCKED`` in batches and commits per batch, so:

- two sweepers never fire one transition twice (a claimed row is skipped by the other; a row whose
  claim commits has moved its ``next_action_at`` and no longer matches the re-checked WHERE);
- an exception after the claim rolls the whole batch back; the rows are then retried one by one so a
  single poison row cannot stall the others, and a row that still fails is pushed back by its
  handler's ``retry_delay`` (logged and audited) — the next sweep fires it again;
- a crashed worker loses nothing: its transaction never committed, the next sweep claims the rows.

``now`` is always a parameter taken from ``vncomply.kit.clock`` — never SQL ``now()`` — so tests move time.
"""

from __future__ import annotations

import gc
import importlib
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from vncomply.audit import service as audit
from vncomply.deadlines import bookkeeping, claims
from vncomply.deadlines.claims import claim as _claim  # noqa: F401 (tests claim like a crashing worker)
from vncomply.kit import clock
from vncomply.kit.logs import get_logger

RowT = TypeVar("RowT")
Transition = Callable[[AsyncSession, RowT, datetime], Awaitable[None]]
# The batch fast path: gets the claimed rows as read-only named tuples straight from the driver
# (``batch_columns``, by column name; enum columns as their text), writes their new state itself and
# returns each row's new next_action_at, in order.
TransitionBatch = Callable[[AsyncSession, Sequence[Any], datetime], Awaitable[Sequence[datetime | None]]]

log = get_logger("vncomply.deadlines")


DEFAULT_BATCH = 1000
DEFAULT_RETRY_DELAY = timedelta(seconds=60)
# A transition may leave next_action_at <= now to catch up in several steps; past this many steps
# for one row in one sweep it is treated as a bug and pushed back (no endless loop on a bad handler).
MAX_STEPS_PER_SWEEP = 20
REPAIR_EVERY = timedelta(seconds=60)
RECORD_IDLE_EVERY = timedelta(seconds=15)


@dataclass(frozen=True)
class DeadlineHandler(Generic[RowT]):
    name: str
    model: type[RowT]
    transition: Callable[[AsyncSession, RowT, datetime], Awaitable[None]]
    stuck: Callable[[datetime], ColumnElement[bool]] | None = None
    lock_order: Callable[[RowT], Any] | None = None
    retry_delay: timedelta = DEFAULT_RETRY_DELAY
    transition_batch: TransitionBatch | None = None
    # The columns the batch path claims (None: all of the table's); they include the primary key and
    # whatever ``lock_order`` reads.
    batch_columns: tuple[str, ...] | None = None

    @property
    def due_column(self) -> Any:
        return self.model.next_action_at  # type: ignore[attr-defined]

    # Cached: sort_key and pk_of run for every claimed row (a frozen dataclass still lets
    # cached_property write the instance __dict__).
    @cached_property
    def pk(self) -> Any:
        mapper: Any = inspect(self.model)
        return getattr(self.model, mapper.primary_key[0].key)

    @cached_property
    def _pk_attr(self) -> str:
        return str(self.pk.key)

    def pk_of(self, row: Any) -> Any:
        """The primary key of an ORM row or of a claimed Core row (attribute = column name)."""
        return getattr(row, self._pk_attr)

    def sort_key(self, row: Any) -> Any:
        if self.lock_order is not None:
            return self.lock_order(row)
        # Transitions that emit outbox events lock the platform's event counter; taking those locks
        # in one global order keeps concurrent sweepers from deadlocking.
        return (str(getattr(row, "platform_id", "")), str(self.pk_of(row)))


_HANDLERS: dict[str, DeadlineHandler[Any]] = {}


def register(
    name: str,
    model: type[RowT],
    transition: Callable[[AsyncSession, RowT, datetime], Awaitable[None]],
    *,
    stuck: Callable[[datetime], ColumnElement[bool]] | None = None,
    lock_order: Callable[[RowT], Any] | None = None,
    retry_delay: timedelta = DEFAULT_RETRY_DELAY,
    transition_batch: TransitionBatch | None = None,
    batch_columns: Sequence[str] | None = None,
) -> DeadlineHandler[RowT]:
    """Register (or re-register, e.g. on module reload) the handler called ``name``.

    ``model`` needs a single-column primary key and an indexed ``next_action_at`` timestamptz.
    ``stuck(now)``, when given, is a WHERE clause for rows that should have a next action but do not
    (the second pass sets their ``next_action_at = now``); keep it cheap (back it with a partial index).
    The idle probe builds it once with ``now`` as a SQL bound parameter: use ``now`` in SQL only.
    ``transition_batch(session, rows, now)``, when given, is a fast path that must have exactly the
    effect of ``transition`` on each row (in order). It gets the claimed rows as read-only named
    tuples as the driver returns them (no ORM objects to hydrate, track and flush; enum columns are
    their text), writes their new state itself and returns their new ``next_action_at`` in order;
    the per-row ``transition`` is still used to retry rows one by one after a failed batch. The
    attribute names of the model must be its column names. ``batch_columns`` limits the claimed
    columns to what the batch path reads (the primary key and what ``lock_order`` reads among them).
    """
    old = _HANDLERS.get(name)
    if old is not None and old.model is not model:
        raise ValueError(f"deadline handler {name!r} is already registered for {old.model.__name__}")
    col = getattr(model, "next_action_at", None)
    if col is None:
        raise TypeError(f"{model.__name__} has no next_action_at column")
    mapper: Any = inspect(model)
    indexed = any(next(iter(ix.columns)).name == "next_action_at" for ix in mapper.local_table.indexes)
    if not indexed:
        raise TypeError(f"{model.__name__}.next_action_at must lead an index (the sweep scans it)")
    if len(mapper.primary_key) != 1:
        raise TypeError(f"{model.__name__} needs a single-column primary key")
    cols = tuple(batch_columns) if batch_columns is not None else None
    if cols is not None and mapper.primary_key[0].name not in cols:
        raise TypeError(f"batch_columns of {name!r} must include the primary key")
    handler = DeadlineHandler(name, model, transition, stuck, lock_order, retry_delay, transition_batch, cols)
    _HANDLERS[name] = handler
    return handler


def unregister(name: str) -> None:
    _HANDLERS.pop(name, None)


def load_handlers() -> None:
    from vncomply.registry import deadline_modules

    for module in deadline_modules():
        importlib.import_module(module)


def handlers() -> list[DeadlineHandler[Any]]:
    load_handlers()
    return [_HANDLERS[n] for n in sorted(_HANDLERS)]


def get_handler(name: str) -> DeadlineHandler[Any]:
    load_handlers()
    return _HANDLERS[name]


@dataclass
class HandlerResult:
    handler: str
    processed: int = 0
    failed: int = 0
    repaired: int = 0
    batches: int = 0
    duration_seconds: float = 0.0


@dataclass
class SweepResult:
    now: datetime
    handlers: list[HandlerResult] = field(default_factory=list)
    duration_seconds: float = 0.0

    @property
    def processed(self) -> int:
        return sum(h.processed for h in self.handlers)

    @property
    def failed(self) -> int:
        return sum(h.failed for h in self.handlers)


async def sweep(
    session_factory: async_sessionmaker[AsyncSession] | None = None,
    now: datetime | None = None,
    batch: int = DEFAULT_BATCH,
    *,
    names: Iterable[str] | None = None,
    repair: bool = True,
    record: bool = True,
) -> SweepResult:
    """Fire every due transition of every handler (or of ``names``) as of ``now``."""
    if session_factory is None:
        from vncomply.kit.db import get_sessionmaker

        session_factory = get_sessionmaker()
    if now is None:
        now = clock.now()
    selected = handlers() if names is None else [get_handler(n) for n in names]
    result = SweepResult(now=now)
    t0 = time.perf_counter()
    repairing = {h.name for h in selected if repair and h.stuck is not None and _repair_due(h.name, now)}
    due, stuck = await claims.probe(session_factory, selected, now, repairing)
    for h in selected:
        if h.name in due or h.name in stuck:
            result.handlers.append(
                await _sweep_handler(session_factory, h, now, batch, repair=h.name in stuck)
            )
        else:
            result.handlers.append(HandlerResult(h.name))
    result.duration_seconds = time.perf_counter() - t0
    if record and _record_due(result, now):
        await bookkeeping.record_run(session_factory, result.handlers, now)
    return result


_last_record: datetime | None = None


def _record_due(result: SweepResult, now: datetime) -> bool:
    """Write the bookkeeping row after every sweep that did something, and after idle sweeps at most
    every RECORD_IDLE_EVERY per process: the write is most of an idle sweep's cost."""
    global _last_record
    busy = any(h.processed or h.failed or h.repaired for h in result.handlers)
    last = _last_record
    if busy or last is None or now < last or now - last >= RECORD_IDLE_EVERY:
        _last_record = now
        return True
    return False


async def _sweep_handler(
    factory: async_sessionmaker[AsyncSession],
    h: DeadlineHandler[Any],
    now: datetime,
    batch: int,
    *,
    repair: bool,
) -> HandlerResult:
    t0 = time.perf_counter()
    hr = HandlerResult(h.name)
    if repair:
        hr.repaired = await _repair(factory, h, now, batch)
    steps: dict[Any, int] = {}
    while True:
        with _collector_paused(h.transition_batch is not None):
            claimed, ok, failed = await _run_batch(factory, h, now, batch, steps)
        hr.batches += 1
        hr.processed += ok
        hr.failed += failed
        if claimed < batch:
            break
    hr.duration_seconds = time.perf_counter() - t0
    if hr.processed or hr.failed or hr.repaired:
        log.info(
            "deadline sweep",
            extra={
                "handler": h.name,
                "processed": hr.processed,
                "failed": hr.failed,
                "repaired": hr.repaired,
                "seconds": round(hr.duration_seconds, 3),
            },
        )
    return hr


async def _apply(
    session: AsyncSession,
    h: DeadlineHandler[RowT],
    row: RowT,
    now: datetime,
    steps: dict[Any, int],
) -> None:
    await h.transition(session, row, now)
    _count_step(h, row, now, steps)


def _count_step(h: DeadlineHandler[Any], row: Any, now: datetime, steps: dict[Any, int]) -> None:
    if _runaway(h, h.pk_of(row), row.next_action_at, now, steps):
        row.next_action_at = now + h.retry_delay


def _runaway(
    h: DeadlineHandler[Any], key: Any, nxt: datetime | None, now: datetime, steps: dict[Any, int]
) -> bool:
    """Count one step of row ``key`` that left it due; True when it must be pushed back (it did not
    advance). A row is claimed again in the same sweep only after such steps, so counting only
    those counts all of its steps, and the map stays empty on a burst of rows that do advance."""
    if nxt is None or nxt > now:
        return False
    steps[key] = steps.get(key, 0) + 1
    if steps[key] >= MAX_STEPS_PER_SWEEP:
        log.error(
            "deadline handler did not advance next_action_at", extra={"handler": h.name, "id": str(key)}
        )
        return True
    return False


@contextmanager
def _collector_paused(pause: bool) -> Iterator[None]:
    """The cyclic garbage collector off for one fast-path batch. A batch allocates some twenty
    tracked objects per row, nearly all freed by reference counting when it ends; with the collector
    on, every batch of 1,000 triggered generation-0/1 collections and every few a full one over the
    whole worker heap: 30-50 % of the sweep's CPU (bench/takedowns). The few cycles a batch leaves
    (its session) are collected after it."""
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def _run_batch(
    factory: async_sessionmaker[AsyncSession],
    h: DeadlineHandler[Any],
    now: datetime,
    batch: int,
    steps: dict[Any, int],
) -> tuple[int, int, int]:
    """Returns (claimed, fired, failed)."""
    ids: list[Any] = []
    async with factory() as session:
        rows: Sequence[Any] = (
            await claims.claim(session, h, now, batch)
            if h.transition_batch is None
            else await claims.claim_rows(session, h, now, batch)
        )
        if not rows:
            await session.rollback()
            return 0, 0, 0
        ordered = sorted(rows, key=h.sort_key)
        ids = [h.pk_of(r) for r in ordered]
        try:
            if h.transition_batch is not None:
                nexts = await h.transition_batch(session, ordered, now)
                runaway = [k for k, n in zip(ids, nexts, strict=True) if _runaway(h, k, n, now, steps)]
                if runaway:
                    await session.execute(
                        update(h.model).where(h.pk.in_(runaway)).values(next_action_at=now + h.retry_delay)
                    )
            else:
                for row in ordered:
                    await _apply(session, h, row, now, steps)
            await session.commit()
            return len(ids), len(ids), 0
        except Exception:
            await session.rollback()
            log.warning(
                "deadline batch rolled back; retrying its rows one by one",
                extra={"handler": h.name, "rows": len(ids)},
                exc_info=True,
            )
    ok = failed = 0
    for ident in ids:
        if await _run_one(factory, h, ident, now, steps):
            ok += 1
        else:
            failed += 1
    return len(ids), ok, failed


async def _run_one(
    factory: async_sessionmaker[AsyncSession],
    h: DeadlineHandler[Any],
    ident: Any,
    now: datetime,
    steps: dict[Any, int],
) -> bool:
    async with factory() as session:
        try:
            stmt = select(h.model).where(h.pk == ident, h.due_column <= now).with_for_update(skip_locked=True)
            row = (await session.scalars(stmt)).first()
            if row is None:  # fired by another sweeper meanwhile, or no longer due
                await session.rollback()
                return True
            await _apply(session, h, row, now, steps)
            await session.commit()
            return True
        except Exception as exc:
            await session.rollback()
            error = type(exc).__name__
            log.exception(
                "deadline transition failed; pushed back",
                extra={"handler": h.name, "id": str(ident), "error": error},
            )
    await _push_back(factory, h, ident, now, error)
    return False


async def _push_back(
    factory: async_sessionmaker[AsyncSession],
    h: DeadlineHandler[Any],
    ident: Any,
    now: datetime,
    error: str,
) -> None:
    retry_at = now + h.retry_delay
    async with factory() as session:
        res = await session.execute(
            update(h.model)
            .where(h.pk == ident, h.due_column <= now)
            .values(next_action_at=retry_at)
            .returning(h.pk)
        )
        if res.first() is not None:
            platform_id = (
                (await session.execute(select(h.model.platform_id).where(h.pk == ident))).scalar()
                if hasattr(h.model, "platform_id")
                else None
            )
            audit.record(
                session,
                None,
                "deadline.transition_failed",
                h.name,
                ident,
                platform_id,
                {"error": error, "retry_at": retry_at.isoformat()},
            )
        await session.commit()


_last_repair: dict[str, datetime] = {}


def _repair_due(name: str, now: datetime) -> bool:
    """The stuck-row pass runs at most every REPAIR_EVERY per process (stuck rows are rare; the
    regular pass stays one index probe when idle)."""
    last = _last_repair.get(name)
    if last is None or now < last or now - last >= REPAIR_EVERY:
        _last_repair[name] = now
        return True
    return False


async def _repair(
    factory: async_sessionmaker[AsyncSession], h: DeadlineHandler[Any], now: datetime, batch: int
) -> int:
    """Second pass: rows that should have a next action but lost it are made due now."""
    assert h.stuck is not None
    async with factory() as session:
        ids = (
            await session.scalars(
                select(h.pk).where(h.stuck(now)).limit(batch).with_for_update(skip_locked=True)
            )
        ).all()
        if not ids:
            await session.rollback()
            return 0
        await session.execute(update(h.model).where(h.pk.in_(ids)).values(next_action_at=now))
        await session.commit()
    log.warning(
        "deadline rows without a next action were rescheduled", extra={"handler": h.name, "rows": len(ids)}
    )
    return len(ids)
