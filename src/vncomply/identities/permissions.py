"""The permission check: may this account post / comment / share / livestream now?

One SQL statement per request, single or batch: the identity's plain status columns, the platform's
Form No. 10 filing and the account's active blocks (LATERAL aggregate over ``account_blocks``) come
back together, and nothing is decrypted. "Now" is a parameter from the clock (design rule 4), and
a block counts iff it is active by the blocks domain's definition (``vncomply.blocks.status``:
``starts_at <= now < ends_at`` and not lifted), so no worker needs to be on time.

Reasons, first match wins: closed, revoked, unverified, locked, blocked; then per action
guardian_required (a minor without a guardian), platform_contact_not_filed (livestreams),
national_id_required (commercial livestream).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from vncomply.blocks.enums import SubjectType
from vncomply.blocks.status import active_sql
from vncomply.config import get_settings
from vncomply.identities.schemas import Action
from vncomply.kit import clock
from vncomply.kit.coalescing import Coalescer
from vncomply.kit.db import read_rows
from vncomply.kit.metrics import PERMISSION_BATCH_SIZE

ACTIONS: tuple[str, ...] = tuple(a.value for a in Action)

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
_COLS = """i.status, i.minor_until, i.has_guardian, i.has_national_id,
       i.commercial_livestreamer, b.locked, b.blocked_until, p.contact_filed_at"""

# Single checks, coalesced (vncomply.kit.coalescing): one row per (platform, account) pair, in input
# order, even for an unknown account or platform (all LEFT JOINs).
PAIRS = f"""
SELECT {_COLS}
FROM unnest(CAST(%(platform_ids)s AS uuid[]), CAST(%(account_ids)s AS text[]))
     WITH ORDINALITY AS a(platform_id, account_id, ord)
LEFT JOIN platforms p ON p.id = a.platform_id
LEFT JOIN identities i ON i.platform_id = a.platform_id AND i.account_id = a.account_id
{_BLOCKS.format(plat="a.platform_id")}
ORDER BY a.ord
"""  # noqa: S608 (constant SQL; values are bound)

# The batch endpoint: one platform, up to 1,000 accounts.
BATCH = f"""
SELECT a.account_id, {_COLS}
FROM unnest(CAST(%(account_ids)s AS text[])) WITH ORDINALITY AS a(account_id, ord)
JOIN platforms p ON p.id = %(platform_id)s
LEFT JOIN identities i ON i.platform_id = p.id AND i.account_id = a.account_id
{_BLOCKS.format(plat="p.id")}
ORDER BY a.ord
"""  # noqa: S608 (constant SQL; values are bound)


def _base_reason(status: str | None, locked: bool, blocked_until: datetime | None) -> str | None:
    if status == "closed":
        return "closed"
    if status == "revoked":
        return "revoked"
    if status != "verified":
        return "unverified"
    if locked:
        return "locked"
    if blocked_until is not None:
        return "blocked"
    return None


def _reasons(row: Sequence[Any], now: datetime, today: date) -> dict[str, str | None]:
    status, minor_until, has_guardian, has_nid, commercial, locked, blocked_until, filed = row
    base = _base_reason(status, locked, blocked_until)
    if base is not None:
        return dict.fromkeys(ACTIONS, base)
    guardian = None
    if minor_until is not None and today < minor_until and not has_guardian:
        guardian = "guardian_required"
    live = guardian
    if live is None and (filed is None or filed > now):
        live = "platform_contact_not_filed"
    commercial_reason = live
    if commercial_reason is None and not (commercial and has_nid):
        commercial_reason = "national_id_required"
    return {
        "post": guardian,
        "comment": guardian,
        "share": guardian,
        "livestream": live,
        "livestream_commercial": commercial_reason,
    }


_Key = tuple[uuid.UUID, str]
_Answer = tuple[tuple[Any, ...], datetime, date]  # the row, and the "now" its statement used


async def _fetch_pairs(keys: list[_Key]) -> list[_Answer]:
    now = clock.now()
    today = now.astimezone(clock.VN_TZ).date()  # once per statement, not per check
    params = {"platform_ids": [k[0] for k in keys], "account_ids": [k[1] for k in keys], "now": now}
    return [(row, now, today) for row in await read_rows(PAIRS, params)]


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
    row, now, today = await _get_coalescer().get((platform_id, account_id))
    reasons = _reasons(row, now, today)
    return {
        "account_id": account_id,
        "verified": row[0] == "verified",
        "blocked_until": row[6],
        "locked": bool(row[5]),
        "actions": {a: {"allowed": r is None, "reason": r} for a, r in reasons.items()},
    }


async def check_batch(platform_id: uuid.UUID, action: str, account_ids: list[str]) -> list[dict[str, Any]]:
    now = clock.now()
    today = now.astimezone(clock.VN_TZ).date()
    params = {"platform_id": platform_id, "account_ids": account_ids, "now": now}
    out = []
    for r in await read_rows(BATCH, params):
        reason = _reasons(r[1:], now, today)[action]
        out.append({"account_id": r[0], "allowed": reason is None, "reason": reason})
    return out
