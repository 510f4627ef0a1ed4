"""breaches: personal-data breaches and the 72-hour notice to MPS (A05), on the deadline engine;
block orders and disclosure requests recorded by phone or letter; lock rules closer to the text

- table ``breaches``;
- ``account_blocks.channel`` (orders: how the order arrived; existing orders were electronic) and
  ``disclosure_requests.channel`` (default electronic): an officer may now record either when it
  came by phone or in writing;
- ``takedown_items.subject_violation_id``: a removed item whose subject is a page, group or channel
  records a violation against that subject as well as the account. Items resolved before this
  revision keep the account's violation only (no back-fill: those orders were judged as they came);
- ``account_blocks.review_requested_at / review_reason / review_closed_at``: a lock a later-withdrawn
  violation counted toward is flagged for the officer's review (partial index for the list filter).
  Existing violations are not revisited.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
# Chained on 0014 (same branch, one head for the test harness); the lead re-chains both at merge.
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("takedown_items", sa.Column("subject_violation_id", sa.Uuid(), nullable=True))
    op.add_column("account_blocks", sa.Column("channel", sa.String(length=20), nullable=True))
    op.execute("UPDATE account_blocks SET channel = 'electronic' WHERE origin = 'order'")
    op.add_column(
        "disclosure_requests",
        sa.Column("channel", sa.String(length=20), server_default="electronic", nullable=False),
    )
    for name in ("review_requested_at", "review_closed_at"):
        op.add_column("account_blocks", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.add_column("account_blocks", sa.Column("review_reason", sa.Text(), nullable=True))
    op.create_index(
        "ix_account_blocks_review",
        "account_blocks",
        ["platform_id"],
        postgresql_where="review_requested_at IS NOT NULL AND review_closed_at IS NULL",
    )
    op.create_table(
        "breaches",
        sa.Column("platform_id", sa.Uuid(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("data_categories", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("subjects_affected", sa.Integer(), nullable=True),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("rule_id", sa.String(length=60), nullable=False),
        sa.Column("rule_hours", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notice_reference", sa.String(length=200), nullable=True),
        sa.Column("late_reason", sa.Text(), nullable=True),
        sa.Column("notified_by_key_id", sa.Uuid(), nullable=True),
        sa.Column("notified_recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("next_action_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_key_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
            name=op.f("fk_breaches_platform_id_platforms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breaches")),
    )
    op.create_index(
        "ix_breaches_next_action_at",
        "breaches",
        ["next_action_at"],
        postgresql_where="next_action_at IS NOT NULL",
    )
    op.create_index("ix_breaches_platform_due", "breaches", ["platform_id", "due_at", "id"])
    op.create_index(
        "ix_breaches_stuck",
        "breaches",
        ["id"],
        postgresql_where="status = 'open' AND overdue_at IS NULL AND next_action_at IS NULL",
    )


def downgrade() -> None:
    for name in ("ix_breaches_stuck", "ix_breaches_platform_due", "ix_breaches_next_action_at"):
        op.drop_index(name, table_name="breaches")
    op.drop_table("breaches")
    op.drop_index("ix_account_blocks_review", table_name="account_blocks")
    for name in ("review_reason", "review_closed_at", "review_requested_at", "channel"):
        op.drop_column("account_blocks", name)
    op.drop_column("disclosure_requests", "channel")
    op.drop_column("takedown_items", "subject_violation_id")
