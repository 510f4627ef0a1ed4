"""The statutory verdict on a takedown order (docs/takedowns.md, "The verdict").

It is judged on when each resolution *reached vncomply* (``resolved_at``, the clock at receipt),
never on the platform's own ``actioned_at``, which is kept as its statement and shown beside it:
a platform that reports three days late saying it acted a minute before ``due_at`` is late, and the
item counts as *backdated*. On time means before ``due_at``, the instant the order becomes overdue
(as the sweep and the reads see it). A breach, once recorded, is never cleared.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from vncomply.takedowns.enums import ItemStatus, Verdict
from vncomply.takedowns.models import TakedownItem, TakedownOrder

# What the takedown rules' ``judged_on`` param says (the rulebook shows it; a test keeps the two
# in step): the instant a resolution reached vncomply, i.e. ``resolved_at``.
JUDGED_ON = "received_by_vncomply"


def reported_late(item: TakedownItem, due_at: datetime) -> bool:
    return item.resolved_at is not None and item.resolved_at >= due_at


def backdated(item: TakedownItem, due_at: datetime) -> bool:
    """Reported late, while saying the content was dealt with before the deadline."""
    outcome = item.status.outcome
    return (
        outcome is not None
        and outcome.actioned
        and reported_late(item, due_at)
        and item.actioned_at is not None
        and item.actioned_at < due_at
    )


def judge(order: TakedownOrder, items: Iterable[TakedownItem]) -> Verdict:
    """The verdict on a completed order (every item resolved).

    Late if a breach was recorded or any item's current resolution reached vncomply late (a late
    refusal is a late answer too, and a correction is a new report). Otherwise ``contested`` when
    every item is contested: nothing was taken down, so the order is not "on time".
    """
    items = list(items)
    if order.breached_at is not None or any(reported_late(i, order.due_at) for i in items):
        return Verdict.late
    if all(i.status is ItemStatus.contested for i in items):
        return Verdict.contested
    return Verdict.on_time


def record(order: TakedownOrder, items: Iterable[TakedownItem]) -> Verdict | None:
    """After any resolution: keep the backdated count current and, once no item is pending,
    record the verdict (``verdict``, its ``on_time`` view, and the breach of a late one — a breach
    already recorded stays). Returns the verdict, or None while items are pending."""
    items = list(items)
    order.items_backdated = sum(backdated(i, order.due_at) for i in items)
    if any(i.status is ItemStatus.pending for i in items):
        return None
    v = judge(order, items)
    order.verdict = v
    order.on_time = v.on_time_flag
    if v is Verdict.late and order.breached_at is None:
        order.breached_at = order.due_at
    return v
