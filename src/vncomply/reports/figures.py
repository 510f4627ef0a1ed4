"""From the SQL aggregates (``queries``) to the report's sections: arithmetic on a handful of result
rows, never on the platform's rows."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vncomply.reports import queries
from vncomply.reports.queries import HISTOGRAM_BOUNDS, Window
from vncomply.reports.schemas import (
    AuditChain,
    AuthorityCount,
    Blocks,
    ChainHead,
    Disclosures,
    HistogramBucket,
    Identities,
    ItemsByOutcome,
    MonthOnTime,
    Takedowns,
    TimeToRemoval,
    Webhooks,
)


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def months(first: date, last: date) -> list[date]:
    """The first day of every calendar month the period touches."""
    out, m = [], first.replace(day=1)
    while m <= last:
        out.append(m)
        m = m.replace(year=m.year + 1, month=1) if m.month == 12 else m.replace(month=m.month + 1)
    return out


def _counts(rows: list[dict[str, Any]], key: str) -> dict[str, int]:
    found = {str(r[key]): int(r["orders"]) for r in rows if r[f"g_{key}"] == 0}
    return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))


async def takedowns(session: AsyncSession, w: Window, first: date, last: date) -> Takedowns:
    p = w.params()
    orders = await queries.rows(session, queries.ORDERS_SQL, p)
    items = await queries.one(session, queries.ITEMS_SQL, p)
    total = next(
        r for r in orders if r["g_authority"] and r["g_category"] and r["g_urgency"] and r["g_month"]
    )
    by_month = {r["month"]: r for r in orders if r["g_month"] == 0}
    authorities = sorted(
        (r for r in orders if r["g_authority"] == 0), key=lambda r: (-r["orders"], r["authority_code"] or "")
    )
    completed = int(total["completed"])
    p50, p90 = items["percentiles"] or (None, None)
    bounds = (0, *HISTOGRAM_BOUNDS)
    series = []
    for m in months(first, last):
        row = by_month.get(m)
        done, ok = (int(row["completed"]), int(row["on_time"])) if row else (0, 0)
        series.append(
            MonthOnTime(
                month=m.strftime("%Y-%m"),
                orders_completed=done,
                orders_on_time=ok,
                on_time_rate=rate(ok, done),
            )
        )
    return Takedowns(
        orders_received=int(total["orders"]),
        items_received=int(total["items"]),
        by_authority=[
            AuthorityCount(
                authority_id=r["authority_id"],
                code=r["authority_code"],
                orders=int(r["orders"]),
                items=int(r["items"]),
            )
            for r in authorities
        ],
        by_category=_counts(orders, "category"),
        by_urgency=_counts(orders, "urgency"),
        orders_completed=completed,
        orders_on_time=int(total["on_time"]),
        orders_late=int(total["late"]),
        orders_contested=int(total["contested"]),
        on_time_rate=rate(int(total["on_time"]), completed),
        items_by_outcome=ItemsByOutcome(
            **{k: int(items[k]) for k in ("removed", "restricted", "not_found", "contested", "pending")}
        ),
        time_to_removal_seconds=TimeToRemoval(p50=seconds(p50), p90=seconds(p90), max=seconds(items["max"])),
        time_to_removal_histogram=[
            HistogramBucket(
                from_seconds=bounds[n],
                to_seconds=HISTOGRAM_BOUNDS[n] if n < len(HISTOGRAM_BOUNDS) else None,
                items=int(items[f"h{n}"]),
            )
            for n in range(len(bounds))
        ],
        on_time_by_month=series,
        breached_orders=int(total["breached"]),
        overdue_open=int(total["overdue_open"]),
        backdated_resolutions=int(total["backdated"]),
    )


async def blocks(session: AsyncSession, w: Window) -> Blocks:
    row = await queries.one(session, queries.BLOCKS_SQL, w.params())
    return Blocks(**{k: int(v) for k, v in row.items()})


async def disclosures(session: AsyncSession, w: Window) -> Disclosures:
    row = await queries.one(session, queries.DISCLOSURES_SQL, w.params())
    median = seconds(row.pop("median_seconds_to_decision"))
    return Disclosures(**{k: int(v) for k, v in row.items()}, median_seconds_to_decision=median)


async def identities(session: AsyncSession, w: Window) -> Identities:
    found = await queries.rows(session, queries.IDENTITIES_SQL, w.params())
    total = next(r for r in found if r["g_method"])
    by_method = {r["method"]: int(r["verified"]) for r in found if not r["g_method"] and r["verified"]}
    return Identities(
        verified=int(total["verified"]),
        by_method=dict(sorted(by_method.items())),
        minors_with_guardian=int(total["minors_with_guardian"]),
        closed=int(total["closed"]),
        revoked=int(total["revoked"]),
    )


async def accounts_at(session: AsyncSession, w: Window) -> dict[str, int]:
    found = await queries.rows(session, queries.ACCOUNTS_AT_SQL, w.params())
    return {r["method"]: int(r["accounts"]) for r in sorted(found, key=lambda r: str(r["method"]))}


async def webhooks(session: AsyncSession, w: Window) -> Webhooks:
    row = await queries.one(session, queries.WEBHOOKS_SQL, w.params())
    return Webhooks(**{k: int(v) for k, v in row.items()})


async def audit_chain(session: AsyncSession, platform_id: uuid.UUID) -> AuditChain:
    heads: dict[str, ChainHead | None] = {}
    for name, sql in (("platform", queries.AUDIT_HEAD_SQL), ("system", queries.SYSTEM_HEAD_SQL)):
        found = await queries.rows(session, sql, {"platform_id": platform_id})
        heads[name] = (
            ChainHead(seq=found[0]["seq"], chain_seq=found[0]["chain_seq"], hash=found[0]["hash"].hex())
            if found
            else None
        )
    return AuditChain(**heads)
