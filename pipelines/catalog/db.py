"""Engine and sessions: one engine per database URL, WAL for SQLite, clear errors.

The URL comes from ``--db`` or ``FILMAGG_DB`` (an SQLAlchemy URL); the default is the embedded
SQLite file ``./filmagg.db``. PostgreSQL URLs (``postgresql://…``) use psycopg 3.

On SQLite every transaction of the writing engine begins ``IMMEDIATE``: it takes the single
writer's lock up front (waiting up to ``busy_timeout``) instead of failing when a read
transaction later tries to write, so concurrent writers take turns and never deadlock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlmodel import Session, create_engine

from pipelines.catalog import models  # noqa: F401  (registers the tables)

DEFAULT_DB = "sqlite:///filmagg.db"


class CatalogError(Exception):
    """A database problem explained in one line (bad URL, unreachable server, ...)."""


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("FILMAGG_DB") or DEFAULT_DB


def normalize_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise CatalogError(f"malformed database URL {url!r}: expected e.g. sqlite:///filmagg.db "
                           "or postgresql://user@host/dbname") from exc  # fmt: skip
    if parsed.get_backend_name() not in {"sqlite", "postgresql", "postgres"}:
        raise CatalogError(f"unsupported database {parsed.get_backend_name()!r} in {url!r}: "
                           "filmagg keeps its catalog in SQLite (sqlite:///FILE) or PostgreSQL "
                           "(postgresql://user@host/dbname)")  # fmt: skip
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


SQLITE_BUSY_TIMEOUT = 30  # seconds a writer waits for SQLite's lock before giving up


def _create(url: str, writer: bool) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT},
        )
        event.listen(engine, "connect", _sqlite_connect)
        begin = "BEGIN IMMEDIATE" if writer else "BEGIN"
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
        return engine
    return create_engine(url, pool_pre_ping=True)


def _error(url: str, exc: BaseException) -> CatalogError:
    msg = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return CatalogError(f"cannot open database {make_url(url).render_as_string()}: {msg}")


@cache
def get_engine(url: str | None = None) -> Engine:
    """The writing engine for ``url``, its schema created or upgraded to this filmagg's
    (``pipelines.catalog.migrate``); raises ``CatalogError``."""
    from pipelines.catalog.migrate import SchemaError, upgrade

    url = normalize_url(database_url(url))
    try:
        engine = _create(url, writer=True)
        upgrade(engine)
    except SchemaError as exc:
        raise CatalogError(str(exc)) from exc
    except (OperationalError, SQLAlchemyError, ModuleNotFoundError) as exc:
        raise _error(url, exc) from exc
    return engine


@cache
@cache
def get_reader(url: str | None = None) -> Engine:
    """An engine for reads beside a writing process (a crawl's page states and retries): on
    SQLite its transactions begin deferred, so a read never queues for the single write lock
    that staging holds (WAL readers do not block). The schema is ``get_engine``'s business.
    One engine (one pool) per URL: a crawl reads the links of every unchanged page."""
    get_engine(url)
    return _create(normalize_url(database_url(url)), writer=False)


def check_writable(engine: Engine) -> None:
    """Fail now, in one line, if the catalog cannot be written (a read-only file, a user
    without rights), rather than at the first batch of a crawl."""
    from pipelines.catalog.models import CrawlRun

    session = Session(engine)
    try:
        session.add(CrawlRun(spider="(write check)"))
        session.flush()
    except SQLAlchemyError as exc:
        raise CatalogError(f"cannot write to the catalog {engine.url.render_as_string()}: "
                           f"{str(getattr(exc, 'orig', None) or exc).strip().splitlines()[0]}") from exc  # fmt: skip
    finally:
        session.rollback()
        session.close()


def open_readonly_engine(url: str | None = None) -> Engine:
    """An engine for queries only: it neither creates nor upgrades the schema, so a wrong
    path, an empty database or an older catalog is reported, not silently changed."""
    from pipelines.catalog.migrate import current, head

    url = normalize_url(database_url(url))
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        path = parsed.database or ""
        if path not in {"", ":memory:"} and not os.path.exists(path):
            raise CatalogError(f"no database at {path} (run `filmagg demo` or a crawl first)")
    try:
        engine = _create(url, writer=False)
        with engine.connect() as conn:
            if "work" not in inspect(conn).get_table_names():
                raise CatalogError(f"{parsed.render_as_string()} holds no filmagg catalog")
            rev, target = current(conn), head()
    except SQLAlchemyError as exc:
        raise _error(url, exc) from exc
    if rev != target:
        raise CatalogError(f"the catalog's schema is at revision {rev}, this filmagg needs {target}: "
                           "run `filmagg db upgrade` first")  # fmt: skip
    return engine


def _sqlite_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_conn.isolation_level = None  # transactions are begun by the "begin" listener
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
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
