"""What "a block is active" means, written once (house rule 5: reads never wait for a worker).

A block is active iff it is not lifted, has started, and has not ended: ``lifted_at IS NULL AND
starts_at <= now AND (ends_at IS NULL OR now < ends_at)``. ``status_at`` is that rule in Python;
``active_clause`` is the same rule as SQL, for ORM queries (the list filter, the lock rules) and —
rendered by ``active_sql`` — for the permission check's raw statement, so all of them agree to the
second at ``starts_at`` and ``ends_at``. A permanent lock is exactly ``ends_at IS NULL`` (the table's
CHECK constraint ties ``permanent`` to it), so the rule needs no separate "permanent" branch.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, DateTime, FromClause, and_, bindparam, or_
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

from vncomply.blocks.enums import BlockStatus
from vncomply.blocks.models import AccountBlock

TABLE: FromClause = AccountBlock.__table__


def status_at(b: AccountBlock, now: datetime) -> BlockStatus:
    if b.lifted_at is not None:
        return BlockStatus.lifted
    if now < b.starts_at:
        return BlockStatus.scheduled
    if b.ends_at is None or now < b.ends_at:
        return BlockStatus.active
    return BlockStatus.expired


def is_active(b: AccountBlock, now: datetime) -> bool:
    return status_at(b, now) is BlockStatus.active


def active_clause(now: Any, blocks: FromClause = TABLE) -> ColumnElement[bool]:
    """``status_at(b, now) is active`` as SQL over ``blocks`` (the table or an alias of it);
    ``now`` is a datetime or a bind parameter."""
    c = blocks.c
    return and_(
        c.lifted_at.is_(None),
        c.starts_at <= now,
        or_(c.ends_at.is_(None), c.ends_at > now),
    )


# The hot read pool's driver, so parameters render as %(name)s (its __init__ is untyped).
_DIALECT = PGDialect_psycopg()  # type: ignore[no-untyped-call]


@cache
def active_sql(alias: str, param: str = "now") -> str:
    """``active_clause`` rendered for a raw psycopg statement: over ``account_blocks AS <alias>``,
    with "now" as the ``%(<param>)s`` parameter."""
    now = bindparam(param, type_=DateTime(timezone=True))
    clause = active_clause(now, TABLE.alias(alias))
    return str(clause.compile(dialect=_DIALECT))
