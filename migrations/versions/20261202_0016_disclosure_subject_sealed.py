"""disclosures: the subject's phone or ID number kept encrypted, so a key rotation re-indexes it

A request's phone or ID subject was kept only as its blind index under the key current at receipt.
Once a blind-index key rotation finished and the previous key was removed (as `vncomply keys rotate`
says it may be), an open request's index matched no identity any more, and the officer's decision
ended as a false `no_data`. The subject is now also kept encrypted under the field-encryption key
(``subject_enc``, bound to the request by its AAD), and the rotation re-encrypts it and re-indexes
``subject_blind_index`` like an identity's (``key_id``, ``subject_bi_key_fp``).

Requests recorded before this revision have no ``subject_enc`` (the plaintext was never kept): they
match by their stored index and their preview as before, so keep the previous blind-index key while
any of them is open (`vncomply keys rotate` counts them).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("disclosure_requests", sa.Column("subject_enc", sa.LargeBinary(), nullable=True))
    op.add_column("disclosure_requests", sa.Column("key_id", sa.String(64), nullable=True))
    op.add_column("disclosure_requests", sa.Column("subject_bi_key_fp", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("disclosure_requests", "subject_bi_key_fp")
    op.drop_column("disclosure_requests", "key_id")
    op.drop_column("disclosure_requests", "subject_enc")
