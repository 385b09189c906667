"""Stored works as identity sees them (for references and synopsis checks), and the title rows
films give."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from pipelines.catalog.batching import select_in
from pipelines.catalog.models import Credit, ExternalId, Person, SourceRecord, Work, WorkTitle
from pipelines.identity import Profile, WorkFacts, title_variants
from pipelines.records import Film, Kind


def title_rows(work_id: int, record_id: int | None, film: Film) -> list[dict[str, Any]]:
    """One ``WorkTitle`` row per title the record gives, plus hidden ``variant`` rows for
    blocking keys (dicts, for a bulk INSERT)."""
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    entries = [(film.title, None, None, "display")]
    if film.original_title:
        entries.append((film.original_title, None, None, "original"))
    entries += [(t.title, t.language, t.region, t.type) for t in film.titles]
    for title, lang, region, ttype in entries:
        for i, key in enumerate(title_variants(title)):
            kind = ttype if i == 0 else "variant"
            if (title, key) in seen:
                continue
            seen.add((title, key))
            rows.append({"work_id": work_id, "source_record_id": record_id, "title": title,
                         "key": key, "language": lang, "region": region, "type": kind})  # fmt: skip
    return rows


def candidates_by_key(session: Session, keys: Iterable[str]) -> dict[str, set[int]]:
    """The works known under each of these title keys (indexed lookups, never a scan)."""
    out: dict[str, set[int]] = defaultdict(set)
    for key, wid in select_in(
        session, select(WorkTitle.key, WorkTitle.work_id), WorkTitle.key, keys
    ):
        out[key].add(wid)
    return out


@dataclass(frozen=True)
class StoredWork:
    """A work as references and synopsis checks see it: its identity profile, its own fields
    as flags show them, and its anchor (``work_anchors``)."""

    facts: WorkFacts
    title: str
    year: int | None
    kind: str
    anchor: str


class WorkCache:
    """Stored works loaded once per resolver pass: between reclustering and the refresh of
    synopses nothing references or synopsis checks read of a work changes."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._works: dict[int, StoredWork] = {}
        self._loaded: set[int] = set()

    def get(self, work_ids: Iterable[int]) -> dict[int, StoredWork]:
        """These works (those that exist), loading the ones not seen yet."""
        ids = set(work_ids)
        if missing := ids - self._loaded:
            self._works.update(stored_works(self.session, missing))
            self._loaded |= missing
        return {wid: self._works[wid] for wid in ids if wid in self._works}


def stored_works(session: Session, work_ids: Iterable[int]) -> dict[int, StoredWork]:
    """Profiles of stored works (titles, credits, ids) for scoring, in a few queries."""
    ids = set(work_ids)
    works = select_in(session, select(Work.id, Work.title, Work.year, Work.kind,
                                      Work.runtime_minutes), Work.id, ids)  # fmt: skip
    titles: dict[int, list[str]] = defaultdict(list)
    stmt = select(WorkTitle.work_id, WorkTitle.title).order_by(WorkTitle.id)
    for wid, title in select_in(session, stmt, WorkTitle.work_id, ids):
        if title not in titles[wid]:
            titles[wid].append(title)
    ext: dict[int, dict[str, str]] = defaultdict(dict)
    stmt = select(ExternalId.work_id, ExternalId.namespace, ExternalId.value).order_by(
        ExternalId.id
    )
    for wid, ns, value in select_in(session, stmt, ExternalId.work_id, ids):
        ext[wid].setdefault(ns, value)
    credits: dict[int, list[tuple[str, str, str | None]]] = defaultdict(list)
    stmt = (select(Credit.work_id, Person.name, Credit.role, Credit.character)
            .join(Person, Person.id == Credit.person_id).order_by(Credit.order, Credit.id))  # fmt: skip
    for wid, name, role, character in select_in(session, stmt, Credit.work_id, ids):
        credits[wid].append((name, role, character))
    anchors = work_anchors(session, ids)
    out: dict[int, StoredWork] = {}
    for wid, title, year, kind, runtime in works:
        cr = credits[wid]
        prof = Profile(
            id=str(wid),
            titles=titles[wid] or [title],
            year=year,
            kind=Kind(kind),
            runtime=runtime,
            directors=_unique(n for n, r, _ in cr if r == "director"),
            cast=_unique(n for n, r, _ in cr if r == "cast"),
            people=_unique(n for n, r, _ in cr if r not in {"director", "cast"}),
            characters=_unique(c for _, _, c in cr if c),
            external_ids=ext[wid],
        )
        facts = WorkFacts(profile=prof, characters=prof.characters)
        out[wid] = StoredWork(facts, title, year, kind, anchors.get(wid, ""))
    return out


def work_anchors(session: Session, work_ids: Iterable[int]) -> dict[int, str]:
    """Each work's first film record ("site url"): an order of works that depends on what
    they hold, not on the ids they happened to get."""
    stmt = (select(SourceRecord.work_id, func.min(SourceRecord.site + " " + SourceRecord.url))
            .where(SourceRecord.type == "film").group_by(SourceRecord.work_id))  # fmt: skip
    return dict(select_in(session, stmt, SourceRecord.work_id, work_ids))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
