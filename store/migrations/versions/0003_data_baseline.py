"""The service's data check status when the rollout began: a canary may not make it worse.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rollouts") as batch_op:
        batch_op.add_column(sa.Column("data_baseline", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rollouts") as batch_op:
        batch_op.drop_column("data_baseline")
