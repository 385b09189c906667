"""Catalogs with the schema of an old commit, for migration tests.

``fixtures/legacy/`` holds SQL dumps of the demo catalog as written by the code at
``LEGACY_COMMIT`` (before ``match_decision.weak`` existed): one for SQLite (``iterdump``) and one
for PostgreSQL (``pg_dump --column-inserts``). ``MANIFEST.json`` says how each was produced and
how many rows every table holds. A migration test loads a dump into a fresh database, upgrades it,
and compares ``table_rows`` before and after, and the counts against ``legacy_row_counts``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, create_engine, select
from sqlalchemy.engine import URL, make_url

LEGACY_DIR: Path = Path(__file__).resolve().parent.parent / "fixtures" / "legacy"
LEGACY_COMMIT = "c6a8359"
KINDS = ("sqlite", "postgres")


def legacy_dump(kind: str) -> Path:
    """The dump file of ``kind`` (``"sqlite"`` or ``"postgres"``) for ``LEGACY_COMMIT``."""
    if kind not in KINDS:
        raise ValueError(f"unknown legacy dump kind {kind!r}; expected one of {KINDS}")
    return LEGACY_DIR / f"{LEGACY_COMMIT}.{kind}.sql"


def load_legacy_sqlite(path: Path) -> None:
    """Create the SQLite catalog file ``path`` from the legacy SQLite dump.

    ``path`` must not exist yet (or be an empty file). Foreign keys stay unenforced while loading,
    as ``iterdump`` writes tables in name order, not in dependency order.
    """
    path = Path(path)
    if path.exists() and path.stat().st_size > 0:
        raise FileExistsError(f"{path} already holds a database")
    script = legacy_dump("sqlite").read_text(encoding="utf-8")
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.executescript(script)
        conn.commit()
    finally:
        conn.close()


def _pg_connect_args(url: str | URL) -> dict[str, Any]:
    """psycopg keyword arguments for an SQLAlchemy PostgreSQL URL (any driver suffix)."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in {"postgresql", "postgres"}:
        raise ValueError(f"not a PostgreSQL URL: {parsed.render_as_string()}")
    args: dict[str, Any] = parsed.translate_connect_args(username="user", database="dbname")
    args.update(parsed.query)
    return args


def load_legacy_postgres(url: str) -> None:
    """Execute the legacy PostgreSQL dump into the empty, existing database at ``url``.

    ``url`` is an SQLAlchemy URL (``postgresql://`` or ``postgresql+psycopg://``). The dump runs
    in one transaction on a connection of its own, closed afterwards, so the session settings at
    the top of the dump never reach another connection.
    """
    import psycopg

    script = legacy_dump("postgres").read_text(encoding="utf-8")
    with psycopg.connect(**_pg_connect_args(url)) as conn:
        conn.execute(script)  # no parameters: sent as one multi-statement simple query


def legacy_row_counts(kind: str) -> dict[str, int]:
    """Rows per table in the legacy dump of ``kind`` (``"sqlite"`` or ``"postgres"``)."""
    legacy_dump(kind)  # validates kind
    manifest = json.loads((LEGACY_DIR / "MANIFEST.json").read_text(encoding="utf-8"))
    return {table: int(n) for table, n in manifest["dumps"][kind]["row_counts"].items()}


def _engine_url(url: str | URL) -> URL:
    """``url`` with PostgreSQL's driver pinned to psycopg 3, the one filmagg installs."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def table_rows(url: str, table: str) -> list[dict[str, Any]]:
    """Every row of ``table`` at SQLAlchemy ``url`` as a dict, ordered by primary key.

    The table is reflected, so this reads whatever schema the database has (old or upgraded).
    A table without a primary key is ordered by all of its columns.
    """
    engine = create_engine(_engine_url(url))
    try:
        reflected = Table(table, MetaData(), autoload_with=engine)
        order = list(reflected.primary_key.columns) or list(reflected.columns)
        with engine.connect() as conn:
            result = conn.execute(select(reflected).order_by(*order))
            return [dict(row) for row in result.mappings()]
    finally:
        engine.dispose()
