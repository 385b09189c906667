"""Staging: records stored durably, before and apart from resolution.

A record is keyed by (site, url, type, item_key). Storing the same content again only moves
``last_seen``; changed content replaces the payload, remembers which fields changed and marks
the record pending for the resolver. Rejected records go to quarantine with every reason; a
repeat of the same rejection bumps ``times_seen``.

Every write is safe against other processes staging the same records at the same moment:
inserts are ``ON CONFLICT DO NOTHING`` followed by a re-read, and an update applies only to
the version it was computed from (``content_hash`` compared in the ``WHERE``), else it is
computed again from the version that won.

Staging runs in a thread of the crawl process, where its CPU competes with Scrapy's reactor
for the GIL, and building and compiling a statement costs far more than SQLite running it. So
a batch takes a few statements, not a few per item: the batch's new records go in one
executemany ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (what it returns is what this
batch inserted; a key another writer stored first takes the per-record path, which handles
races), and its pages are settled with one query per question and one executemany upsert.
Statements are Core (no ORM compilation), built once: at import, or once per dialect.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, Connection, Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from pipelines.catalog.models import (
    Change,
    MatchDecision,
    Offer,
    Page,
    Quarantine,
    SourceRecord,
    utcnow,
)
from pipelines.normalize import fold
from pipelines.records import PageFetched, Record


@dataclass(frozen=True)
class Accepted:
    """A validated record with the raw payload it came from."""

    record: Record
    raw: dict[str, Any]


@dataclass(frozen=True)
class Rejected:
    """A record (or page) that failed: stored in quarantine, never dropped."""

    site: str
    url: str
    record_type: str
    reason: str
    errors: list[dict[str, Any]]
    raw: dict[str, Any] | None = None


@dataclass(frozen=True)
class PageSeen:
    """A fetched page (``PageFetched``), with what its records were: the item keys of the
    offers it listed and the quarantine reasons it earned this time."""

    page: PageFetched
    offers: frozenset[str] = frozenset()
    rejected: frozenset[str] = frozenset()


Storable = Accepted | Rejected | PageSeen


def item_key(data: dict[str, Any]) -> str:
    """What tells apart several records of one type on one page."""
    if data["type"] == "offer":
        parts = (
            data.get("provider"),
            data.get("country"),
            data.get("monetization"),
            data.get("quality"),
        )
        return "|".join(fold(p or "") for p in parts)
    if data["type"] == "quote":
        text = "\n".join(f"{line.get('speaker') or ''}: {line['text']}" for line in data["lines"])
        return hashlib.sha1(text.encode()).hexdigest()[:16]
    if data["type"] == "rating":
        return data["rating"]["source"]
    if data["type"] == "review":  # a critic list holds many reviews at one URL
        who = "|".join(str(data.get(k) or "") for k in ("author", "published_at", "title"))
        rating = (data.get("rating") or {}).get("source") or ""
        return (
            hashlib.sha1(f"{who}|{rating}".encode()).hexdigest()[:16]
            if who.strip("|") or rating
            else ""
        )
    return ""


def content_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


Key = tuple[str, str, str, str]
Prepared = tuple[Key, dict[str, Any], str]  # key, validated data, content hash
CHUNK = 500  # values per IN (...) list
KEY_COLUMNS = ("site", "url", "type", "item_key")

# ------------------------------------------------------------------ statements, built once

RECORD: Table = SourceRecord.__table__  # type: ignore[attr-defined]
OFFER: Table = Offer.__table__  # type: ignore[attr-defined]
PAGE: Table = Page.__table__  # type: ignore[attr-defined]
QUARANTINE: Table = Quarantine.__table__  # type: ignore[attr-defined]
CHANGE: Table = Change.__table__  # type: ignore[attr-defined]
DECISION: Table = MatchDecision.__table__  # type: ignore[attr-defined]


def _many(name: str) -> BindParameter[Any]:
    """A list parameter for ``IN (...)``: one cached statement whatever the list's length."""
    return bindparam(name, expanding=True)


_KNOWN = select(*(RECORD.c[k] for k in KEY_COLUMNS), RECORD.c.id, RECORD.c.content_hash,
                RECORD.c.gone_at).where(RECORD.c.url.in_(_many("urls")))  # fmt: skip
