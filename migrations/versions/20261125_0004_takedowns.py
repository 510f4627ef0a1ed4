"""takedowns

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deadline_sweeps",
        sa.Column("handler", sa.String(length=80), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_duration_seconds", sa.Float(), nullable=False),
        sa.Column("last_processed", sa.Integer(), nullable=False),
        sa.Column("last_failed", sa.Integer(), nullable=False),
        sa.Column("last_repaired", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("handler", name=op.f("pk_deadline_sweeps")),
    )
    op.create_table(
        "takedown_orders",
        sa.Column("platform_id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("reference_no", sa.String(length=200), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("urgency", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule_id", sa.String(length=60), nullable=False),
        sa.Column("rule_hours", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("items_total", sa.Integer(), nullable=False),
        sa.Column("items_pending", sa.Integer(), nullable=False),
        sa.Column("next_action_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_key_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"], ["authorities.id"], name=op.f("fk_takedown_orders_authority_id_authorities")
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
            name=op.f("fk_takedown_orders_platform_id_platforms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_orders")),
        sa.UniqueConstraint(
            "authority_id", "reference_no", name=op.f("uq_takedown_orders_authority_id_reference_no")
        ),
    )
    op.create_index(
        "ix_takedown_orders_next_action_at",
        "takedown_orders",
        ["next_action_at"],
        postgresql_where="next_action_at IS NOT NULL",
    )
    op.create_index("ix_takedown_orders_platform_due", "takedown_orders", ["platform_id", "due_at", "id"])
    op.create_index("ix_takedown_orders_authority_due", "takedown_orders", ["authority_id", "due_at", "id"])
    op.create_index(
        "ix_takedown_orders_incomplete_due",
        "takedown_orders",
        ["urgency", "due_at"],
        postgresql_where="status <> 'completed'",
    )
    op.create_index(
        "ix_takedown_orders_stuck",
        "takedown_orders",
        ["id"],
        postgresql_where="status <> 'completed' AND breached_at IS NULL AND next_action_at IS NULL",
    )
    op.create_table(
        "takedown_items",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content_url", sa.String(length=2048), nullable=False),
        sa.Column("content_id", sa.String(length=200), nullable=True),
        sa.Column("account_id", sa.String(length=128), nullable=True),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("actioned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_key_id", sa.Uuid(), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("evidence_url", sa.String(length=2048), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("violation_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["takedown_orders.id"],
            name=op.f("fk_takedown_items_order_id_takedown_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takedown_items")),
        sa.UniqueConstraint("order_id", "position", name=op.f("uq_takedown_items_order_id_position")),
    )
    op.create_index("ix_takedown_items_status", "takedown_items", ["status"])


def downgrade() -> None:
    op.drop_index("ix_takedown_items_status", table_name="takedown_items")
    op.drop_table("takedown_items")
    for name in (
        "ix_takedown_orders_stuck",
        "ix_takedown_orders_incomplete_due",
        "ix_takedown_orders_authority_due",
        "ix_takedown_orders_platform_due",
        "ix_takedown_orders_next_action_at",
    ):
        op.drop_index(name, table_name="takedown_orders")
    op.drop_table("takedown_orders")
    op.drop_table("deadline_sweeps")
