"""identities

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column("platform_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verification_reference", sa.String(length=200), nullable=True),
        sa.Column("full_name_enc", sa.LargeBinary(), nullable=False),
        sa.Column("date_of_birth_enc", sa.LargeBinary(), nullable=False),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=True),
        sa.Column("national_id_enc", sa.LargeBinary(), nullable=True),
        sa.Column("guardian_enc", sa.LargeBinary(), nullable=True),
        sa.Column("phone_bi", sa.LargeBinary(length=32), nullable=True),
        sa.Column("national_id_bi", sa.LargeBinary(length=32), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("minor_until", sa.Date(), nullable=True),
        sa.Column("has_guardian", sa.Boolean(), nullable=False),
        sa.Column("has_national_id", sa.Boolean(), nullable=False),
        sa.Column("no_vn_mobile_attested", sa.Boolean(), nullable=False),
        sa.Column("commercial_livestreamer", sa.Boolean(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
            name=op.f("fk_identities_platform_id_platforms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("platform_id", "account_id", name=op.f("pk_identities")),
    )
    op.create_index(
        "ix_identities_phone_bi",
        "identities",
        ["platform_id", "phone_bi"],
        postgresql_where="phone_bi IS NOT NULL",
    )
    op.create_index(
        "ix_identities_national_id_bi",
        "identities",
        ["platform_id", "national_id_bi"],
        postgresql_where="national_id_bi IS NOT NULL",
    )
    op.create_index("ix_identities_key_id", "identities", ["key_id"])
    op.create_index(
        "ix_identities_closed_at",
        "identities",
        ["closed_at"],
        postgresql_where="closed_at IS NOT NULL",
    )
    op.create_table(
        "phone_verifications",
        sa.Column("platform_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=False),
        sa.Column("phone_bi", sa.LargeBinary(length=32), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts_left", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
            name=op.f("fk_phone_verifications_platform_id_platforms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_verifications")),
    )
    op.create_index(
        "ix_phone_verifications_phone",
        "phone_verifications",
        ["platform_id", "phone_bi", "created_at"],
    )
    op.create_index("ix_phone_verifications_key_id", "phone_verifications", ["key_id"])


def downgrade() -> None:
    op.drop_table("phone_verifications")
    op.drop_table("identities")
