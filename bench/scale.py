"""Scale (issue 9): resolution time per record and export time and memory, on catalogs of 10k to
1M resolved works, in one run.

    python bench/scale.py [--sizes 10000,100000,1000000] [--sample 2000] [--pass-limit 1,50]
                          [--reviews 0.05] [--db-url postgresql://postgres@127.0.0.1:5432/]
                          [--no-export] [--keep] [--snapshot DIR]
    python bench/scale.py --check [--check-works 2000]

For each size a fresh catalog (an SQLite file in a temp dir, or with ``--db-url`` a new
PostgreSQL database on that server) is built directly with bulk inserts (a crawl and the
resolver would take an hour for 1M works), holding exactly what the resolver would have
written: film records are generated (``bench/identity.synthetic_records``: title variants,
remakes, "Last, First" names, missing fields; one record from site A per work, one from site B
for 60% of them), normalized and validated by ``pipelines.normalize``/``pipelines.validate``,
grouped into key components (``keys.film_keys``), clustered with ``cluster.cluster_films`` and
written as the resolver writes them (``title_rows``, ``work_fields``, ``mention_keys``, the
resolver's ``_decision_row``/``_film_flags``). Stored reviews (``--reviews``: that share of
works gets one) are inserted pending and resolved by the real ``Resolver``. ``--check`` proves
the build right on a small catalog: ``Resolver.rebuild`` on a copy changes nothing, and the
same records staged through ``Catalog.store`` and resolved by ``Resolver.resolve_pending``
give the same catalog (``tests/catalog_compare``, plus the ``record_key`` and ``mention``
indexes, which its snapshot leaves out).

Resolution: for each ``--pass-limit`` a sample of ``--sample`` new records (new works from
both sites, the other site's record of stored works, same-titled remakes of stored works,
re-crawled records whose synopsis changed, and reviews naming stored and new works,
interleaved) is staged with ``Catalog.store`` and resolved with ``Resolver(engine,
pass_limit).resolve_pending(progress=...)``. A pass's time is taken between two progress
calls, so it holds everything the resolver's loop does for that pass (transaction, lock, the
pass, commit, and the pending count that reports progress). With a limit of 1 every pass
resolves exactly one pending record, so each pass time *is* that record's resolution latency,
fixed costs included (and is broken down by kind of record); with a limit of N (default 50) a
record's time is its pass's time divided by the N records in it: an amortized figure, what a
record costs when the resolver keeps up with a crawl (it takes up to 500 per pass).

Export: ``python -m crawler.cli export works --format csv|jsonl --out FILE`` in a subprocess
against each catalog (after the sample is resolved): wall time, the child's own peak RSS
(``os.wait4``: ``bench.crawl.run_procs``, run from a small launcher process, since a forked
child inherits its parent's peak RSS figure), and the rows in the file against the works in
the catalog.

Prints build progress and time per size, a results table (per-record p50/p90/p99/max, by kind
of record too), then issue 9's targets as PASS/FAIL lines: resolution p99 < 5 ms at every size
and flat (largest size's p99 at most 1.5x the smallest's); export of 1M works under 60 s and
300 MB peak RSS for each format.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import pickle
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# as in bench/crawl.py: bench/ must not lead sys.path (bench/incremental.py shadows a package)
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (HERE, ROOT)]

from sqlalchemy import MetaData, Table, event, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402

from bench.identity import _FIRST, _vocabulary, synthetic_records  # noqa: E402
from pipelines.catalog.cluster import FilmRecord, cluster_films, work_fields  # noqa: E402
from pipelines.catalog.db import get_engine, normalize_url  # noqa: E402
from pipelines.catalog.keys import film_keys  # noqa: E402
from pipelines.catalog.models import (  # noqa: E402
    Credit,
    ExternalId,
    Flag,
    MatchDecision,
    Mention,
    Person,
    Rating,
    RecordKey,
    SourceRecord,
    Work,
    WorkTitle,
    utcnow,
)
from pipelines.catalog.profiles import title_rows  # noqa: E402

# the resolver's own row builders for decisions and film flags (pure functions)
from pipelines.catalog.resolver import (  # noqa: E402
    Resolver,
    _decision_row,
    _film_flags,
    _name_rank,
)
from pipelines.catalog.stage import Accepted, content_hash, item_key  # noqa: E402
from pipelines.catalog.store import Catalog  # noqa: E402
from pipelines.catalog.textcheck import mention_keys  # noqa: E402
from pipelines.identity import Profile, character_key, person_key  # noqa: E402
from pipelines.normalize import normalize  # noqa: E402
from pipelines.records import (  # noqa: E402
    Film,
    FilmRef,
    Kind,
    ScrapedCredit,
    ScrapedFilm,
    ScrapedRating,
    ScrapedReview,
)
from pipelines.validate import Invalid, validate  # noqa: E402
from tests.catalog_compare import (  # noqa: E402
    assert_same_catalog,
    engine_for,
    fresh_postgres_database,
    record_key,
    snapshot,
)

SEED = 7
SITES = ("cinepedia.example", "filmbase.example")  # site A (source 0), site B (source 1)
CRITICS = "critics.example"
B_SHARE = 0.6  # works stored with site B's record too
CHUNK_ROWS = 10_000  # rows per bulk-insert transaction
P99_TARGET_MS = 5.0
FLAT_RATIO = 1.5
EXPORT_TARGET_S = 60.0
EXPORT_TARGET_MB = 300.0
EXPORT_SIZE = 1_000_000
KIND_HINT = {Kind.feature: "Movie", Kind.documentary: "Documentary", Kind.tv_series: "TV Series"}
GENRES = ("Drama", "Thriller", "Comedy", "Romance", "Western", "Mystery", "Adventure", "Crime",
          "Horror", "Animation", "Fantasy", "History")  # fmt: skip
PLOTS = (
    "must cross the river before the first snow",
    "returns home to find the family house sold",
    "keeps a secret that the whole town wants",
    "takes the night train with a dangerous plan",
    "settles an old debt with a former friend",
    "runs the family business through its last winter",
)  # fmt: skip
AUTHORS = (
    "Dana Whitfield",
    "cinephile42",
    "Marek Olsen",
    "popcornjane",
    "Ruth Adeyemi",
    "nightowl",
)
SAMPLE_MIX = (("new", 0.30), ("other_site", 0.22), ("remake", 0.10), ("changed", 0.08),
              ("review", 0.30))  # fmt: skip


def say(msg: str) -> None:
    print(msg, flush=True)


# ------------------------------------------------------------------------------ synthetic films


@dataclass
class WorkSpec:
    """One true work: what sites A and B print of it (``synthetic_records``' sources 0, 1)."""

    w: int
    a: Profile
    b: Profile
    genres: list[str]
    lead: str  # the character the synopses name
    has_b: bool  # the stored catalog holds site B's record too
    characters: dict[str, str] = field(default_factory=dict)  # cast name -> character


class Names:
    """Character names: first names and invented surnames (``names()`` for the shared one)."""

    def __init__(self, seed: int) -> None:
        vocab = _vocabulary(random.Random(seed))
        self.surnames = sorted({w.title() for w in vocab if len(w) > 3})

    def pick(self, rng: random.Random) -> str:
        return f"{rng.choice(_FIRST)} {rng.choice(self.surnames)}"


@cache
def names(seed: int = SEED) -> Names:
    return Names(seed)


def has_b(w: int) -> bool:
    """Whether the stored catalog holds site B's record of work ``w`` too."""
    return random.Random(w ^ 0x5EED).random() < B_SHARE


def work_specs(n: int, seed: int = SEED) -> Iterator[WorkSpec]:
    """The first ``n`` works of the synthetic stream (the same works whatever ``n``)."""
    names_ = names(seed)
    a: Profile | None = None
    for prof, w in synthetic_records(3 * n, seed):
        source = int(prof.id.split("-")[0])
        if source == 0:
            a = prof
        elif source == 1 and a is not None:
            rng = random.Random(seed * 1_000_003 + w)
            chars = {c: names_.pick(rng) for c in dict.fromkeys([*a.cast, *prof.cast])}
            yield WorkSpec(w=w, a=a, b=prof, genres=rng.sample(GENRES, rng.randint(1, 3)),
                           lead=names_.pick(rng), has_b=has_b(w), characters=chars)  # fmt: skip


def film_url(w: int | str, source: int) -> str:
    return (f"https://{SITES[0]}/film/{w}" if source == 0
            else f"https://{SITES[1]}/title/{w}/")  # fmt: skip


def film_item(spec: WorkSpec, source: int, url: str | None = None, extra: str = "") -> ScrapedFilm:
    """What site A (source 0) or B (source 1) prints of ``spec``."""
    p = spec.a if source == 0 else spec.b
    site = SITES[source]
    rng = random.Random(f"{spec.w}:{source}:{url}")
    credits = [ScrapedCredit(name=d, role="director") for d in p.directors]
    credits += [ScrapedCredit(name=c, role="cast",
                              character=spec.characters.get(c) if source == 0 and k < 3 else None)
                for k, c in enumerate(p.cast)]  # fmt: skip
    runtime = None
    if p.runtime:
        runtime = f"PT{p.runtime // 60}H{p.runtime % 60}M" if source == 0 else f"{p.runtime} min"
    ratings = []
    if rng.random() < 0.6:
        value = f"{rng.uniform(3, 9.6):.1f}" if source == 0 else f"{rng.uniform(1, 5):.1f}"
        ratings.append(ScrapedRating(source=site, value=value, scale_max="10" if source == 0 else "5",
                                     count=str(rng.randint(5, 90_000))))  # fmt: skip
    synopsis = None
    if source == 0 or rng.random() < 0.5:
        synopsis = f"{spec.lead} {PLOTS[spec.w % len(PLOTS)]}.{extra}"
    year = None
    if p.year:
        year = str(p.year) if source == 0 else f"({p.year})"
    return ScrapedFilm(site=site, url=url or film_url(spec.w, source), title=p.titles[0],
                       year=year, kind=KIND_HINT.get(p.kind), runtime=runtime, credits=credits,
                       genres=list(spec.genres), external_ids=dict(p.external_ids),
                       ratings=ratings, synopsis=synopsis)  # fmt: skip


def review_item(spec: WorkSpec, tag: str, rng: random.Random,
                film_page: str | None = None) -> ScrapedReview:  # fmt: skip
    """A critic's review naming ``spec`` by title, often its year, sometimes its director or
    film page."""
    title = spec.a.titles[0] if rng.random() < 0.7 else spec.b.titles[0]
    year = spec.a.year or spec.b.year
    ref = FilmRef(
        title=title,
        year=str(year) if year and rng.random() < 0.8 else None,
        directors=list(spec.a.directors or spec.b.directors)[:1] if rng.random() < 0.4 else [],
        url=(film_page or film_url(spec.w, 0)) if rng.random() < 0.2 else None,
    )
    body = (f"{spec.lead} carries the film. The {rng.choice(PLOTS).split()[-1]} scenes stay with "
            "you long after the credits.")  # fmt: skip
    return ScrapedReview(
        site=CRITICS, url=f"https://{CRITICS}/review/{tag}", film=ref, author=rng.choice(AUTHORS),
        published_at=f"20{rng.randint(10, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        title=f"Review: {title}", body=body, critic=rng.random() < 0.3,
        rating=ScrapedRating(source=CRITICS, value=str(rng.randint(1, 10)), scale_max="10"),
    )  # fmt: skip


def accept(item: ScrapedFilm | ScrapedReview) -> Accepted | None:
    """What a crawl's pipeline makes of an item (normalize, validate); None if quarantined."""
    try:
        record = validate(normalize(item).data)
    except Invalid:
        return None
    return Accepted(record=record, raw=item.model_dump(mode="json"))


def source_row(acc: Accepted, rid: int, now: Any, work_id: int | None, resolved: bool
               ) -> dict[str, Any]:  # fmt: skip
    """The ``source_record`` row staging writes for ``acc`` (``stage._prepare``/``_insert``)."""
    data = acc.record.model_dump(mode="json")
    return {"id": rid, "site": data["site"], "url": data["url"], "type": data["type"],
            "item_key": item_key(data), "raw": acc.raw, "data": data,
            "content_hash": content_hash(data), "first_seen": now, "last_seen": now,
            "crawl_run_id": None, "work_id": work_id, "resolved": resolved}  # fmt: skip


# ------------------------------------------------------------------------------ bulk writing


class Bulk:
    """Rows buffered per table and inserted ``CHUNK_ROWS`` at a time, one transaction each,
    parents first (PostgreSQL checks foreign keys)."""

    ORDER = (Person, Work, SourceRecord, WorkTitle, ExternalId, Credit, Rating, Mention,
             MatchDecision, Flag, RecordKey)  # fmt: skip

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rows: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        self.pending = 0
        self.written = 0
        self.began = time.monotonic()
        self.last = self.began

    def add(self, model: Any, rows: Iterable[dict[str, Any]]) -> None:
        buffer = self.rows[model]
        for row in rows:
            buffer.append(row)
            self.pending += 1
            if self.pending >= CHUNK_ROWS:
                self.flush()
                buffer = self.rows[model]

    def flush(self) -> None:
        with self.engine.begin() as conn:
            for model in self.ORDER:
                if self.rows.get(model):
                    conn.execute(insert(model.__table__), self.rows[model])
        self.written += self.pending
        self.rows.clear()
        self.pending = 0
        now = time.monotonic()
        if now - self.last > 10:
            self.last = now
            say(
                f"    {self.written:,} rows written, {self.written / (now - self.began):,.0f} rows/s"
            )


def build_engine(url: str) -> Engine:
    """An engine for the bulk build: no foreign-key checks or syncs on SQLite (the rows are
    checked by --check instead), a big page cache."""
    engine = engine_for(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            for pragma in ("journal_mode=WAL", "synchronous=OFF", "foreign_keys=OFF",
                           "cache_size=-1000000", "temp_store=MEMORY"):  # fmt: skip
                cur.execute(f"PRAGMA {pragma}")
            cur.close()

    return engine


def drop_indexes(engine: Engine) -> list[str]:
    """Drop the secondary indexes (kept: primary keys, unique constraints); returns the DDL
    that recreates them exactly as the migrations made them."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            found = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                         "AND sql IS NOT NULL").all()  # fmt: skip
        else:
            found = conn.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)").all()  # fmt: skip
        for name, _ in found:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [ddl for _, ddl in found]


def finish_build(engine: Engine, ddl: list[str]) -> None:
    with engine.begin() as conn:
        for statement in ddl:
            conn.exec_driver_sql(statement)
        if engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for table in ("work", "source_record", "person"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)")  # fmt: skip
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


# ------------------------------------------------------------------------------ building


@dataclass
class Built:
    url: str
    works: int
    films: int
    reviews: int
    seconds: float
    components: Counter[int]  # component size (records) -> how many
    specs: dict[int, WorkSpec]  # the stored works the sample refers to (and the new ones)
    items: list[Accepted] = field(default_factory=list)  # every stored record (--check only)


class Components:
    """Union-find over film records sharing a blocking key."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.first: dict[str, int] = {}

    def add(self, keys: Iterable[str]) -> int:
        i = len(self.parent)
        self.parent.append(i)
        for k in keys:
            j = self.first.setdefault(k, i)
            if j != i:
                self.parent[self.find(i)] = self.find(j)
        return i

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for i in range(len(self.parent)):
            out[self.find(i)].append(i)
        return list(out.values())


def generate(n: int, extra: int, keep: set[int], reviews: float, keep_items: bool
             ) -> tuple[list[tuple[str, str]], Components, dict[str, str], list[Accepted],
                        dict[int, WorkSpec], list[Accepted]]:  # fmt: skip
    """The first ``n`` works' film records (data and raw as JSON text, to hold 1M works in
    memory), their key components, every person's display name by key, the stored reviews,
    and the specs of the works in ``keep`` (stored or among the ``extra`` that follow)."""
    films: list[tuple[str, str]] = []
    comps = Components()
    persons: dict[str, str] = {}
    review_items: list[Accepted] = []
    specs: dict[int, WorkSpec] = {}
    items: list[Accepted] = []
    began = last = time.monotonic()
    for spec in work_specs(n + extra):
        if spec.w in keep:
            specs[spec.w] = spec
        if spec.w >= n:
            continue
        sources = (0, 1) if spec.has_b else (0,)
        for source in sources:
            acc = accept(film_item(spec, source))
            if acc is None:
                continue
            data = acc.record.model_dump(mode="json")
            comps.add(film_keys(data))
            films.append((json.dumps(data), json.dumps(acc.raw)))
            for c in data["credits"]:
                key = person_key(c["name"]) or c["name"].casefold()
                if key not in persons or _name_rank(c["name"]) < _name_rank(persons[key]):
                    persons[key] = c["name"]
            if keep_items:
                items.append(acc)
        rng = random.Random(SEED * 7_000_001 + spec.w)
        if rng.random() < reviews:
            acc = accept(review_item(spec, f"{spec.w}", rng))
            if acc is not None:
                review_items.append(acc)
        now = time.monotonic()
        if now - last > 10:
            last = now
            say(f"    generated {spec.w + 1:,} works, {(spec.w + 1) / (now - began):,.0f} works/s")
    return films, comps, persons, review_items, specs, items


def build(url: str, n: int, reviews: float, keep: set[int] = frozenset(),  # type: ignore[assignment]
          extra: int = 0, keep_items: bool = False) -> Built:  # fmt: skip
    """A catalog of the first ``n`` synthetic works at ``url``, as the resolver makes it."""
    began = time.monotonic()
    get_engine(url).dispose()  # created and migrated as filmagg does
    get_engine.cache_clear()
    say(f"  generating {n:,} works ...")
    films, comps, persons, review_items, specs, items = generate(
        n, extra, keep, reviews, keep_items
    )
    t_gen = time.monotonic() - began
    say(f"  generated {len(films):,} film records, {len(review_items):,} reviews, "
        f"{len(persons):,} persons in {t_gen:.1f} s")  # fmt: skip
    engine = build_engine(url)
    ddl = drop_indexes(engine)
    bulk = Bulk(engine)
    person_id = {key: i for i, key in enumerate(sorted(persons), 1)}
    bulk.add(Person, ({"id": i, "key": k, "name": persons[k]} for k, i in person_id.items()))
    now = utcnow()
    next_work = 1
    sizes: Counter[int] = Counter()
    say("  clustering components and writing ...")
    for group in comps.groups():
        sizes[len(group)] += 1
        next_work = write_component(bulk, group, films, person_id, next_work, now)
    bulk.flush()
    say(f"  wrote {bulk.written:,} rows in {time.monotonic() - bulk.began:.1f} s "
        f"({bulk.written / (time.monotonic() - bulk.began):,.0f} rows/s); recreating indexes")  # fmt: skip
    t_idx = time.monotonic()
    first_review = len(films) + 1
    if review_items:  # staged, to be resolved by the resolver itself
        for i in range(0, len(review_items), CHUNK_ROWS):
            bulk.add(SourceRecord, (source_row(acc, first_review + i + k, now, None, False)
                                    for k, acc in enumerate(review_items[i : i + CHUNK_ROWS])))  # fmt: skip
        bulk.flush()
    finish_build(engine, ddl)
    say(f"  indexes in {time.monotonic() - t_idx:.1f} s")
    if review_items:
        t_rev = time.monotonic()
        say(f"  resolving {len(review_items):,} stored reviews with the resolver ...")
        engine = get_engine(url)
        Resolver(engine, pass_limit=2000).resolve_pending()
        engine.dispose()
        get_engine.cache_clear()
        say(f"  reviews resolved in {time.monotonic() - t_rev:.1f} s "
            f"({len(review_items) / (time.monotonic() - t_rev):,.0f}/s)")  # fmt: skip
    return Built(url=url, works=next_work - 1, films=len(films), reviews=len(review_items),
                 seconds=time.monotonic() - began, components=sizes, specs=specs,
                 items=items + review_items)  # fmt: skip


def write_component(bulk: Bulk, group: list[int], films: list[tuple[str, str]],
                    person_id: dict[str, int], next_work: int, now: Any) -> int:  # fmt: skip
    """Cluster one key component and write what ``resolver._recluster`` writes for it."""
    datas = {i + 1: json.loads(films[i][0]) for i in group}  # record id = index + 1
    records = [FilmRecord(id=rid, site=d["site"], url=d["url"], data=d) for rid, d in datas.items()]
    clusters, outcomes = cluster_films(records)
    final: dict[str, int] = {}
    for cluster in clusters:
        final[cluster.tid] = next_work
        next_work += 1
    fields = {final[c.tid]: work_fields([r.data for r in c.records]) for c in clusters}
    bulk.add(Work, ({"id": wid, **f, "created_at": now, "updated_at": now}
                    for wid, f in sorted(fields.items())))  # fmt: skip
    target = {rid: final[o.cluster] if o.cluster else None for rid, o in outcomes.items()}
    for rid, data in sorted(datas.items()):
        raw = json.loads(films[rid - 1][1])
        bulk.add(SourceRecord, [{
            "id": rid, "site": data["site"], "url": data["url"], "type": "film", "item_key": "",
            "raw": raw, "data": data, "content_hash": content_hash(data), "first_seen": now,
            "last_seen": now, "crawl_run_id": None, "work_id": target[rid], "resolved": True,
        }])  # fmt: skip
    for cluster in clusters:
        film_rows(bulk, cluster.records, final[cluster.tid], person_id, now)
    bulk.add(Mention, ({"source_record_id": rid, "key": k} for rid, d in sorted(datas.items())
                       for k in sorted(mention_keys(d.get("synopsis") or ""))))  # fmt: skip
    for rid, outcome in sorted(outcomes.items()):
        bulk.add(MatchDecision, [_decision_row(rid, outcome, final, now)])
        bulk.add(Flag, _film_flags(rid, outcome, final, fields))
    bulk.add(RecordKey, ({"source_record_id": rid, "key": k, "film": True}
                         for rid, d in sorted(datas.items()) for k in sorted(film_keys(d))))  # fmt: skip
    return next_work


def film_rows(bulk: Bulk, records: Sequence[FilmRecord], work_id: int,
              person_id: dict[str, int], now: Any) -> None:  # fmt: skip
    """``resolver._write_film_rows``: titles, ids, credits, ratings in the order records joined."""
    films = [(r.id, Film.model_validate(r.data)) for r in records]
    bulk.add(WorkTitle, (t if isinstance(t, dict) else t.model_dump(exclude={"id"})  # (older: models)
                         for rid, film in films for t in title_rows(work_id, rid, film)))  # fmt: skip
    known: set[tuple[str, str]] = set()
    for rid, film in films:
        for ns, value in sorted(film.external_ids.items()):
            if (ns, value) not in known:
                known.add((ns, value))
                bulk.add(ExternalId, [{"namespace": ns, "value": value, "work_id": work_id,
                                       "source_record_id": rid}])  # fmt: skip
    bulk.add(Credit, (
        {"work_id": work_id, "person_id": person_id[person_key(c.name) or c.name.casefold()],
         "source_record_id": rid, "role": c.role, "character": c.character, "order": c.order,
         "character_key": character_key(c.character) if c.character else None}
        for rid, film in films for c in film.credits))  # fmt: skip
    bulk.add(Rating, (
        {"work_id": work_id, "source_record_id": rid, "source": r.source, "raw": r.raw,
         "scale_max": r.scale_max, "value_100": r.value_100, "count": r.count, "kind": r.kind,
         "seen_at": now}
        for rid, film in films for r in film.ratings))  # fmt: skip


# ------------------------------------------------------------------------------ the sample


@dataclass
class Plan:
    """One sample: the kinds of its records (shuffled), the stored works they refer to, the
    new works (stream positions past the stored ones) it brings, and its pass limit."""

    limit: int
    seed: int
    kinds: list[str]
    refs: list[int]
    new: range


def sample_plans(n: int, size: int, limits: Sequence[int]) -> list[Plan]:
    """A sample of ``size`` records per pass limit, each of other records and new works."""
    plans = []
    start = n
    for i, limit in enumerate(limits):
        rng = random.Random(SEED + 100 * i)
        kinds = [k for k, share in SAMPLE_MIX for _ in range(round(share * size))]
        rng.shuffle(kinds)
        refs = []
        for kind in kinds:
            w = rng.randrange(n)
            while kind == "other_site" and has_b(w):  # a work stored without site B's record
                w = rng.randrange(n)
            refs.append(w)
        n_new = kinds.count("new")
        plans.append(Plan(limit, SEED + 100 * i, kinds, refs, range(start, start + n_new)))
        start += n_new
    return plans


def sample_items(built: Built, plan: Plan, size: int) -> list[tuple[str, Accepted]]:
    """``size`` pending records, labelled by kind, in the order a crawl would bring them."""
    rng = random.Random(plan.seed + 1)
    new_specs = [built.specs[w] for w in plan.new]
    out: list[tuple[str, Accepted | None]] = []
    fresh = iter(new_specs)
    for j, (kind, w) in enumerate(zip(plan.kinds, plan.refs, strict=True)):
        spec = built.specs[w]
        tag = f"{plan.seed}-{j}"
        if kind == "new":  # a new work's record; half of them also come from the other site
            new = next(fresh)
            out.append((kind, accept(film_item(new, 0))))
            if j % 2:
                out.append((kind, accept(film_item(new, 1))))
        elif kind == "other_site":  # site B's record of a stored work it lacked
            out.append((kind, accept(film_item(spec, 1))))
        elif kind == "remake":  # same title, another year, director and cast
            out.append((kind, accept(remake_item(spec, tag, rng))))
        elif kind == "changed":  # a re-crawled page whose synopsis gained a sentence
            extra = f" A late cut ({tag}) restores an ending."
            out.append((kind, accept(film_item(spec, 0, extra=extra))))
        else:  # a review of a stored work, or of a new one
            target = new_specs[j % len(new_specs)] if new_specs and j % 5 == 0 else spec
            out.append((kind, accept(review_item(target, tag, rng))))
    return [(k, a) for k, a in out if a is not None][:size]


def remake_item(spec: WorkSpec, j: str, rng: random.Random) -> ScrapedFilm:
    """A new work sharing ``spec``'s title: another year, director and cast."""
    pick = names().pick
    year = (spec.a.year or 1990) + rng.randint(12, 30)
    a = Profile(id=f"remake-{j}", titles=list(spec.a.titles), year=min(year, 2030),
                kind=spec.a.kind, runtime=rng.randint(80, 160),
                directors=[pick(rng)], cast=[pick(rng) for _ in range(3)])  # fmt: skip
    remake = WorkSpec(w=spec.w, a=a, b=a, genres=spec.genres, lead=pick(rng), has_b=False,
                      characters={c: pick(rng) for c in a.cast})  # fmt: skip
    return film_item(remake, 0, url=film_url(f"remake-{j}", 0))


@dataclass
class Timing:
    per_record: list[float]  # seconds
    by_kind: dict[str, list[float]]
    passes: int
    counts: Counter[str]


def resolve_sample(url: str, items: list[tuple[str, Accepted]], pass_limit: int) -> Timing:
    """Stage the sample (``Catalog.store``, batches of 100), then time the resolver's passes."""
    engine = get_engine(url)
    catalog = Catalog(engine)
    for i in range(0, len(items), 100):
        catalog.store([a for _, a in items[i : i + 100]])
    label = {(a.record.site, a.record.url, a.record.type, item_key(a.record.model_dump(mode="json"))): k
             for k, a in items}  # fmt: skip
    with engine.connect() as conn:
        pending = conn.execute(
            select(SourceRecord.id, SourceRecord.site, SourceRecord.url, SourceRecord.type,
                   SourceRecord.item_key).where(SourceRecord.resolved.is_(False))
            .order_by(SourceRecord.id)).all()  # fmt: skip
    kinds = [label.get(tuple(r[1:]), "?") for r in pending]
    marks: list[tuple[float, int]] = []
    resolver = Resolver(engine, pass_limit=pass_limit)
    began = time.perf_counter()
    counts = resolver.resolve_pending(progress=lambda done, total: marks.append(
        (time.perf_counter(), done))) or Counter()  # fmt: skip
    per_record: list[float] = []
    by_kind: dict[str, list[float]] = defaultdict(list)
    prev_t, prev_done = began, 0
    for t, done in marks:
        n = done - prev_done
        if n > 0:
            each = (t - prev_t) / n
            per_record += [each] * n
            if pass_limit == 1:
                by_kind[kinds[prev_done]].append(each)
        prev_t, prev_done = t, done
    engine.dispose()
    get_engine.cache_clear()
    return Timing(per_record, dict(by_kind), len(marks), counts)


# ------------------------------------------------------------------------------ export


@dataclass
class Export:
    fmt: str
    seconds: float
    rss_mb: float
    rows: int
    works: int
    code: int


def count_rows(path: Path, fmt: str) -> int:
    with path.open(encoding="utf-8", newline="") as fh:
        if fmt == "csv":
            return sum(1 for _ in csv.reader(fh)) - 1
        return sum(1 for line in fh if line.strip())


# Linux carries a parent's peak RSS into a child it forks (and through exec): started from this
# process, which holds the generated catalog, an export would report this process's peak. So
# ``run_procs`` runs in a small launcher process (about 40 MB, below any export's own peak).
LAUNCHER = """
import json, sys
from pathlib import Path
from bench.crawl import run_procs
result, log, cwd, *cmd = sys.argv[1:]
wall, (proc,) = run_procs([(cmd, Path(cwd), Path(log))], timeout=3600)
Path(result).write_text(json.dumps({"wall": wall, "code": proc.code, "rss_mb": proc.rss_mb}))
"""


def export(url: str, fmt: str, folder: Path, works: int) -> Export:
    """``filmagg export works`` in a subprocess: wall time, its peak RSS, rows written."""
    out, log, result = (folder / f"works.{fmt}", folder / f"export-{fmt}.log",
                        folder / f"export-{fmt}.json")  # fmt: skip
    cmd = [sys.executable, "-m", "crawler.cli", "export", "works", "--db", url, "--format", fmt,
           "--out", str(out)]  # fmt: skip
    subprocess.run([sys.executable, "-c", LAUNCHER, str(result), str(log), str(ROOT), *cmd],
                   cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)  # fmt: skip
    done = json.loads(result.read_text())
    rows = count_rows(out, fmt) if out.exists() else -1
    for path in (out, result):
        path.unlink(missing_ok=True)
    if done["code"]:
        say(f"  export {fmt} exited {done['code']}: {log.read_text(errors='replace')[-2000:]}")
    return Export(fmt, done["wall"], done["rss_mb"], rows, works, done["code"])


# ------------------------------------------------------------------------------ catalogs


@contextlib.contextmanager
def fresh_url(db_url: str | None, folder: Path, name: str) -> Iterator[str]:
    """A new, empty catalog URL: an SQLite file in ``folder`` or a new PostgreSQL database."""
    if not db_url:
        yield f"sqlite:///{folder / (name + '.db')}"
        return
    with fresh_postgres_database(db_url) as url:
        yield url


def work_count(url: str) -> int:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Work)).scalar_one()
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------ one size


