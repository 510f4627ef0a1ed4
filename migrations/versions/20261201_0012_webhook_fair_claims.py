"""webhook deliveries: per-platform due index (fair claims), delivery kind (redelivery cap)

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "webhook_deliveries",
        sa.Column("kind", sa.String(length=20), server_default="event", nullable=False),
    )
    # Claims now take a fair share per platform, so the due index leads with the platform.
    op.drop_index(
        "ix_webhook_deliveries_due",
        table_name="webhook_deliveries",
        postgresql_where="next_attempt_at IS NOT NULL",
    )
    op.create_index(
        "ix_webhook_deliveries_platform_due",
        "webhook_deliveries",
        ["platform_id", "next_attempt_at"],
        unique=False,
        postgresql_where="next_attempt_at IS NOT NULL",
    )
    op.create_index(
        "ix_webhook_deliveries_redeliveries",
        "webhook_deliveries",
        ["platform_id", "created_at"],
        unique=False,
        postgresql_where="kind = 'redelivery'",
    )


def downgrade() -> None:
    op.drop_index(
        "ix_webhook_deliveries_redeliveries",
        table_name="webhook_deliveries",
        postgresql_where="kind = 'redelivery'",
    )
    op.drop_index(
        "ix_webhook_deliveries_platform_due",
        table_name="webhook_deliveries",
        postgresql_where="next_attempt_at IS NOT NULL",
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where="next_attempt_at IS NOT NULL",
    )
    op.drop_column("webhook_deliveries", "kind")
