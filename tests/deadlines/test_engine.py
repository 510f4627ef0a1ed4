"""The deadline engine against real commits: concurrent sweepers, crashes, poison rows, metrics."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tests.factories import SYSTEM, make_authority, make_platform
from tests.takedowns.helpers import T0
from vncomply.audit.models import AuditEvent
from vncomply.blocks.models import Violation
from vncomply.deadlines import engine
from vncomply.deadlines.engine import register, sweep
from vncomply.deadlines.models import DeadlineSweep
from vncomply.events.models import Event
from vncomply.kit import clock
from vncomply.kit.principal import Principal, Role
from vncomply.takedowns import deadline, intake
from vncomply.takedowns.models import TakedownOrder
from vncomply.takedowns.schemas import TakedownCreate

H = timedelta(hours=1)


async def _seed(maker, n: int, platforms: int = 3) -> list[str]:
    """``n`` committed orders spread over a few platforms."""
    clock.set_now(T0)
    ids = []
    async with maker() as s:
        pids = [await make_platform(s, f"P{i}") for i in range(platforms)]
        aid, _ = await make_authority(s, "ABEI", pids)
        actor = Principal(SYSTEM.key_id, Role.authority, None, aid)
        for i in range(n):
            body = TakedownCreate.model_validate(
                {
                    "platform_id": str(pids[i % platforms]),
                    "reference_no": f"R{i}",
                    "channel": "electronic",
                    "urgency": "standard",
                    "category": "fraud",
                    "legal_basis": "Decree 147",
                    "items": [{"content_url": f"https://x.example/{i}", "subject_type": "post"}],
                }
            )
            ids.append(str((await intake.create(s, actor, body)).resource.order.id))
        await s.commit()
    return ids


async def _overdue_counts(maker) -> Counter[str]:
    async with maker() as s:
        rows = (await s.scalars(select(Event).where(Event.type == "takedown.overdue"))).all()
    return Counter(e.data["order_id"] for e in rows)


async def test_two_concurrent_sweeps_fire_each_transition_once(committed):
    ids = await _seed(committed, 60)
    clock.set_now(T0 + 25 * H)
    a, b = await asyncio.gather(sweep(committed, batch=7), sweep(committed, batch=7))
    assert a.processed + b.processed == 60
    counts = await _overdue_counts(committed)
    assert set(counts) == set(ids)
    assert set(counts.values()) == {1}
    # and again: nothing is due any more
    c, d = await asyncio.gather(sweep(committed), sweep(committed))
    assert c.processed == d.processed == 0


async def test_crash_after_claim_loses_nothing(committed):
    ids = await _seed(committed, 5)
    clock.set_now(T0 + 25 * H)
    # a worker claims the rows, starts working, and dies before committing
    async with committed() as dying:
        rows = await engine._claim(dying, engine.get_handler(deadline.HANDLER_NAME), clock.now(), 100)
        assert len(rows) == 5
        for row in rows:
            await deadline.transition(dying, row, clock.now())
        await dying.flush()
        # while it holds the locks, another sweeper skips those rows instead of waiting
        res = await asyncio.wait_for(sweep(committed), timeout=10)
        assert res.processed == 0
        await dying.rollback()  # the connection drops: PostgreSQL rolls the transaction back
    assert await _overdue_counts(committed) == Counter()
    res = await sweep(committed)
    assert res.processed == 5
    assert set((await _overdue_counts(committed)).values()) == {1}
    assert set(await _overdue_counts(committed)) == set(ids)


async def test_exception_after_claim_rolls_back_batch_then_rows_are_retried(committed, monkeypatch):
    await _seed(committed, 6)
    clock.set_now(T0 + 25 * H)
    calls = {"n": 0}
    real = deadline.transition

    async def flaky(session, row, now):
        calls["n"] += 1
        await real(session, row, now)
        if calls["n"] == 4:  # fails once, after three rows already did their work
            raise RuntimeError("transient")

    h = engine.get_handler(deadline.HANDLER_NAME)
    monkeypatch.setitem(engine._HANDLERS, h.name, engine.DeadlineHandler(h.name, h.model, flaky, h.stuck))
    res = await sweep(committed)
    assert res.processed == 6
    assert res.failed == 0
    # the rolled-back work of the first attempt left no trace: one event per order
    assert set((await _overdue_counts(committed)).values()) == {1}
    assert sum((await _overdue_counts(committed)).values()) == 6


async def test_poison_row_is_isolated_and_pushed_back(committed, monkeypatch):
    ids = await _seed(committed, 5)
    clock.set_now(T0 + 25 * H)
    poison = ids[2]
    real = deadline.transition

    async def bad(session, row, now):
        if str(row.id) == poison:
            raise ValueError("poison")
        await real(session, row, now)

    h = engine.get_handler(deadline.HANDLER_NAME)
    monkeypatch.setitem(engine._HANDLERS, h.name, engine.DeadlineHandler(h.name, h.model, bad, h.stuck))
    res = await sweep(committed)
    assert res.processed == 4
    assert res.failed == 1
    counts = await _overdue_counts(committed)
    assert poison not in counts
    assert len(counts) == 4
    async with committed() as s:
        row = await s.get(TakedownOrder, poison)
        assert row.next_action_at == clock.now() + engine.DEFAULT_RETRY_DELAY
        failed = (
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "deadline.transition_failed"))
        ).all()
        assert [a.resource_id for a in failed] == [poison]
        assert failed[0].platform_id == row.platform_id
        run = await s.get(DeadlineSweep, deadline.HANDLER_NAME)
        assert run.last_processed == 4
        assert run.last_failed == 1
    # not due again until the retry delay has passed; then, fixed, it fires once
    assert (await sweep(committed)).processed == 0
    monkeypatch.undo()
    clock.advance(engine.DEFAULT_RETRY_DELAY)
    assert (await sweep(committed)).processed == 1
    assert (await _overdue_counts(committed))[poison] == 1


async def test_handler_that_never_advances_is_cut_off(committed, monkeypatch):
    await _seed(committed, 1)
    clock.set_now(T0 + 25 * H)

    async def stuck_forever(session, row, now):
        row.next_action_at = now

    h = engine.get_handler(deadline.HANDLER_NAME)
    monkeypatch.setitem(
        engine._HANDLERS, h.name, engine.DeadlineHandler(h.name, h.model, stuck_forever, None)
    )
    res = await asyncio.wait_for(sweep(committed, batch=1), timeout=10)
    assert res.processed == engine.MAX_STEPS_PER_SWEEP


async def test_batch_path_that_never_advances_is_cut_off_and_pushed_back(committed, monkeypatch):
    ids = await _seed(committed, 1)
    clock.set_now(T0 + 25 * H)
    seen = []

    async def stuck_batch(session, rows, now):
        seen.append([str(r.id) for r in rows])  # claimed straight from the driver, by column name
        return [now for _ in rows]  # writes nothing, leaves every row due

    h = engine.get_handler(deadline.HANDLER_NAME)
    monkeypatch.setitem(
        engine._HANDLERS,
        h.name,
        engine.DeadlineHandler(
            h.name, h.model, h.transition, None, h.lock_order, h.retry_delay, stuck_batch, h.batch_columns
        ),
    )
    res = await asyncio.wait_for(sweep(committed, batch=1, names=[h.name]), timeout=10)
    assert res.processed == engine.MAX_STEPS_PER_SWEEP
    assert seen == [ids] * engine.MAX_STEPS_PER_SWEEP
    async with committed() as s:
        row = await s.get(TakedownOrder, ids[0])
        assert row.next_action_at == clock.now() + engine.DEFAULT_RETRY_DELAY


async def test_idle_probe_skips_handlers_with_nothing_due(committed, monkeypatch):
    await _seed(committed, 2)
    clock.set_now(T0 + 25 * H)
    claimed: list[str] = []
    real = engine._run_batch

    async def spy(factory, h, now, batch, steps):
        claimed.append(h.name)
        return await real(factory, h, now, batch, steps)

    monkeypatch.setattr(engine, "_run_batch", spy)
    res = await sweep(committed)
    assert res.processed == 2
    assert claimed == [deadline.HANDLER_NAME]  # only the handler the probe found due rows for
    claimed.clear()
    assert (await sweep(committed)).processed == 0
    assert claimed == []  # idle: the probe alone


async def test_idle_sweep_touches_nothing(committed):
    await _seed(committed, 3)
    clock.set_now(T0 + H)
    res = await sweep(committed)
    assert res.processed == 0
    assert res.failed == 0
    async with committed() as s:
        assert (
            await s.scalar(select(func.count()).select_from(Event).where(Event.type != "takedown.received"))
        ) == 0


async def test_register_validates_the_model():
    async def noop(session, row, now):
        return None

    with pytest.raises(TypeError, match="next_action_at"):
        register("test.violations", Violation, noop)
    with pytest.raises(ValueError, match="already registered"):
        register(deadline.HANDLER_NAME, DeadlineSweep, noop)  # type: ignore[arg-type]
    assert engine.get_handler(deadline.HANDLER_NAME).model is TakedownOrder


async def test_metrics_from_the_database(committed):
    from vncomply.deadlines.metrics import SweepCollector
    from vncomply.takedowns.metrics import TakedownCollector

    ids = await _seed(committed, 4)
    async with committed() as s:
        await s.execute(update(TakedownOrder).where(TakedownOrder.id == ids[0]).values(urgency="emergency"))
        await s.commit()
    clock.set_now(T0 + 25 * H)
    await sweep(committed, names=[deadline.HANDLER_NAME])

    def values(collector):
        out = {}
        for fam in collector(cache_seconds=0).collect():
            for smp in fam.samples:
                out[(smp.name, tuple(sorted(smp.labels.values())))] = smp.value
        return out

    td = values(TakedownCollector)
    assert td[("vncomply_takedown_open_orders", ("standard",))] == 3
    assert td[("vncomply_takedown_open_orders", ("emergency",))] == 1
    assert td[("vncomply_takedown_overdue_orders", ())] == 4
    assert td[("vncomply_takedown_oldest_overdue_age_seconds", ())] == 3600
    assert td[("vncomply_takedown_next_due_seconds", ())] == -1
    assert td[("vncomply_takedown_items", ("pending",))] == 4
    sw = values(SweepCollector)
    assert sw[("vncomply_deadline_sweep_last_processed", (deadline.HANDLER_NAME,))] == 4
    assert sw[("vncomply_deadline_due_rows", (deadline.HANDLER_NAME,))] == 0
    assert sw[("vncomply_deadline_next_action_seconds", (deadline.HANDLER_NAME,))] == -1
    assert (
        sw[("vncomply_deadline_sweep_last_run_timestamp_seconds", (deadline.HANDLER_NAME,))]
        == clock.now().timestamp()
    )


async def test_celery_task_runs_the_sweep(committed):
    from vncomply.deadlines import tasks

    await _seed(committed, 2)
    clock.set_now(T0 + 25 * H)
    assert await tasks._sweep() == 2
    assert tasks.sweep_deadlines.name == "vncomply.deadlines.sweep"
