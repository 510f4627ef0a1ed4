"""authority orders unique per (authority, platform, reference_no), one stored fingerprint; the
takedown verdict judged on receipt

- takedown orders, block orders and disclosure requests: the unique constraint/index gains
  ``platform_id`` (one letter may go to several platforms);
- ``payload_hash`` is the 32-byte fingerprint everywhere: takedowns' hex text becomes bytes (the same
  digest), block orders get one, backfilled with the recipe of ``vncomply.kit.references`` at
  this revision (SHA-256 of the order's canonical JSON, keys sorted, nulls dropped);
- takedown orders get ``verdict`` and ``items_backdated``. Completed orders are re-judged by the
  rule now in force (on when each resolution reached vncomply, not on the platform's
  ``actioned_at``): a backdated completion that was "on time" becomes late and gets its breach.
  No audit record is written for that correction; this docstring is its trace.

Downgrade fails if two platforms now hold orders under one (authority, reference_no).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import hashlib
from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _block_fingerprints() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, platform_id, authority_id, subject_type, subject_id, duration_days, permanent, "
            "category, reason, legal_basis, reference_no FROM account_blocks WHERE authority_id IS NOT NULL"
        )
    ).mappings()
    updates = []
    for r in rows:
        # BlockOrder.model_dump(mode="json", exclude_none=True) plus the ordering authority.
        data = {
            "platform_id": str(r["platform_id"]),
            "authority_id": str(r["authority_id"]),
            "subject_type": r["subject_type"],
            "subject_id": r["subject_id"],
            "duration_days": r["duration_days"],
            "permanent": r["permanent"],
            "category": r["category"],
            "reason": r["reason"],
            "legal_basis": r["legal_basis"],
            "reference_no": r["reference_no"],
        }
        canonical = orjson.dumps(
            {k: v for k, v in data.items() if v is not None}, option=orjson.OPT_SORT_KEYS
        )
        updates.append({"id": r["id"], "h": hashlib.sha256(canonical).digest()})
    if updates:
        bind.execute(sa.text("UPDATE account_blocks SET payload_hash = :h WHERE id = :id"), updates)


def upgrade() -> None:
    op.drop_constraint("uq_takedown_orders_authority_id_reference_no", "takedown_orders", type_="unique")
    op.create_unique_constraint(
        "uq_takedown_orders_authority_id_platform_id_reference_no",
        "takedown_orders",
        ["authority_id", "platform_id", "reference_no"],
    )
    op.alter_column(
        "takedown_orders",
        "payload_hash",
        type_=sa.LargeBinary(length=32),
        existing_type=sa.String(length=64),
        existing_nullable=False,
        postgresql_using="decode(payload_hash, 'hex')",
    )
    op.add_column("takedown_orders", sa.Column("verdict", sa.String(length=20), nullable=True))
    op.add_column(
        "takedown_orders",
        sa.Column("items_backdated", sa.Integer(), server_default="0", nullable=False),
    )
    op.execute(
        "UPDATE takedown_orders AS o SET items_backdated = (SELECT count(*) FROM takedown_items i "
        "WHERE i.order_id = o.id AND i.status IN ('removed', 'restricted', 'not_found') "
        "AND i.resolved_at >= o.due_at AND i.actioned_at < o.due_at) WHERE EXISTS (SELECT 1 "
        "FROM takedown_items i WHERE i.order_id = o.id AND i.resolved_at >= o.due_at)"
    )
    op.execute(
        "UPDATE takedown_orders AS o SET verdict = CASE "
        "WHEN o.breached_at IS NOT NULL OR EXISTS (SELECT 1 FROM takedown_items i "
        "WHERE i.order_id = o.id AND i.resolved_at >= o.due_at) THEN 'late' "
        "WHEN NOT EXISTS (SELECT 1 FROM takedown_items i WHERE i.order_id = o.id "
        "AND i.status <> 'contested') THEN 'contested' ELSE 'on_time' END "
        "WHERE o.status = 'completed'"
    )
    op.execute(
        "UPDATE takedown_orders SET "
        "on_time = CASE verdict WHEN 'on_time' THEN true WHEN 'late' THEN false END, "
        "breached_at = CASE WHEN verdict = 'late' THEN coalesce(breached_at, due_at) ELSE breached_at END "
        "WHERE status = 'completed'"
    )

    op.drop_index("uq_account_blocks_order_reference", table_name="account_blocks")
    op.create_index(
        "uq_account_blocks_order_reference",
        "account_blocks",
        ["authority_id", "platform_id", "reference_no"],
        unique=True,
        postgresql_where="authority_id IS NOT NULL",
    )
    op.add_column("account_blocks", sa.Column("payload_hash", sa.LargeBinary(length=32), nullable=True))
    _block_fingerprints()

    op.drop_constraint(
        "uq_disclosure_requests_authority_id_reference_no", "disclosure_requests", type_="unique"
    )
    op.create_unique_constraint(
        "uq_disclosure_requests_authority_id_platform_id_reference_no",
        "disclosure_requests",
        ["authority_id", "platform_id", "reference_no"],
    )


def downgrade() -> None:
    op.drop_constraint(
        "uq_disclosure_requests_authority_id_platform_id_reference_no", "disclosure_requests", type_="unique"
    )
    op.create_unique_constraint(
        "uq_disclosure_requests_authority_id_reference_no",
        "disclosure_requests",
        ["authority_id", "reference_no"],
    )
    op.drop_column("account_blocks", "payload_hash")
    op.drop_index("uq_account_blocks_order_reference", table_name="account_blocks")
    op.create_index(
        "uq_account_blocks_order_reference",
        "account_blocks",
        ["authority_id", "reference_no"],
        unique=True,
        postgresql_where="authority_id IS NOT NULL",
    )
    op.drop_column("takedown_orders", "items_backdated")
    op.drop_column("takedown_orders", "verdict")
    op.alter_column(
        "takedown_orders",
        "payload_hash",
        type_=sa.String(length=64),
        existing_type=sa.LargeBinary(length=32),
        existing_nullable=False,
        postgresql_using="encode(payload_hash, 'hex')",
    )
    op.drop_constraint(
        "uq_takedown_orders_authority_id_platform_id_reference_no", "takedown_orders", type_="unique"
    )
    op.create_unique_constraint(
        "uq_takedown_orders_authority_id_reference_no",
        "takedown_orders",
        ["authority_id", "reference_no"],
    )
