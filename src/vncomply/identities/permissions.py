"""The permission check: may this account post / comment / share / livestream / monetise now?

One SQL statement per request, single or batch: the identity's plain status columns, the platform's
Form No. 10 filing and the account's active blocks (LATERAL aggregate over ``account_blocks``) come
back together, and nothing is decrypted. "Now" is a parameter from the clock (design rule 4), and
a block counts iff it is active by the blocks domain's definition (``vncomply.blocks.status``:
``starts_at <= now < ends_at`` and not lifted), so no worker needs to be on time.

What each action needs comes from the rules in force at "now" (``vncomply.identities.policy``:
which actions need a verified identity, which an ID-number verification, which the Form No. 10
filing gates), taken once per statement. Reasons, first match wins: closed, revoked, unverified,
locked, blocked, guardian_required, platform_contact_not_filed, national_id_required (the order and
which actions each applies to: ``policy.reasons``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from vncomply.blocks.enums import SubjectType
from vncomply.blocks.status import active_sql
from vncomply.config import get_settings
from vncomply.identities.enums import IdentityStatus
from vncomply.identities.policy import ACTIONS, Policy, policy_at, reason, reasons
from vncomply.kit import clock
from vncomply.kit.coalescing import Coalescer
from vncomply.kit.db import read_rows
from vncomply.kit.metrics import PERMISSION_BATCH_SIZE

__all__ = ["ACTIONS", "BATCH", "PAIRS", "batch_params", "check_account", "check_batch"]

# psycopg parameters (%(name)s): these run on the hot read pool as prepared statements. Which blocks
# count is the blocks domain's one definition of "active" (vncomply.blocks.status), rendered here;
# a permanent lock is one without an end (a CHECK constraint keeps `permanent` saying the same).
_BLOCKS = f"""
CROSS JOIN LATERAL (
    SELECT coalesce(bool_or(ab.permanent), false) AS locked,
           max(ab.ends_at) FILTER (WHERE NOT ab.permanent) AS blocked_until
    FROM account_blocks ab
    WHERE ab.platform_id = {{plat}} AND ab.subject_type = '{SubjectType.account.value}'
      AND ab.subject_id = a.account_id AND {active_sql("ab")}
) b
"""  # noqa: S608 (constant SQL: the active rule and an enum value; values are bound)
# Whether the contact point was filed by "now" is decided here, once per row in C: comparing
# zone-aware datetimes in Python (psycopg's zone against UTC) cost a fifth of the batch check's CPU.
_COLS = """i.status, i.minor_until, i.has_guardian, i.has_national_id,
       i.commercial_livestreamer, b.locked, b.blocked_until,
       coalesce(p.contact_filed_at <= %(now)s, false) AS filed"""

# Single checks, coalesced (vncomply.kit.coalescing): one row per (platform, account) pair, in input
# order, even for an unknown account or platform (all LEFT JOINs).
PAIRS = f"""
SELECT {_COLS}
FROM unnest(CAST(string_to_array(%(platform_ids)s, ' ') AS uuid[]),
            string_to_array(%(account_ids)s, ' '))
     WITH ORDINALITY AS a(platform_id, account_id, ord)
LEFT JOIN platforms p ON p.id = a.platform_id
LEFT JOIN identities i ON i.platform_id = a.platform_id AND i.account_id = a.account_id
{_BLOCKS.format(plat="a.platform_id")}
ORDER BY a.ord
"""  # noqa: S608 (constant SQL; values are bound)

# The batch endpoint: one platform, up to 1,000 accounts.
BATCH = f"""
SELECT a.account_id, {_COLS}
FROM unnest(string_to_array(%(account_ids)s, ' ')) WITH ORDINALITY AS a(account_id, ord)
JOIN platforms p ON p.id = %(platform_id)s
LEFT JOIN identities i ON i.platform_id = p.id AND i.account_id = a.account_id
{_BLOCKS.format(plat="p.id")}
ORDER BY a.ord
"""  # noqa: S608 (constant SQL; values are bound)


def batch_params(platform_id: uuid.UUID, account_ids: list[str], now: datetime) -> dict[str, Any]:
    """``BATCH``'s parameters. The ids go as one space-separated string (account ids never hold a
    space: ``validation.ACCOUNT_ID``) that PostgreSQL splits: psycopg's list dumper is Python and
    cost more per request than everything the endpoint does besides the statement."""
    return {"platform_id": platform_id, "account_ids": _joined(account_ids), "now": now}


def _joined(account_ids: list[str]) -> str:
    joined = " ".join(account_ids)
    if joined.count(" ") != len(account_ids) - 1:  # one answer per id, in order, or none at all
        raise ValueError("an account id holds a space; validate ids before checking them")
    return joined


_Key = tuple[uuid.UUID, str]
# The row, and the Vietnam date and rules in force of the "now" its statement used.
_Answer = tuple[tuple[Any, ...], date, Policy]


async def _fetch_pairs(keys: list[_Key]) -> list[_Answer]:
    now = clock.now()
    # Once per statement, not per check: the date, and the rules in force.
    today, policy = now.astimezone(clock.VN_TZ).date(), policy_at(now)
    params = {
        "platform_ids": " ".join(str(k[0]) for k in keys),
        "account_ids": _joined([k[1] for k in keys]),
        "now": now,
    }
    return [(row, today, policy) for row in await read_rows(PAIRS, params)]


_coalescer: Coalescer[_Key, _Answer] | None = None


def _get_coalescer() -> Coalescer[_Key, _Answer]:
    global _coalescer
    if _coalescer is None:
        _coalescer = Coalescer(
            _fetch_pairs,
            max_in_flight=get_settings().db_read_pool_size,
            on_batch=PERMISSION_BATCH_SIZE.observe,
        )
    return _coalescer


async def check_account(platform_id: uuid.UUID, account_id: str) -> dict[str, Any]:
    row, today, policy = await _get_coalescer().get((platform_id, account_id))
    decided = reasons(row, today, policy)
    return {
        "account_id": account_id,
        "verified": row[0] == IdentityStatus.verified,
        "blocked_until": row[6],
        "locked": bool(row[5]),
        "actions": {a: {"allowed": r is None, "reason": r} for a, r in decided.items()},
    }


async def check_batch(platform_id: uuid.UUID, action: str, account_ids: list[str]) -> list[dict[str, Any]]:
    now = clock.now()
    today, policy = now.astimezone(clock.VN_TZ).date(), policy_at(now)
    out = []
    for r in await read_rows(BATCH, batch_params(platform_id, account_ids, now)):
        why = reason(r[1:], today, policy, action)
        out.append({"account_id": r[0], "allowed": why is None, "reason": why})
    return out
