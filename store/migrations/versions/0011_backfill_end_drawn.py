"""Whether a backfill's message was drawn showing its end.

`end_drawn`: set once Slack took a chat.update of the ended backfill; an ended backfill with a
message and without it (its driver killed before drawing its end) is drawn by the replica that
resumes or takes over (found by the backfill soak, seed 7 at N=30).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("backfills") as batch_op:
        batch_op.add_column(
            sa.Column("end_drawn", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("backfills") as batch_op:
        batch_op.drop_column("end_drawn")
