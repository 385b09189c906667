"""The resolver: turns staged records into works, attachments, decisions and flags.

Resolution is a pure function of the stored records, recomputed a component at a time:

1. **Films.** The pending film records' key components (``pipelines.catalog.keys``, old keys
   and new) are loaded whole and clustered from scratch (``cluster.cluster_films``), then the
   clusters are mapped onto stable work ids (``workids.plan_ids``) and written in bulk.
2. **References** whose page changed, or that can see a work of a recomputed component, are
   decided again against the works as they now stand.
   Reviews, offers and quotes that are one item (``duplicates``) then get one row each.
3. **Synopses** of the recomputed works, and those mentioning their people or characters
   (old credits and new), are checked again; the works whose synopsis choice moved are
   refreshed.

Because every step recomputes whole units from the stored records, resolving in any number of
passes, after records arrived in any order, gives exactly what ``rebuild`` gives. Passes are
serialized across processes by the resolver lock (``pipelines.catalog.locks``), one
transaction each; staging never waits for them except on SQLite, whose writers take turns.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, func, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from pipelines.catalog.batching import CHUNK, chunks, insert_rows, select_in
from pipelines.catalog.cluster import Cluster, FilmRecord, Outcome, cluster_films, work_fields
from pipelines.catalog.db import write_session
from pipelines.catalog.keys import film_keys, reference_keys
from pipelines.catalog.locks import RESOLVER, acquire
from pipelines.catalog.models import (
    Credit,
    ExternalId,
    Flag,
    MatchDecision,
    Mention,
    Offer,
    Person,
    Quote,
    Rating,
    RecordKey,
    Review,
    SourceRecord,
    Work,
    WorkAlias,
    WorkTitle,
    utcnow,
)
from pipelines.catalog.profiles import WorkCache, title_rows
from pipelines.catalog.references import (
    REFERENCE_ROWS,
    REFERENCE_TYPES,
    Items,
    point_records,
    resolve_references,
    settle_duplicates,
)
from pipelines.catalog.textcheck import (
    check_synopses,
    credit_mention_keys,
    mention_keys,
    records_mentioning,
)
from pipelines.catalog.workids import plan_ids
from pipelines.identity import character_key, person_key
from pipelines.records import Film

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
PASS_LIMIT = 500  # pending records taken per pass (one transaction)
FILM_FLAGS = ("ambiguous_match", "id_kind_conflict")


def _records() -> Any:
    """Source records as the resolver reads them: never their raw scrape or change log."""
    return select(SourceRecord).options(defer(SourceRecord.raw), defer(SourceRecord.changes))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ entry points


class Resolver:
    """Resolves a catalog's pending records, or rebuilds it, under the resolver lock."""

    def __init__(self, engine: Engine, pass_limit: int = PASS_LIMIT) -> None:
        self.engine = engine
        self.pass_limit = pass_limit

    def resolve_pending(
        self, wait: bool = True, progress: Progress | None = None
    ) -> Counter[str] | None:
        """Resolve the records pending now, pass by pass (records staged meanwhile are left to
        the processes staging them, so the work of one call is bounded). With ``wait=False``,
        return None at once when another process holds the resolver lock: it resolves what is
        pending. Otherwise wait for it."""
        total: Counter[str] = Counter()
        done = 0
        upto: int | None = None
        while True:
            with write_session(self.engine) as s:
                if not acquire(s, RESOLVER, wait=wait):
                    return total or None
                if upto is None:
                    upto = s.exec(select(func.max(SourceRecord.id))
                                  .where(SourceRecord.resolved.is_(False))).one() or 0  # fmt: skip
                counts = resolve_pass(s, self.pass_limit, upto)
            if counts is None:
                return total
            total.update(counts)
            done += counts.get("pending", 0)
            if progress:
                progress(done, done + pending_count(self.engine, upto))

    def rebuild(self, progress: Progress | None = None) -> Counter[str]:
        """Recompute everything from the stored records in one transaction; work ids stay."""
        with write_session(self.engine) as s:
            acquire(s, RESOLVER, wait=True)
            return rebuild(s, progress)


