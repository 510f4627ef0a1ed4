"""The batch fast path writes exactly what the one-row path writes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.deadlines.test_engine import H, _seed
from tests.takedowns.helpers import T0
from vncomply.audit.models import AuditEvent
from vncomply.deadlines import engine
from vncomply.deadlines.engine import sweep
from vncomply.events.models import Event
from vncomply.kit import clock
from vncomply.platforms.models import Platform
from vncomply.takedowns import deadline
from vncomply.takedowns.models import TakedownOrder


async def _snapshot(maker):
    """Everything the clock wrote, keyed by stable names (ids differ between runs)."""
    async with maker() as s:
        all_orders = (await s.scalars(select(TakedownOrder))).all()
        refs = {str(o.id): o.reference_no for o in all_orders}
        names = {p.id: p.name for p in (await s.scalars(select(Platform))).all()}
        orders = {
            o.reference_no: (o.breached_at, o.reminders_sent, o.next_action_at, o.updated_at)
            for o in all_orders
        }
        ev_rows = (await s.scalars(select(Event).order_by(Event.seq))).all()
        events = sorted(
            [
                (
                    e.type,
                    names[e.platform_id],
                    refs[e.data["order_id"]],
                    e.occurred_at,
                    {k: v for k, v in e.data.items() if k not in ("order_id", "authority_id")},
                )
                for e in ev_rows
                if e.type != "takedown.received"
            ],
            key=repr,
        )
        seqs: dict[object, list[int]] = {}
        for e in ev_rows:
            seqs.setdefault(e.platform_id, []).append(e.seq)
        audit_rows = (
            await s.scalars(
                select(AuditEvent).where(
                    AuditEvent.resource_type == "takedown_order",
                    AuditEvent.action != "takedown.created",
                )
            )
        ).all()
        audits = sorted(
            [
                (a.action, a.actor_role, names[a.platform_id], refs[a.resource_id], a.at, a.details)
                for a in audit_rows
            ],
            key=repr,
        )
    return orders, events, audits, seqs


async def _run(maker, monkeypatch, batch_path: bool):
    await _seed(maker, 9)
    h = engine.get_handler(deadline.HANDLER_NAME)
    if not batch_path:
        monkeypatch.setitem(
            engine._HANDLERS, h.name, engine.DeadlineHandler(h.name, h.model, h.transition, h.stuck)
        )
    for hours in (12, 18.5, 22, 30):
        clock.set_now(T0 + hours * H)
        await sweep(maker, names=[deadline.HANDLER_NAME])
    monkeypatch.undo()
    return await _snapshot(maker)


async def test_batch_path_equals_row_path(committed, monkeypatch):
    batch = await _run(committed, monkeypatch, batch_path=True)
    orders, events, audits, seqs = batch
    assert len(events) == 9 * 4  # three reminders and the overdue, per order
    assert len(audits) == 9 * 4
    for platform_seqs in seqs.values():  # gap-free per platform
        assert platform_seqs == list(range(1, len(platform_seqs) + 1))
    # start again from scratch and use the one-row path
    from sqlalchemy import text

    from vncomply.registry import metadata as load_metadata

    metadata = load_metadata()

    async with committed() as s:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        await s.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        await s.commit()
    row = await _run(committed, monkeypatch, batch_path=False)
    assert row[0] == orders
    assert row[1] == events
    assert row[2] == audits


async def test_failed_batch_falls_back_to_rows(committed, monkeypatch):
    await _seed(committed, 4)
    clock.set_now(T0 + 25 * H)
    h = engine.get_handler(deadline.HANDLER_NAME)

    async def broken_batch(session, rows, now):
        await deadline.transition_batch(session, rows, now)
        raise RuntimeError("after the work, before the commit")

    monkeypatch.setitem(
        engine._HANDLERS,
        h.name,
        engine.DeadlineHandler(h.name, h.model, h.transition, h.stuck, None, h.retry_delay, broken_batch),
    )
    res = await sweep(committed, names=[deadline.HANDLER_NAME])
    assert res.processed == 4
    assert res.failed == 0
    async with committed() as s:
        over = (await s.scalars(select(Event).where(Event.type == "takedown.overdue"))).all()
    assert len(over) == 4
    assert len({e.data["order_id"] for e in over}) == 4
    clock.advance(timedelta(hours=1))
    assert (await sweep(committed, names=[deadline.HANDLER_NAME])).processed == 0
