"""kit.db.compiled_once: the hot ON CONFLICT statements are cacheable (SQLAlchemy compiles a
PostgreSQL INSERT … ON CONFLICT again on every execution otherwise) and keep their binds."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert

from vncomply.events import outbox
from vncomply.events.models import EventSequence
from vncomply.idempotency import route
from vncomply.identities import service
from vncomply.kit.db import compiled_once


def test_the_dialects_upsert_has_no_cache_key_and_ours_has() -> None:
    stmt = insert(EventSequence).values(platform_id=bindparam("platform_id"), last_seq=1)
    assert stmt.on_conflict_do_nothing()._generate_cache_key() is None  # why compiled_once exists
    assert compiled_once(stmt.on_conflict_do_nothing())._generate_cache_key() is not None


@pytest.mark.parametrize(
    ("clause", "binds"),
    [
        (outbox._NEXT_SEQ, {"platform_id"}),
        (route._CLAIM, {"key_id", "idem_key", "request_hash", "now"}),
        (service._UPSERT, {*service.COLUMNS, *(f"audit_{c}" for c in service._AUDITED)}),
    ],
    ids=["outbox", "idempotency", "identity"],
)
def test_hot_upserts_are_cacheable_with_their_placeholders(clause: object, binds: set[str]) -> None:
    assert clause._generate_cache_key() is not None  # type: ignore[attr-defined]
    compiled = clause.compile()  # type: ignore[attr-defined]
    required = {name for name, p in compiled.binds.items() if p.required}
    assert required == binds
    assert "::" not in str(compiled), "a cast the text() construct would not read as a bind"
