"""Migration 0009 on data written before it: stored fingerprints still match retries (takedowns'
hex becomes the same bytes; block orders get theirs), the uniqueness gains the platform, and
completed takedowns are re-judged on receipt (a backdated "on time" becomes late, with its breach)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from tests.blocks.helpers import order_body as block_body
from tests.conftest import ROOT, RUN_ID, _plain, _with_db
from tests.takedowns.helpers import order_body as takedown_body
from vncomply.blocks.schemas import BlockOrder
from vncomply.kit import references
from vncomply.takedowns.schemas import TakedownCreate

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
DUE = T0 + timedelta(hours=24)
A, B, X = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


@pytest.fixture
def scratch(test_database: str) -> Any:
    name = f"vncomply_test_{RUN_ID}_m9"
    admin = _plain(test_database)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_db(test_database, name)
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logging"] = False
    try:
        yield cfg, _plain(url)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _legacy_hex(body: dict[str, Any]) -> str:
    """The takedown fingerprint as it was stored before 0009."""
    data = TakedownCreate.model_validate(body).model_dump(mode="json", exclude_none=True)
    data["platform_id"], data["authority_id"] = str(A), str(X)
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _order(
    conn: Any, ref: str, *, status: str, payload_hash: str = "00", on_time: bool | None = None
) -> uuid.UUID:
    oid = uuid.uuid4()
    conn.execute(
        "INSERT INTO takedown_orders (id, platform_id, authority_id, reference_no, payload_hash, channel, "
        "urgency, category, legal_basis, received_at, rule_id, rule_hours, due_at, status, completed_at, "
        "on_time, reminders_sent, items_total, items_pending, created_at, updated_at) VALUES (%s, %s, %s, "
        "%s, %s, 'electronic', 'standard', 'fraud', 'Decree 147/2024 Art. 23', %s, 'takedown.standard.v1', "
        "24, %s, %s, %s, %s, 0, 1, %s, %s, %s)",
        (
            oid, A, X, ref, payload_hash, T0, DUE, status,
            DUE + timedelta(hours=72) if status == "completed" else None,
            on_time, 0 if status == "completed" else 1, T0, T0,
        ),
    )  # fmt: skip
    return oid


def _item(
    conn: Any, order_id: uuid.UUID, status: str, actioned: datetime | None, resolved: datetime | None
) -> None:
    conn.execute(
        "INSERT INTO takedown_items (id, order_id, position, content_url, subject_type, status, actioned_at, "
        "resolved_at, created_at, updated_at) VALUES (%s, %s, 0, 'https://social.example/p/0', 'post', %s, "
        "%s, %s, %s, %s)",
        (uuid.uuid4(), order_id, status, actioned, resolved, T0, T0),
    )


def _seed(conn: Any, t_body: dict[str, Any], b_body: dict[str, Any]) -> dict[str, uuid.UUID]:
    for pid, name in ((A, "SocialA"), (B, "SocialB")):
        conn.execute(
            "INSERT INTO platforms (id, name, legal_name, contact_point, monthly_vn_visits, "
            "stores_data_in_vn, lock_days, disclosure_two_officers, created_at, updated_at) VALUES "
            "(%s, %s, %s, '{}', 200000, false, 'null', false, %s, %s)",
            (pid, name, name, T0, T0),
        )
    conn.execute(
        "INSERT INTO authorities (id, code, name, kind, all_platforms, created_at, updated_at) VALUES "
        "(%s, 'ABEI', 'ABEI', 'ministry', true, %s, %s)",
        (X, T0, T0),
    )
    ids = {"open": _order(conn, "R1", status="open", payload_hash=_legacy_hex(t_body))}
    _item(conn, ids["open"], "pending", None, None)
    ids["backdated"] = _order(conn, "R2", status="completed", on_time=True)
    _item(conn, ids["backdated"], "removed", DUE - timedelta(minutes=1), DUE + timedelta(hours=72))
    ids["contested"] = _order(conn, "R3", status="completed", on_time=True)
    _item(conn, ids["contested"], "contested", T0, T0 + timedelta(hours=1))
    ids["in_time"] = _order(conn, "R4", status="completed", on_time=True)
    _item(conn, ids["in_time"], "removed", T0, T0 + timedelta(hours=1))
    ids["block"] = uuid.uuid4()
    for bid, authority in ((ids["block"], X), (uuid.uuid4(), None)):  # an order, and a lock-rule block
        conn.execute(
            "INSERT INTO account_blocks (id, platform_id, subject_type, subject_id, starts_at, ends_at, "
            "permanent, origin, authority_id, reference_no, category, reason, legal_basis, duration_days, "
            "rule_id, apply_by, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, false, %s, %s, %s, "
            "%s, %s, %s, %s, 'lock.v1', %s, %s, %s)",
            (
                bid, A, b_body["subject_type"], b_body["subject_id"], T0, T0 + timedelta(days=15),
                "order" if authority else "rule", authority, b_body["reference_no"] if authority else None,
                b_body["category"], b_body["reason"], b_body["legal_basis"], b_body["duration_days"],
                T0 + timedelta(hours=24), T0, T0,
            ),
        )  # fmt: skip
    return ids


def test_0009_keeps_fingerprints_rescopes_references_and_rejudges_verdicts(scratch) -> None:
    cfg, url = scratch
    parent = ScriptDirectory.from_config(cfg).get_revision("0009").down_revision
    assert isinstance(parent, str)
    command.upgrade(cfg, parent)
    t_body = takedown_body(A, ref="R1")
    b_body = block_body(A, reference_no="B-1")
    with psycopg.connect(url, autocommit=True) as conn:
        ids = _seed(conn, t_body, b_body)
    command.upgrade(cfg, "0009")
    with psycopg.connect(url, autocommit=True) as conn:

        def order(key: str) -> tuple[Any, ...]:
            row = conn.execute(
                "SELECT payload_hash, verdict, on_time, breached_at, items_backdated FROM takedown_orders "
                "WHERE id = %s",
                (ids[key],),
            ).fetchone()
            assert row is not None
            return tuple(row)

        # A retry of an order stored before the migration still matches (same digest, now bytes).
        expected = references.fingerprint(
            TakedownCreate.model_validate(t_body), platform_id=A, authority_id=X
        )
        assert bytes(order("open")[0]) == expected
        assert order("open")[1:] == (None, None, None, 0)
        assert order("backdated")[1:] == ("late", False, DUE, 1)
        assert order("contested")[1:] == ("contested", None, None, 0)
        assert order("in_time")[1:] == ("on_time", True, None, 0)
        hashes = dict(conn.execute("SELECT origin, payload_hash FROM account_blocks").fetchall())
        assert bytes(hashes["order"]) == references.fingerprint(
            BlockOrder.model_validate(b_body), authority_id=X
        )
        assert hashes["rule"] is None
        # The same letter (R1) to platform B now fits beside A's; the old scope refused it.
        conn.execute(
            "UPDATE takedown_orders SET platform_id = %s, reference_no = 'R1' WHERE id = %s",
            (B, ids["in_time"]),
        )
        conn.execute("DELETE FROM takedown_orders WHERE id = %s", (ids["in_time"],))  # so downgrade can run
    command.downgrade(cfg, parent)
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT payload_hash FROM takedown_orders WHERE id = %s", (ids["open"],)
        ).fetchone()
        assert row == (_legacy_hex(t_body),)
