"""crawl_run.plan_entry: the crawls.toml entry a scheduled run belongs to (run history and
the scheduler's catch-up rule read it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crawl_run") as batch:
        batch.add_column(sa.Column("plan_entry", sa.String(), nullable=True))
        batch.create_index("ix_crawl_run_plan_entry", ["plan_entry"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("crawl_run") as batch:
        batch.drop_index("ix_crawl_run_plan_entry")
        batch.drop_column("plan_entry")
