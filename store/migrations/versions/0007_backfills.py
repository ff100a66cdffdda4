"""Grading backfills and their dates (/regrade).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backfills",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("request_key", sa.String(128), nullable=False, unique=True),
        sa.Column("requested_by", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("include_graded", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("estimate_bytes", sa.BigInteger(), nullable=False),
        sa.Column("slack_channel", sa.String(32), nullable=True),
        sa.Column("slack_ts", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "backfill_dates",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("backfill_id", sa.Integer(), sa.ForeignKey("backfills.id"), nullable=False),
        sa.Column("game_date", sa.String(10), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("correlation_id", sa.String(64), nullable=False, unique=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("graded_count", sa.Integer(), nullable=True),
        sa.Column("mae", sa.Float(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_backfill_dates_state", "backfill_dates", ["game_date", "state"])


def downgrade() -> None:
    op.drop_index("ix_backfill_dates_state", "backfill_dates")
    op.drop_table("backfill_dates")
    op.drop_table("backfills")