def pending_count(engine: Engine, upto: int | None = None) -> int:
    """Records staged and not yet resolved (with ids up to ``upto``, when given)."""
    where = [SourceRecord.resolved.is_(False)]
    if upto is not None:
        where.append(SourceRecord.id <= upto)
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(SourceRecord).where(*where)).one()


def resolve_pass(
    session: Session, limit: int = PASS_LIMIT, upto: int | None = None
) -> Counter[str] | None:
    """One pass over at most ``limit`` pending records (ids up to ``upto``) and everything
    they affect; None when nothing is pending. The caller holds the resolver lock."""
    where = [SourceRecord.resolved.is_(False)]
    if upto is not None:
        where.append(SourceRecord.id <= upto)
    pending = session.exec(
        select(SourceRecord.id, SourceRecord.type)
        .where(*where)
        .order_by(SourceRecord.id)
        .limit(limit)
    ).all()
    if not pending:
        return None
    films = {rid for rid, t in pending if t == "film"}
    refs = {rid for rid, t in pending if t != "film"}
    counts = recompute(session, films, refs)
    counts["pending"] += len(pending)
    return counts


def rebuild(session: Session, progress: Progress | None = None) -> Counter[str]:
    """Every derived row dropped and computed again; works keep their ids (``plan_ids``)."""
    for table in (WorkTitle, ExternalId, Credit, Rating, Mention, *REFERENCE_ROWS, MatchDecision,
                  Flag, RecordKey):  # fmt: skip
        session.exec(delete(table))
    films = set(session.exec(select(SourceRecord.id).where(SourceRecord.type == "film")).all())
    refs = set(
        session.exec(select(SourceRecord.id).where(SourceRecord.type.in_(REFERENCE_TYPES))).all()
    )
    return recompute(session, films, refs, everything=True, progress=progress)


# ------------------------------------------------------------------------------ recompute


@dataclass
class _Loaded:
    """Film records of the components being recomputed, with what they held before."""

    rows: dict[int, SourceRecord] = field(default_factory=dict)
    old_keys: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    keys_seen: set[str] = field(default_factory=set)


def recompute(session: Session, film_ids: set[int], ref_ids: set[int], everything: bool = False,
              progress: Progress | None = None) -> Counter[str]:  # fmt: skip
    counts: Counter[str] = Counter()
    loaded = _load_components(session, film_ids, everything)
    old_mentions = _credit_keys_of(session, loaded.rows)
    works = _recluster(session, loaded, counts)
    new_mentions = credit_mention_keys(
        c for sr in loaded.rows.values() for c in (sr.data or {}).get("credits") or []
    )
    session.flush()

    # references: pending ones, their page neighbours, and those that can see a changed work
    refs = set(ref_ids)
    if not everything:
        refs |= _page_neighbours(session, ref_ids)
        refs |= _refs_seeing(session, loaded.keys_seen, works.touched)
    works_now = WorkCache(session)
    items = Items()  # the reviews, offers and quotes decided: their items are settled after
    for n, chunk in enumerate(chunks(refs)):
        resolved = session.exec(_records().where(SourceRecord.id.in_(chunk))
                                .order_by(SourceRecord.id)).all()  # fmt: skip
        for decision in resolve_references(session, resolved, works_now, items):
            counts[f"reference/{decision.outcome}"] += 1
        _set_keys(session, {sr.id: reference_keys(sr.data or {}) for sr in resolved}, film=False)  # type: ignore[misc]
        _mark_resolved(session, resolved)
        if progress:
            progress(min((n + 1) * CHUNK, len(refs)), len(refs))
    counts.update(settle_duplicates(session, items))
    session.flush()

    # synopses: of the recomputed works, and those naming their people (before and after)
    to_check = set(loaded.rows) | records_mentioning(session, old_mentions | new_mentions)
    flagged_before = set(select_in(session, select(Flag.source_record_id)
                                   .where(Flag.kind == "synopsis_conflict"), Flag.source_record_id,
                                   to_check))  # fmt: skip
    refresh = set(works.kept_ids)
    for chunk in chunks(to_check):
        checked = [sr for sr in session.exec(_records().where(
                       SourceRecord.id.in_(chunk), SourceRecord.type == "film")).all()
                   if (sr.data or {}).get("synopsis") or sr.id in flagged_before]  # fmt: skip
        flagged = check_synopses(session, checked, works_now)
        counts["flag/synopsis_conflict"] += len(flagged)
        refresh |= {sr.work_id for sr in checked  # type: ignore[misc]
                    if (sr.id in flagged) != (sr.id in flagged_before) and sr.work_id is not None}  # fmt: skip
    session.flush()
    refresh_works(session, refresh)
    session.flush()
    return counts


