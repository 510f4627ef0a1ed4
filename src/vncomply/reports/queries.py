"""The report's figures, each section one SQL statement: aggregates are computed by PostgreSQL, never
by loading rows into Python (a platform can have millions of orders; bench/reports measures a year
of 1,000,000).

The statements are plain SQL so that what the benchmark times as "the plain SQL aggregate" is
exactly what the report runs. Every statement takes ``platform_id`` and the period as a half-open
UTC interval ``[start, end)`` (Vietnam midnights, see ``service.Period``); ``now`` comes from the
clock, never SQL ``now()``.

Reading other domains' tables directly is this domain's one exception to "domains meet through
services": a report is a read-only view across all of them, and per-domain service calls would load
rows or multiply round trips. It writes nothing there.

The takedown verdict is the one the takedowns domain records (``verdict``, judged on when each
resolution reached vncomply, and ``items_backdated``); this module only counts it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Upper bounds (seconds) of the time-to-removal histogram's buckets; the last bucket is open.
HISTOGRAM_BOUNDS: tuple[int, ...] = (3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600, 48 * 3600)

# One scan of the period's orders, grouped by every key the report breaks them down by (a few hundred
# groups at most: hashed in memory); then the totals and the counts per authority, category, urgency
# and Vietnam month over those groups (GROUPING SETS), the authority's code joined on the result.
ORDERS_SQL = """
WITH g AS (
    SELECT authority_id, category, urgency,
           date_trunc('month', received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS month,
           count(*) AS orders,
           coalesce(sum(items_total), 0) AS items,
           count(*) FILTER (WHERE status = 'completed') AS completed,
           count(*) FILTER (WHERE verdict = 'on_time') AS on_time,
           count(*) FILTER (WHERE verdict = 'late') AS late,
           count(*) FILTER (WHERE verdict = 'contested') AS contested,
           count(*) FILTER (WHERE breached_at IS NOT NULL) AS breached,
           count(*) FILTER (WHERE status <> 'completed' AND due_at <= :now) AS overdue_open,
           coalesce(sum(items_backdated), 0) AS backdated
    FROM takedown_orders
    WHERE platform_id = :platform_id AND received_at >= :start AND received_at < :end
    GROUP BY 1, 2, 3, 4
), agg AS (
    SELECT GROUPING(authority_id) AS g_authority, GROUPING(category) AS g_category,
           GROUPING(urgency) AS g_urgency, GROUPING(month) AS g_month,
           authority_id, category, urgency, month,
           coalesce(sum(orders), 0) AS orders, coalesce(sum(items), 0) AS items,
           coalesce(sum(completed), 0) AS completed, coalesce(sum(on_time), 0) AS on_time,
           coalesce(sum(late), 0) AS late, coalesce(sum(contested), 0) AS contested,
           coalesce(sum(breached), 0) AS breached, coalesce(sum(overdue_open), 0) AS overdue_open,
           coalesce(sum(backdated), 0) AS backdated
    FROM g
    GROUP BY GROUPING SETS ((), (authority_id), (category), (urgency), (month))
)
SELECT agg.*, a.code AS authority_code
FROM agg LEFT JOIN authorities a ON a.id = agg.authority_id
"""

# Seconds from the order's receipt to the resolution reaching vncomply, as float8 (date_part; the
# numeric of extract() sorts several times slower), and the histogram bucket, each computed once.
_BOUNDS = ",".join(map(str, HISTOGRAM_BOUNDS))
_BUCKETS = ",\n       ".join(
    f"count(*) FILTER (WHERE bucket = {n}) AS h{n}" for n in range(len(HISTOGRAM_BOUNDS) + 1)
)

# One scan of the period's items: outcomes, the time-to-removal percentiles (one sort for both) and
# the histogram, over removed and restricted items.
ITEMS_SQL = f"""
WITH i AS (
    SELECT i.status, s.seconds,
           CASE WHEN i.status IN ('removed', 'restricted')
                THEN width_bucket(s.seconds, ARRAY[{_BOUNDS}]::float8[]) END AS bucket
    FROM takedown_items i JOIN takedown_orders o ON o.id = i.order_id,
    LATERAL (SELECT date_part('epoch', i.resolved_at - o.received_at) AS seconds) AS s
    WHERE o.platform_id = :platform_id AND o.received_at >= :start AND o.received_at < :end
)
SELECT count(*) FILTER (WHERE status = 'removed') AS removed,
       count(*) FILTER (WHERE status = 'restricted') AS restricted,
       count(*) FILTER (WHERE status = 'not_found') AS not_found,
       count(*) FILTER (WHERE status = 'contested') AS contested,
       count(*) FILTER (WHERE status = 'pending') AS pending,
       percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY seconds)
           FILTER (WHERE bucket IS NOT NULL) AS percentiles,
       max(seconds) FILTER (WHERE bucket IS NOT NULL) AS max,
       {_BUCKETS}
