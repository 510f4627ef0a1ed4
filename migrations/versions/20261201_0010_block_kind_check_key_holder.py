"""a block is permanent iff it has no end (CHECK); officer keys name the person who holds them;
the disclosure clock's repair index

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # No code path ever wrote a row that breaks the rule; one that does was edited by hand, and
    # which of its two columns is right is a legal question, so the migration stops instead of guessing.
    bad = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM account_blocks WHERE permanent <> (ends_at IS NULL)")
    )
    if bad:
        raise RuntimeError(
            f"{bad} account_blocks row(s) have `permanent` disagreeing with `ends_at IS NULL`; "
            "correct the rows of account_blocks where permanent <> (ends_at IS NULL) and migrate again"
        )
    op.create_check_constraint(
        op.f("ck_account_blocks_permanent_iff_no_end"), "account_blocks", "permanent = (ends_at IS NULL)"
    )
    # Existing keys keep NULL: the service requires a holder for new officer keys, and a holderless
    # officer key cannot take part in a two-officer approval (re-issue it with a holder).
    op.add_column("api_keys", sa.Column("holder", sa.String(length=200), nullable=True))
    # The disclosure clock's repair pass (rows that lost their next action; normally none).
    op.create_index(
        op.f("ix_disclosure_requests_unscheduled"),
        "disclosure_requests",
        ["id"],
        unique=False,
        postgresql_where=sa.text(
            "next_action_at IS NULL AND ("
            "(status IN ('pending_review', 'awaiting_second_approval') AND due_at IS NOT NULL "
            "AND breached_at IS NULL) OR "
            "(status IN ('approved', 'partially_approved') AND notify_user_after IS NOT NULL "
            "AND user_notice_sent_at IS NULL))"
        ),
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_disclosure_requests_unscheduled"), table_name="disclosure_requests")
    op.drop_column("api_keys", "holder")
    op.drop_constraint(op.f("ck_account_blocks_permanent_iff_no_end"), "account_blocks", type_="check")
