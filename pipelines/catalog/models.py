"""Catalog tables (DESIGN.md §3). SQLModel ``table=True`` classes do not validate: rows are
built only from records that ``pipelines.validate`` accepted.

Derived rows (titles, credits, external ids, ratings, reviews, offers, quotes) carry the
``source_record_id`` they came from, so re-resolving a record replaces exactly its rows.
The schema is owned by the Alembic revisions in ``pipelines/catalog/migrations``: a change
here needs a revision there (``tests/test_migrations.py`` compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _json(**kw: Any) -> Any:
    return Field(default=None, sa_column=Column(JSON, **kw))


class Work(SQLModel, table=True):
    # Ids are handed out by the resolver (max of work and work_alias ids + 1), never reused.
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(index=True)
    original_title: str | None = None
    year: int | None = Field(default=None, index=True)
    kind: str = "unknown"
    runtime_minutes: int | None = None
    genres: list[str] | None = _json()
    synopsis: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class WorkTitle(SQLModel, table=True):
    __tablename__ = "work_title"
    __table_args__ = (Index("ix_work_title_key", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    work_id: int = Field(foreign_key="work.id", index=True)
    source_record_id: int | None = Field(default=None, foreign_key="source_record.id", index=True)
    title: str
    key: str
    language: str | None = None
    region: str | None = None
    type: str = "display"


class ExternalId(SQLModel, table=True):
    __tablename__ = "external_id"
    __table_args__ = (UniqueConstraint("namespace", "value", "work_id"),)
    id: int | None = Field(default=None, primary_key=True)
    namespace: str = Field(index=True)
    value: str = Field(index=True)
    work_id: int = Field(foreign_key="work.id", index=True)
    source_record_id: int | None = Field(default=None, foreign_key="source_record.id", index=True)


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    key: str = Field(index=True, unique=True)


class Credit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    work_id: int = Field(foreign_key="work.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    source_record_id: int | None = Field(default=None, foreign_key="source_record.id", index=True)
    role: str
    character: str | None = None
    character_key: str | None = Field(default=None, index=True)
    order: int = 0


class WorkAlias(SQLModel, table=True):
    """A work id that no longer names a work of its own: merged into ``work_id``, or dissolved
    (``work_id`` None) when its records stopped forming a work. Ids are never reused."""

    __tablename__ = "work_alias"
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    work_id: int | None = Field(default=None, index=True)
    reason: str  # merged | dissolved
    at: datetime = Field(default_factory=utcnow)


class CrawlRun(SQLModel, table=True):
    __tablename__ = "crawl_run"
    id: int | None = Field(default=None, primary_key=True)
    spider: str
    plan_entry: str | None = Field(default=None, index=True)  # crawls.toml entry that started it
    args: dict | None = _json()
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    # running | finished | failed | interrupted | degraded | abandoned (see pipelines.catalog.runs)
    status: str = Field(default="running", index=True)
    finish_reason: str | None = None  # Scrapy's own finish reason ("finished", "shutdown", ...)
    host: str | None = None
    pid: int | None = None
    heartbeat_at: datetime | None = None
    stats: dict | None = _json()
    health: dict | None = _json()  # pipelines.catalog.health.health_report


class SourceRecord(SQLModel, table=True):
    __tablename__ = "source_record"
    __table_args__ = (UniqueConstraint("site", "url", "type", "item_key"),)
    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(index=True)
    url: str = Field(index=True)
    type: str
    item_key: str = ""  # tells apart several records of one type on one page (offers, quotes)
    raw: dict | None = _json()
    data: dict | None = _json()
    content_hash: str
    first_seen: datetime = Field(default_factory=utcnow)
    gone_at: datetime | None = None  # its page no longer lists it (offers); cleared if it returns
    last_seen: datetime = Field(default_factory=utcnow)
    crawl_run_id: int | None = Field(default=None, foreign_key="crawl_run.id")
    work_id: int | None = Field(default=None, foreign_key="work.id", index=True)
    resolved: bool = Field(default=False, index=True)  # False: staged, waiting for the resolver
    changes: list | None = _json()  # [{at, fields}] of earlier versions


class RecordKey(SQLModel, table=True):
    """The keys a record was last resolved under (``pipelines.catalog.keys``). Film records'
    keys link them into components, the units the resolver recomputes; a reference's keys say
    which works it looks up, so it is decided again when those change."""

    __tablename__ = "record_key"
    __table_args__ = (Index("ix_record_key_key", "key", "film"),)
    id: int | None = Field(default=None, primary_key=True)
    source_record_id: int = Field(foreign_key="source_record.id", index=True)
    key: str
    film: bool  # True for a film record's blocking key, False for a reference's lookup key


class MatchDecision(SQLModel, table=True):
    __tablename__ = "match_decision"
    id: int | None = Field(default=None, primary_key=True)
    source_record_id: int = Field(foreign_key="source_record.id", index=True, unique=True)
    work_id: int | None = Field(default=None, foreign_key="work.id", index=True)
    score: float = 0.0
    outcome: str  # matched | new | ambiguous | unresolved
    weak: bool = Field(default=False, index=True)  # matched only for want of a rival
    reasons: list | None = _json()
    candidates: list | None = _json()
    decided_at: datetime = Field(default_factory=utcnow)
    # a review, offer or quote: the real-world item it is (pipelines.catalog.duplicates), and
    # the record holding that item's row when this one is another copy of it
    identity: str | None = Field(default=None, index=True)
    duplicate_of: int | None = Field(default=None, foreign_key="source_record.id", index=True)


class Rating(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    work_id: int = Field(foreign_key="work.id", index=True)
    source_record_id: int = Field(foreign_key="source_record.id", index=True)
    source: str
    raw: str
    scale_max: float
    value_100: float
    count: int | None = None
    kind: str
    seen_at: datetime = Field(default_factory=utcnow)


class Review(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    work_id: int | None = Field(default=None, foreign_key="work.id", index=True)
    source_record_id: int = Field(foreign_key="source_record.id", index=True, unique=True)
    site: str
    url: str = Field(index=True)  # not unique: a critic list holds many reviews at one URL
    author: str | None = None
    published_at: str | None = None
    title: str | None = None
    body: str | None = Field(
        default=None, sa_column=Column(Text, nullable=True)
    )  # a rating-only review
    rating_value_100: float | None = None
    rating_raw: str | None = None
    critic: bool = False


class Offer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    work_id: int | None = Field(default=None, foreign_key="work.id", index=True)
    source_record_id: int = Field(foreign_key="source_record.id", index=True, unique=True)
    site: str
    provider: str
    country: str | None = None
    monetization: str | None = None
    quality: str | None = None
    price: float | None = None
    currency: str | None = None
    url: str | None = None
    first_seen: datetime = Field(default_factory=utcnow)
    last_seen: datetime = Field(default_factory=utcnow)
    gone_at: datetime | None = None


class Quote(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    work_id: int | None = Field(default=None, foreign_key="work.id", index=True)
    source_record_id: int = Field(foreign_key="source_record.id", index=True, unique=True)
    site: str
    url: str
    lines: list | None = _json()


class Flag(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    source_record_id: int | None = Field(default=None, foreign_key="source_record.id", index=True)
    work_id: int | None = Field(default=None, foreign_key="work.id", index=True)
    kind: str = Field(index=True)
    detail: str
    evidence: dict | None = _json()
    created_at: datetime = Field(default_factory=utcnow)


class Mention(SQLModel, table=True):
    """A name a film record's synopsis mentions ("p:<person key>", "c:<character key>"): the
    index that finds, for a work whose credits changed, the synopses that may describe it."""

    id: int | None = Field(default=None, primary_key=True)
    source_record_id: int = Field(foreign_key="source_record.id", index=True)
    key: str = Field(index=True)


class Quarantine(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("site", "url", "record_type", "reason"),)
    id: int | None = Field(default=None, primary_key=True)
    site: str
    url: str
    record_type: str
    reason: str = Field(index=True)
    raw: dict | None = _json()
    errors: list | None = _json()
    crawl_run_id: int | None = Field(default=None, foreign_key="crawl_run.id")
    at: datetime = Field(default_factory=utcnow)
    last_seen: datetime = Field(default_factory=utcnow)
    times_seen: int = 1
    retry: bool = False  # `filmagg retry` asked for the page to be fetched again
    resolved_at: datetime | None = None  # a later fetch of the page no longer failed this way


class Page(SQLModel, table=True):
    """What the crawler knows of a URL between runs: validators for conditional requests,
    when it was last fetched and last found changed, and its kind (its refresh policy)."""

    __table_args__ = (UniqueConstraint("url"),)
    id: int | None = Field(default=None, primary_key=True)
    site: str = Field(index=True)
    url: str
    kind: str | None = None  # film | review | listing | other
    status: int | None = None  # of the last fetch: 200, 304, ...
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: datetime | None = None  # the last fetch that answered (2xx or 304)
    changed_at: datetime | None = None  # the last fetch whose records differed
    links: list | None = _json()  # [callback, url] it led to: followed again when it answers 304
    crawl_run_id: int | None = Field(default=None, foreign_key="crawl_run.id")


class Change(SQLModel, table=True):
    """What a re-crawl changed: a field of a record (old and new value), an offer that
    appeared or vanished. Read by ``works show --history`` and ``export changes``."""

    id: int | None = Field(default=None, primary_key=True)
    source_record_id: int = Field(foreign_key="source_record.id", index=True)
    field: str  # a record field, or "offer" for an offer appearing / vanishing
    old: Any = _json()
    new: Any = _json()
    at: datetime = Field(default_factory=utcnow, index=True)
    crawl_run_id: int | None = Field(default=None, foreign_key="crawl_run.id")
