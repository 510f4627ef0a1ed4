"""The permission check: may this account post / comment / share / livestream now?

One SQL statement per request, single or batch: the identity's plain status columns, the platform's
Form No. 10 filing and the account's active blocks (LATERAL aggregate over ``account_blocks``) come
back together, and nothing is decrypted. "Now" is a parameter from the clock (design rule 4), and
a block counts iff ``starts_at <= now < ends_at`` and not lifted, so no worker needs to be on time.

Reasons, first match wins: closed, revoked, unverified, locked, blocked; then per action
guardian_required (a minor without a guardian), platform_contact_not_filed (livestreams),
national_id_required (commercial livestream).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Result, TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from vncomply import clock
from vncomply.identities.schemas import Action

ACTIONS: tuple[str, ...] = tuple(a.value for a in Action)

_BLOCKS = """
CROSS JOIN LATERAL (
    SELECT coalesce(bool_or(ab.permanent OR ab.ends_at IS NULL), false) AS locked,
           max(ab.ends_at) FILTER (WHERE NOT ab.permanent AND ab.ends_at IS NOT NULL)
               AS blocked_until
    FROM account_blocks ab
    WHERE ab.platform_id = p.id AND ab.subject_type = 'account' AND ab.subject_id = {acc}
      AND ab.lifted_at IS NULL AND ab.starts_at <= :now
      AND (ab.ends_at IS NULL OR ab.ends_at > :now)
) b
"""
_COLS = """i.status, i.minor_until, i.has_guardian, i.has_national_id,
       i.commercial_livestreamer, b.locked, b.blocked_until, p.contact_filed_at"""

SINGLE = text(
    f"""
SELECT {_COLS}
FROM platforms p
LEFT JOIN identities i ON i.platform_id = p.id AND i.account_id = :account_id
{_BLOCKS.format(acc=":account_id")}
WHERE p.id = :platform_id
"""  # noqa: S608 (constant SQL; values are bound)
)

BATCH = text(
    f"""
SELECT a.account_id, {_COLS}
FROM unnest(CAST(:account_ids AS text[])) WITH ORDINALITY AS a(account_id, ord)
JOIN platforms p ON p.id = :platform_id
LEFT JOIN identities i ON i.platform_id = p.id AND i.account_id = a.account_id
{_BLOCKS.format(acc="a.account_id")}
ORDER BY a.ord
"""  # noqa: S608 (constant SQL; values are bound)
)


async def _read(session: AsyncSession, stmt: TextClause, params: dict[str, Any]) -> Result[Any]:
    """Run the one read-only statement, outside a transaction when the request has none yet.

    In a transaction it would cost BEGIN and COMMIT round trips, tripling the hot path's database
    time for a single consistent snapshot it gets anyway. When the API-key lookup already opened a
    transaction (a cache miss, at most once a second per key), or the session is bound to an outer
    connection (tests), the statement simply joins it.
    """
    if not session.in_transaction() and isinstance(session.bind, AsyncEngine):
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return await session.execute(stmt, params)


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


async def check_account(session: AsyncSession, platform_id: uuid.UUID, account_id: str) -> dict[str, Any]:
    now = clock.now()
    params = {"platform_id": platform_id, "account_id": account_id, "now": now}
    row = (await _read(session, SINGLE, params)).one()
    reasons = _reasons(row, now, now.astimezone(clock.VN_TZ).date())
    return {
        "account_id": account_id,
        "verified": row[0] == "verified",
        "blocked_until": row[6],
        "locked": bool(row[5]),
        "actions": {a: {"allowed": r is None, "reason": r} for a, r in reasons.items()},
    }


async def check_batch(
    session: AsyncSession, platform_id: uuid.UUID, action: str, account_ids: list[str]
) -> list[dict[str, Any]]:
    now = clock.now()
    today = now.astimezone(clock.VN_TZ).date()
    params = {"platform_id": platform_id, "account_ids": account_ids, "now": now}
    rows = await _read(session, BATCH, params)
    out = []
    for r in rows:
        reason = _reasons(r[1:], now, today)[action]
        out.append({"account_id": r[0], "allowed": reason is None, "reason": reason})
    return out
