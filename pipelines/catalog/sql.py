"""Read-only SQL for ``filmagg sql``: one statement, run in a read-only transaction, so a
writing statement fails in the database itself and nothing stored can change."""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

_WRITING = re.compile(
    r"^\s*(insert|update|delete|replace|merge|upsert|create|drop|alter|truncate|attach|detach|"
    r"vacuum|reindex|analyze|grant|revoke|copy|begin|commit|rollback|savepoint|release|set|"
    r"pragma\s+\w+\s*=)\b",
    re.I,
)
DEFAULT_TIMEOUT = 30.0


def run_readonly(
    engine: Engine, query: str, limit: int = 100_000, timeout: float = DEFAULT_TIMEOUT
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Columns and rows of ``query``, stopped after ``timeout`` seconds; ``ValueError`` with a
    one-line reason otherwise. The transaction is read-only in the database itself, so the
    statement check here only gives a clearer message than the database would."""
    stripped = query.strip().rstrip(";").strip()
    if not stripped:
        raise ValueError("empty query")
    if ";" in _strip_literals(stripped):
        raise ValueError("one statement at a time")
    if _WRITING.match(stripped):
        raise ValueError("only read-only queries (SELECT, WITH, EXPLAIN, VALUES) are allowed")
    try:
        with engine.connect() as conn:
            _limit_time(conn, timeout)
            try:
                result = conn.execute(text(stripped))
                columns = list(result.keys())
                rows = [tuple(r) for r in result.fetchmany(limit)]
            finally:
                conn.rollback()
                if engine.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA query_only = OFF")
                    conn.connection.driver_connection.set_progress_handler(None, 0)  # type: ignore[union-attr]
    except SQLAlchemyError as exc:
        msg = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        if "interrupted" in msg or "statement timeout" in msg:
            raise ValueError(f"query stopped after {timeout:g} s (--timeout)") from exc
        raise ValueError(f"query failed: {msg}") from exc
    return columns, rows


def _limit_time(conn: Any, timeout: float) -> None:
    """Read-only, and at most ``timeout`` seconds (SQLite: a progress handler interrupts it;
    PostgreSQL: ``statement_timeout``)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA query_only = ON")
        deadline = time.monotonic() + timeout
        conn.connection.driver_connection.set_progress_handler(
            lambda: int(time.monotonic() > deadline), 10_000
        )
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout * 1000)}")


def _strip_literals(sql: str) -> str:
    return re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", "''", sql)