_FIND = select(RECORD.c.id, RECORD.c.content_hash, RECORD.c.data, RECORD.c.changes,
               RECORD.c.gone_at).where(*(RECORD.c[k] == bindparam(k) for k in KEY_COLUMNS))  # fmt: skip
# UPDATE statements without ``.values()`` take their SET columns from the parameters' names.
_UPDATE_VERSION = (
    update(RECORD)
    .where(RECORD.c.id == bindparam("rid"), RECORD.c.content_hash == bindparam("old_hash"))
    .returning(RECORD.c.id)
)
_RECORDS_BY_ID = update(RECORD).where(RECORD.c.id.in_(_many("ids")))
_OFFERS_BY_RECORD = update(OFFER).where(OFFER.c.source_record_id.in_(_many("ids")))
# an offer seen through several records has one row, its holder's (pipelines.catalog.duplicates)
_HOLDERS = select(DECISION.c.source_record_id, DECISION.c.duplicate_of).where(
    DECISION.c.source_record_id.in_(_many("ids")), DECISION.c.duplicate_of.is_not(None)
)
_LIVE_COPIES = (
    select(DECISION.c.duplicate_of)
    .join(RECORD, RECORD.c.id == DECISION.c.source_record_id)
    .where(DECISION.c.duplicate_of.in_(_many("ids")), RECORD.c.gone_at.is_(None))
    .distinct()
)
_LIVE_RECORDS = select(RECORD.c.id).where(RECORD.c.id.in_(_many("ids")), RECORD.c.gone_at.is_(None))
_RECORDS_AT = select(RECORD.c.id, RECORD.c.type).where(RECORD.c.url.in_(_many("urls")))
_LISTED_OFFERS = select(RECORD.c.id, RECORD.c.url, RECORD.c.item_key, RECORD.c.data).where(
    RECORD.c.url.in_(_many("urls")), RECORD.c.type == "offer", RECORD.c.gone_at.is_(None)
)
_URLS_OF_RUN = (
    select(RECORD.c.url)
    .where(RECORD.c.url.in_(_many("urls")), RECORD.c.crawl_run_id.is_not_distinct_from(bindparam("run")))
    .distinct()
)  # fmt: skip
_FETCHED = select(PAGE.c.url).where(PAGE.c.url.in_(_many("urls")), PAGE.c.fetched_at.is_not(None))
_OPEN_QUARANTINE = update(QUARANTINE).where(
    QUARANTINE.c.url.in_(_many("urls")), QUARANTINE.c.resolved_at.is_(None)
)
_OPEN_QUARANTINE_EXCEPT = _OPEN_QUARANTINE.where(QUARANTINE.c.reason.not_in(_many("kept")))
_QUARANTINED = select(QUARANTINE.c.id).where(
    *(QUARANTINE.c[k] == bindparam(k) for k in ("site", "url", "record_type", "reason"))
)
_ADD_CHANGES = insert(CHANGE)


def _dialect_insert(dialect: str) -> Any:
    return (postgresql if dialect == "postgresql" else sqlite).insert


@dataclass(frozen=True)
class _Upserts:
    """The statements whose ``ON CONFLICT`` clause is dialect-specific."""

    records: Any  # insert ... on conflict do nothing returning (id, key): what it inserted
    quarantine: Any


@cache
def _upserts(dialect: str) -> _Upserts:
    records = (
        _dialect_insert(dialect)(RECORD)
        .on_conflict_do_nothing(index_elements=list(KEY_COLUMNS))
        .returning(RECORD.c.id, *(RECORD.c[k] for k in KEY_COLUMNS))
    )
    quarantine = _dialect_insert(dialect)(QUARANTINE)
    quarantine = quarantine.on_conflict_do_update(
        index_elements=["site", "url", "record_type", "reason"],
        set_={"times_seen": QUARANTINE.c.times_seen + 1,
              **{c: quarantine.excluded[c] for c in ("last_seen", "errors", "raw", "crawl_run_id")}},
    )  # fmt: skip
    return _Upserts(records, quarantine)


