"""A review may be its rating alone: ``review.body`` becomes nullable.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review") as batch:
        batch.alter_column("body", existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM review WHERE body IS NULL")
    with op.batch_alter_table("review") as batch:
        batch.alter_column("body", existing_type=sa.Text(), nullable=False)
