"""Postmortems, the messages people add to their timelines, and their action items.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "postmortems",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        _at("incident_start"),
        _at("incident_end", nullable=True),
        sa.Column("created_by", sa.String(32), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.Column("slack_channel", sa.String(32), nullable=True),
        sa.Column("slack_ts", sa.String(32), nullable=True),
        _at("draft_reminded_at", nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "postmortem_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("postmortem_id", sa.Integer(), sa.ForeignKey("postmortems.id"), nullable=False),
        sa.Column("message_key", sa.String(96), nullable=False),
        _at("at"),
        sa.Column("author", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("permalink", sa.Text(), nullable=True),
        sa.Column("added_by", sa.String(32), nullable=False),
        _at("added_at"),
        sa.UniqueConstraint("postmortem_id", "message_key", name="uq_postmortem_events_message"),
    )
    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("postmortem_id", sa.Integer(), sa.ForeignKey("postmortems.id"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("due", sa.String(10), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=False),
        _at("created_at"),
        sa.Column("reminded", sa.String(8), nullable=False),
    )
    op.create_index("ix_action_items_state_due", "action_items", ["state", "due"])


def downgrade() -> None:
    op.drop_index("ix_action_items_state_due", "action_items")
    op.drop_table("action_items")
    op.drop_table("postmortem_events")
    op.drop_table("postmortems")