@cache
def _page_upsert(dialect: str, columns: tuple[str, ...]) -> Any:
    """The page upsert setting ``columns`` (a 304 sets fewer than a full fetch)."""
    stmt = _dialect_insert(dialect)(PAGE)
    return stmt.on_conflict_do_update(
        index_elements=["url"], set_={c: stmt.excluded[c] for c in columns if c != "url"}
    )


# ------------------------------------------------------------------ the batch


def stage(session: Session, items: list[Storable], run_id: int | None) -> Counter[str]:
    """Stage one batch in the session's transaction; returns counts by outcome (new, updated,
    unchanged, quarantined, quarantined_again, page, not_modified).

    Records are written before pages, in segments of the batch: a segment ends where an item
    follows its page's ``PageSeen`` (a page fetched again within the batch), so that the
    outcome is the one of writing the items in the batch's order."""
    counts: Counter[str] = Counter()
    for segment in _segments(items):
        counts.update(_stage_segment(session, segment, run_id))
    return counts


def _url(item: Storable) -> str:
    if isinstance(item, PageSeen):
        return item.page.url
    return item.record.url if isinstance(item, Accepted) else item.url


def _segments(items: list[Storable]) -> list[list[Storable]]:
    """The batch cut before every item whose page's ``PageSeen`` is already in the current
    segment: within a segment, every item of a page precedes the page's ``PageSeen``."""
    segments: list[list[Storable]] = [[]]
    pages: set[str] = set()
    for item in items:
        url = _url(item)
        if url in pages:
            segments.append([])
            pages = set()
        segments[-1].append(item)
        if isinstance(item, PageSeen):
            pages.add(url)
    return segments


def _stage_segment(session: Session, items: list[Storable], run_id: int | None) -> Counter[str]:
    """Records and rejections, then pages (whose outcome depends on the records).

    A re-crawl mostly brings records it has already stored: their stored versions are read in
    one query, a record whose content hash has not moved only gets ``last_seen`` (in one bulk
    update at the end), records not stored yet are inserted together, and only changed
    records (or ones another writer got to first) take the per-record path."""
    conn, now = session.connection(), utcnow()
    counts: Counter[str] = Counter()
    prepared = [_prepare(item) if isinstance(item, Accepted) else None for item in items]
    known = _known(conn, [p[0] for p in prepared if p is not None])
    inserted = _insert_new(conn, items, prepared, known, run_id, now)
    fetched = _fetched(conn, {key[1] for key in inserted if key[2] == "offer"})
    unchanged: dict[int, str] = {}  # record id -> its type
    appeared: list[dict[str, Any]] = []  # change rows of offers new on a page fetched before
    for item, prep in zip(items, prepared, strict=True):
        if isinstance(item, Rejected):
            counts[quarantine(session, item, run_id)] += 1
        elif isinstance(item, Accepted) and prep is not None:
            key, data, digest = prep
            row = known.get(key)
            if row is not None and row[1] == digest and row[2] is None:
                unchanged[row[0]] = key[2]
                counts["unchanged"] += 1
                continue
            rid = inserted.pop(key, None)  # popped: a second record with the key is an update
            counts[_upsert(session, item, run_id, prep, rid)] += 1
            if rid is not None and key[2] == "offer" and key[1] in fetched:
                appeared.append(_change_row(rid, "offer", None, offer_summary(data), now, run_id))
    _add_changes(conn, appeared)
    counts.update(_pages_seen(conn, [i for i in items if isinstance(i, PageSeen)], run_id, now))
    _touch(conn, unchanged, now)
    return counts


def _prepare(item: Accepted) -> Prepared:
    data = item.record.model_dump(mode="json")
    return (data["site"], data["url"], data["type"], item_key(data)), data, content_hash(data)


def _chunks(values: Iterable[Any], n: int = CHUNK) -> list[list[Any]]:
    values = list(values)
    return [values[i : i + n] for i in range(0, len(values), n)]


def _known(conn: Connection, keys: list[Key]) -> dict[Key, tuple[int, str, Any]]:
    """The stored (id, content hash, gone_at) of the batch's records, in a query per
    ``CHUNK`` URLs (``source_record.url`` is indexed)."""
    wanted = set(keys)
    found: dict[Key, tuple[int, str, Any]] = {}
    for chunk in _chunks(sorted({k[1] for k in wanted})):
        for site, url, type_, ikey, rid, digest, gone_at in conn.execute(_KNOWN, {"urls": chunk}):
            if (site, url, type_, ikey) in wanted:
                found[(site, url, type_, ikey)] = (rid, digest, gone_at)
    return found


