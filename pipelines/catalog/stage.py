"""Staging: records stored durably, before and apart from resolution.

A record is keyed by (site, url, type, item_key). Storing the same content again only moves
``last_seen``; changed content replaces the payload, remembers which fields changed and marks
the record pending for the resolver. Rejected records go to quarantine with every reason; a
repeat of the same rejection bumps ``times_seen``.

Every write is safe against other processes staging the same records at the same moment:
inserts are ``ON CONFLICT DO NOTHING`` followed by a re-read, and an update applies only to
the version it was computed from (``content_hash`` compared in the ``WHERE``), else it is
computed again from the version that won.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from pipelines.catalog.models import Change, Offer, Page, Quarantine, SourceRecord, utcnow
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
CHUNK = 500  # values per IN (...) list


def stage(session: Session, items: list[Storable], run_id: int | None) -> Counter[str]:
    """Stage one batch in the session's transaction; returns counts by outcome (new, updated,
    unchanged, quarantined, quarantined_again).

    A re-crawl mostly brings records it has already stored: the batch's stored versions are
    read in one query, a record whose content hash has not moved only gets ``last_seen``, in
    one bulk update at the end, and only new or changed records take the per-record path."""
    counts: Counter[str] = Counter()
    prepared = [_prepare(item) if isinstance(item, Accepted) else None for item in items]
    known = _known(session, [p[0] for p in prepared if p is not None])
    unchanged: dict[int, str] = {}  # record id -> its type
    for item, prep in zip(items, prepared, strict=True):
        if isinstance(item, Rejected):
            counts[quarantine(session, item, run_id)] += 1
        elif isinstance(item, PageSeen):
            counts[page_seen(session, item, run_id)] += 1
        elif prep is not None:
            key, data, digest = prep
            row = known.get(key)
            if row is not None and row[1] == digest and row[2] is None:
                unchanged[row[0]] = key[2]
                counts["unchanged"] += 1
            else:
                counts[_upsert(session, item, run_id, prep)] += 1
    _touch(session, unchanged, utcnow())
    return counts


def _prepare(item: Accepted) -> tuple[Key, dict[str, Any], str]:
    data = item.record.model_dump(mode="json")
    return (data["site"], data["url"], data["type"], item_key(data)), data, content_hash(data)


def _known(session: Session, keys: list[Key]) -> dict[Key, tuple[int, str, Any]]:
    """The stored (id, content hash, gone_at) of the batch's records, in a query per
    ``CHUNK`` URLs (``source_record.url`` is indexed)."""
    wanted = set(keys)
    found: dict[Key, tuple[int, str, Any]] = {}
    for chunk in _chunks(sorted({k[1] for k in wanted})):
        rows = session.execute(
            select(SourceRecord.site, SourceRecord.url, SourceRecord.type, SourceRecord.item_key,
                   SourceRecord.id, SourceRecord.content_hash, SourceRecord.gone_at)
            .where(SourceRecord.url.in_(chunk))
        )  # fmt: skip
        for site, url, type_, ikey, rid, digest, gone_at in rows:
            if (site, url, type_, ikey) in wanted:
                found[(site, url, type_, ikey)] = (rid, digest, gone_at)
    return found


def _touch(session: Session, records: dict[int, str], now: Any) -> None:
    """``last_seen`` of records seen again unchanged (and of their offer rows), in bulk."""
    for chunk in _chunks(sorted(records)):
        session.execute(
            update(SourceRecord).where(SourceRecord.id.in_(chunk)).values(last_seen=now)
        )
    offers = sorted(rid for rid, type_ in records.items() if type_ == "offer")
    for chunk in _chunks(offers):
        session.execute(
            update(Offer).where(Offer.source_record_id.in_(chunk)).values(last_seen=now)
        )


def _chunks(values: list[Any], n: int = CHUNK) -> list[list[Any]]:
    return [values[i : i + n] for i in range(0, len(values), n)]


def _upsert(session: Session, item: Accepted, run_id: int | None,
            prepared: tuple[Key, dict[str, Any], str] | None = None) -> str:  # fmt: skip
    key, data, digest = prepared or _prepare(item)
    now = utcnow()
    while True:
        row = _find(session, key)
        if row is None:
            rid = _insert(session, key, item.raw, data, digest, run_id, now)
            if rid is None:
                continue  # another process inserted it first: compare with what it stored
            if data["type"] == "offer" and _page_known(session, data["url"]):
                _change(session, rid, "offer", None, offer_summary(data), now, run_id)
            return "new"
        rid, old_hash, old_data, changes, gone_at = row
        if gone_at is not None:  # an offer back on its page
            _set_gone(session, [rid], None)
            _change(session, rid, "offer", None, offer_summary(data), now, run_id)
        if old_hash == digest:
            session.execute(
                update(SourceRecord).where(SourceRecord.id == rid).values(last_seen=now)
            )
            if data["type"] == "offer":
                session.execute(
                    update(Offer).where(Offer.source_record_id == rid).values(last_seen=now)
                )
            return "unchanged"
        old_data = old_data or {}
        changed = sorted(k for k in set(data) | set(old_data) if data.get(k) != old_data.get(k))
        won = session.execute(
            update(SourceRecord)
            .where(SourceRecord.id == rid, SourceRecord.content_hash == old_hash)
            .values(
                raw=item.raw,
                data=data,
                content_hash=digest,
                last_seen=now,
                crawl_run_id=run_id,
                resolved=False,
                changes=[
                    *(changes or []),
                    {"at": now.isoformat(), "fields": changed, "previous_hash": old_hash},
                ],
            )  # fmt: skip
            .returning(SourceRecord.id)
        ).first()
        if won is not None:
            for name in changed:
                _change(session, rid, name, old_data.get(name), data.get(name), now, run_id)
            return "updated"
        # another process changed it meanwhile: compare with its version


def offer_summary(data: dict[str, Any]) -> dict[str, Any]:
    """An offer as its change rows show it."""
    return {k: data.get(k) for k in ("provider", "country", "monetization", "quality", "price",
                                     "currency")}  # fmt: skip


def _change(session: Session, record_id: int, name: str, old: Any, new: Any, at: Any,
            run_id: int | None) -> None:  # fmt: skip
    session.execute(insert(Change).values(source_record_id=record_id, field=name, old=old,
                                          new=new, at=at, crawl_run_id=run_id))  # fmt: skip


def _page_known(session: Session, url: str) -> bool:
    """Whether an earlier crawl fetched this page (so a record new on it appeared since)."""
    return session.execute(select(Page.id).where(Page.url == url, Page.fetched_at.is_not(None))
                           ).first() is not None  # fmt: skip


def _set_gone(session: Session, record_ids: list[int], when: Any) -> None:
    session.execute(
        update(SourceRecord).where(SourceRecord.id.in_(record_ids)).values(gone_at=when)
    )
    session.execute(
        update(Offer).where(Offer.source_record_id.in_(record_ids)).values(gone_at=when)
    )


def page_seen(session: Session, seen: PageSeen, run_id: int | None) -> str:
    """Record a fetch of a page: validators and times for the next crawl; on 304, every record
    of the page was seen again unchanged; otherwise, offers it no longer lists are gone and
    quarantine entries it no longer earns are closed."""
    page, now = seen.page, utcnow()
    if page.status == 304:
        ids = [
            r
            for (r,) in session.execute(select(SourceRecord.id).where(SourceRecord.url == page.url))
        ]
        if ids:
            session.execute(
                update(SourceRecord).where(SourceRecord.id.in_(ids)).values(last_seen=now)
            )
            session.execute(
                update(Offer).where(Offer.source_record_id.in_(ids)).values(last_seen=now)
            )
        _save_page(session, page, run_id, now, changed=False)
        return "not_modified"
    gone = [
        (rid, data)
        for rid, ikey, data in session.execute(
            select(SourceRecord.id, SourceRecord.item_key, SourceRecord.data).where(
                SourceRecord.url == page.url,
                SourceRecord.type == "offer",
                SourceRecord.gone_at.is_(None),
            )
        )  # fmt: skip
        if ikey not in seen.offers
    ]
    if gone:
        _set_gone(session, [rid for rid, _ in gone], now)
        for rid, data in gone:
            _change(session, rid, "offer", offer_summary(data or {}), None, now, run_id)
    session.execute(
        update(Quarantine)
        .where(
            Quarantine.url == page.url,
            Quarantine.resolved_at.is_(None),
            Quarantine.reason.not_in(sorted(seen.rejected)),
        )  # fmt: skip
        .values(resolved_at=now, retry=False)
    )
    changed = bool(gone) or session.execute(select(SourceRecord.id).where(
        SourceRecord.url == page.url, SourceRecord.crawl_run_id == run_id)).first() is not None  # fmt: skip
    _save_page(session, page, run_id, now, changed)
    return "page"


def _save_page(session: Session, page: PageFetched, run_id: int | None, now: Any,
               changed: bool) -> None:  # fmt: skip
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
    stmt = _insert_stmt(session)(Page).values(**values)
    session.execute(stmt.on_conflict_do_update(index_elements=["url"], set_=values))


def _find(session: Session, key: tuple[str, str, str, str]) -> Any:
    site, url, type_, ikey = key
    return session.execute(
        select(
            SourceRecord.id,
            SourceRecord.content_hash,
            SourceRecord.data,
            SourceRecord.changes,
            SourceRecord.gone_at,
        ).where(
            SourceRecord.site == site,
            SourceRecord.url == url,
            SourceRecord.type == type_,
            SourceRecord.item_key == ikey,
        )  # fmt: skip
    ).first()


def _insert_stmt(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert


def _insert(session: Session, key: tuple[str, str, str, str], raw: dict[str, Any],
            data: dict[str, Any], digest: str, run_id: int | None, now: Any) -> int | None:  # fmt: skip
    site, url, type_, ikey = key
    stmt = (
        _insert_stmt(session)(SourceRecord)
        .values(
            site=site,
            url=url,
            type=type_,
            item_key=ikey,
            raw=raw,
            data=data,
            content_hash=digest,
            first_seen=now,
            last_seen=now,
            crawl_run_id=run_id,
            resolved=False,
        )  # fmt: skip
        .on_conflict_do_nothing(index_elements=["site", "url", "type", "item_key"])
        .returning(SourceRecord.id)
    )
    row = session.execute(stmt).first()
    return None if row is None else row[0]


def quarantine(session: Session, item: Rejected, run_id: int | None) -> str:
    """Quarantine a rejected record or page; a repeat bumps ``times_seen``."""
    where = (Quarantine.site == item.site, Quarantine.url == item.url,
             Quarantine.record_type == item.record_type, Quarantine.reason == item.reason)  # fmt: skip
    now = utcnow()
    seen = session.execute(select(Quarantine.id).where(*where)).first()
    stmt = (
        _insert_stmt(session)(Quarantine).values(
            site=item.site,
            url=item.url,
            record_type=item.record_type,
            reason=item.reason,
            raw=item.raw,
            errors=item.errors,
            crawl_run_id=run_id,
            at=now,
            last_seen=now,
            times_seen=1,
        )  # fmt: skip
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["site", "url", "record_type", "reason"],
        set_={
            "times_seen": Quarantine.times_seen + 1,
            "last_seen": now,
            "errors": item.errors,
            "raw": item.raw,
            "crawl_run_id": run_id,
        },  # fmt: skip
    )
    session.execute(stmt)
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
