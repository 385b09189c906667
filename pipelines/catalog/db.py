"""Engine and sessions: one engine per database URL, WAL for SQLite, clear errors.

The URL comes from ``--db`` or ``FILMAGG_DB`` (an SQLAlchemy URL); the default is the embedded
SQLite file ``./filmagg.db``. PostgreSQL URLs (``postgresql://…``) use psycopg 3.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlmodel import Session, SQLModel, create_engine

from pipelines.catalog import models  # noqa: F401  (registers the tables)

DEFAULT_DB = "sqlite:///filmagg.db"


class CatalogError(Exception):
    """A database problem explained in one line (bad URL, unreachable server, ...)."""


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("FILMAGG_DB") or DEFAULT_DB


def _normalize_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise CatalogError(f"malformed database URL {url!r}: expected e.g. sqlite:///filmagg.db "
                           "or postgresql://user@host/dbname") from exc  # fmt: skip
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@cache
def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` with the schema created; raises ``CatalogError``."""
    url = _normalize_url(database_url(url))
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        SQLModel.metadata.create_all(engine)
    except (OperationalError, SQLAlchemyError, ModuleNotFoundError) as exc:
        msg = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CatalogError(
            f"cannot open database {make_url(url).render_as_string()}: {msg}"
        ) from exc
    return engine


def open_readonly_engine(url: str | None = None) -> Engine:
    """An engine for queries only: it does not create the schema, so a wrong path or an empty
    database is reported, not silently created."""
    url = _normalize_url(database_url(url))
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        path = parsed.database or ""
        if path not in {"", ":memory:"} and not os.path.exists(path):
            raise CatalogError(f"no database at {path} (run `filmagg demo` or a crawl first)")
    try:
        engine = create_engine(url)
        with engine.connect() as conn:
            if "work" not in inspect(conn).get_table_names():
                raise CatalogError(f"{parsed.render_as_string()} holds no filmagg catalog")
    except SQLAlchemyError as exc:
        msg = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CatalogError(f"cannot open database {parsed.render_as_string()}: {msg}") from exc
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: committed on success, rolled back on any error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