def _record_row(key: Key, raw: dict[str, Any], data: dict[str, Any], digest: str,
                run_id: int | None, now: datetime) -> dict[str, Any]:  # fmt: skip
    site, url, type_, ikey = key
    return {"site": site, "url": url, "type": type_, "item_key": ikey, "raw": raw, "data": data,
            "content_hash": digest, "first_seen": now, "last_seen": now, "crawl_run_id": run_id,
            "resolved": False}  # fmt: skip


def _insert_new(conn: Connection, items: list[Storable], prepared: list[Prepared | None],
                known: dict[Key, Any], run_id: int | None, now: datetime) -> dict[Key, int]:  # fmt: skip
    """Insert the records not stored yet (the first of each key) with one executemany; returns
    the ids of those it inserted. A key another writer stored meanwhile is not returned
    (``DO NOTHING``): that record takes the per-record path and is compared with its version."""
    rows: dict[Key, dict[str, Any]] = {}
    for item, prep in zip(items, prepared, strict=True):
        if isinstance(item, Accepted) and prep is not None:
            key, data, digest = prep
            if key not in known and key not in rows:
                rows[key] = _record_row(key, item.raw, data, digest, run_id, now)
    if not rows:
        return {}
    result = conn.execute(_upserts(conn.dialect.name).records, list(rows.values()))
    return {(site, url, type_, ikey): rid for rid, site, url, type_, ikey in result}


def _fetched(conn: Connection, urls: Iterable[str]) -> set[str]:
    """Which of these pages an earlier fetch stored (so a record new on one appeared since)."""
    return {url for chunk in _chunks(sorted(urls)) for (url,) in conn.execute(_FETCHED, {"urls": chunk})}  # fmt: skip


def _touch(conn: Connection, records: dict[int, str], now: datetime) -> None:
    """``last_seen`` of records seen again unchanged (and of their offer rows), in bulk."""
    for chunk in _chunks(sorted(records)):
        conn.execute(_RECORDS_BY_ID, {"ids": chunk, "last_seen": now})
    offers = _offer_rows_of(conn, [rid for rid, type_ in records.items() if type_ == "offer"])
    for chunk in _chunks(sorted(offers)):
        conn.execute(_OFFERS_BY_RECORD, {"ids": chunk, "last_seen": now})


def _offer_rows_of(conn: Connection, record_ids: list[int]) -> set[int]:
    """The records whose offer rows stand for these offer records: themselves, or the
    holder of the offer they are another copy of."""
    out = set(record_ids)
    for chunk in _chunks(sorted(record_ids)):
        out.update(holder for _, holder in conn.execute(_HOLDERS, {"ids": chunk}))
    return out


def _set_gone(conn: Connection, record_ids: list[int], when: datetime | None) -> None:
    """Records gone from their pages (or back, ``when`` None), and their offer rows: an offer
    several records list is gone only once none of them lists it."""
    for chunk in _chunks(record_ids):
        conn.execute(_RECORDS_BY_ID, {"ids": chunk, "gone_at": when})
    holders = _offer_rows_of(conn, record_ids)
    if when is not None:
        holders -= _live(conn, holders)
    for chunk in _chunks(sorted(holders)):
        conn.execute(_OFFERS_BY_RECORD, {"ids": chunk, "gone_at": when})


def _live(conn: Connection, holders: set[int]) -> set[int]:
    """Which of these offer rows' records, or their copies, are still listed somewhere."""
    live: set[int] = set()
    for chunk in _chunks(sorted(holders)):
        live.update(rid for (rid,) in conn.execute(_LIVE_RECORDS, {"ids": chunk}))
        live.update(rid for (rid,) in conn.execute(_LIVE_COPIES, {"ids": chunk}))
    return live


def offer_summary(data: dict[str, Any]) -> dict[str, Any]:
    """An offer as its change rows show it."""
    return {k: data.get(k) for k in ("provider", "country", "monetization", "quality", "price",
                                     "currency")}  # fmt: skip