def _load_components(session: Session, film_ids: set[int], everything: bool) -> _Loaded:
    """The seed film records and every film record sharing a key with them, transitively
    (old keys as well as new: a record that changed may have left a component)."""
    out = _Loaded()
    frontier: set[str] = set()
    todo = set(film_ids)
    while todo or frontier:
        for chunk in chunks(todo):
            for sr in session.exec(_records().where(SourceRecord.id.in_(chunk))).all():
                out.rows[sr.id] = sr  # type: ignore[index]
            for rid, key in session.exec(select(RecordKey.source_record_id, RecordKey.key).where(
                    RecordKey.source_record_id.in_(chunk), RecordKey.film.is_(True))).all():  # fmt: skip
                out.old_keys[rid].add(key)
        for rid in todo:
            if rid in out.rows:
                frontier |= out.old_keys[rid] | film_keys(out.rows[rid].data or {})
        todo = set()
        if everything:
            frontier = set()
            continue
        frontier -= out.keys_seen
        out.keys_seen |= frontier
        for chunk in chunks(frontier):
            found = session.exec(select(RecordKey.source_record_id).where(
                RecordKey.key.in_(chunk), RecordKey.film.is_(True))).all()  # fmt: skip
            todo |= set(found) - set(out.rows)
        frontier = set()
    if everything:
        out.keys_seen = {k for sr in out.rows.values() for k in film_keys(sr.data or {})}
    return out


def _credit_keys_of(session: Session, rows: dict[int, SourceRecord]) -> set[str]:
    """Mention keys of the credits these records' works held before recomputing."""
    old_works = {sr.work_id for sr in rows.values() if sr.work_id is not None}
    credits: list[dict[str, Any]] = []
    for chunk in chunks(old_works):
        for name, character in session.exec(
            select(Person.name, Credit.character).join(Person, Person.id == Credit.person_id)
            .where(Credit.work_id.in_(chunk))
        ).all():  # fmt: skip
            credits.append({"name": name, "character": character})
    return credit_mention_keys(credits)


def _page_neighbours(session: Session, ref_ids: set[int]) -> set[int]:
    """References sharing a page with these: they share the page's evidence."""
    pages = set(select_in(session, select(SourceRecord.site, SourceRecord.url),
                          SourceRecord.id, ref_ids))  # fmt: skip
    stmt = select(SourceRecord.id, SourceRecord.site, SourceRecord.url).where(
        SourceRecord.type.in_(REFERENCE_TYPES)
    )
    rows = select_in(session, stmt, SourceRecord.url, {url for _, url in pages})
    return {rid for rid, site, url in rows if (site, url) in pages}


def _refs_seeing(session: Session, keys: set[str], work_ids: set[int]) -> set[int]:
    """References that look works up under these keys, or were attached to these works."""
    out: set[int] = set()
    for chunk in chunks(keys):
        out |= set(session.exec(select(RecordKey.source_record_id).where(
            RecordKey.key.in_(chunk), RecordKey.film.is_(False))).all())  # fmt: skip
    for chunk in chunks(work_ids):
        out |= set(session.exec(select(SourceRecord.id).where(
            SourceRecord.work_id.in_(chunk), SourceRecord.type.in_(REFERENCE_TYPES))).all())  # fmt: skip
    return out


# ------------------------------------------------------------------------------ films


@dataclass
class _Works:
    kept_ids: set[int] = field(default_factory=set)  # works the clusters now are
    touched: set[int] = field(default_factory=set)  # every work id before or after


