"""Clustering film records into works: a pure function of a set of records.

``cluster_films`` takes film records (typically one or more whole key components, see
``pipelines.catalog.keys``) and decides them one by one in the canonical order, each against
the clusters formed so far that share one of its keys, with ``pipelines.identity.decide``.
Nothing here reads the database or depends on the order records arrived in: the same records
always give the same clusters and decisions, which the resolver then maps onto stable work ids.

Clusters carry temporary ids ("c0", "c1", ... in creation order); ``identity.decide`` breaks
ties by id order, so creation order (the canonical order) decides ties, never a database id.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipelines.catalog.keys import film_keys, film_titles
from pipelines.identity import Decision, Profile, compare, decide, person_key
from pipelines.records import Film, Kind


@dataclass(frozen=True)
class FilmRecord:
    """A stored film record as clustering sees it."""

    id: int  # source_record id
    site: str
    url: str
    data: dict[str, Any]  # the normalized, validated payload

    @property
    def film(self) -> Film:
        return Film.model_validate(self.data)

    def keys(self) -> set[str]:
        return film_keys(self.data)


def canonical_order(data: dict[str, Any], site: str, url: str) -> tuple[Any, ...]:
    """Best-identified records first (ids, then directors), then by site and URL: a total
    order on film records that depends on nothing but their content and address."""
    has_ids = bool(data.get("external_ids"))
    has_dirs = any(c.get("role") == "director" for c in data.get("credits") or [])
    return (not has_ids, not has_dirs, site, url)


@dataclass
class Cluster:
    """Records decided to be one work, in the order they joined."""

    tid: str
    records: list[FilmRecord] = field(default_factory=list)
    _profile: Profile | None = None

    @property
    def profile(self) -> Profile:
        if self._profile is None:
            self._profile = work_profile(self.tid, [r.data for r in self.records])
        return self._profile

    def add(self, record: FilmRecord) -> None:
        self.records.append(record)
        self._profile = None


@dataclass
class Outcome:
    """What was decided for one record: the decision (targets and candidates in temporary
    cluster ids), the cluster it ended in, and candidates sharing an id but not a kind."""

    decision: Decision
    cluster: str | None
    kind_conflicts: list[tuple[str, list[str]]] = field(default_factory=list)


def cluster_films(records: Iterable[FilmRecord]) -> tuple[list[Cluster], dict[int, Outcome]]:
    """Decide every record in canonical order; returns the clusters (in creation order) and
    each record's outcome."""
    ordered = sorted(records, key=lambda r: canonical_order(r.data, r.site, r.url))
    clusters: dict[str, Cluster] = {}
    by_key: dict[str, list[str]] = defaultdict(list)
    outcomes: dict[int, Outcome] = {}
    for record in ordered:
        keys = record.keys()
        cands = sorted({tid for k in keys for tid in by_key.get(k, ())}, key=_tid_order)
        film = record.film
        profile = film_profile(film, f"r{record.id}")
        facts = [clusters[tid].profile for tid in cands]
        decision = decide(profile, facts)
        conflicts = []
        for cand in facts:
            c = compare(profile, cand)
            if c.shared_id and any(x.startswith("kind ") for x in c.conflicts):
                conflicts.append((cand.id, c.conflicts))
        if decision.outcome == "matched":
            target = clusters[decision.target]  # type: ignore[index]
        elif decision.outcome == "new":
            target = Cluster(tid=f"c{len(clusters)}")
            clusters[target.tid] = target
            decision.reasons.insert(0, "started a new work")
        else:
            outcomes[record.id] = Outcome(decision, None, conflicts)
            continue
        target.add(record)
        for k in keys:
            if target.tid not in by_key[k]:
                by_key[k].append(target.tid)
        outcomes[record.id] = Outcome(decision, target.tid, conflicts)
    return list(clusters.values()), outcomes


def _tid_order(tid: str) -> int:
    return int(tid[1:])


# ------------------------------------------------------------------------------ profiles


