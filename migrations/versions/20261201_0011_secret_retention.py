"""phone verifications are purged by age (index for the retention purge)

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_phone_verifications_expires_at", "phone_verifications", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_phone_verifications_expires_at", table_name="phone_verifications")