def _change_row(record_id: int, name: str, old: Any, new: Any, at: datetime,
                run_id: int | None) -> dict[str, Any]:  # fmt: skip
    return {"source_record_id": record_id, "field": name, "old": old, "new": new, "at": at,
            "crawl_run_id": run_id}  # fmt: skip


def _add_changes(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(_ADD_CHANGES, rows)


# ------------------------------------------------------------------ one record


def _upsert(session: Session, item: Accepted, run_id: int | None,
            prepared: Prepared | None = None, inserted: int | None = None) -> str:  # fmt: skip
    """The outcome of a record not simply seen again unchanged: looked up, then inserted, or
    updated if its content moved, over again whenever another writer got in between.

    ``inserted`` is the id the batch's insert gave the record: it is new, nothing is left to
    do. It still passes here so that every record not seen unchanged has one place where its
    own outcome, or failure, is decided (tests/test_store_faults.py makes records fail here)."""
    if inserted is not None:
        return "new"
    key, data, digest = prepared or _prepare(item)
    conn, now = session.connection(), utcnow()
    while True:
        row = conn.execute(_FIND, dict(zip(KEY_COLUMNS, key, strict=True))).first()
        if row is None:
            found = conn.execute(_upserts(conn.dialect.name).records,
                                 _record_row(key, item.raw, data, digest, run_id, now)).first()  # fmt: skip
            if found is None:
                continue  # another process inserted it first: compare with what it stored
            if data["type"] == "offer" and _fetched(conn, [data["url"]]):
                _add_changes(conn, [_change_row(found[0], "offer", None, offer_summary(data), now, run_id)])  # fmt: skip
            return "new"
        rid, old_hash, old_data, changes, gone_at = row
        if gone_at is not None:  # an offer back on its page
            _set_gone(conn, [rid], None)
            _add_changes(conn, [_change_row(rid, "offer", None, offer_summary(data), now, run_id)])
        if old_hash == digest:
            _touch(conn, {rid: data["type"]}, now)
            return "unchanged"
        if _replace(
            conn, item, rid, (old_hash, old_data or {}, changes), data, digest, run_id, now
        ):
            return "updated"
        # another process changed it meanwhile: compare with its version


def _replace(conn: Connection, item: Accepted, rid: int, old: tuple[str, dict[str, Any], Any],
             data: dict[str, Any], digest: str, run_id: int | None, now: datetime) -> bool:  # fmt: skip
    """Replace the stored version ``old`` (hash, data, changes) with this one, noting which
    fields changed; False if another writer replaced that version first."""
    old_hash, old_data, changes = old
    changed = sorted(k for k in set(data) | set(old_data) if data.get(k) != old_data.get(k))
    won = conn.execute(_UPDATE_VERSION, {
        "rid": rid, "old_hash": old_hash, "raw": item.raw, "data": data, "content_hash": digest,
        "last_seen": now, "crawl_run_id": run_id, "resolved": False,
        "changes": [*(changes or []), {"at": now.isoformat(), "fields": changed, "previous_hash": old_hash}],
    }).first()  # fmt: skip
    if won is None:
        return False
    _add_changes(conn, [_change_row(rid, name, old_data.get(name), data.get(name), now, run_id)
                        for name in changed])  # fmt: skip
    return True


# ------------------------------------------------------------------ pages


def _pages_seen(conn: Connection, pages: list[PageSeen], run_id: int | None,
                now: datetime) -> Counter[str]:  # fmt: skip
    """Record fetches of pages (distinct URLs): validators and times for the next crawl; on
    304, every record of the page was seen again unchanged; otherwise, offers it no longer
    lists are gone and quarantine entries it no longer earns are closed."""
    fresh = [p for p in pages if p.page.status != 304]
    not_modified = [p.page for p in pages if p.page.status == 304]
    _touch(conn, _records_at(conn, [page.url for page in not_modified]), now)
    gone = _mark_gone(conn, fresh, run_id, now)
    _close_quarantine(conn, fresh, now)
    changed = gone | _urls_of_run(conn, [p.page.url for p in fresh if p.page.url not in gone], run_id)  # fmt: skip
    _save_pages(conn, [_page_row(p.page, run_id, now, p.page.url in changed) for p in pages])
    return +Counter(page=len(fresh), not_modified=len(not_modified))  # (+: without zeros)


def _records_at(conn: Connection, urls: list[str]) -> dict[int, str]:
    """Every record of these pages: id -> type."""
    return {rid: type_ for chunk in _chunks(urls) for rid, type_ in conn.execute(_RECORDS_AT, {"urls": chunk})}  # fmt: skip


def _mark_gone(
    conn: Connection, pages: list[PageSeen], run_id: int | None, now: datetime
) -> set[str]:
    """Mark gone the offers these pages no longer list (each with a change row); returns the
    URLs of the pages that lost some."""
    listed = {p.page.url: p.offers for p in pages}
    gone = [(rid, url, data)
            for chunk in _chunks(listed)
            for rid, url, ikey, data in conn.execute(_LISTED_OFFERS, {"urls": chunk})
            if ikey not in listed[url]]  # fmt: skip
    if gone:
        _set_gone(conn, [rid for rid, _, _ in gone], now)
        _add_changes(conn, [_change_row(rid, "offer", offer_summary(data or {}), None, now, run_id)
                            for rid, _, data in gone])  # fmt: skip
    return {url for _, url, _ in gone}


def _close_quarantine(conn: Connection, pages: list[PageSeen], now: datetime) -> None:
    """Close the open quarantine entries of these pages for reasons they no longer earn: one
    statement per distinct set of reasons earned (most pages earn none)."""
    by_kept: defaultdict[frozenset[str], list[str]] = defaultdict(list)
    for p in pages:
        by_kept[p.rejected].append(p.page.url)
    for kept, urls in by_kept.items():
        stmt, where = (_OPEN_QUARANTINE_EXCEPT, {"kept": sorted(kept)}) if kept else (_OPEN_QUARANTINE, {})  # fmt: skip
        for chunk in _chunks(urls):
            conn.execute(stmt, {"urls": chunk, **where, "resolved_at": now, "retry": False})


def _urls_of_run(conn: Connection, urls: list[str], run_id: int | None) -> set[str]:
    """Which of these pages hold a record this run stored or changed (the page changed)."""
    return {url for chunk in _chunks(urls)
            for (url,) in conn.execute(_URLS_OF_RUN, {"urls": chunk, "run": run_id})}  # fmt: skip


def _page_row(
    page: PageFetched, run_id: int | None, now: datetime, changed: bool
) -> dict[str, Any]:
    values: dict[str, Any] = {"site": page.site, "url": page.url, "status": page.status,
                              "fetched_at": now, "crawl_run_id": run_id}  # fmt: skip
    if page.status != 304:  # a 304 keeps what the page was and where it led
        values["kind"] = page.kind
        values["links"] = [list(link) for link in page.links]
    for name in ("etag", "last_modified"):  # a 304 need not repeat its validators
        if getattr(page, name) or page.status != 304:
            values[name] = getattr(page, name)
    if changed:
        values["changed_at"] = now
    return values


def _save_pages(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Upsert the page rows: an executemany per distinct set of columns set."""
    by_columns: defaultdict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_columns[tuple(row)].append(row)
    for columns, group in by_columns.items():
        conn.execute(_page_upsert(conn.dialect.name, columns), group)


# ------------------------------------------------------------------ quarantine


def quarantine(session: Session, item: Rejected, run_id: int | None) -> str:
    """Quarantine a rejected record or page; a repeat bumps ``times_seen``."""
    conn, now = session.connection(), utcnow()
    where = {"site": item.site, "url": item.url, "record_type": item.record_type,
             "reason": item.reason}  # fmt: skip
    seen = conn.execute(_QUARANTINED, where).first()
    conn.execute(_upserts(conn.dialect.name).quarantine,
                 {**where, "raw": item.raw, "errors": item.errors, "crawl_run_id": run_id,
                  "at": now, "last_seen": now, "times_seen": 1})  # fmt: skip
    return "quarantined_again" if seen else "quarantined"


__all__ = [
    "Accepted",
    "PageSeen",
    "Rejected",
    "Storable",
    "content_hash",
    "item_key",
    "quarantine",
    "stage",
]
