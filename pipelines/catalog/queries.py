"""Reading the catalog: works as the export/CLI shape (DESIGN.md §5), search, and detail.

Works are assembled in chunks with one query per related table per chunk, so exporting a
large catalog streams with flat memory and no per-work query storm.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import func
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

CHUNK = 500


def works_by_ids(session: Session, ids: Sequence[int]) -> list[dict[str, Any]]:
    """Works in the exported shape, in the order of ``ids``."""
    if not ids:
        return []
    works = {w.id: w for w in session.exec(select(Work).where(Work.id.in_(ids))).all()}
    titles: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for t in session.exec(select(WorkTitle).where(WorkTitle.work_id.in_(ids), WorkTitle.type != "variant")
                          .order_by(WorkTitle.id)).all():  # fmt: skip
        entry = {"title": t.title, "language": t.language, "type": t.type}
        if entry not in titles[t.work_id]:
            titles[t.work_id].append(entry)
    ext: dict[int, dict[str, str]] = defaultdict(dict)
    for e in session.exec(
        select(ExternalId).where(ExternalId.work_id.in_(ids)).order_by(ExternalId.id)
    ).all():
        ext[e.work_id].setdefault(e.namespace, e.value)
    directors: dict[int, list[str]] = defaultdict(list)
    writers: dict[int, list[str]] = defaultdict(list)
    cast: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for c, name in session.exec(select(Credit, Person.name).join(Person, Person.id == Credit.person_id)
                                .where(Credit.work_id.in_(ids)).order_by(Credit.order, Credit.id)).all():  # fmt: skip
        if c.role == "director" and name not in directors[c.work_id]:
            directors[c.work_id].append(name)
        elif c.role in {"writer", "creator"} and name not in writers[c.work_id]:
            writers[c.work_id].append(name)
        elif c.role == "cast":
            entry = {"name": name, "character": c.character}
            if not any(e["name"] == name for e in cast[c.work_id]):
                cast[c.work_id].append(entry)
    ratings: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in session.exec(
        select(Rating).where(Rating.work_id.in_(ids)).order_by(Rating.source, Rating.id)
    ).all():
        ratings[r.work_id].append({"source": r.source, "value": r.raw, "scale_max": r.scale_max,
                                   "value_100": r.value_100, "count": r.count, "kind": r.kind})  # fmt: skip
    sources: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for sr in session.exec(select(SourceRecord.work_id, SourceRecord.site, SourceRecord.url, SourceRecord.type)
                           .where(SourceRecord.work_id.in_(ids)).order_by(SourceRecord.site, SourceRecord.url)).all():  # fmt: skip
        entry = {"site": sr.site, "url": sr.url, "type": sr.type}
        if entry not in sources[sr.work_id]:
            sources[sr.work_id].append(entry)
    merged: dict[int, list[int]] = defaultdict(list)
    for alias, wid in session.exec(select(WorkAlias.id, WorkAlias.work_id)
                                   .where(WorkAlias.work_id.in_(ids)).order_by(WorkAlias.id)).all():  # fmt: skip
        merged[wid].append(alias)  # type: ignore[index]
    flags: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for f, url in session.exec(select(Flag, SourceRecord.url).join(SourceRecord, SourceRecord.id == Flag.source_record_id, isouter=True)
                               .where(Flag.work_id.in_(ids)).order_by(Flag.id)).all():  # fmt: skip
        flags[f.work_id].append({"kind": f.kind, "detail": f.detail, "url": url})  # type: ignore[index]
    out = []
    for wid in ids:
        w = works.get(wid)
        if w is None:
            continue
        out.append({
            "id": w.id, "title": w.title, "original_title": w.original_title, "year": w.year,
            "kind": w.kind, "runtime_minutes": w.runtime_minutes, "genres": w.genres or [],
            "directors": directors[wid], "writers": writers[wid], "cast": cast[wid],
            "titles": titles[wid], "external_ids": ext[wid], "ratings": ratings[wid],
            "synopsis": w.synopsis, "sources": sources[wid], "flags": flags[wid],
            "merged_ids": merged[wid],
        })  # fmt: skip
    return out


def iter_works(session: Session) -> Iterator[dict[str, Any]]:
    """Every work in id order, chunk by chunk."""
    last = 0
    while True:
        ids = list(
            session.exec(select(Work.id).where(Work.id > last).order_by(Work.id).limit(CHUNK)).all()
        )
        if not ids:
            return
        yield from works_by_ids(session, ids)
        last = ids[-1]


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
    work["decisions"] = [
        {"site": sr.site, "url": sr.url, "type": sr.type, "outcome": d.outcome, "score": d.score,
         "reasons": d.reasons or []}
        for d, sr in session.exec(select(MatchDecision, SourceRecord)
                                  .join(SourceRecord, SourceRecord.id == MatchDecision.source_record_id)
                                  .where(MatchDecision.work_id == work_id)
                                  .order_by(SourceRecord.type, SourceRecord.site, SourceRecord.url)).all()
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
