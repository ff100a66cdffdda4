"""The Cloud Run operation creating a rollout's canary, so a restart resumes waiting on it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rollouts") as batch_op:
        batch_op.add_column(sa.Column("operation", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rollouts") as batch_op:
        batch_op.drop_column("operation")
