"""filings: what a platform must file, on the deadline engine; the dead platform filing clock goes

- table ``filings`` (contact point, annual report, DPIA, transfer impact assessment), one contact
  point per platform and one annual report per platform and year (partial unique indexes);
- ``platforms.filing_next_action_at`` is dropped: nothing ever set it (the ``platform.filing_due``
  event it was meant for was never sent); the filings clock replaces it;
- backfill, with the rules as they stand at this revision (filing.v1: 60 days from coming in scope,
  counted from 2024-12-25 at the earliest; annual_report.v1: due on VNCOMPLY_ANNUAL_REPORT_DUE,
  default 01-31, of the following year): every platform in scope with an ``in_scope_since`` gets its
  contact-point filing (filed when ``contact_filed_at`` is set) and the report on the current year.
  Pending rows are made due now, so the first sweep schedules (or fires) their clock. Platforms in
  scope without an ``in_scope_since`` get theirs at their next update.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

import os
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VN = ZoneInfo("Asia/Ho_Chi_Minh")
_IN_SCOPE = "(p.stores_data_in_vn OR p.monthly_vn_visits >= 100000)"
_ACTIVE = (
    "((status = 'pending' AND overdue_at IS NULL) OR (kind = 'annual_report' AND rolled_over_at IS NULL))"
)


def _vn_midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=_VN).astimezone(UTC)


def _backfill() -> None:
    bind = op.get_bind()
    # A migration runs outside the app's clock: the wall clock is the time of the upgrade.
    now = datetime.now(UTC)
    common = {"now": now}
    bind.execute(
        sa.text(
            f"""
            INSERT INTO filings (id, platform_id, kind, starts_at, rule_id, due_at, status, filed_at,
                                 note, filed_recorded_at, reminders_sent, next_action_at,
                                 created_at, updated_at)
            SELECT gen_random_uuid(), p.id, 'contact_point', s.start, 'filing.v1',
                   s.start + interval '60 days',
                   CASE WHEN p.contact_filed_at IS NULL THEN 'pending' ELSE 'filed' END,
                   p.contact_filed_at,
                   CASE WHEN p.contact_filed_at IS NULL THEN NULL
                        ELSE 'filed before the filings clock existed (the platform''s contact_filed_at)'
                   END,
                   CASE WHEN p.contact_filed_at IS NULL THEN NULL ELSE :now END,
                   0,
                   CASE WHEN p.contact_filed_at IS NULL THEN :now END,
                   :now, :now
            FROM platforms p
            CROSS JOIN LATERAL (
                SELECT greatest(p.in_scope_since::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh',
                                TIMESTAMPTZ '2024-12-25 00:00:00+07') AS start
            ) s
            WHERE p.in_scope_since IS NOT NULL AND {_IN_SCOPE}
            """  # noqa: S608 (constant SQL; values are bound)
        ),
        common,
    )
    month, day = (int(v) for v in os.environ.get("VNCOMPLY_ANNUAL_REPORT_DUE", "01-31").split("-"))
    year = now.astimezone(_VN).year
    bind.execute(
        sa.text(
            f"""
            INSERT INTO filings (id, platform_id, kind, period_year, starts_at, rule_id, due_at, status,
                                 reminders_sent, next_action_at, created_at, updated_at)
            SELECT gen_random_uuid(), p.id, 'annual_report', :year, :start, 'annual_report.v1', :due,
                   'pending', 0, :now, :now, :now
            FROM platforms p
            WHERE p.in_scope_since IS NOT NULL AND p.in_scope_since <= :year_end AND {_IN_SCOPE}
            """  # noqa: S608 (constant SQL; values are bound)
        ),
        {
            **common,
            "year": year,
            "year_end": date(year, 12, 31),
            "start": _vn_midnight(date(year + 1, 1, 1)),
            "due": _vn_midnight(date(year + 1, month, day) + timedelta(days=1)),
        },
    )


def upgrade() -> None:
    op.create_table(
        "filings",
        sa.Column("platform_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("period_year", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule_id", sa.String(length=60), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("report_id", sa.Uuid(), nullable=True),
        sa.Column("filed_by_key_id", sa.Uuid(), nullable=True),
        sa.Column("filed_recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("rolled_over_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_action_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_key_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
            name=op.f("fk_filings_platform_id_platforms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filings")),
    )
    op.create_index(
        "uq_filings_contact_point",
        "filings",
        ["platform_id"],
        unique=True,
        postgresql_where="kind = 'contact_point'",
    )
    op.create_index(
        "uq_filings_annual_report",
        "filings",
        ["platform_id", "period_year"],
        unique=True,
        postgresql_where="kind = 'annual_report'",
    )
    op.create_index(
        "ix_filings_next_action_at",
        "filings",
        ["next_action_at"],
        postgresql_where="next_action_at IS NOT NULL",
    )
    op.create_index("ix_filings_platform_due", "filings", ["platform_id", "due_at", "id"])
    op.create_index(
        "ix_filings_stuck", "filings", ["id"], postgresql_where=f"next_action_at IS NULL AND {_ACTIVE}"
    )
    op.drop_index("ix_platforms_filing_next_action_at", table_name="platforms")
    op.drop_column("platforms", "filing_next_action_at")
    _backfill()


def downgrade() -> None:
    op.add_column("platforms", sa.Column("filing_next_action_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_platforms_filing_next_action_at", "platforms", ["filing_next_action_at"], unique=False
    )
    for name in (
        "ix_filings_stuck",
        "ix_filings_platform_due",
        "ix_filings_next_action_at",
        "uq_filings_annual_report",
        "uq_filings_contact_point",
    ):
        op.drop_index(name, table_name="filings")
    op.drop_table("filings")
