"""The export's fast paths against the plain ones they stand for: the works CSV's per-column
cells against the generic cell of any value, the batched writer against ``csv.DictWriter`` and
``json.dumps`` row by row, and works read in id-range chunks against works read by id."""

from __future__ import annotations

import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlmodel import Session, create_engine

from pipelines.catalog import queries
from pipelines.catalog.db import get_engine
from pipelines.catalog.export import FORMATS, WORK_CELLS, _flat, neutralize, write
from tests.conftest import run_pipeline


def _work(**fields: Any) -> dict[str, Any]:
    """A work in the shape ``iter_works`` gives, with some fields set."""
    work: dict[str, Any] = {
        "id": 1, "title": "T", "original_title": None, "year": None, "kind": "feature",
        "runtime_minutes": None, "genres": [], "directors": [], "writers": [], "cast": [],
        "titles": [], "external_ids": {}, "ratings": [], "synopsis": None, "sources": [],
        "flags": [], "merged_ids": [],
    }  # fmt: skip
    return work | fields


ODD_WORKS = [
    _work(id=2, title="=HYPERLINK(1)", original_title="-x", synopsis="|a\nb, \"c\"", kind="",
          genres=["=Drama", "Crime"], directors=["@d", "e"], writers=["+w"],
          cast=[{"name": "=A", "character": "-b"}, {"name": "C", "character": None},
                {"name": "D", "character": ""}],
          titles=[{"title": "%t", "language": "en", "type": "display"}],
          external_ids={"imdb": "tt1", "tmdb": "2"},
          ratings=[{"source": "=s", "value": "7.5", "scale_max": 10.0, "value_100": 75.0,
                    "count": None, "kind": "user"},
                   {"source": "b", "value": "1/3", "scale_max": 3.5, "value_100": 28.571428571428573,
                    "count": 4, "kind": "critic"}],
          sources=[{"site": "-s", "url": "u", "type": "film"}],
          flags=[{"kind": "k", "detail": "=d", "url": None}, {"kind": "k", "detail": "d", "url": "u"}],
          merged_ids=[7, 9]),
    _work(id=3, genres=[5, None, {"a": 1}, ["x"]], external_ids={"name": "n", "character": "c"},
          merged_ids=[4]),
    _work(id=4, title="Ünïcødé “q” 🎬", external_ids={"title": "t", "type": "x"}, year=1999,
          runtime_minutes=0),
]  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo_catalog(request: pytest.FixtureRequest, scraped_demo: list[Any], sqlite_url: str) -> str:
    """The demo pages' catalog, on SQLite or PostgreSQL."""
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    run_pipeline(scraped_demo, url)
    return url


def _generic_cell(value: Any) -> Any:
    """A CSV cell as it was made of any value: ``_flat``, then ``neutralize`` if text."""
    value = _flat(value)
    return neutralize(value) if isinstance(value, str) else value


def _works(db_url: str) -> list[dict[str, Any]]:
    with Session(get_engine(db_url)) as s:
        return list(queries.iter_works(s))


def _one_by_one(rows: list[dict[str, Any]], fmt: str) -> str:
    """What the writer wrote before it batched: one row at a time, every CSV cell generic."""
    out = io.StringIO()
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif fmt == "json":
        out.write("[")
        for n, row in enumerate(rows, 1):
            out.write(("\n" if n == 1 else ",\n") + json.dumps(row, ensure_ascii=False))
        out.write("\n]\n" if rows else "]\n")
    else:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _generic_cell(v) for k, v in row.items()})
    return out.getvalue()


def _written(cell: Any) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(["", cell])
    return out.getvalue()


def test_work_cells_are_the_generic_cells(demo_catalog: str) -> None:
    for work in _works(demo_catalog) + ODD_WORKS:
        for column, cell in WORK_CELLS.items():
            value = work[column]
            assert _written(cell(value)) == _written(_generic_cell(value)), (work["id"], column)


@pytest.mark.parametrize("fmt", FORMATS)
def test_batched_writer_writes_what_row_by_row_did(demo_catalog: str, fmt: str) -> None:
    rows = (_works(demo_catalog) + ODD_WORKS) * 150  # more than one batch, a partial last one
    out, ticks = io.StringIO(), []
    assert write(iter(rows), fmt, out, ticks.append, WORK_CELLS) == len(rows)
    assert out.getvalue() == _one_by_one(rows, fmt)
    assert ticks == [1000 * k for k in range(1, len(rows) // 1000 + 1)]


def test_csv_rows_of_other_columns_as_dictwriter_had_them() -> None:
    out = io.StringIO()
    write(iter([{"a": "=1", "b": [1, 2]}, {"a": None}]), "csv", out)
    assert out.getvalue() == "a,b\n'=1,1 | 2\n,\n"
    with pytest.raises(ValueError, match="dict contains fields not in fieldnames: 'c'"):
        write(iter([{"a": 1}, {"a": 2, "c": 3}]), "csv", io.StringIO())
    empty = io.StringIO()
    assert write(iter([]), "json", empty) == 0 and empty.getvalue() == "[]\n"


def test_works_in_chunks_are_works_by_id(
    demo_catalog: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _works(demo_catalog)
    monkeypatch.setattr(queries, "CHUNK", 4)
    chunked = _works(demo_catalog)
    with Session(get_engine(demo_catalog)) as s:
        by_id = queries.works_by_ids(s, [w["id"] for w in whole])
    assert chunked == whole == by_id
    assert [w["id"] for w in whole] == sorted(w["id"] for w in whole) and len(whole) > 8


def test_works_read_in_one_thread_when_the_connection_is_not_shareable(demo_catalog: str) -> None:
    if not demo_catalog.startswith("sqlite"):
        pytest.skip("SQLite's check_same_thread")
    engine = create_engine(demo_catalog, connect_args={"check_same_thread": True})
    with Session(engine) as s, ThreadPoolExecutor(1) as pool:
        assert not queries._shareable(s.connection(), pool)
        assert list(queries.iter_works(s)) == _works(demo_catalog)
    engine.dispose()


def test_closing_works_early_leaves_the_session_usable(
    demo_catalog: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queries, "CHUNK", 2)
    with Session(get_engine(demo_catalog)) as s:
        works = queries.iter_works(s)
        first = next(works)
        works.close()
        assert queries.works_by_ids(s, [first["id"]]) == [first]
