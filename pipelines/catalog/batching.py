"""Bounded ``IN (...)`` lists: the resolver reads and writes many records at a time, and both
backends cap the parameters of one statement, so lookups over many ids or keys go a chunk
at a time, in a deterministic order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlmodel import Session

CHUNK = 500  # values per IN (...) list


def chunks(values: Iterable[Any], n: int = CHUNK) -> Iterator[list[Any]]:
    """The distinct values, sorted, in lists of at most ``n``."""
    items = sorted(set(values))
    for i in range(0, len(items), n):
        yield items[i : i + n]


def select_in(session: Session, stmt: Any, column: Any, values: Iterable[Any]) -> list[Any]:
    """The rows of ``stmt`` whose ``column`` is one of ``values``, one query per chunk (an
    ``order_by`` of ``stmt`` holds within a chunk: rows sharing a value come in one chunk)."""
    return [row for chunk in chunks(values) for row in session.exec(stmt.where(column.in_(chunk)))]


def insert_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """One Core INSERT, executed for every row (all with the same keys): the ORM's bulk path
    costs per row, and the session holds none of these rows. Nothing when ``rows`` is empty."""
    if rows:
        session.connection().execute(model.__table__.insert(), rows)