def _recluster(session: Session, loaded: _Loaded, counts: Counter[str]) -> _Works:
    rows = loaded.rows
    records = [FilmRecord(id=rid, site=sr.site, url=sr.url, data=sr.data or {})  # type: ignore[arg-type]
               for rid, sr in rows.items()]  # fmt: skip
    clusters, outcomes = cluster_films(records)
    plan = plan_ids(
        [[r.id for r in c.records] for c in clusters],
        {rid: sr.work_id for rid, sr in rows.items()},
        {rid: (sr.first_seen, rid) for rid, sr in rows.items()},
    )
    next_id = _next_work_id(session)
    final: dict[str, int] = {}
    for cluster, kept in zip(clusters, plan.kept, strict=True):
        if kept is None:
            kept, next_id = next_id, next_id + 1
            counts["work/new"] += 1
        final[cluster.tid] = kept
    old_ids = {sr.work_id for sr in rows.values() if sr.work_id is not None}
    result = _Works(kept_ids=set(final.values()), touched=old_ids | set(final.values()))
    ids = list(rows)

    # 1. what these records contributed goes; their works are written afresh
    for chunk in chunks(ids):
        for table in (WorkTitle, ExternalId, Credit, Rating, Mention, MatchDecision):
            session.exec(delete(table).where(table.source_record_id.in_(chunk)))  # type: ignore[attr-defined]
        session.exec(
            delete(Flag).where(Flag.source_record_id.in_(chunk), Flag.kind.in_(FILM_FLAGS))
        )
    fields = {final[c.tid]: work_fields([r.data for r in c.records]) for c in clusters}
    kept = {k for k in plan.kept if k is not None}
    now = utcnow()
    new_rows = [{"id": wid, **f, "created_at": now, "updated_at": now}
                for wid, f in sorted(fields.items()) if wid not in kept]  # fmt: skip
    insert_rows(session, Work, new_rows)
    changed = [{"id": wid, **f} for wid, f in sorted(fields.items()) if wid in kept]
    if changed:
        session.execute(update(Work), changed)  # by primary key; updated_at: refresh_works

    # 2. records point at their works; retired ids become aliases
    target = {rid: final[o.cluster] if o.cluster else None for rid, o in outcomes.items()}
    point_records(session, [(rows[rid], wid) for rid, wid in target.items()])
    _retire(session, plan.merged, plan.dissolved, now)
    counts["work/merged"] += len(plan.merged)
    counts["work/dissolved"] += len(plan.dissolved)

    # 3. the rows each cluster's records give, in canonical order
    _write_film_rows(session, clusters, final, {rid: sr.last_seen for rid, sr in rows.items()})
    mentions = [{"source_record_id": rid, "key": k} for rid, sr in sorted(rows.items())
                for k in sorted(mention_keys((sr.data or {}).get("synopsis") or ""))]  # fmt: skip
    insert_rows(session, Mention, mentions)

    # 4. decisions and flags
    decisions, flags = [], []
    for rid, outcome in sorted(outcomes.items()):
        decisions.append(_decision_row(rid, outcome, final, now))
        flags += _film_flags(rid, outcome, final, fields)
        counts[f"film/{outcome.decision.outcome}"] += 1
    insert_rows(session, MatchDecision, decisions)
    insert_rows(session, Flag, flags)

    # 5. keys as resolved; pending records are done (unless changed meanwhile)
    changed_keys = {}
    for rid, sr in sorted(rows.items()):
        keys = film_keys(sr.data or {})
        if keys != loaded.old_keys.get(rid, set()):
            changed_keys[rid] = keys
    _set_keys(session, changed_keys, film=True)
    _mark_resolved(session, list(rows.values()))
    return result


def _next_work_id(session: Session) -> int:
    top_work = session.exec(select(func.max(Work.id))).one() or 0
    top_alias = session.exec(select(func.max(WorkAlias.id))).one() or 0
    return max(top_work, top_alias) + 1


def _retire(session: Session, merged: dict[int, int], dissolved: list[int], now: Any) -> None:
    retired = sorted([*merged, *dissolved])
    if not retired:
        return
    # what still points at them is decided again in this pass (references see these works)
    for table in (Review, Offer, Quote, SourceRecord, MatchDecision):
        session.exec(update(table).where(table.work_id.in_(retired)).values(work_id=None)  # type: ignore[attr-defined]
                     .execution_options(synchronize_session=False))  # fmt: skip
    for table in (Rating, Flag):  # rows that exist only for a work
        session.exec(delete(table).where(table.work_id.in_(retired)))  # type: ignore[attr-defined]
    for old, survivor in sorted(merged.items()):  # earlier aliases follow the survivor
        session.exec(update(WorkAlias).where(WorkAlias.work_id == old).values(work_id=survivor))
    if dissolved:
        session.exec(update(WorkAlias).where(WorkAlias.work_id.in_(dissolved)).values(work_id=None))
    session.exec(delete(Work).where(Work.id.in_(retired)))
    insert_rows(session, WorkAlias, [
        {"id": w, "work_id": merged.get(w), "reason": "merged" if w in merged else "dissolved", "at": now}
        for w in retired
    ])  # fmt: skip