def film_profile(film: Film, pid: str) -> Profile:
    """What identity needs to know of one film record."""
    titles = [film.title]
    if film.original_title:
        titles.append(film.original_title)
    titles += [t.title for t in film.titles if t.title not in titles]
    return Profile(
        id=pid,
        titles=titles,
        year=film.year,
        kind=film.kind,
        runtime=film.runtime_minutes,
        directors=film.directors,
        cast=[c.name for c in film.cast],
        people=[c.name for c in film.credits if c.role not in {"director", "cast"}],
        characters=[c.character for c in film.cast if c.character],
        external_ids=dict(film.external_ids),
        season=film.season,
        episode=film.episode,
    )


def work_profile(pid: str, films: Sequence[dict[str, Any]]) -> Profile:
    """What identity knows of a work made of these film records (in the order they joined):
    every title, the derived year/kind/runtime, every credit, the first id per namespace."""
    titles = list(dict.fromkeys(t for f in films for t in film_titles(f)))
    ids: dict[str, str] = {}
    for f in films:
        for ns, value in sorted((f.get("external_ids") or {}).items()):
            ids.setdefault(ns, value)
    credits = sorted(
        ((c.get("order", 0), i, j, c) for i, f in enumerate(films)
         for j, c in enumerate(f.get("credits") or [])),
        key=lambda t: t[:3],
    )  # fmt: skip
    by_role: dict[str, dict[str, str]] = {"director": {}, "cast": {}, "other": {}}
    characters: list[str] = []
    for *_, c in credits:
        role = c["role"] if c["role"] in {"director", "cast"} else "other"
        by_role[role].setdefault(person_key(c["name"]) or c["name"].casefold(), c["name"])
        if c.get("character") and c["character"] not in characters:
            characters.append(c["character"])
    fields = work_fields(films)
    return Profile(
        id=pid,
        titles=titles,
        year=fields["year"],
        kind=Kind(fields["kind"]),
        runtime=fields["runtime_minutes"],
        directors=list(by_role["director"].values()),
        cast=list(by_role["cast"].values()),
        people=list(by_role["other"].values()),
        characters=characters,
        external_ids=ids,
    )


def work_fields(
    films: Sequence[dict[str, Any]], skip_synopsis: Iterable[int] = ()
) -> dict[str, Any]:
    """A work's own fields from its film records, whatever order they are given in: the most
    common title (ties: the first by site and URL), the most common year (ties: the earliest),
    the median runtime, every genre, and the first synopsis not flagged as borrowed
    (``skip_synopsis``: indexes into ``films`` whose synopsis is not to be used)."""
    skip = set(skip_synopsis)
    order = sorted(range(len(films)), key=lambda i: (films[i]["site"], films[i]["url"]))
    ordered = [films[i] for i in order]
    years = [f["year"] for f in ordered if f.get("year")]
    counts = Counter(years)
    kinds = [f["kind"] for f in ordered if f.get("kind") and f["kind"] != Kind.unknown.value]
    runtimes = sorted(f["runtime_minutes"] for f in ordered if f.get("runtime_minutes"))
    return {
        "title": _most_common([f["title"] for f in ordered]),
        "original_title": _most_common(
            [f["original_title"] for f in ordered if f.get("original_title")], None
        ),
        "year": min(y for y, n in counts.items() if n == max(counts.values())) if years else None,
        "kind": _most_common(kinds, Kind.unknown.value),
        "runtime_minutes": int(statistics.median_low(runtimes)) if runtimes else None,
        "genres": list(dict.fromkeys(g for f in ordered for g in f.get("genres") or [])),
        "synopsis": next(
            (films[i]["synopsis"] for i in order if films[i].get("synopsis") and i not in skip),
            None,
        ),
    }


def _most_common(values: list[Any], default: Any = "") -> Any:
    if not values:
        return default
    counts = Counter(values)
    top = max(counts.values())
    return next(v for v in values if counts[v] == top)
