"""Streamed exports of works, reviews, offers, records and flags as CSV, JSON or JSON lines.

Rows are read in chunks and written as they come: memory stays flat however big the catalog.
CSV flattens lists with " | " and neutralizes cells a spreadsheet would run as a formula.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import islice, repeat
from operator import eq, itemgetter
from typing import Any, TextIO

from sqlalchemy import select
from sqlmodel import Session

from pipelines.catalog.history import changes
from pipelines.catalog.models import (
    Flag,
    MatchDecision,
    Offer,
    Review,
    SourceRecord,
    Work,
    WorkAlias,
)
from pipelines.catalog.queries import iter_works

CHUNK = 500  # rows per fetch of the exports other than works
FORMATS = ("csv", "json", "jsonl")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def neutralize(cell: str) -> str:
    """A leading apostrophe keeps spreadsheets from evaluating "=HYPERLINK(...)" and kin
    (OWASP CSV injection)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _flat(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return " | ".join(str(_flat(v)) for v in value)
    if isinstance(value, dict):
        if set(value) <= {"name", "character"}:
            return (
                f"{value.get('name')} as {value['character']}"
                if value.get("character")
                else value.get("name")
            )
        if set(value) >= {"title"} and len(value) <= 3 and "type" in value:
            return value["title"]
        if all(isinstance(v, str | int | float) or v is None for v in value.values()) and len(value) <= 6 \
                and not {"source", "value_100"} <= set(value):  # fmt: skip
            return "; ".join(f"{k}:{v}" for k, v in value.items() if v is not None)
        if {"source", "value_100"} <= set(value):
            return f"{value['source']} {value['value']}/{value['scale_max']:g}"
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def _csv_cell(value: Any) -> Any:
    """A value as a CSV cell: ``_flat``, then ``neutralize`` if text. The common scalars take
    a short way (None and "" make the same cell)."""
    cls = value.__class__
    if cls is str:
        return "'" + value if value.startswith(_FORMULA_START) else value
    if cls is int or cls is float or value is None:
        return value
    value = _flat(value)
    return neutralize(value) if isinstance(value, str) else value


# Per-column cells of the works export, each writing what ``_csv_cell`` writes for the values
# ``queries.iter_works`` puts there (tests/test_export.py checks it), without sniffing every
# item's type and keys: which of ``_flat``'s rules an item meets is known in advance.


def _csv_strings(value: Any) -> Any:
    """A list of names, genres or ids: joined as is when all are strings."""
    if value.__class__ is list:
        try:
            return _csv_cell(" | ".join(value))
        except TypeError:
            pass
    return _csv_cell(value)


def _csv_mapping(value: Any) -> Any:
    """External ids (namespace -> id)."""
    return "" if value == {} else _csv_cell(value)


def _csv_cast(value: list[dict[str, Any]]) -> str:
    """{name, character} items: "name as character" (``_flat``'s first rule)."""
    if not value:
        return ""
    return _csv_cell(" | ".join([f"{c['name']} as {c['character']}" if c["character"]
                                 else str(c["name"]) for c in value]))  # fmt: skip


def _csv_titles(value: list[dict[str, Any]]) -> str:
    """{title, language, type} items: the title (``_flat``'s second rule)."""
    if not value:
        return ""
    return _csv_cell(" | ".join([str(t["title"]) for t in value]))


def _csv_ratings(value: list[dict[str, Any]]) -> str:
    """Rating items: "source value/scale" (``_flat``'s rule for source and value_100)."""
    if not value:
        return ""
    return _csv_cell(" | ".join([f"{r['source']} {r['value']}/{r['scale_max']:g}" for r in value]))


def _csv_pairs(value: list[dict[str, Any]]) -> str:
    """Items of a few text fields (sources, flags): "key:value; ..." (``_flat``'s third rule)."""
    if not value:
        return ""
    return _csv_cell(" | ".join(["; ".join([f"{k}:{v}" for k, v in d.items() if v is not None])
                                 for d in value]))  # fmt: skip


WORK_CELLS: dict[str, Callable[[Any], Any]] = {
    "genres": _csv_strings,
    "directors": _csv_strings,
    "writers": _csv_strings,
    "cast": _csv_cast,
    "titles": _csv_titles,
    "external_ids": _csv_mapping,
    "ratings": _csv_ratings,
    "sources": _csv_pairs,
    "flags": _csv_pairs,
    "merged_ids": _csv_strings,
}


# ------------------------------------------------------------------------------ row sources

# Plain columns, not ORM entities (no object per row), streamed ``CHUNK`` rows at a time.
_review, _offer, _record = Review.__table__, Offer.__table__, SourceRecord.__table__  # type: ignore[attr-defined]
_decision, _flag, _alias = MatchDecision.__table__, Flag.__table__, WorkAlias.__table__  # type: ignore[attr-defined]
_work = Work.__table__  # type: ignore[attr-defined]


def _chunked(session: Session, stmt: Any) -> Iterator[Any]:
    yield from session.connection().execute(stmt.execution_options(yield_per=CHUNK))


def _reviews(session: Session) -> Iterator[dict[str, Any]]:
    r, w = _review.c, _work.c
    stmt = (select(r.id, r.work_id, w.title, w.year, r.site, r.url, r.author, r.published_at,
                   r.title, r.rating_raw, r.rating_value_100, r.critic, r.body)
            .select_from(_review.outerjoin(_work, w.id == r.work_id)).order_by(r.id))  # fmt: skip
    for (rid, wid, work_title, year, site, url, author, published_at, title, rating, rating_100,
         critic, body) in _chunked(session, stmt):  # fmt: skip
        yield {"id": rid, "work_id": wid, "work_title": work_title, "work_year": year, "site": site,
               "url": url, "author": author, "published_at": published_at, "title": title,
               "rating": rating, "rating_100": rating_100, "critic": critic, "body": body}  # fmt: skip


def _offers(session: Session) -> Iterator[dict[str, Any]]:
    o, w = _offer.c, _work.c
    stmt = (select(o.id, o.work_id, w.title, w.year, o.site, o.provider, o.country,
                   o.monetization, o.quality, o.price, o.currency, o.url, o.first_seen,
                   o.last_seen, o.gone_at)
            .select_from(_offer.outerjoin(_work, w.id == o.work_id)).order_by(o.id))  # fmt: skip
    for (oid, wid, title, year, site, provider, country, monetization, quality, price, currency,
         url, first_seen, last_seen, gone_at) in _chunked(session, stmt):  # fmt: skip
        yield {"id": oid, "work_id": wid, "work_title": title, "work_year": year, "site": site,
               "provider": provider, "country": country, "monetization": monetization,
               "quality": quality, "price": price, "currency": currency, "url": url,
               "first_seen": first_seen.isoformat(), "last_seen": last_seen.isoformat(),
               "gone_at": gone_at.isoformat() if gone_at else None}  # fmt: skip


def _records(session: Session) -> Iterator[dict[str, Any]]:
    sr, d = _record.c, _decision.c
    stmt = (select(sr.id, sr.site, sr.url, sr.type, sr.work_id, d.id, d.outcome, d.score,
                   d.reasons, sr.first_seen, sr.last_seen, sr.content_hash, sr.data)
            .select_from(_record.outerjoin(_decision, d.source_record_id == sr.id))
            .order_by(sr.id))  # fmt: skip
    for (rid, site, url, rtype, wid, decision, outcome, score, reasons, first_seen, last_seen,
         content_hash, data) in _chunked(session, stmt):  # fmt: skip
        yield {"id": rid, "site": site, "url": url, "type": rtype, "work_id": wid,
               "outcome": outcome, "score": score, "reasons": [] if decision is None else reasons,
               "first_seen": first_seen.isoformat(), "last_seen": last_seen.isoformat(),
               "content_hash": content_hash, "data": data}  # fmt: skip


def _flags(session: Session) -> Iterator[dict[str, Any]]:
    f, sr, w = _flag.c, _record.c, _work.c
    stmt = (select(f.id, f.kind, f.work_id, w.title, sr.url, f.detail, f.evidence)
            .select_from(_flag.outerjoin(_record, sr.id == f.source_record_id)
                         .outerjoin(_work, w.id == f.work_id))
            .order_by(f.id))  # fmt: skip
    for fid, kind, wid, title, url, detail, evidence in _chunked(session, stmt):
        yield {"id": fid, "kind": kind, "work_id": wid, "work_title": title, "url": url,
               "detail": detail, "evidence": evidence}  # fmt: skip


def _aliases(session: Session) -> Iterator[dict[str, Any]]:
    a = _alias.c
    stmt = select(a.id, a.work_id, a.reason, a.at).order_by(a.id)
    for aid, wid, reason, at in _chunked(session, stmt):
        yield {"id": aid, "merged_into": wid, "reason": reason, "at": at.isoformat()}


SOURCES: dict[str, Callable[[Session], Iterator[dict[str, Any]]]] = {
    "works": iter_works,
    "aliases": _aliases,
    "reviews": _reviews,
    "offers": _offers,
    "records": _records,
    "flags": _flags,
}
CSV_CELLS: dict[str, dict[str, Callable[[Any], Any]]] = {"works": WORK_CELLS}


# ------------------------------------------------------------------------------ writers

BATCH = 1000  # rows per write (the progress step): one large write instead of one per row
# json.dumps(row, ensure_ascii=False) without building an encoder per row, nor checking for
# reference cycles a row read from the catalog cannot hold
_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode

Cells = dict[str, Callable[[Any], Any]]


def write(rows: Iterable[dict[str, Any]], fmt: str, out: TextIO,
          progress: Callable[[int], None] | None = None, cells: Cells | None = None) -> int:  # fmt: skip
    """Write rows in ``fmt`` as they come; returns how many were written. ``cells`` says how
    to make the CSV cells of some columns (``_csv_cell`` for the others)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    text = _CsvText(cells or {}) if fmt == "csv" else _json_lines if fmt == "jsonl" else _json_items
    if fmt == "json":
        out.write("[")
    n = 0
    it = iter(rows)
    try:
        with _no_cycle_collection():
            while batch := list(islice(it, BATCH)):
                out.write(text(batch, n == 0))
                n += len(batch)
                _tick(progress, n)
    finally:
        if close := getattr(it, "close", None):  # a generator's cleanup now, on error too
            close()
    if fmt == "json":
        out.write("\n]\n" if n else "]\n")
    return n


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cycle collector paused while rows stream: they hold no cycles (reference counting
    frees them), yet the dicts, lists and tuples they are made of kept triggering collections
    that walked the whole chunk in memory, a third of a works export's time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _json_lines(batch: list[dict[str, Any]], first: bool) -> str:
    return "\n".join(map(_encode, batch)) + "\n"


def _json_items(batch: list[dict[str, Any]], first: bool) -> str:
    """Items of the JSON array, one a line, the first after the opening "[\n"."""
    return ("\n" if first else ",\n") + ",\n".join(map(_encode, batch))


class _Lines(list[str]):
    """What a ``csv.writer`` writes, kept to be written as one string."""

    write = list.append


class _CsvText:
    """CSV lines of batches of rows, a header first; as ``csv.DictWriter`` would write rows
    of ``_csv_cell`` values, with the columns of the first row. A batch is made column by
    column, each column's cell function mapped over its values."""

    def __init__(self, cells: Cells) -> None:
        self.cells = cells
        self.lines = _Lines()
        self.writer = csv.writer(self.lines, lineterminator="\n")

    def __call__(self, batch: list[dict[str, Any]], first: bool) -> str:
        self.lines.clear()
        if first:
            self._start(list(batch[0]))
        if all(map(eq, map(dict.keys, batch), repeat(self.keys))):
            columns = [map(cell, map(value, batch)) for cell, value in self.columns]
            self.writer.writerows(zip(*columns, strict=True))
        else:
            self.writer.writerows(map(self._odd_cells, batch))
        return "".join(self.lines)

    def _start(self, fields: list[str]) -> None:
        self.fields = fields
        self.keys = set(fields)
        self.columns = [(self.cells.get(f, _csv_cell), itemgetter(f)) for f in fields]
        self.writer.writerow(fields)

    def _odd_cells(self, row: dict[str, Any]) -> list[Any]:
        """A row whose columns differ from the first's: an error for columns the first row
        lacks, an empty cell for those this row lacks (``csv.DictWriter``'s error and restval)."""
        if wrong := row.keys() - self.fields:
            raise ValueError("dict contains fields not in fieldnames: "
                             + ", ".join([repr(x) for x in wrong]))  # fmt: skip
        return [_csv_cell(row[k]) if k in row else "" for k in self.fields]


def _tick(progress: Callable[[int], None] | None, n: int) -> None:
    if progress is not None and n % 1000 == 0:
        progress(n)


def export(session: Session, what: str, fmt: str, out: TextIO,
           progress: Callable[[int], None] | None = None, since: datetime | None = None) -> int:  # fmt: skip
    rows = changes(session, since) if what == "changes" else SOURCES[what](session)
    return write(rows, fmt, out, progress, CSV_CELLS.get(what))
