"""Migrations (issue 7): an old catalog is upgraded with every row kept, schema creation is
race-free, and the Alembic revisions build exactly the schema the models describe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlmodel import Session, SQLModel, select

from pipelines.catalog import migrate
from pipelines.catalog.db import get_engine
from pipelines.catalog.models import SourceRecord, Work
from pipelines.catalog.queries import search_works
from pipelines.catalog.store import Catalog
from tests.conftest import ROOT
from tests.legacy import legacy_row_counts, load_legacy_postgres, load_legacy_sqlite, table_rows

DROPPED = {"source_record": {"ref_key"}}  # columns revision 0003 removes
REOPENED = {"source_record": {"resolved"}}  # marked pending, to be resolved under the new rules


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def legacy_catalog(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "sqlite":
        load_legacy_sqlite(tmp_path / "old.db")
        return "sqlite", f"sqlite:///{tmp_path / 'old.db'}"
    url = request.getfixturevalue("postgres_url")
    load_legacy_postgres(url)
    return "postgres", url


def _without(rows: list[dict[str, Any]], columns: set[str]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in columns} for r in rows]


def test_a_catalog_from_before_weak_is_upgraded_with_every_row_kept(
    legacy_catalog: tuple[str, str],
) -> None:
    kind, url = legacy_catalog
    counts = legacy_row_counts(kind)
    before = {table: table_rows(url, table) for table in counts}
    with create_engine(url.replace("postgresql://", "postgresql+psycopg://")).connect() as conn:
        assert migrate.current(conn) == "0001"  # recognised by its tables: no version table

    get_engine(url)  # what every crawl does: upgrade under the schema lock

    for table, n in counts.items():
        after = table_rows(url, table)
        assert len(after) == n, table
        skip = DROPPED.get(table, set()) | REOPENED.get(table, set())
        new_columns = set(after[0]) - set(before[table][0]) if after else set()
        assert _without(after, skip | new_columns) == _without(before[table], skip), table
    decisions = table_rows(url, "match_decision")
    assert {d["weak"] for d in decisions} == {False}
    with Session(get_engine(url)) as s:
        assert migrate.current(s.connection()) == migrate.head()
        old_ids = {w.title + str(w.year): w.id for w in s.exec(select(Work)).all()}

    # the upgrade reopened every record: resolving keeps the old work ids
    Catalog(get_engine(url)).resolve()
    with Session(get_engine(url)) as s:
        assert s.exec(select(SourceRecord).where(SourceRecord.resolved.is_(False))).all() == []
        (drama,) = search_works(s, "Leaving Las Vegas", year=1995)
        assert drama["id"] == old_ids["Leaving Las Vegas1995"]
        kept = {w.title + str(w.year): w.id for w in s.exec(select(Work)).all()}
    assert kept == old_ids


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_catalog(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """A database with no schema yet, SQLite or PostgreSQL."""
    return sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def test_revisions_build_the_schema_the_models_describe(empty_catalog: str) -> None:
    engine = get_engine(empty_catalog)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, SQLModel.metadata) == []


def _filmagg(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "crawler.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_four_processes_creating_one_catalog_at_once(empty_catalog: str) -> None:
    url = empty_catalog
    procs = [_filmagg("db", "upgrade", "--db", url) for _ in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    engine = get_engine(url)
    with engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
        assert "record_key" in inspect(conn).get_table_names()


def test_readers_refuse_an_old_catalog_and_say_how_to_upgrade(tmp_path: Path) -> None:
    load_legacy_sqlite(tmp_path / "old.db")
    url = f"sqlite:///{tmp_path / 'old.db'}"
    done = _filmagg("works", "search", "vegas", "--db", url)
    out, err = done.communicate(timeout=60)
    assert done.returncode == 2
    assert "filmagg db upgrade" in err and len(err.strip().splitlines()) == 1
    status = _filmagg("db", "status", "--db", url)
    out, _ = status.communicate(timeout=60)
    assert "0001" in out and "needs upgrade" in out


def _spell_urls_as_before(url: str) -> int:
    """Make the catalog look written before canonical URLs (revision 0006): every record,
    page and quarantine URL spelled with a tracking parameter, as a crawl following such links
    stored them; one review stored a second time under yet another spelling (the old catalog
    had doubled it). Returns that copy's id."""
    from alembic import command
    from sqlalchemy import text

    from pipelines.catalog.stage import content_hash

    def old(u: str) -> str:
        page, sep, frag = u.partition("#")
        return page + "?utm_source=feed" + sep + frag

    engine = get_engine(url)
    with engine.begin() as conn:
        command.downgrade(migrate._config(conn), "0006")
    with Session(engine) as s:
        for sr in s.exec(select(SourceRecord)).all():
            data = dict(sr.data or {})
            data["url"] = sr.url = old(sr.url)
            if isinstance(data.get("film"), dict) and data["film"].get("url"):
                data["film"] = {**data["film"], "url": old(data["film"]["url"])}
            sr.data, sr.content_hash = data, content_hash(data)
            s.add(sr)
        s.flush()
        review = s.exec(select(SourceRecord).where(SourceRecord.type == "review")).first()
        assert review is not None
        copy = SourceRecord(**{k: v for k, v in review.model_dump().items() if k != "id"})
        copy.url = review.url.replace("utm_source=feed", "utm_source=mail")
        copy.data = {**(review.data or {}), "url": copy.url}
        s.add(copy)
        for table in ("page", "quarantine"):
            s.exec(text(f"UPDATE {table} SET url = url || '?utm_source=feed'"))  # type: ignore[call-overload]
        s.commit()
        return copy.id  # type: ignore[return-value]


def test_revision_0007_rekeys_stored_urls_so_a_recrawl_duplicates_nothing(
    empty_catalog: str, scraped_demo: list[Any]
) -> None:
    from pipelines.catalog.models import Page, Review
    from pipelines.catalog.queries import summary
    from pipelines.urls import UrlCanon
    from tests.conftest import run_pipeline

    url = empty_catalog
    run_pipeline(scraped_demo, url)
    with Session(get_engine(url)) as s:
        before = summary(s)
    copy_id = _spell_urls_as_before(url)

    assert migrate.upgrade(get_engine(url)) == ["0007"]
    canon = UrlCanon()
    with Session(get_engine(url)) as s:
        records = s.exec(select(SourceRecord)).all()
        kept = next(r for r in records if r.id == copy_id)
        assert "utm_source=mail" in kept.url  # its canonical key was taken: kept, not dropped
        assert all(r.url == canon.record(r.url) for r in records if r.id != copy_id)
        assert all(not r.resolved for r in records if r.type in ("review", "offer", "quote"))
        assert all(p.url == canon(p.url) for p in s.exec(select(Page)).all())
    stats = run_pipeline(scraped_demo, url)  # the next crawl of the same pages
    assert "filmagg/stored/new" not in stats and "filmagg/stored/updated" not in stats
    with Session(get_engine(url)) as s:
        after = summary(s)
        assert after["records"] == before["records"] + 1  # the old catalog's extra copy
        assert {k: after[k] for k in ("works", "reviews", "offers", "quotes")} == {
            k: before[k] for k in ("works", "reviews", "offers", "quotes")
        }
        assert len(s.exec(select(Review)).all()) == before["reviews"]
