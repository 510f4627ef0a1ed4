"""blind-index key fingerprint on identities and phone verifications (blind-index key rotation)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: existing rows have no fingerprint and `vncomply keys rotate` re-indexes
    # them (the key is a setting, so the migration cannot compute it).
    op.add_column("identities", sa.Column("bi_key_fp", sa.String(length=16), nullable=True))
    op.add_column("phone_verifications", sa.Column("bi_key_fp", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("phone_verifications", "bi_key_fp")
    op.drop_column("identities", "bi_key_fp")
