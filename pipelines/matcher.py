"""Linking film tables and resolving record streams in memory, with the catalog's rules.

* ``read_table`` turns a CSV of films (any column names, via a field map) into ``Profile``s;
* ``link`` pairs two tables one-to-one: blocking on title keys, ids and (year, person), then
  ``identity.compare``/``is_match`` on each candidate pair, then a greedy best-score-first
  assignment with deterministic tie-breaking (``filmagg match``);
* ``Resolver`` clusters a stream of records into works (the synthetic scale benchmark), with
  per-record cost independent of catalog size: blocks are looked up, never scanned.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from pipelines.identity import (
    Comparison,
    Profile,
    compare,
    is_match,
    person_key,
    title_form,
    title_variants,
)
from pipelines.normalize import (
    clean_text,
    parse_datetime,
    parse_kind,
    parse_runtime,
    parse_year,
    person_name,
)

FIELDS = ("id", "title", "year", "date", "kind", "runtime", "directors", "writers", "cast",
          "people", "genres", "original_title", "season", "episode")  # fmt: skip

# Column names that mean a field when no map says otherwise (case-insensitive).
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "ltable_id", "rtable_id", "imdb_id", "tconst", "key"),
    "title": ("title", "name", "primarytitle", "movie_title", "film", "movie"),
    "original_title": ("original_title", "originaltitle"),
    "year": ("year", "startyear", "release_year", "start_year"),
    "date": ("date", "release date", "release_date", "releasedate", "released"),
    "kind": ("kind", "type", "titletype", "title_type"),
    "runtime": ("runtime", "duration", "runtimeminutes", "runtime_minutes", "length"),
    "directors": ("directors", "director"),
    "writers": ("writers", "writer"),
    "cast": ("cast", "actors", "stars", "starring"),
    "people": ("people", "persons", "credits"),
    "genres": ("genres", "genre", "genre_list"),
    "season": ("season", "seasonnumber", "season_number"),
    "episode": ("episode", "episodenumber", "episode_number"),
}


class TableError(ValueError):
    """A table that cannot be read as asked (missing column, bad map); message says which."""


def parse_map(spec: str | None) -> dict[str, str]:
    """ "title=name,year=release date" -> {"title": "name", "year": "release date"}."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in (spec or "").split(","))):
        if "=" not in part:
            raise TableError(f"map entry {part!r} is not field=column")
        fld, col = (x.strip() for x in part.split("=", 1))
        if fld not in FIELDS:
            raise TableError(f"unknown field {fld!r} in map (fields: {', '.join(FIELDS)})")
        out[fld] = col
    return out


def resolve_columns(header: Sequence[str], explicit: Mapping[str, str]) -> dict[str, int]:
    """Field -> column index: the explicit map first, then well-known column names.
    Column names may be URIs; their last path segment counts ("…/ontology/title")."""
    short = [h.rsplit("/", 1)[-1].strip().lower() for h in header]
    full = [h.strip().lower() for h in header]
    cols: dict[str, int] = {}
    for fld, col in explicit.items():
        c = col.strip().lower()
        if c in full:
            cols[fld] = full.index(c)
        elif c in short:
            cols[fld] = short.index(c)
        else:
            raise TableError(
                f"column {col!r} (for {fld}) not in the table's header: {', '.join(header)}"
            )
    for fld, names in ALIASES.items():
        if fld in cols:
            continue
        for name in names:
            if name in short and short.index(name) not in cols.values():
                cols[fld] = short.index(name)
                break
    if "id" not in cols:
        raise TableError("no id column: name one with --left-map/--right-map id=COLUMN")
    return cols


_MULTI = re.compile(r"\s*[;|]\s*")


def split_people(cell: str) -> list[str]:
    """Several names in one cell: "A; B", "A | B", "A, B"; a lone "Last, First" stays one name."""
    cell = cell.strip()
    if not cell:
        return []
    if _MULTI.search(cell):
        parts = _MULTI.split(cell)
    else:
        parts = [p.strip() for p in cell.split(",")]
        if len(parts) == 2 and (len(parts[1].split()) == 1 or re.search(r"\(\w+\)$", parts[1])):
            parts = [cell]  # "Cage, Nicolas (I)", "Van Sant, Gus": one name, last name first
    return [n for n in (person_name(p) for p in parts) if n]


def split_list(cell: str) -> list[str]:
    return [p.strip() for p in re.split(r"\s*[,;|/]\s*", cell) if p.strip()]


