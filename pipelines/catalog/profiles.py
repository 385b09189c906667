"""Stored works as identity sees them (for references), and the title rows films give."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlmodel import Session, select

from pipelines.catalog.models import Credit, ExternalId, Person, Work, WorkTitle
from pipelines.identity import Profile, WorkFacts, title_variants
from pipelines.records import Film, Kind


def title_rows(work_id: int, record_id: int | None, film: Film) -> list[WorkTitle]:
    """One row per title the record gives, plus hidden ``variant`` rows for blocking keys."""
    rows: list[WorkTitle] = []
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
            rows.append(WorkTitle(work_id=work_id, source_record_id=record_id, title=title,
                                  key=key, language=lang, region=region, type=kind))  # fmt: skip
    return rows


def candidate_work_ids(session: Session, keys: Iterable[str]) -> set[int]:
    """Works known under one of these title keys (an indexed lookup, never a scan)."""
    keys = sorted(set(keys))
    if not keys:
        return set()
    return set(session.exec(select(WorkTitle.work_id).where(WorkTitle.key.in_(keys))).all())


def work_facts(session: Session, work_ids: Iterable[int]) -> dict[int, WorkFacts]:
    """Profiles of stored works (titles, credits, ids) for scoring, in a few queries."""
    ids = sorted(set(work_ids))
    if not ids:
        return {}
    works = {w.id: w for w in session.exec(select(Work).where(Work.id.in_(ids))).all()}
    titles: dict[int, list[str]] = defaultdict(list)
    for wid, title in session.exec(
        select(WorkTitle.work_id, WorkTitle.title)
        .where(WorkTitle.work_id.in_(ids))
        .order_by(WorkTitle.id)
    ).all():
        if title not in titles[wid]:
            titles[wid].append(title)
    ext: dict[int, dict[str, str]] = defaultdict(dict)
    for wid, ns, value in session.exec(
        select(ExternalId.work_id, ExternalId.namespace, ExternalId.value)
        .where(ExternalId.work_id.in_(ids))
        .order_by(ExternalId.id)
    ).all():
        ext[wid].setdefault(ns, value)
    credits: dict[int, list[tuple[str, str, str | None]]] = defaultdict(list)
    for wid, name, role, character in session.exec(
        select(Credit.work_id, Person.name, Credit.role, Credit.character)
        .join(Person, Person.id == Credit.person_id)
        .where(Credit.work_id.in_(ids))
        .order_by(Credit.order, Credit.id)
    ).all():
        credits[wid].append((name, role, character))
    out: dict[int, WorkFacts] = {}
    for wid, work in works.items():
        cr = credits[wid]
        prof = Profile(
            id=str(wid),
            titles=titles[wid] or [work.title],
            year=work.year,
            kind=Kind(work.kind),
            runtime=work.runtime_minutes,
            directors=_unique(n for n, r, _ in cr if r == "director"),
            cast=_unique(n for n, r, _ in cr if r == "cast"),
            people=_unique(n for n, r, _ in cr if r not in {"director", "cast"}),
            characters=_unique(c for _, _, c in cr if c),
            external_ids=ext[wid],
        )
        out[wid] = WorkFacts(profile=prof, characters=prof.characters)
    return out


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
