"""Where a backfill's message belongs, and the Pub/Sub message id of each date's trigger.

`post_channel`/`post_thread`: the place it was asked from (NULL: a terminal), so that a process
that did not start it can still post its message. `message_id`: recorded when Pub/Sub confirms
the trigger (the date moves from `publishing` to `published`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("backfills") as batch_op:
        batch_op.add_column(sa.Column("post_channel", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("post_thread", sa.String(32), nullable=True))
    with op.batch_alter_table("backfill_dates") as batch_op:
        batch_op.add_column(sa.Column("message_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("backfill_dates") as batch_op:
        batch_op.drop_column("message_id")
    with op.batch_alter_table("backfills") as batch_op:
        batch_op.drop_column("post_thread")
        batch_op.drop_column("post_channel")