def _write_film_rows(session: Session, clusters: list[Cluster], final: dict[str, int],
                     seen: dict[int, Any]) -> None:  # fmt: skip
    """Titles, ids, credits and ratings of the clusters' records, in the order they joined
    (one INSERT per table: a work's rows keep their order, which its profile reads)."""
    films = [(final[c.tid], r.id, Film.model_validate(r.data)) for c in clusters for r in c.records]
    titles = [t for wid, rid, film in films for t in title_rows(wid, rid, film)]
    insert_rows(session, WorkTitle, titles)
    known: set[tuple[int, str, str]] = set()
    ids = []
    for wid, rid, film in films:
        for ns, value in sorted(film.external_ids.items()):
            if (wid, ns, value) not in known:
                known.add((wid, ns, value))
                ids.append(
                    {"namespace": ns, "value": value, "work_id": wid, "source_record_id": rid}
                )
    insert_rows(session, ExternalId, ids)
    people = person_ids(session, [c.name for _, _, film in films for c in film.credits])
    credits = [
        {"work_id": wid, "person_id": people[person_key(c.name) or c.name.casefold()],
         "source_record_id": rid, "role": c.role, "character": c.character, "order": c.order,
         "character_key": character_key(c.character) if c.character else None}
        for wid, rid, film in films for c in film.credits
    ]  # fmt: skip
    insert_rows(session, Credit, credits)
    ratings = [
        {"work_id": wid, "source_record_id": rid, "source": r.source, "raw": r.raw,
         "scale_max": r.scale_max, "value_100": r.value_100, "count": r.count, "kind": r.kind,
         "seen_at": seen[rid]}
        for wid, rid, film in films for r in film.ratings
    ]  # fmt: skip
    insert_rows(session, Rating, ratings)


def person_ids(session: Session, names: Sequence[str]) -> dict[str, int]:
    """Person ids by key for these names, created where missing. A person's display name is
    the best-ranked form seen ("First Last" before "Last, First"), whatever the order."""
    wanted: dict[str, str] = {}
    for n in names:
        key = person_key(n) or n.casefold()
        if key not in wanted or _name_rank(n) < _name_rank(wanted[key]):
            wanted[key] = n
    found: dict[str, int] = {}
    for chunk in chunks(wanted):
        for p in session.exec(select(Person).where(Person.key.in_(chunk))).all():
            found[p.key] = p.id  # type: ignore[assignment]
            if _name_rank(wanted[p.key]) < _name_rank(p.name):
                p.name = wanted[p.key]
                session.add(p)
    new = [{"name": wanted[k], "key": k} for k in sorted(wanted) if k not in found]
    insert_rows(session, Person, new)
    found.update(
        select_in(session, select(Person.key, Person.id), Person.key, [k["key"] for k in new])
    )
    return found


def _name_rank(name: str) -> tuple[bool, bool, str]:
    return ("," in name, "(" in name, name)


def _decision_row(rid: int, o: Outcome, final: dict[str, int], now: Any) -> dict[str, Any]:
    d = o.decision
    work_id = final[o.cluster] if o.cluster else None
    return {
        "source_record_id": rid, "work_id": work_id, "score": d.score, "outcome": d.outcome,
        "weak": d.weak, "reasons": [_label_reason(r, final) for r in d.reasons],
        "candidates": [str(final.get(c, c)) for c in d.candidates], "decided_at": now,
    }  # fmt: skip


def _label_reason(reason: str, final: dict[str, int]) -> str:
    """ "c3: year 1960≠1998" -> "#12: year 1960≠1998" (temporary cluster ids to work ids)."""
    head, sep, rest = reason.partition(": ")
    return f"#{final[head]}: {rest}" if sep and head in final else reason


