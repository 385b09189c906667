"""Incremental crawling and change history: ``page`` (validators, fetch times, kind),
``change`` (what re-crawls changed), ``gone_at`` on offer records, quarantine ``retry`` /
``resolved_at``, and each run's ``health`` report.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "page",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("etag", sa.String(), nullable=True),
        sa.Column("last_modified", sa.String(), nullable=True),
        sa.Column("fetched_at", WHEN, nullable=True),
        sa.Column("changed_at", WHEN, nullable=True),
        sa.Column("links", sa.JSON(), nullable=True),
        sa.Column("crawl_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["crawl_run_id"], ["crawl_run.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("url"),
    )
    op.create_index("ix_page_site", "page", ["site"], unique=False)
    op.create_table(
        "change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(), nullable=False),
        sa.Column("old", sa.JSON(), nullable=True),
        sa.Column("new", sa.JSON(), nullable=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("crawl_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["crawl_run_id"], ["crawl_run.id"]),
        sa.ForeignKeyConstraint(["source_record_id"], ["source_record.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_change_at", "change", ["at"], unique=False)
    op.create_index("ix_change_source_record_id", "change", ["source_record_id"], unique=False)
    op.add_column("offer", sa.Column("gone_at", WHEN, nullable=True))
    op.add_column("source_record", sa.Column("gone_at", WHEN, nullable=True))
    op.add_column(
        "quarantine",
        sa.Column("retry", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("quarantine", sa.Column("resolved_at", WHEN, nullable=True))
    op.add_column("crawl_run", sa.Column("health", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("crawl_run", "health")
    op.drop_column("quarantine", "resolved_at")
    op.drop_column("quarantine", "retry")
    op.drop_column("source_record", "gone_at")
    op.drop_column("offer", "gone_at")
    op.drop_index("ix_change_source_record_id", table_name="change")
    op.drop_index("ix_change_at", table_name="change")
    op.drop_table("change")
    op.drop_index("ix_page_site", table_name="page")
    op.drop_table("page")