def row_profile(row: Sequence[str], cols: Mapping[str, int]) -> Profile:
    def get(fld: str) -> str:
        i = cols.get(fld)
        return row[i].strip() if i is not None and i < len(row) else ""

    titles = [t for t in (clean_text(get("title")), clean_text(get("original_title"))) if t]
    year = parse_year(get("year")) if get("year") else None
    if year is None and get("date"):
        iso = parse_datetime(get("date"))
        year = int(iso[:4]) if iso else parse_year(get("date"))
    genres = split_list(get("genres"))
    return Profile(
        id=get("id"),
        titles=list(dict.fromkeys(titles)),
        year=year,
        kind=parse_kind(clean_text(get("kind")), None) if get("kind") else parse_kind(None, None),
        runtime=parse_runtime(get("runtime")) if get("runtime") else None,
        directors=split_people(get("directors")),
        cast=split_people(get("cast")),
        people=split_people(get("writers")) + split_people(get("people")),
        season=_int(get("season")),
        episode=_int(get("episode")),
        genres=genres,
    )


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def read_table(path: Path, field_map: Mapping[str, str] | None = None, sep: str | None = None
               ) -> list[Profile]:  # fmt: skip
    """A CSV of films as profiles. The separator is sniffed (``,`` ``;`` ``|`` tab) unless given."""
    if sep is not None and len(sep) != 1:
        raise TableError(f"the separator must be one character, not {sep!r}")
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise TableError(f"cannot read {path}: {exc.strerror}") from exc
    csv.field_size_limit(MAX_FIELD)
    try:
        with handle:
            return _read_rows(path, handle, field_map, sep)
    except UnicodeDecodeError as exc:
        raise TableError(f"{path} is not UTF-8 text (byte {exc.start}): is it a CSV file?") from exc
    except csv.Error as exc:
        raise TableError(f"{path}: not readable as CSV: {exc}") from exc


MAX_FIELD = 16 * 1024 * 1024  # longest cell read (the csv module's default is 128 KiB)


def _read_rows(path: Path, handle: TextIO, field_map: Mapping[str, str] | None, sep: str | None
               ) -> list[Profile]:  # fmt: skip
    sample = handle.read(65536)
    if "\x00" in sample:
        raise TableError(f"{path} holds binary data: is it a CSV file?")
    handle.seek(0)
    if sep is None:
        try:
            sep = csv.Sniffer().sniff(sample, delimiters=",;|\t").delimiter
        except csv.Error:
            sep = ","
    reader = csv.reader(handle, delimiter=sep)
    header = next(reader, None)
    if not header:
        raise TableError(f"{path} is empty")
    cols = resolve_columns(header, field_map or {})
    if "title" not in cols and not {"directors", "cast", "people"} & set(cols):
        raise TableError(
            f"{path}: no title or people columns to match on (header: {', '.join(header)})"
        )
    return [row_profile(row, cols) for row in reader if any(c.strip() for c in row)]


# ------------------------------------------------------------------------------ blocking


def block_keys(p: Profile) -> set[str]:
    """Keys a profile is filed under: title variants, ids, and (year, person) for rows whose
    titles may be missing or foreign."""
    keys = {f"t:{k}" for t in p.titles for k in title_variants(t)}
    keys |= {f"id:{ns}:{v}" for ns, v in p.external_ids.items()}
    if p.year:
        for pk in sorted(p.director_keys() | p.cast_keys())[:6]:
            keys.add(f"yp:{p.year}:{pk}")
        if p.episode is not None:
            keys.add(f"ep:{p.year}:{p.season}:{p.episode}")
        for t in p.titles:  # one changed word ("Now"/"Vow") must not hide a candidate
            keys |= {
                f"w:{p.year}:{w}"
                for w in title_form(t).key.split()
                if len(w) >= 4 and w not in _COMMON
            }
    return keys


_COMMON = frozenset("with from that this what when where your their about into over part episode chapter "
                    "season show movie film story life love night".split())  # fmt: skip


@dataclass
class Index:
    """An inverted index from block keys to profile positions."""

    profiles: list[Profile]
    max_block: int = 400
    blocks: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        for i, p in enumerate(self.profiles):
            for k in block_keys(p):
                self.blocks[k].append(i)

    def candidates(self, p: Profile) -> list[int]:
        found: set[int] = set()
        for k in block_keys(p):
            block = self.blocks.get(k)
            if not block:
                continue
            if k.startswith("w:") and len(block) > 50:  # a common word: no evidence of kinship
                continue
            if (
                len(block) > self.max_block and p.year
            ):  # a generic title ("Episode 1"): narrow by year
                block = [
                    i for i in block if self.profiles[i].year in (p.year - 1, p.year, p.year + 1)
                ]
            found.update(block)
        return sorted(found)


