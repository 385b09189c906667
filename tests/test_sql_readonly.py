"""``filmagg sql``'s guard rails on both backends: one statement, read-only in the database
itself, and stopped after ``--timeout`` (SQLite: a progress handler; PostgreSQL:
``statement_timeout``)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from pipelines.catalog.db import get_engine, open_readonly_engine
from pipelines.catalog.sql import run_readonly

ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The engine ``filmagg sql`` reads with, on a catalog created by the writing one."""
    url = request.getfixturevalue(f"{request.param}_url")
    get_engine(url)
    return open_readonly_engine(url)


def test_a_query_reads(engine: Engine) -> None:
    assert run_readonly(engine, "SELECT count(*) AS n FROM work") == (["n"], [(0,)])


def test_an_endless_query_is_stopped(engine: Engine) -> None:
    with pytest.raises(ValueError, match=r"query stopped after 0.5 s \(--timeout\)"):
        run_readonly(engine, ENDLESS, timeout=0.5)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("DELETE FROM work", "only read-only queries"),
        ("SELECT 1; SELECT 2", "one statement at a time"),
        ("SELEC title FROM work", "query failed: "),
        # a writing CTE gets past the statement check: the read-only transaction refuses it
        ("WITH w AS (SELECT 1) INSERT INTO work_alias (id, reason) SELECT 1, 'x' FROM w",
         "query failed: "),
    ],
)  # fmt: skip
def test_refusals_are_one_line(engine: Engine, query: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        run_readonly(engine, query)
    assert "\n" not in str(err.value)
    assert run_readonly(engine, "SELECT count(*) FROM work_alias")[1] == [(0,)]