FROM i
"""  # noqa: S608 (constant SQL; values are bound)

BLOCKS_SQL = """
SELECT count(*) FILTER (WHERE origin = 'order') AS ordered,
       count(*) FILTER (WHERE origin = 'rule') AS rule_based,
       count(*) FILTER (WHERE NOT permanent) AS temporary,
       count(*) FILTER (WHERE permanent) AS permanent,
       count(*) FILTER (WHERE lifted_at IS NOT NULL) AS lifted_early,
       count(*) FILTER (
           WHERE lifted_at IS NULL AND starts_at <= :now AND (permanent OR ends_at > :now)
       ) AS active_now
FROM account_blocks
WHERE platform_id = :platform_id AND starts_at >= :start AND starts_at < :end
"""

DISCLOSURES_SQL = """
SELECT count(*) AS received,
       count(*) FILTER (WHERE status = 'approved') AS approved,
       count(*) FILTER (WHERE status = 'partially_approved') AS partially_approved,
       count(*) FILTER (WHERE status = 'rejected') AS rejected,
       count(*) FILTER (WHERE status = 'no_data') AS no_data,
       count(*) FILTER (WHERE status IN ('pending_review', 'awaiting_second_approval')) AS pending,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - received_at))
           FILTER (WHERE decided_at IS NOT NULL) AS median_seconds_to_decision
FROM disclosure_requests
WHERE platform_id = :platform_id AND received_at >= :start AND received_at < :end
"""

# As they stand now (not by period): one pass over the platform's identities.
IDENTITIES_SQL = """
SELECT GROUPING(method) AS g_method, method,
       count(*) FILTER (WHERE status = 'verified') AS verified,
       count(*) FILTER (
           WHERE status = 'verified' AND has_guardian AND minor_until > :today
       ) AS minors_with_guardian,
       count(*) FILTER (WHERE status = 'closed') AS closed,
       count(*) FILTER (WHERE status = 'revoked') AS revoked
FROM identities
WHERE platform_id = :platform_id
GROUP BY GROUPING SETS ((), (method))
"""

# The annual report's accounts at year end, rewound by the dates each row keeps: verified by then,
# and neither closed nor revoked by then.
ACCOUNTS_AT_SQL = """
SELECT method, count(*) AS accounts
FROM identities
WHERE platform_id = :platform_id AND verified_at < :end
  AND (closed_at IS NULL OR closed_at >= :end) AND (revoked_at IS NULL OR revoked_at >= :end)
GROUP BY method
"""

WEBHOOKS_SQL = """
SELECT count(*) AS deliveries,
       count(*) FILTER (WHERE status = 'delivered') AS delivered,
       count(*) FILTER (WHERE status = 'failed') AS failed
FROM webhook_deliveries
WHERE endpoint_id IN (SELECT id FROM webhook_endpoints WHERE platform_id = :platform_id)
  AND created_at >= :start AND created_at < :end
"""

# The audit chain heads a report is generated against: the platform's chain and the chain of
# platform-less actions (the last sealed row of each; docs/audit.md).
_HEAD = """
SELECT seq, chain_seq, hash FROM audit_events
WHERE {chain} AND hash IS NOT NULL ORDER BY chain_seq DESC LIMIT 1
"""
AUDIT_HEAD_SQL = _HEAD.format(chain="platform_id = :platform_id")
SYSTEM_HEAD_SQL = _HEAD.format(chain="platform_id IS NULL")

# Every statement a report runs, by name (the benchmark times them raw).
STATEMENTS: Mapping[str, str] = {
    "orders": ORDERS_SQL,
    "items": ITEMS_SQL,
    "blocks": BLOCKS_SQL,
    "disclosures": DISCLOSURES_SQL,
    "identities": IDENTITIES_SQL,
    "webhooks": WEBHOOKS_SQL,
}


@dataclass(frozen=True, slots=True)
class Window:
    platform_id: uuid.UUID
    start: datetime  # UTC, inclusive: the first day's Vietnam midnight
    end: datetime  # UTC, exclusive: the Vietnam midnight after the last day
    now: datetime
    today: date  # in Vietnam

    def params(self) -> dict[str, Any]:
        return {
            "platform_id": self.platform_id,
            "start": self.start,
            "end": self.end,
            "now": self.now,
            "today": self.today,
        }


async def rows(session: AsyncSession, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    result = await session.execute(text(sql), dict(params))
    return [dict(r) for r in result.mappings().all()]


async def one(session: AsyncSession, sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    found = await rows(session, sql, params)
    return found[0]
