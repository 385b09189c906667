"""match_decision.weak: a match made only for want of a rival (added in b9112ae without a
migration; catalogs made before it lack the column).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("match_decision") as batch:
        batch.add_column(sa.Column("weak", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_match_decision_weak", ["weak"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("match_decision") as batch:
        batch.drop_index("ix_match_decision_weak")
        batch.drop_column("weak")
