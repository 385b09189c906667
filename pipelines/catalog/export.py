"""Streamed exports of works, reviews, offers, records and flags as CSV, JSON or JSON lines.

Rows are read in chunks and written as they come: memory stays flat however big the catalog.
CSV flattens lists with " | " and neutralizes cells a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TextIO

from sqlmodel import Session, select

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

CHUNK = 500
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
    value = _flat(value)
    return neutralize(value) if isinstance(value, str) else value


# ------------------------------------------------------------------------------ row sources


def _chunked(session: Session, stmt: Any) -> Iterator[Any]:
    yield from session.exec(stmt.execution_options(yield_per=CHUNK))


def _reviews(session: Session) -> Iterator[dict[str, Any]]:
    stmt = (select(Review, Work.title, Work.year).join(Work, Work.id == Review.work_id, isouter=True)
            .order_by(Review.id))  # fmt: skip
    for r, title, year in _chunked(session, stmt):
        yield {"id": r.id, "work_id": r.work_id, "work_title": title, "work_year": year, "site": r.site,
               "url": r.url, "author": r.author, "published_at": r.published_at, "title": r.title,
               "rating": r.rating_raw, "rating_100": r.rating_value_100, "critic": r.critic, "body": r.body}  # fmt: skip


def _offers(session: Session) -> Iterator[dict[str, Any]]:
    stmt = (select(Offer, Work.title, Work.year).join(Work, Work.id == Offer.work_id, isouter=True)
            .order_by(Offer.id))  # fmt: skip
    for o, title, year in _chunked(session, stmt):
        yield {"id": o.id, "work_id": o.work_id, "work_title": title, "work_year": year, "site": o.site,
               "provider": o.provider, "country": o.country, "monetization": o.monetization,
               "quality": o.quality, "price": o.price, "currency": o.currency, "url": o.url,
               "first_seen": o.first_seen.isoformat(), "last_seen": o.last_seen.isoformat(),
               "gone_at": o.gone_at.isoformat() if o.gone_at else None}  # fmt: skip


def _records(session: Session) -> Iterator[dict[str, Any]]:
    stmt = (select(SourceRecord, MatchDecision)
            .join(MatchDecision, MatchDecision.source_record_id == SourceRecord.id, isouter=True)
            .order_by(SourceRecord.id))  # fmt: skip
    for sr, d in _chunked(session, stmt):
        yield {"id": sr.id, "site": sr.site, "url": sr.url, "type": sr.type, "work_id": sr.work_id,
               "outcome": d.outcome if d else None, "score": d.score if d else None,
               "reasons": d.reasons if d else [], "first_seen": sr.first_seen.isoformat(),
               "last_seen": sr.last_seen.isoformat(), "content_hash": sr.content_hash, "data": sr.data}  # fmt: skip


def _flags(session: Session) -> Iterator[dict[str, Any]]:
    stmt = (select(Flag, SourceRecord.url, Work.title)
            .join(SourceRecord, SourceRecord.id == Flag.source_record_id, isouter=True)
            .join(Work, Work.id == Flag.work_id, isouter=True).order_by(Flag.id))  # fmt: skip
    for f, url, title in _chunked(session, stmt):
        yield {"id": f.id, "kind": f.kind, "work_id": f.work_id, "work_title": title, "url": url,
               "detail": f.detail, "evidence": f.evidence}  # fmt: skip


def _aliases(session: Session) -> Iterator[dict[str, Any]]:
    for a in _chunked(session, select(WorkAlias).order_by(WorkAlias.id)):
        yield {"id": a.id, "merged_into": a.work_id, "reason": a.reason, "at": a.at.isoformat()}


SOURCES: dict[str, Callable[[Session], Iterator[dict[str, Any]]]] = {
    "works": iter_works,
    "aliases": _aliases,
    "reviews": _reviews,
    "offers": _offers,
    "records": _records,
    "flags": _flags,
}


# ------------------------------------------------------------------------------ writers


def write(rows: Iterator[dict[str, Any]], fmt: str, out: TextIO,
          progress: Callable[[int], None] | None = None) -> int:  # fmt: skip
    """Write rows in ``fmt`` as they come; returns how many were written."""
    n = 0
    if fmt == "jsonl":
        for n, row in enumerate(rows, 1):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            _tick(progress, n)
    elif fmt == "json":
        out.write("[")
        for n, row in enumerate(rows, 1):
            out.write(
                ("\n" if n == 1 else ",\n") + json.dumps(row, ensure_ascii=False, indent=None)
            )
            _tick(progress, n)
        out.write("\n]\n" if n else "]\n")
    elif fmt == "csv":
        writer: csv.DictWriter[str] | None = None
        for n, row in enumerate(rows, 1):
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\n")
                writer.writeheader()
            writer.writerow({k: _csv_cell(v) for k, v in row.items()})
            _tick(progress, n)
    else:
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    return n


def _tick(progress: Callable[[int], None] | None, n: int) -> None:
    if progress is not None and n % 1000 == 0:
        progress(n)


def export(session: Session, what: str, fmt: str, out: TextIO,
           progress: Callable[[int], None] | None = None, since: datetime | None = None) -> int:  # fmt: skip
    rows = changes(session, since) if what == "changes" else SOURCES[what](session)
    return write(rows, fmt, out, progress)
