"""Read-only SQL for ``filmagg sql``: one statement, run in a read-only transaction, so a
writing statement fails in the database itself and nothing stored can change."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

_READ_START = re.compile(r"^\s*(select|with|explain|values|pragma\s+\w+\s*$|table\s)", re.I | re.S)


def run_readonly(
    engine: Engine, query: str, limit: int = 100_000
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Columns and rows of ``query``; ``ValueError`` with a one-line reason otherwise."""
    stripped = query.strip().rstrip(";").strip()
    if not stripped:
        raise ValueError("empty query")
    if ";" in _strip_literals(stripped):
        raise ValueError("one statement at a time")
    if not _READ_START.match(stripped):
        raise ValueError("only read-only queries (SELECT, WITH, EXPLAIN, VALUES) are allowed")
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA query_only = ON")
            elif engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            try:
                result = conn.execute(text(stripped))
                columns = list(result.keys())
                rows = [tuple(r) for r in result.fetchmany(limit)]
            finally:
                conn.rollback()
                if engine.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA query_only = OFF")
    except SQLAlchemyError as exc:
        msg = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise ValueError(f"query failed: {msg}") from exc
    return columns, rows


def _strip_literals(sql: str) -> str:
    return re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", "''", sql)
