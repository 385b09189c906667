"""Component resolution, stable work ids, truthful runs.

- ``record_key``: the keys each record was last resolved under (the resolver's components);
- ``work_alias``: retired work ids (merged into a survivor, or dissolved);
- ``crawl_run``: finish_reason, host, pid, heartbeat_at (abandoned runs are found);
- ``source_record.ref_key`` goes (``record_key`` replaces it);
- every record is marked pending, so that the next resolver pass (any crawl, or
  ``filmagg resolve``) builds ``record_key`` and re-resolves under the new rules; work ids are
  kept (see ``pipelines.catalog.workids``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("film", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["source_record_id"], ["source_record.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_record_key_key", "record_key", ["key", "film"], unique=False)
    op.create_index(
        "ix_record_key_source_record_id", "record_key", ["source_record_id"], unique=False
    )
    op.create_table(
        "work_alias",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_work_alias_work_id", "work_alias", ["work_id"], unique=False)
    with op.batch_alter_table("crawl_run") as batch:
        batch.add_column(sa.Column("finish_reason", sa.String(), nullable=True))
        batch.add_column(sa.Column("host", sa.String(), nullable=True))
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_crawl_run_status", ["status"], unique=False)
    op.drop_index("ix_source_record_ref_key", table_name="source_record")
    # Plain ALTER TABLE: a batch "move and copy" of source_record would have SQLite drop a
    # table that nine others reference (SQLite >= 3.35 drops a column in place).
    op.execute("ALTER TABLE source_record DROP COLUMN ref_key")
    op.execute("UPDATE source_record SET resolved = false")


def downgrade() -> None:
    op.add_column("source_record", sa.Column("ref_key", sa.String(), nullable=True))
    op.create_index("ix_source_record_ref_key", "source_record", ["ref_key"], unique=False)
    with op.batch_alter_table("crawl_run") as batch:
        batch.drop_index("ix_crawl_run_status")
        batch.drop_column("heartbeat_at")
        batch.drop_column("pid")
        batch.drop_column("host")
        batch.drop_column("finish_reason")
    op.drop_index("ix_work_alias_work_id", table_name="work_alias")
    op.drop_table("work_alias")
    op.drop_index("ix_record_key_source_record_id", table_name="record_key")
    op.drop_index("ix_record_key_key", table_name="record_key")
    op.drop_table("record_key")
