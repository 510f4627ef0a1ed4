"""violations can be withdrawn (kept on record, no longer counted toward locks)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("violations", sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("violations", sa.Column("withdrawn_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("violations", "withdrawn_reason")
    op.drop_column("violations", "withdrawn_at")