def _film_flags(rid: int, o: Outcome, final: dict[str, int],
                fields: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:  # fmt: skip
    out = []
    now = utcnow()
    for tid, conflicts in o.kind_conflicts:
        wid = final[tid]
        out.append({"source_record_id": rid, "work_id": wid, "kind": "id_kind_conflict",
                    "detail": f"shares an external id with work #{wid} but its kind differs: {'; '.join(conflicts)}",
                    "evidence": {"work_id": wid, "conflicts": conflicts}, "created_at": now})  # fmt: skip
    if o.decision.outcome == "ambiguous":
        cands = [final[c] for c in o.decision.candidates]
        out.append({"source_record_id": rid, "work_id": None, "kind": "ambiguous_match",
                    "detail": f"{o.decision.reasons[0]}: candidates {', '.join(f'#{c}' for c in cands)}",
                    "evidence": {"candidates": [{"work_id": c, "title": fields[c]["title"], "year": fields[c]["year"],
                                                 "kind": fields[c]["kind"]} for c in cands]},
                    "created_at": now})  # fmt: skip
    return out


# ------------------------------------------------------------------------------ bookkeeping


def _set_keys(session: Session, keys_of: dict[int, set[str]], film: bool) -> None:
    """Replace the blocking keys of these records (one DELETE and one INSERT per chunk)."""
    for chunk in chunks(keys_of):
        session.exec(delete(RecordKey).where(RecordKey.source_record_id.in_(chunk)))  # type: ignore[attr-defined]
        rows = [{"source_record_id": rid, "key": k, "film": film}
                for rid in chunk for k in sorted(keys_of[rid])]  # fmt: skip
        insert_rows(session, RecordKey, rows)


def _mark_resolved(session: Session, records: Sequence[SourceRecord]) -> None:
    """Done, unless another process staged a new version meanwhile (then it stays pending):
    one UPDATE, executed for every record that was pending, guarded by its content hash."""
    params = [{"rid": sr.id, "digest": sr.content_hash} for sr in records if not sr.resolved]
    if not params:
        return
    table = SourceRecord.__table__  # type: ignore[attr-defined]
    stmt = (
        update(table)
        .where(table.c.id == bindparam("rid"), table.c.content_hash == bindparam("digest"))
        .values(resolved=True)
    )
    session.connection().execute(stmt, params)


def refresh_works(session: Session, work_ids: Iterable[int]) -> None:
    """Recompute works' fields from their film records (the synopsis: the first one not
    flagged as borrowed), a chunk of works at a time."""
    for chunk in chunks(work_ids):
        films: dict[int, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        for wid, rid, data in session.exec(
            select(SourceRecord.work_id, SourceRecord.id, SourceRecord.data)
            .where(SourceRecord.work_id.in_(chunk), SourceRecord.type == "film")
            .order_by(SourceRecord.id)
        ):  # fmt: skip
            films[wid].append((rid, data or {}))  # type: ignore[index]
        flagged = set(session.exec(select(Flag.work_id, Flag.source_record_id).where(
            Flag.work_id.in_(chunk), Flag.kind == "synopsis_conflict")).all())  # fmt: skip
        for work in session.exec(select(Work).where(Work.id.in_(chunk))).all():
            if work.id in films:
                _refresh(session, work, films[work.id], flagged)  # type: ignore[index]


def _refresh(session: Session, work: Work, films: list[tuple[int, dict[str, Any]]],
             flagged: set[tuple[int, int]]) -> None:  # fmt: skip
    """One work's fields from its film records; ``updated_at`` moves only when they change.
    ``flagged``: (work id, record id) of the synopses flagged as borrowed."""
    skip = [i for i, (rid, _) in enumerate(films) if (work.id, rid) in flagged]
    fields = work_fields([data for _, data in films], skip_synopsis=skip)
    if any(getattr(work, k) != v for k, v in fields.items()):
        for k, v in fields.items():
            setattr(work, k, v)
        work.updated_at = utcnow()
        session.add(work)


__all__ = ["Resolver", "pending_count", "rebuild", "recompute", "refresh_works", "resolve_pass"]
