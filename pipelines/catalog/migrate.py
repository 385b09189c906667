"""Schema versions: Alembic revisions in ``pipelines/catalog/migrations``, applied in process.

``upgrade`` runs inside one transaction that holds the schema lock (a PostgreSQL advisory
lock; SQLite's writer lock), so any number of processes opening a fresh or older catalog at
once create or upgrade it exactly once; the others find it current. Catalogs made before
migrations existed carry no version: they are recognised by their tables and stamped first.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from pipelines.catalog.locks import SCHEMA, acquire

logger = logging.getLogger(__name__)


def _migrations_dir() -> Path:
    """The revisions as a real directory (Alembic reads files): in place, or, when filmagg
    runs from a zipped egg (Scrapyd), extracted once to a temporary directory."""
    here = Path(__file__).resolve().parent / "migrations"
    if here.is_dir():
        return here
    import atexit
    import shutil
    import tempfile
    from importlib.resources import files
    from importlib.resources.abc import Traversable

    target = Path(tempfile.mkdtemp(prefix="filmagg-migrations-"))
    atexit.register(shutil.rmtree, target, True)

    def copy(node: Traversable, into: Path) -> None:
        for child in node.iterdir():
            if child.is_dir():
                (into / child.name).mkdir()
                copy(child, into / child.name)
            elif child.name.endswith((".py", ".mako")):
                (into / child.name).write_bytes(child.read_bytes())

    copy(files("pipelines.catalog.migrations"), target)
    return target


MIGRATIONS = _migrations_dir()


class SchemaError(Exception):
    """The catalog's schema cannot be used by this filmagg as it stands."""


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()  # type: ignore[return-value]


def current(connection: Connection) -> str | None:
    """The catalog's revision; for a catalog older than migrations, the one its tables match;
    None for an empty database."""
    rev = MigrationContext.configure(connection).get_current_revision()
    if rev is not None:
        return rev
    tables = set(inspect(connection).get_table_names())
    if "work" not in tables:
        return None
    columns = {c["name"] for c in inspect(connection).get_columns("match_decision")}
    return "0002" if "weak" in columns else "0001"


def status(engine: Engine) -> tuple[str | None, str]:
    """(the catalog's revision, this filmagg's head revision)."""
    with engine.connect() as conn:
        return current(conn), head()


def upgrade(engine: Engine) -> list[str]:
    """Bring the catalog to the head revision under the schema lock; returns the revisions
    applied (none when it was current). Raises ``SchemaError`` for a catalog newer than this
    filmagg."""
    target = head()
    known = {s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()}
    with engine.connect() as conn:  # the common case, without taking the writer lock
        rev = current(conn)
    _check_known(rev, known, target)
    if rev == target:
        return []
    with Session(engine) as session:
        acquire(session, SCHEMA, wait=True)
        conn = session.connection()
        rev = current(conn)  # again, now that no other process can be upgrading
        _check_known(rev, known, target)
        if rev == target:
            session.commit()
            return []
        script = ScriptDirectory.from_config(_config())
        applied = [s.revision for s in script.iterate_revisions(target, rev)][::-1]
        cfg = _config(conn)
        stored = MigrationContext.configure(conn).get_current_revision()
        if rev is not None and stored is None:
            logger.info("catalog predates migrations; it matches revision %s", rev)
            command.stamp(cfg, rev)
        command.upgrade(cfg, target)
        session.commit()
    logger.info("catalog upgraded: %s -> %s", rev or "empty", target)
    return applied


def _check_known(rev: str | None, known: set[str], target: str) -> None:
    if rev is not None and rev not in known:
        raise SchemaError(f"the catalog's schema revision {rev} is newer than this filmagg knows "
                          f"(head {target}): upgrade filmagg")  # fmt: skip
