"""report snapshots; identities can be purged (retention); events indexed by age

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "report_snapshots",
        sa.Column("platform_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("generated_at", TS, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("audit_heads", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("scheduled", sa.Boolean(), nullable=False),
        sa.Column("created_by_key_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
            name=op.f("fk_report_snapshots_platform_id_platforms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_snapshots")),
    )
    op.create_index(
        "ix_report_snapshots_platform_created",
        "report_snapshots",
        ["platform_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "uq_report_snapshots_scheduled",
        "report_snapshots",
        ["platform_id", "kind", "period_from", "period_to"],
        unique=True,
        postgresql_where=sa.text("scheduled"),
    )
    op.add_column("identities", sa.Column("purged_at", TS, nullable=True))
    op.alter_column("identities", "full_name_enc", existing_type=sa.LargeBinary(), nullable=True)
    op.alter_column("identities", "date_of_birth_enc", existing_type=sa.LargeBinary(), nullable=True)
    # The purge's index leaves purged rows out, so its scan never wades through tombstones.
    op.drop_index("ix_identities_closed_at", table_name="identities")
    op.create_index(
        "ix_identities_closed_at",
        "identities",
        ["closed_at"],
        postgresql_where=sa.text("closed_at IS NOT NULL AND purged_at IS NULL"),
    )
    op.create_index("ix_events_occurred_at", "events", ["occurred_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_events_occurred_at", table_name="events")
    # A purged identity has no name or date of birth left; it cannot go back under NOT NULL.
    op.execute("DELETE FROM identities WHERE purged_at IS NOT NULL")
    op.drop_index("ix_identities_closed_at", table_name="identities")
    op.create_index(
        "ix_identities_closed_at",
        "identities",
        ["closed_at"],
        postgresql_where=sa.text("closed_at IS NOT NULL"),
    )
    op.alter_column("identities", "date_of_birth_enc", existing_type=sa.LargeBinary(), nullable=False)
    op.alter_column("identities", "full_name_enc", existing_type=sa.LargeBinary(), nullable=False)
    op.drop_column("identities", "purged_at")
    op.drop_index("uq_report_snapshots_scheduled", table_name="report_snapshots")
    op.drop_index("ix_report_snapshots_platform_created", table_name="report_snapshots")
    op.drop_table("report_snapshots")
