"""disclosures

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "disclosure_requests",
        sa.Column("platform_id", sa.Uuid(), nullable=False),
        sa.Column("authority_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by_key_id", sa.Uuid(), nullable=False),
        sa.Column("reference_no", sa.String(length=200), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("urgency", sa.String(length=20), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_account_id", sa.String(length=128), nullable=True),
        sa.Column("subject_blind_index", sa.LargeBinary(length=32), nullable=True),
        sa.Column("subject_masked", sa.String(length=40), nullable=True),
        sa.Column("fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("payload_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("due_at", TS, nullable=True),
        sa.Column("rule_id", sa.String(length=60), nullable=False),
        sa.Column("rule_hours", sa.Integer(), nullable=True),
        sa.Column("matched_account_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("first_decision", sa.String(length=30), nullable=True),
        sa.Column("first_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("first_reason", sa.Text(), nullable=True),
        sa.Column("first_officer_key_id", sa.Uuid(), nullable=True),
        sa.Column("first_decided_at", TS, nullable=True),
        sa.Column("decision", sa.String(length=30), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("approved_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("decided_by_key_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("package_expires_at", TS, nullable=True),
        sa.Column("package_fetches", sa.Integer(), nullable=False),
        sa.Column("last_fetched_at", TS, nullable=True),
        sa.Column("notify_user_after", TS, nullable=True),
        sa.Column("user_notice_sent_at", TS, nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("breached_at", TS, nullable=True),
        sa.Column("next_action_at", TS, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authorities.id"],
            name=op.f("fk_disclosure_requests_authority_id_authorities"),
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
            name=op.f("fk_disclosure_requests_platform_id_platforms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_requests")),
        sa.UniqueConstraint(
            "authority_id",
            "reference_no",
            name=op.f("uq_disclosure_requests_authority_id_reference_no"),
        ),
    )
    op.create_index(
        "ix_disclosure_requests_platform_received",
        "disclosure_requests",
        ["platform_id", "received_at", "id"],
    )
    op.create_index(
        "ix_disclosure_requests_authority_received",
        "disclosure_requests",
        ["authority_id", "received_at", "id"],
    )
    op.create_index(
        "ix_disclosure_requests_next_action_at",
        "disclosure_requests",
        ["next_action_at"],
        postgresql_where="next_action_at IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_index("ix_disclosure_requests_next_action_at", table_name="disclosure_requests")
    op.drop_index("ix_disclosure_requests_authority_received", table_name="disclosure_requests")
    op.drop_index("ix_disclosure_requests_platform_received", table_name="disclosure_requests")
    op.drop_table("disclosure_requests")