# ------------------------------------------------------------------------------ linking


@dataclass(frozen=True)
class Pair:
    left: str
    right: str
    score: float
    reasons: tuple[str, ...]


def candidate_pairs(
    left: Sequence[Profile], right: Sequence[Profile]
) -> Iterator[tuple[int, int, Comparison]]:
    """Every blocked pair that passes the merge rules, with its evidence."""
    index = Index(list(right))
    for i, lp in enumerate(left):
        for j in index.candidates(lp):
            c = compare(lp, right[j])
            if is_match(c):
                yield i, j, c


def link(left: Sequence[Profile], right: Sequence[Profile]) -> list[Pair]:
    """One-to-one links: best scores first; exact-year pairs before ±1-year ones (rule 4);
    ties broken by position, so the output is deterministic. A pair resting on title + year
    alone (``needs_unique``) counts only when neither side has another candidate."""
    found = list(candidate_pairs(left, right))
    per_left: dict[int, int] = defaultdict(int)
    per_right: dict[int, int] = defaultdict(int)
    for i, j, _ in found:
        per_left[i] += 1
        per_right[j] += 1
    found = [
        (i, j, c)
        for i, j, c in found
        if not c.needs_unique or (per_left[i] == 1 and per_right[j] == 1)
    ]
    pairs = sorted(found,
                   key=lambda t: (not (t[2].exact_year or t[2].shared_id), -t[2].score, t[0], t[1]))  # fmt: skip
    used_left: set[int] = set()
    used_right: set[int] = set()
    out: list[Pair] = []
    for i, j, c in pairs:
        if i in used_left or j in used_right:
            continue
        used_left.add(i)
        used_right.add(j)
        out.append(Pair(left[i].id, right[j].id, c.score, tuple(c.reasons)))
    return sorted(out, key=lambda p: (p.left, p.right))


def write_pairs(pairs: Iterable[Pair], path: Path) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        w = csv.writer(handle, lineterminator="\n")
        w.writerow(["left_id", "right_id", "score", "reasons"])
        for p in pairs:
            w.writerow([p.left, p.right, f"{p.score:.3f}", "; ".join(p.reasons)])
            n += 1
    return n


# ------------------------------------------------------------------------------ resolving


@dataclass(slots=True)
class _Work:
    profile: Profile
    size: int = 1


class Resolver:
    """Clusters records into works as they stream in (the catalog's rules, without a DB)."""

    def __init__(self) -> None:
        self.works: list[_Work] = []
        self.blocks: dict[str, list[int]] = defaultdict(list)
        self.assignment: dict[str, int] = {}

    def add(self, record: Profile) -> int:
        found: set[int] = set()
        for k in block_keys(record):
            block = self.blocks.get(k)
            if block:
                found.update(block if len(block) <= 400 else
                             [w for w in block if self.works[w].profile.year == record.year])  # fmt: skip
        passing = [(c, w) for w in sorted(found)
                   if is_match(c := compare(record, self.works[w].profile))]  # fmt: skip
        if len(passing) > 1:  # title + year (+ runtime) evidence holds only without a rival
            passing = [(c, w) for c, w in passing if not c.needs_unique]
        best: tuple[bool, float, int] | None = None
        for c, w in passing:
            key = (c.exact_year or c.shared_id, c.score, -w)
            if best is None or key > best:
                best = key
        if best is None:
            wid = len(self.works)
            self.works.append(_Work(_merge(Profile(id=str(wid)), record)))
            new_keys = block_keys(record)
        else:
            wid = -best[2]
            work = self.works[wid]
            before = block_keys(work.profile)
            _merge(work.profile, record)
            work.size += 1
            new_keys = block_keys(work.profile) - before
        for k in new_keys:
            self.blocks[k].append(wid)
        self.assignment[record.id] = wid
        return wid


def _merge(into: Profile, rec: Profile) -> Profile:
    """A work's profile learns a record's titles, people and ids; first year/kind/runtime win."""
    for t in rec.titles:
        if t not in into.titles:
            into.titles.append(t)
    into.year = into.year or rec.year
    if rec.year and rec.year != into.year and rec.year not in into.alt_years:
        into.alt_years.append(rec.year)
    if into.kind.value == "unknown":
        into.kind = rec.kind
    into.runtime = into.runtime or rec.runtime
    for attr in ("directors", "cast", "people"):
        have = {person_key(n) for n in getattr(into, attr)}
        getattr(into, attr).extend(n for n in getattr(rec, attr) if person_key(n) not in have)
    for ns, v in rec.external_ids.items():
        into.external_ids.setdefault(ns, v)
    return into
