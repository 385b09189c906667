"""Baseline: the catalog schema as of commit c6a8359 (before match_decision.weak).

Catalogs made before migrations existed are stamped with this revision or 0002 (see
``pipelines.catalog.migrate``) and upgraded from there.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crawl_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spider", sa.String(), nullable=False),
        sa.Column("args", sa.JSON(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_person_key"), "person", ["key"], unique=True)
    op.create_table(
        "work",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("original_title", sa.String(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("runtime_minutes", sa.Integer(), nullable=True),
        sa.Column("genres", sa.JSON(), nullable=True),
        sa.Column("synopsis", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_work_title"), "work", ["title"], unique=False)
    op.create_index(op.f("ix_work_year"), "work", ["year"], unique=False)
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("record_type", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=True),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.Column("crawl_run_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("times_seen", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["crawl_run_id"],
            ["crawl_run.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site", "url", "record_type", "reason"),
    )
    op.create_index(op.f("ix_quarantine_reason"), "quarantine", ["reason"], unique=False)
    op.create_table(
        "source_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("item_key", sa.String(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("ref_key", sa.String(), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("crawl_run_id", sa.Integer(), nullable=True),
        sa.Column("work_id", sa.Integer(), nullable=True),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["crawl_run_id"],
            ["crawl_run.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_id"],
            ["work.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site", "url", "type", "item_key"),
    )
    op.create_index(op.f("ix_source_record_ref_key"), "source_record", ["ref_key"], unique=False)
    op.create_index(op.f("ix_source_record_resolved"), "source_record", ["resolved"], unique=False)
    op.create_index(op.f("ix_source_record_site"), "source_record", ["site"], unique=False)
    op.create_index(op.f("ix_source_record_url"), "source_record", ["url"], unique=False)
    op.create_index(op.f("ix_source_record_work_id"), "source_record", ["work_id"], unique=False)
    op.create_table(
        "credit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("character", sa.String(), nullable=True),
        sa.Column("character_key", sa.String(), nullable=True),
        sa.Column("order", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_record.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_id"],
            ["work.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_credit_character_key"), "credit", ["character_key"], unique=False)
    op.create_index(op.f("ix_credit_person_id"), "credit", ["person_id"], unique=False)
    op.create_index(
        op.f("ix_credit_source_record_id"), "credit", ["source_record_id"], unique=False
    )
    op.create_index(op.f("ix_credit_work_id"), "credit", ["work_id"], unique=False)
    op.create_table(
        "external_id",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_record.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_id"],
            ["work.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("namespace", "value", "work_id"),
    )
    op.create_index(op.f("ix_external_id_namespace"), "external_id", ["namespace"], unique=False)
    op.create_index(
        op.f("ix_external_id_source_record_id"), "external_id", ["source_record_id"], unique=False
    )
    op.create_index(op.f("ix_external_id_value"), "external_id", ["value"], unique=False)
    op.create_index(op.f("ix_external_id_work_id"), "external_id", ["work_id"], unique=False)
    op.create_table(
        "flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.Integer(), nullable=True),
        sa.Column("work_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_record.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_id"],
            ["work.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_flag_kind"), "flag", ["kind"], unique=False)
    op.create_index(op.f("ix_flag_source_record_id"), "flag", ["source_record_id"], unique=False)
    op.create_index(op.f("ix_flag_work_id"), "flag", ["work_id"], unique=False)
    op.create_table(
        "match_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.Integer(), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=True),
        sa.Column("candidates", sa.JSON(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_record.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_id"],
            ["work.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_match_decision_source_record_id"),
        "match_decision",
        ["source_record_id"],
        unique=True,
    )
    op.create_index(op.f("ix_match_decision_work_id"), "match_decision", ["work_id"], unique=False)
    op.create_table(
        "mention",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_record.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_mention_key"), "mention", ["key"], unique=False)
    op.create_index(
        op.f("ix_mention_source_record_id"), "mention", ["source_record_id"], unique=False
    )
    op.create_table(
        "offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=True),
        sa.Column("source_record_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("country", sa.String(), nullable=True),
        sa.Column("monetization", sa.String(), nullable=True),
        sa.Column("quality", sa.String(), nullable=True),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(), nullable=True),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_record.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_id"],
            ["work.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_offer_source_record_id"), "offer", ["source_record_id"], unique=True)
    op.create_index(op.f("ix_offer_work_id"), "offer", ["work_id"], unique=False)
    op.create_table(
        "quote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=True),
        sa.Column("source_record_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_record.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_id"],
            ["work.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_quote_source_record_id"), "quote", ["source_record_id"], unique=True)
    op.create_index(op.f("ix_quote_work_id"), "quote", ["work_id"], unique=False)
    op.create_table(
        "rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("raw", sa.String(), nullable=False),
        sa.Column("scale_max", sa.Float(), nullable=False),
        sa.Column("value_100", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_record.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_id"],
            ["work.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_rating_source_record_id"), "rating", ["source_record_id"], unique=False
    )
    op.create_index(op.f("ix_rating_work_id"), "rating", ["work_id"], unique=False)
    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=True),
        sa.Column("source_record_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("author", sa.String(), nullable=True),
        sa.Column("published_at", sa.String(), nullable=True),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("rating_value_100", sa.Float(), nullable=True),
        sa.Column("rating_raw", sa.String(), nullable=True),
        sa.Column("critic", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_record.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_id"],
            ["work.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_review_source_record_id"), "review", ["source_record_id"], unique=True)
    op.create_index(op.f("ix_review_url"), "review", ["url"], unique=False)
    op.create_index(op.f("ix_review_work_id"), "review", ["work_id"], unique=False)
    op.create_table(
        "work_title",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=True),
        sa.Column("region", sa.String(), nullable=True),
        sa.Column("type", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_record.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_id"],
            ["work.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_work_title_key", "work_title", ["key"], unique=False)
    op.create_index(
        op.f("ix_work_title_source_record_id"), "work_title", ["source_record_id"], unique=False
    )
    op.create_index(op.f("ix_work_title_work_id"), "work_title", ["work_id"], unique=False)


def downgrade() -> None:
    op.drop_table("work_title")
    op.drop_table("review")
    op.drop_table("rating")
    op.drop_table("quote")
    op.drop_table("offer")
    op.drop_table("mention")
    op.drop_table("match_decision")
    op.drop_table("flag")
    op.drop_table("external_id")
    op.drop_table("credit")
    op.drop_table("source_record")
    op.drop_table("quarantine")
    op.drop_table("work")
    op.drop_table("person")
    op.drop_table("crawl_run")
