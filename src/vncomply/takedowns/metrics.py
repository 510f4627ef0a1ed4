"""Takedown gauges (open by urgency, overdue, next due, oldest overdue, items by outcome), computed
on scrape from index-backed queries (see ``vncomply.deadlines.metrics``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Connection, func, select

from vncomply.deadlines.metrics import CachedCollector, register_collector
from vncomply.takedowns.enums import ItemStatus, OrderStatus, Urgency
from vncomply.takedowns.models import TakedownItem, TakedownOrder

INCOMPLETE = TakedownOrder.status != OrderStatus.completed


class TakedownCollector(CachedCollector):
    def compute(self, conn: Connection, now: datetime) -> Iterable[Metric]:
        open_ = GaugeMetricFamily(
            "vncomply_takedown_open_orders", "Orders not yet completed, by urgency", labels=["urgency"]
        )
        counts = dict(
            conn.execute(
                select(TakedownOrder.urgency, func.count()).where(INCOMPLETE).group_by(TakedownOrder.urgency)
            )
            .tuples()
            .all()
        )
        for u in Urgency:
            open_.add_metric([u.value], counts.get(u, 0))
        n_over, oldest_due = conn.execute(
            select(func.count(), func.min(TakedownOrder.due_at)).where(
                INCOMPLETE, TakedownOrder.due_at <= now
            )
        ).one()
        overdue = GaugeMetricFamily(
            "vncomply_takedown_overdue_orders", "Orders past due_at and not completed", value=n_over
        )
        oldest = GaugeMetricFamily(
            "vncomply_takedown_oldest_overdue_age_seconds",
            "Seconds since the oldest incomplete order fell due (0 when none)",
            value=(now - oldest_due).total_seconds() if oldest_due else 0.0,
        )
        next_due = conn.execute(
            select(func.min(TakedownOrder.due_at)).where(INCOMPLETE, TakedownOrder.due_at > now)
        ).scalar()
        to_next = GaugeMetricFamily(
            "vncomply_takedown_next_due_seconds",
            "Seconds until the next incomplete order falls due (-1 when none)",
            value=(next_due - now).total_seconds() if next_due else -1.0,
        )
        items = GaugeMetricFamily("vncomply_takedown_items", "Takedown items by outcome", labels=["outcome"])
        by_status = dict(
            conn.execute(select(TakedownItem.status, func.count()).group_by(TakedownItem.status))
            .tuples()
            .all()
        )
        for s in ItemStatus:
            items.add_metric([s.value], by_status.get(s, 0))
        return [open_, overdue, oldest, to_next, items]


collector = register_collector("takedowns", TakedownCollector())