@dataclass
class SizeResult:
    size: int
    built: Built
    timings: dict[int, Timing]  # by pass limit
    exports: list[Export]


def pct(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def built_catalog(url: str, n: int, args: argparse.Namespace, keep: set[int], extra: int
                  ) -> Built:  # fmt: skip
    """``build``, or with ``--snapshot DIR`` (SQLite only) a copy of the catalog built for this
    size and sample by an earlier run, so a change to the resolver or the export can be measured
    at 1M works without the build's hour; the first run with ``DIR`` saves it there."""
    if not args.snapshot:
        return build(url, n, args.reviews, keep, extra=extra)
    if not url.startswith("sqlite:///"):
        raise SystemExit("--snapshot takes SQLite catalogs only (no --db-url)")
    snap = Path(args.snapshot) / f"scale-{n}-{args.sample}-{args.pass_limit}-{args.reviews}"
    target = Path(url.removeprefix("sqlite:///"))
    if not (snap / "built.pickle").exists():
        built = build(url, n, args.reviews, keep, extra=extra)
        snap.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(target) as conn:  # one file, WAL folded in
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(target, snap / "catalog.db")
        (snap / "built.pickle").write_bytes(pickle.dumps(built))
        say(f"  saved the built catalog to {snap}")
        return built
    began = time.monotonic()
    shutil.copyfile(snap / "catalog.db", target)
    built: Built = pickle.loads((snap / "built.pickle").read_bytes())
    built.url = url
    say(f"  copied the catalog built earlier from {snap} in {time.monotonic() - began:.1f} s "
        f"(built in {built.seconds:.1f} s)")  # fmt: skip
    return built


def run_size(n: int, args: argparse.Namespace, folder: Path) -> SizeResult:
    say(f"\n== {n:,} works ==")
    plans = sample_plans(n, args.sample, args.limits)
    keep = {w for p in plans for w in (*p.refs, *p.new)}
    with fresh_url(args.db_url, folder, f"scale-{n}") as url:
        built = built_catalog(url, n, args, keep, extra=sum(len(p.new) for p in plans))
        say(f"  built {built.works:,} works from {built.films:,} film records and "
            f"{built.reviews:,} reviews in {built.seconds:.1f} s; key components: "
            f"{sum(built.components.values()):,}, largest {max(built.components)} records")  # fmt: skip
        timings = {}
        for plan in plans:
            items = sample_items(built, plan, args.sample)
            say(f"  resolving {len(items):,} new records ({dict(Counter(k for k, _ in items))}) "
                f"in passes of {plan.limit} ...")  # fmt: skip
            t = timings[plan.limit] = resolve_sample(url, items, plan.limit)
            say(f"  {t.passes} passes, {len(t.per_record)} records, p99 "
                f"{pct(t.per_record, 0.99):.2f} ms/record; outcomes {dict(sorted(t.counts.items()))}")  # fmt: skip
        exports = []
        if not args.no_export:
            works = work_count(url)
            for fmt in ("csv", "jsonl"):
                e = export(url, fmt, folder, works)
                exports.append(e)
                say(f"  export {fmt}: {e.seconds:.1f} s, peak RSS {e.rss_mb:.0f} MB, "
                    f"{e.rows:,} rows for {e.works:,} works")  # fmt: skip
        if not args.keep and url.startswith("sqlite"):
            for suffix in ("", "-wal", "-shm"):
                Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    return SizeResult(n, built, timings, exports)


# ------------------------------------------------------------------------------ report


def limit_label(limit: int) -> str:
    return "1 record/pass" if limit == 1 else f"{limit}/pass, amortized"


def report(results: list[SizeResult], limits: Sequence[int]) -> None:
    say("\nresolution time per record, ms (1/pass: each pass's own time; N/pass: pass time / N):")
    say(f"{'works':>10} {'build s':>8} {'passes':>17} {'records':>8} {'p50':>7} {'p90':>7} "
        f"{'p99':>7} {'max':>8}")  # fmt: skip
    for r in results:
        for limit in limits:
            t = r.timings[limit].per_record
            say(f"{r.size:>10,} {r.built.seconds:>8.1f} {limit_label(limit):>17} {len(t):>8} "
                f"{pct(t, 0.5):>7.2f} {pct(t, 0.9):>7.2f} {pct(t, 0.99):>7.2f} "
                f"{1000 * max(t):>8.2f}")  # fmt: skip
    kinds = sorted({k for r in results for t in r.timings.values() for k in t.by_kind})
    if kinds:
        say("\n1 record/pass, p99 (p50) by kind of record, ms:")
        say(f"{'works':>10} " + " ".join(f"{k:>18}" for k in kinds))
        for r in results:
            by_kind = r.timings[1].by_kind if 1 in r.timings else {}
            cells = []
            for k in kinds:
                v = by_kind.get(k, [])
                cells.append(f"{pct(v, 0.99):.2f} ({pct(v, 0.5):.2f})" if v else "-")
            say(f"{r.size:>10,} " + " ".join(f"{c:>18}" for c in cells))
    if any(r.exports for r in results):
        say("\nexport works (filmagg export, subprocess):")
        say(f"{'works':>10} {'format':>6} {'wall s':>8} {'peak MB':>8} {'rows':>10} {'ok':>4}")
        for r in results:
            for e in r.exports:
                ok = e.code == 0 and e.rows == e.works
                say(f"{e.works:>10,} {e.fmt:>6} {e.seconds:>8.1f} {e.rss_mb:>8.0f} {e.rows:>10,} "
                    f"{'yes' if ok else 'NO':>4}")  # fmt: skip
    say("\ntargets (issue 9):")
    for line in targets(results, limits):
        say(line)


def targets(results: list[SizeResult], limits: Sequence[int]) -> list[str]:
    out = []
    sizes = [r.size for r in results]
    for limit in limits:
        p99 = {r.size: pct(r.timings[limit].per_record, 0.99) for r in results}
        figures = ", ".join(f"{n:,}: {v:.2f} ms" for n, v in p99.items())
        ok = all(v < P99_TARGET_MS for v in p99.values())
        out.append(f"{'PASS' if ok else 'FAIL'} resolution p99 < {P99_TARGET_MS:g} ms at every "
                   f"size, {limit_label(limit)} ({figures})")  # fmt: skip
        small, large = min(sizes), max(sizes)
        if large > small:
            ratio = p99[large] / p99[small]
            out.append(f"{'PASS' if ratio <= FLAT_RATIO else 'FAIL'} resolution p99 flat, "
                       f"{limit_label(limit)}: {large:,} works / {small:,} works = {ratio:.2f}x "
                       f"(target <= {FLAT_RATIO}x)")  # fmt: skip
        else:
            out.append("NOT RUN resolution p99 flat: needs two sizes")
    exports = [e for r in results for e in r.exports if r.size >= EXPORT_SIZE]
    if not exports:
        out.append(f"NOT RUN export of {EXPORT_SIZE:,} works (largest size {max(sizes):,})")
    for e in exports:
        ok = (e.code == 0 and e.rows == e.works and e.seconds < EXPORT_TARGET_S
              and e.rss_mb < EXPORT_TARGET_MB)  # fmt: skip
        out.append(f"{'PASS' if ok else 'FAIL'} export {e.works:,} works {e.fmt}: {e.seconds:.1f} s "
                   f"(< {EXPORT_TARGET_S:g}), peak RSS {e.rss_mb:.0f} MB (< {EXPORT_TARGET_MB:g}), "
                   f"{e.rows:,} rows")  # fmt: skip
    return out


# ------------------------------------------------------------------------------ --check


def indexes(url: str, ids: bool) -> dict[str, Counter[tuple[Any, ...]]]:
    """The ``record_key`` and ``mention`` rows by record identity (catalog_compare skips them);
    with ``ids``, also each record's work id and the ``work_alias`` rows."""
    engine = engine_for(url)
    out: dict[str, Counter[tuple[Any, ...]]] = {}
    try:
        with engine.connect() as conn:
            meta = MetaData()
            sr = Table("source_record", meta, autoload_with=conn)
            rec = {r.id: record_key(r._mapping) for r in conn.execute(
                select(sr.c.id, sr.c.site, sr.c.url, sr.c.type, sr.c.item_key))}  # fmt: skip
            for name, cols in (("record_key", ("key", "film")), ("mention", ("key",))):
                t = Table(name, meta, autoload_with=conn)
                out[name] = Counter(
                    (rec[r[0]], *r[1:]) for r in conn.execute(
                        select(t.c.source_record_id, *(t.c[c] for c in cols))))  # fmt: skip
            if ids:
                out["work_alias"] = Counter(
                    map(tuple, conn.execute(text("SELECT id, work_id, reason FROM work_alias")))
                )
                out["work_id"] = Counter(
                    map(tuple, conn.execute(text("SELECT id, work_id FROM source_record")))
                )
    finally:
        engine.dispose()
    return out


def compare(a: str, b: str, names: tuple[str, str], same_ids: bool) -> None:
    """``same_ids``: also every record's work id and the aliases (none) must agree."""
    assert_same_catalog(snapshot(a), snapshot(b), names)
    ia, ib = indexes(a, same_ids), indexes(b, same_ids)
    for name in ia:
        if ia[name] != ib[name]:
            only_a, only_b = ia[name] - ib[name], ib[name] - ia[name]
            raise AssertionError(f"{name} differs: {sum(only_a.values())} rows only in {names[0]} "
                                 f"(e.g. {list(only_a)[:3]}), {sum(only_b.values())} only in "
                                 f"{names[1]} (e.g. {list(only_b)[:3]})")  # fmt: skip


def check(args: argparse.Namespace, folder: Path) -> int:
    """Build a small catalog the bulk way; a rebuild must change nothing, and staging the same
    records and resolving them incrementally must give the same catalog."""
    n = args.check_works
    say(f"== check: {n:,} works, reviews for {args.check_reviews:.0%} of them ==")
    a = f"sqlite:///{folder / 'bulk.db'}"
    built = build(a, n, args.check_reviews, keep_items=True)
    say(f"  built {built.works:,} works, {built.films:,} film records, {built.reviews:,} reviews "
        f"in {built.seconds:.1f} s; largest key component {max(built.components)} records")  # fmt: skip
    b = f"sqlite:///{folder / 'rebuilt.db'}"
    shutil.copy(folder / "bulk.db", folder / "rebuilt.db")
    t0 = time.monotonic()
    engine = get_engine(b)
    counts = Resolver(engine).rebuild()
    engine.dispose()
    say(f"  rebuild of a copy: {dict(sorted(counts.items()))} in {time.monotonic() - t0:.1f} s")
    failures = 0
    try:
        compare(a, b, ("bulk", "rebuilt"), same_ids=True)
        say(
            "PASS rebuild changes nothing (catalog_compare snapshot, record_key, mention, work ids, no aliases)"
        )
    except AssertionError as exc:
        failures += 1
        say(f"FAIL rebuild changed the bulk-built catalog:\n{exc}")
    c = f"sqlite:///{folder / 'staged.db'}"
    t0 = time.monotonic()
    engine = get_engine(c)
    catalog = Catalog(engine)
    rng = random.Random(SEED)
    items = list(built.items)
    rng.shuffle(items)  # any arrival order gives the same catalog
    for i in range(0, len(items), 200):
        catalog.store(items[i : i + 200])
        catalog.resolve()
    engine.dispose()
    get_engine.cache_clear()
    say(f"  staged and resolved the same {len(items):,} records in batches of 200 "
        f"in {time.monotonic() - t0:.1f} s")  # fmt: skip
    try:
        compare(a, c, ("bulk", "staged"), same_ids=False)
        say("PASS staging + resolve_pending gives the bulk-built catalog")
    except AssertionError as exc:
        failures += 1
        say(f"FAIL staged catalog differs from the bulk-built one:\n{exc}")
    return 1 if failures else 0


# ------------------------------------------------------------------------------ main


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="10000,100000",
                    help="stored works per catalog, comma-separated (default 10000,100000)")  # fmt: skip
    ap.add_argument("--sample", type=int, default=2000, help="pending records resolved per size")
    ap.add_argument("--pass-limit", default="1,50",
                    help="records per resolver pass, one sample each (default 1,50)")  # fmt: skip
    ap.add_argument("--reviews", type=float, default=0.05,
                    help="share of stored works with a stored review (default 0.05)")  # fmt: skip
    ap.add_argument("--db-url", help="a PostgreSQL server: each catalog is a new database on it")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--check", action="store_true", help="prove the bulk build right, then stop")
    ap.add_argument("--check-works", type=int, default=2000)
    ap.add_argument("--check-reviews", type=float, default=0.3)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir and its catalogs")
    ap.add_argument(
        "--snapshot",
        metavar="DIR",
        help="save each size's built catalog in DIR, or reuse the one saved there",
    )
    args = ap.parse_args()
    if args.db_url:
        args.db_url = normalize_url(args.db_url)
        if make_url(args.db_url).get_backend_name() != "postgresql":
            ap.error("--db-url takes a PostgreSQL server URL (SQLite is the default)")
    folder = Path(tempfile.mkdtemp(prefix="filmagg-bench-scale-"))
    try:
        if args.check:
            return check(args, folder)
        sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
        args.limits = [int(x) for x in args.pass_limit.split(",") if x.strip()]
        results = [run_size(n, args, folder) for n in sizes]
        report(results, args.limits)
    finally:
        if args.keep:
            say(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
