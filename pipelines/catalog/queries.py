"""Reading the catalog: works as the export/CLI shape (DESIGN.md §5), search, and detail.

Works are assembled in chunks with one query per related table per chunk, so exporting a
large catalog streams with flat memory and no per-work query storm.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import groupby
from operator import itemgetter
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import Connection, CursorResult, Select, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from pipelines.catalog.models import (
    Credit,
    ExternalId,
    Flag,
    MatchDecision,
    Offer,
    Person,
    Quote,
    Rating,
    Review,
    SourceRecord,
    Work,
    WorkAlias,
    WorkTitle,
)
from pipelines.identity import title_key

CHUNK = 5000  # works per chunk of an export: a few MB of rows, eight queries per chunk
SQLITE_CACHE_KIB = 32768  # SQLite's page cache while every work is read (default 2000)

# Core columns, not ORM entities: a chunk is read as plain tuples (building an ORM object per
# row was a third of an export's time), through the session's connection and transaction.
_W, _T, _E = Work.__table__.c, WorkTitle.__table__.c, ExternalId.__table__.c  # type: ignore[attr-defined]
_C, _P, _R = Credit.__table__.c, Person.__table__.c, Rating.__table__.c  # type: ignore[attr-defined]
_S, _A, _F = SourceRecord.__table__.c, WorkAlias.__table__.c, Flag.__table__.c  # type: ignore[attr-defined]
_WORK_COLUMNS = (_W.id, _W.title, _W.original_title, _W.year, _W.kind, _W.runtime_minutes,
                 _W.genres, _W.synopsis)  # fmt: skip

_WRITERS = frozenset({"writer", "creator"})

Match = Callable[[Any], Any]  # a related table's work_id column -> the WHERE clause of a chunk
Rows = dict[int, Any]  # work id -> its entries from one related table, in the shape's order


def works_by_ids(session: Session, ids: Sequence[int]) -> list[dict[str, Any]]:
    """Works in the exported shape, in the order of ``ids``."""
    if not ids:
        return []
    conn = session.connection()
    found = {w[0]: w for w in _fetch(conn, sa_select(*_WORK_COLUMNS).where(_W.id.in_(ids)))}
    related = _related([_fetch(conn, query(_among(ids))) for query, _ in _RELATED])
    return [_shape(found[wid], related) for wid in ids if wid in found]


def iter_works(session: Session) -> Iterator[dict[str, Any]]:
    """Every work in id order, chunk by chunk: keyset pagination over work ids, and each
    related table read for the chunk's id range (no long IN lists), so memory stays flat.

    The next chunk's queries run in a reader thread while this chunk is shaped and written,
    so the database's share of the work (index lookups, joins, sorts) takes the other core:
    PostgreSQL's server does it, SQLite does it in a query's first step, which releases the
    GIL. Only one thread at a time uses the connection. Exhaust or close the iterator before
    closing the session."""
    conn = session.connection()
    with _page_cache(conn), _reader(conn) as read_ahead:
        pending = read_ahead(None)
        try:
            while (chunk := pending.result()) is not None:
                hi, executed = chunk
                rows = [_rows(conn, stmt, result) for stmt, result in executed]
                pending = read_ahead(hi)
                related = _related(rows[1:])
                for w in rows[0]:
                    yield _shape(w, related)
        finally:
            _discard(pending)


Executed = list[tuple[Select[Any], CursorResult[Any]]]
Chunk = tuple[int, Executed]  # the chunk's last work id, its queries executed


@contextlib.contextmanager
def _reader(conn: Connection) -> Iterator[Callable[[int | None], Future[Chunk | None]]]:
    """Reads the chunk after a work id ahead, in a thread; in this one, when asked, if the
    connection may not be used from another (an SQLite connection made without
    ``check_same_thread=False``, which filmagg's engines pass)."""
    with ThreadPoolExecutor(1, thread_name_prefix="iter-works") as pool:
        if _shareable(conn, pool):
            yield lambda last: pool.submit(_run_chunk, conn, last)
        else:
            yield lambda last: _now(_run_chunk, conn, last)


def _shareable(conn: Connection, pool: ThreadPoolExecutor) -> bool:
    """Whether the pool's thread may use the connection: sqlite3 refuses it a cursor when not."""
    if conn.dialect.name != "sqlite":
        return True
    probe = pool.submit(conn.connection.driver_connection.cursor)
    if probe.exception() is not None:
        return False
    probe.result().close()
    return True


def _now(read: Callable[..., Chunk | None], *args: Any) -> Future[Chunk | None]:
    """``read(*args)`` run here, as a future like the thread's."""
    done: Future[Chunk | None] = Future()
    try:
        done.set_result(read(*args))
    except Exception as exc:  # noqa: BLE001 (raised again by result(), as from a thread)
        done.set_exception(exc)
    return done


def _run_chunk(conn: Connection, last: int | None) -> Chunk | None:
    """The queries of the ``CHUNK`` works after ``last``, executed, or None after the last
    work. The related tables' queries order by an expression (``_by_work_id``), so SQLite
    sorts all their rows in their first step, here."""
    ids = sa_select(_W.id).where(*([] if last is None else [_W.id > last]))
    ids = ids.order_by(_W.id).limit(CHUNK).subquery()
    lo, hi = conn.execute(sa_select(func.min(ids.c.id), func.max(ids.c.id))).one()
    if hi is None:
        return None
    match = _between(lo, hi)
    stmts = [sa_select(*_WORK_COLUMNS).where(match(_W.id)).order_by(_W.id)]
    stmts += [query(match) for query, _ in _RELATED]
    return hi, [(stmt, conn.execute(stmt)) for stmt in stmts]


def _discard(pending: Future[Chunk | None]) -> None:
    """Close the cursors of a chunk read ahead but not used (the iterator was closed)."""
    if pending.exception() is None and (chunk := pending.result()) is not None:
        for _, result in chunk[1]:
            result.close()


@contextlib.contextmanager
def _page_cache(conn: Connection) -> Iterator[None]:
    """On SQLite, a page cache of ``SQLITE_CACHE_KIB`` for the connection while every work is
    read, then the one it had: with SQLite's default 2 MB, the inner pages of the tables
    looked up by rowid (records, credits, people) kept being read again, by a system call
    each: a quarter of the queries' time on a 1M-work catalog."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        if not conn.closed:
            conn.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


def _among(ids: Sequence[int]) -> Match:
    return lambda col: col.in_(ids)


def _between(lo: int, hi: int) -> Match:
    """A chunk's id range: rows of ids in it but not in the chunk (no such work) are read,
    never shown."""
    return lambda col: col.between(lo, hi)


def _fetch(conn: Connection, stmt: Select[Any]) -> list[Any]:
    return _rows(conn, stmt, conn.execute(stmt))


def _rows(conn: Connection, stmt: Select[Any], result: CursorResult[Any]) -> list[Any]:
    """All rows, as the driver's tuples with each value through its column type's result
    processor (what a Row would hold), without the Row: building one per row cost more than
    reading the row, and a chunk holds about ten rows per work."""
    try:
        rows = result.cursor.fetchall()
        procs = _processors(conn, stmt, result.cursor.description)
    finally:
        result.close()
    if not procs:
        return rows

    def process(row: Any) -> tuple[Any, ...]:
        values = list(row)
        for i, proc in procs:
            values[i] = proc(values[i])
        return tuple(values)

    return list(map(process, rows))


def _processors(conn: Connection, stmt: Select[Any], description: Any) -> list[tuple[int, Any]]:
    """(column index, result processor) of the columns whose type converts what the driver
    gives (on SQLite, JSON text to lists and dicts), as SQLAlchemy's own results do."""
    dialect = conn.dialect
    found = []
    for i, (column, desc) in enumerate(zip(stmt.selected_columns, description, strict=True)):
        proc = column.type.dialect_impl(dialect).result_processor(dialect, desc[1])
        if proc is not None:
            found.append((i, proc))
    return found


def _shape(w: Any, related: tuple[Rows, ...]) -> dict[str, Any]:
    """One work row and its related rows as the export/CLI shape (DESIGN.md §5)."""
    wid = w[0]
    titles, ext, directors, writers, cast, ratings, sources, flags, merged = related
    return {
        "id": wid, "title": w[1], "original_title": w[2], "year": w[3], "kind": w[4],
        "runtime_minutes": w[5], "genres": w[6] or [], "directors": directors.get(wid, []),
        "writers": writers.get(wid, []), "cast": cast.get(wid, []), "titles": titles.get(wid, []),
        "external_ids": ext.get(wid, {}), "ratings": ratings.get(wid, []), "synopsis": w[7],
        "sources": sources.get(wid, []), "flags": flags.get(wid, []), "merged_ids": merged.get(wid, []),
    }  # fmt: skip


def _related(rows: list[list[Any]]) -> tuple[Rows, ...]:
    """The rows of each related table (``_RELATED``'s queries) grouped by work id."""
    grouped: list[Rows] = []
    for (_, group), table_rows in zip(_RELATED, rows, strict=True):
        found = group(table_rows)
        grouped.extend(found if isinstance(found, tuple) else [found])
    return tuple(grouped)


def _by_work(rows: Iterable[Any]) -> Iterator[tuple[int, Iterator[Any]]]:
    """Rows ordered by work id (their first column), work by work."""
    return groupby(rows, _first)


_first = itemgetter(0)


def _by_work_id(col: Any) -> Any:
    """Order by work id as an expression, not the column: SQLite then sorts every row in the
    query's first step (the reader thread's, without the GIL) instead of work by work as rows
    are fetched, following the work_id index."""
    return col + 0


# Each related table: its query for the works ``match`` selects, and how its rows group by
# work. Every query orders by work id first, then by what orders a work's entries, so a
# work's entries come in the same order whatever the chunk. The ``id`` tie-breaks give the
# order SQLite's stable sort gave when these queries ordered by the second keys alone;
# PostgreSQL's sort is not stable, and ties (a page's film and offer records) came in an
# order that could differ between ``export`` and ``works show``.


def _titles_query(match: Match) -> Select[Any]:
    return (sa_select(_T.work_id, _T.title, _T.language, _T.type)
            .where(match(_T.work_id), _T.type != "variant").order_by(_by_work_id(_T.work_id), _T.id))  # fmt: skip


def _titles(rows: list[Any]) -> Rows:
    """Distinct (title, language, type) per work, variants left out, first seen first."""
    return {wid: [{"title": title, "language": language, "type": kind} for _, title, language, kind in group]
            for wid, group in _by_work(dict.fromkeys(rows))}  # fmt: skip


def _external_ids_query(match: Match) -> Select[Any]:
    return (sa_select(_E.work_id, _E.namespace, _E.value)
            .where(match(_E.work_id)).order_by(_by_work_id(_E.work_id), _E.id))  # fmt: skip


def _external_ids(rows: list[Any]) -> Rows:
    """Per work, namespace -> value; the first (lowest id) value of a namespace wins."""
    out: Rows = {}
    for wid, group in _by_work(rows):
        ids: dict[str, str] = {}
        for _, namespace, value in group:
            ids.setdefault(namespace, value)
        out[wid] = ids
    return out


def _credits_query(match: Match) -> Select[Any]:
    return (sa_select(_C.work_id, _C.role, _C.character, _P.name)
            .join(Person.__table__, _P.id == _C.person_id)
            .where(match(_C.work_id)).order_by(_by_work_id(_C.work_id), _C.order, _C.id))  # fmt: skip


def _credits(rows: list[Any]) -> tuple[Rows, Rows, Rows]:
    """Directors, writers (and creators), and cast, in billing order, each name once."""
    directors: Rows = {}
    writers: Rows = {}
    cast: Rows = {}
    for wid, group in _by_work(rows):
        named: list[Any] = []
        written: list[Any] = []
        played: list[Any] = []
        actors: list[dict[str, Any]] = []
        for _, role, character, name in group:
            if role == "cast":
                if name not in played:
                    played.append(name)
                    actors.append({"name": name, "character": character})
            elif role == "director":
                if name not in named:
                    named.append(name)
            elif role in _WRITERS and name not in written:
                written.append(name)
        if named:
            directors[wid] = named
        if written:
            writers[wid] = written
        if actors:
            cast[wid] = actors
    return directors, writers, cast


def _ratings_query(match: Match) -> Select[Any]:
    return (sa_select(_R.work_id, _R.source, _R.raw, _R.scale_max, _R.value_100, _R.count, _R.kind)
            .where(match(_R.work_id)).order_by(_by_work_id(_R.work_id), _R.source, _R.id))  # fmt: skip


def _ratings(rows: list[Any]) -> Rows:
    return {wid: [{"source": source, "value": raw, "scale_max": scale_max, "value_100": value_100,
                   "count": count, "kind": kind}
                  for _, source, raw, scale_max, value_100, count, kind in group]
            for wid, group in _by_work(rows)}  # fmt: skip


def _sources_query(match: Match) -> Select[Any]:
    return (sa_select(_S.work_id, _S.site, _S.url, _S.type).where(match(_S.work_id))
            .order_by(_by_work_id(_S.work_id), _S.site, _S.url, _S.id))  # fmt: skip


def _sources(rows: list[Any]) -> Rows:
    """Distinct (site, url, type) of the work's records, by site and url."""
    return {wid: [{"site": site, "url": url, "type": kind} for _, site, url, kind in group]
            for wid, group in _by_work(dict.fromkeys(rows))}  # fmt: skip


def _flags_query(match: Match) -> Select[Any]:
    return (sa_select(_F.work_id, _F.kind, _F.detail, _S.url)
            .outerjoin(SourceRecord.__table__, _S.id == _F.source_record_id)
            .where(match(_F.work_id)).order_by(_by_work_id(_F.work_id), _F.id))  # fmt: skip


def _flags(rows: list[Any]) -> Rows:
    return {wid: [{"kind": kind, "detail": detail, "url": url} for _, kind, detail, url in group]
            for wid, group in _by_work(rows)}  # fmt: skip


def _merged_query(match: Match) -> Select[Any]:
    return (sa_select(_A.work_id, _A.id).where(match(_A.work_id))
            .order_by(_by_work_id(_A.work_id), _A.id))  # fmt: skip


def _merged(rows: list[Any]) -> Rows:
    """The retired ids merged into each work."""
    return {wid: [alias for _, alias in group] for wid, group in _by_work(rows)}


_RELATED: list[tuple[Callable[[Match], Select[Any]], Callable[[list[Any]], Any]]] = [
    (_titles_query, _titles),
    (_external_ids_query, _external_ids),
    (_credits_query, _credits),  # directors, writers, cast
    (_ratings_query, _ratings),
    (_sources_query, _sources),
    (_flags_query, _flags),
    (_merged_query, _merged),
]


def search_works(session: Session, text: str, year: int | None = None, kind: str | None = None,
                 limit: int = 20) -> list[dict[str, Any]]:  # fmt: skip
    """Works whose titles contain the text's key (accents, articles, case ignored), best first."""
    key = title_key(text)
    q = (select(WorkTitle.work_id, WorkTitle.title, WorkTitle.key)
         .join(Work, Work.id == WorkTitle.work_id).where(WorkTitle.key.contains(key)))  # fmt: skip
    if year is not None:
        q = q.where(Work.year == year)
    if kind is not None:
        q = q.where(Work.kind == kind)
    best: dict[int, float] = {}
    for wid, _title, tkey in session.exec(q).all():
        best[wid] = max(best.get(wid, 0.0), fuzz.ratio(key, tkey))
    ranked = sorted(best, key=lambda w: (-best[w], w))[:limit]
    return works_by_ids(session, ranked)


def alias_of(session: Session, work_id: int) -> WorkAlias | None:
    """What became of a retired work id: merged into another work, or dissolved."""
    return session.get(WorkAlias, work_id)


def work_detail(session: Session, work_id: int) -> dict[str, Any] | None:
    """A work with everything known of it: reviews, offers, quotes and every decision."""
    found = works_by_ids(session, [work_id])
    if not found:
        return None
    work = found[0]
    work["reviews"] = [
        {"url": r.url, "site": r.site, "author": r.author, "published_at": r.published_at,
         "title": r.title, "rating": r.rating_raw, "body": r.body}
        for r in session.exec(select(Review).where(Review.work_id == work_id).order_by(Review.url)).all()
    ]  # fmt: skip
    work["offers"] = [
        {"provider": o.provider, "country": o.country, "monetization": o.monetization,
         "quality": o.quality, "price": o.price, "currency": o.currency, "url": o.url, "site": o.site,
         "gone_at": o.gone_at.isoformat() if o.gone_at else None}
        for o in session.exec(select(Offer).where(Offer.work_id == work_id).order_by(Offer.provider, Offer.id)).all()
    ]  # fmt: skip
    work["quotes"] = [
        {"url": q.url, "lines": q.lines}
        for q in session.exec(
            select(Quote).where(Quote.work_id == work_id).order_by(Quote.url, Quote.id)
        ).all()
    ]
    decided = session.exec(select(MatchDecision, SourceRecord)
                           .join(SourceRecord, SourceRecord.id == MatchDecision.source_record_id)
                           .where(MatchDecision.work_id == work_id)
                           .order_by(SourceRecord.type, SourceRecord.site, SourceRecord.url)).all()  # fmt: skip
    # a review, offer or quote reached through several records is stored once: the other
    # records say whose row stands for them (pipelines.catalog.duplicates)
    holders = {d.duplicate_of for d, _ in decided if d.duplicate_of is not None}
    copied = {rid: f"{site} {url}" for rid, site, url in session.exec(
        select(SourceRecord.id, SourceRecord.site, SourceRecord.url).where(SourceRecord.id.in_(holders)))} if holders else {}  # type: ignore[union-attr]  # fmt: skip
    work["decisions"] = [
        {"site": sr.site, "url": sr.url, "type": sr.type, "outcome": d.outcome, "score": d.score,
         "reasons": d.reasons or [], "copy_of": copied.get(d.duplicate_of)}  # type: ignore[arg-type]
        for d, sr in decided
    ]  # fmt: skip
    return work


def summary(session: Session) -> dict[str, Any]:
    """Counts for the demo/crawl summary."""

    def count(model: Any, *where: Any) -> int:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()

    from pipelines.catalog.models import Quarantine

    kinds = dict(session.exec(select(Work.kind, func.count()).group_by(Work.kind)).all())
    flag_kinds = dict(session.exec(select(Flag.kind, func.count()).group_by(Flag.kind)).all())
    return {
        "works": count(Work), "works_by_kind": dict(sorted(kinds.items())),
        "records": count(SourceRecord), "unattached_records": count(SourceRecord, SourceRecord.work_id.is_(None)),
        "reviews": count(Review), "offers": count(Offer), "quotes": count(Quote),
        "flags": dict(sorted(flag_kinds.items())), "quarantined": count(Quarantine),
    }  # fmt: skip
