"""Canonical URLs and one copy of each review, offer and quote: ``match_decision.identity``
and ``match_decision.duplicate_of``; stored URLs canonicalized; references reopened.

Records and pages are now keyed by canonical URL (``pipelines.urls``, without aliases: a
migration reads no crawl settings). A catalog written before keyed them by the URL as fetched,
so a re-crawl would find none of its records whose URL was not canonical and store them all
again. This revision rewrites the stored keys instead:

* ``source_record.url`` and the URLs inside its ``data`` (its own, its film reference's)
  become canonical, and its ``content_hash`` is computed again over the new ``data``, so the
  next crawl of an unchanged page finds it unchanged. A record whose canonical key another
  record already holds (the old catalog had one page under two spellings) is left under its
  old URL: both are kept (nothing is dropped) and resolution counts them as one item (its
  offers are marked gone, as the old spelling will not be fetched again);
* ``page.url`` becomes canonical; of two page rows for one canonical URL the one fetched
  last is kept (page rows are crawl state: validators and fetch times, no data);
* ``quarantine.url`` becomes canonical where that collides with no other entry;
* every review, offer and quote record is marked pending, so the next resolution gives each
  its identity and stores each item once (``filmagg resolve``, or any crawl).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from pipelines.urls import UrlCanon, canonical_url

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

logger = logging.getLogger(__name__)
BATCH = 2000
REFERENCES = ("review", "offer", "quote")
record_url = UrlCanon().record  # a record's URL keeps its fragment (several films on one page)


def upgrade() -> None:
    with op.batch_alter_table("match_decision") as batch:
        batch.add_column(sa.Column("identity", sa.String(), nullable=True))
        batch.add_column(sa.Column("duplicate_of", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_match_decision_duplicate_of", "source_record", ["duplicate_of"], ["id"]
        )
    op.create_index("ix_match_decision_identity", "match_decision", ["identity"], unique=False)
    op.create_index(
        "ix_match_decision_duplicate_of", "match_decision", ["duplicate_of"], unique=False
    )
    conn = op.get_bind()
    _records(conn)
    _pages(conn)
    _quarantine(conn)
    records = sa.table("source_record", sa.column("type"), sa.column("resolved"))
    conn.execute(sa.update(records).where(records.c.type.in_(REFERENCES)).values(resolved=False))


def downgrade() -> None:
    op.drop_index("ix_match_decision_duplicate_of", table_name="match_decision")
    op.drop_index("ix_match_decision_identity", table_name="match_decision")
    with op.batch_alter_table("match_decision") as batch:
        batch.drop_constraint("fk_match_decision_duplicate_of", type_="foreignkey")
        batch.drop_column("duplicate_of")
        batch.drop_column("identity")


def _content_hash(data: dict[str, Any]) -> str:
    """``pipelines.catalog.stage.content_hash`` as of this revision."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _canonical_data(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    if isinstance(out.get("url"), str):
        out["url"] = record_url(out["url"])
    film = out.get("film")
    if isinstance(film, dict) and isinstance(film.get("url"), str):
        out["film"] = {**film, "url": record_url(film["url"])}
    return out


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _records(conn: sa.Connection) -> None:
    """Canonical keys and data for source records, a batch of ids at a time."""
    t = sa.table("source_record", sa.column("id"), sa.column("site"), sa.column("url"),
                 sa.column("type"), sa.column("item_key"), sa.column("data", sa.JSON()),
                 sa.column("content_hash"), sa.column("gone_at"))  # fmt: skip
    taken: set[tuple[str, str, str, str]] = set()  # keys this revision gave
    moved = kept = 0
    last = 0
    now = datetime.now(UTC)
    while True:
        rows = conn.execute(sa.select(t.c.id, t.c.site, t.c.url, t.c.type, t.c.item_key, t.c.data,
                                      t.c.gone_at).where(t.c.id > last).order_by(t.c.id)
                            .limit(BATCH)).all()  # fmt: skip
        if not rows:
            break
        last = rows[-1].id
        canon = {r.url: record_url(r.url) for r in rows}
        wanted = sorted({c for u, c in canon.items() if c != u})
        stored = {tuple(k) for k in conn.execute(sa.select(t.c.site, t.c.url, t.c.type, t.c.item_key)
                                                 .where(t.c.url.in_(wanted)))} if wanted else set()  # fmt: skip
        for rid, site, url, type_, ikey, data, gone_at in rows:
            data = _json(data) or {}
            key = (site, canon[url], type_, ikey)
            values: dict[str, Any] = {}
            if canon[url] != url and (key in stored or key in taken):  # the key is held
                kept += 1
                if type_ == "offer" and gone_at is None:
                    values["gone_at"] = now
            else:
                if canon[url] != url:
                    taken.add(key)
                    values["url"] = canon[url]
                    moved += 1
                new_data = _canonical_data(data)
                if new_data != data:
                    values["data"] = new_data
                    values["content_hash"] = _content_hash(new_data)
            if values:
                conn.execute(sa.update(t).where(t.c.id == rid).values(**values))
    if moved or kept:
        logger.info("canonical URLs: %d records re-keyed, %d kept under their old URL "
                    "(their canonical key was taken)", moved, kept)  # fmt: skip


def _pages(conn: sa.Connection) -> None:
    t = sa.table("page", sa.column("id"), sa.column("url"), sa.column("fetched_at"))
    rows = conn.execute(sa.select(t.c.id, t.c.url, t.c.fetched_at).order_by(t.c.id)).all()
    by_canon: dict[str, list[Any]] = {}
    for row in rows:
        by_canon.setdefault(canonical_url(row.url), []).append(row)
    for canon, group in by_canon.items():
        if len(group) == 1 and group[0].url == canon:
            continue
        newest = max(group, key=lambda r: (r.fetched_at is not None, str(r.fetched_at), r.id))
        stale = [r.id for r in group if r.id != newest.id]
        if stale:
            conn.execute(sa.delete(t).where(t.c.id.in_(stale)))
        if newest.url != canon:
            conn.execute(sa.update(t).where(t.c.id == newest.id).values(url=canon))


def _quarantine(conn: sa.Connection) -> None:
    cols = ("id", "site", "url", "record_type", "reason")
    t = sa.table("quarantine", *(sa.column(c) for c in cols))
    rows = conn.execute(sa.select(*(t.c[c] for c in cols)).order_by(t.c.id)).all()
    keys = {(r.site, r.url, r.record_type, r.reason) for r in rows}
    for r in rows:
        canon = canonical_url(r.url)
        if canon != r.url and (r.site, canon, r.record_type, r.reason) not in keys:
            keys.add((r.site, canon, r.record_type, r.reason))
            conn.execute(sa.update(t).where(t.c.id == r.id).values(url=canon))
