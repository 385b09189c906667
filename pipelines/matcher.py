"""Linking film tables and resolving record streams in memory, with the catalog's rules.

* ``read_table`` turns a CSV of films (any column names, via a field map) into ``Profile``s;
* ``link`` pairs two tables one-to-one (``filmagg match``). With ``strict``: blocking on title
  keys, ids and (year, person), then ``identity.compare``/``is_match`` on each candidate pair,
  then a greedy best-score-first assignment with deterministic tie-breaking. Otherwise
  (``scored_link``): wider blocking (cleaned titles, people by decade, rare words), each pair
  scored by ``scoring.Model`` (a calibrated probability), the same greedy assignment above a
  threshold, and title-only pairs kept only without a close rival;
* ``Resolver`` clusters a stream of records into works (the synthetic scale benchmark), with
  per-record cost independent of catalog size: blocks are looked up, never scanned.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

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
from pipelines.scoring import (
    Model,
    Row,
    Stats,
    build_stats,
    evidence,
    load_model,
    prepare,
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


def read_table(path: Path, field_map: Mapping[str, str] | None = None, sep: str | None = None,
               make: Callable[[Sequence[str], Mapping[str, int]], Any] = row_profile,
               ) -> list[Profile]:  # fmt: skip
    """A CSV of films as profiles (or what ``make`` builds of each row). The separator is
    sniffed (``,`` ``;`` ``|`` tab) unless given."""
    if sep is not None and len(sep) != 1:
        raise TableError(f"the separator must be one character, not {sep!r}")
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise TableError(f"cannot read {path}: {exc.strerror}") from exc
    csv.field_size_limit(MAX_FIELD)
    try:
        with handle:
            return _read_rows(path, handle, field_map, sep, make)
    except UnicodeDecodeError as exc:
        raise TableError(f"{path} is not UTF-8 text (byte {exc.start}): is it a CSV file?") from exc
    except csv.Error as exc:
        raise TableError(f"{path}: not readable as CSV: {exc}") from exc


MAX_FIELD = 16 * 1024 * 1024  # longest cell read (the csv module's default is 128 KiB)


def _read_rows(path: Path, handle: TextIO, field_map: Mapping[str, str] | None, sep: str | None,
               make: Callable[[Sequence[str], Mapping[str, int]], Any]) -> list[Any]:  # fmt: skip
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
    return [make(row, cols) for row in reader if any(c.strip() for c in row)]


def read_rows(path: Path, field_map: Mapping[str, str] | None = None, sep: str | None = None
              ) -> list[Row]:  # fmt: skip
    """A CSV of films prepared for scored linking, one table at a time (its profiles are
    dropped once prepared: a 200k-row table's profiles alone take 300 MB)."""
    return read_table(path, field_map, sep, make=lambda row, cols: prepare(row_profile(row, cols)))  # type: ignore[return-value]


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


def link(
    left: Sequence[Profile],
    right: Sequence[Profile],
    *,
    strict: bool = True,
    threshold: float | None = None,
    model: Model | None = None,
) -> list[Pair]:
    """One-to-one links. ``strict``: the catalog's rules (below); otherwise every pair whose
    calibrated score passes ``threshold`` (the model's own by default), see ``scored_link``."""
    if strict:
        return strict_link(left, right)
    model = model or load_model()
    return scored_link(left, right, model, model.threshold if threshold is None else threshold)


def strict_link(left: Sequence[Profile], right: Sequence[Profile]) -> list[Pair]:
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


# ------------------------------------------------------------------------------ scored linking


def scored_block_keys(r: Row) -> set[str]:
    """Where a prepared row is filed, and what it looks up: every cleaned title key and
    variant, ids, each person (narrowed to the decade when looked up), episode numbers and
    rare title words of the year."""
    keys = {f"t:{k}" for k in r.keys}
    if r.external_ids:
        keys |= {f"id:{ns}:{v}" for ns, v in r.external_ids.items()}
    keys |= {f"p:{n}" for n in sorted({f.key for f in r.people})[:8]}
    if r.year:
        if r.episode is not None:
            keys.add(f"ep:{r.year}:{r.season}:{r.episode}")
        keys |= {f"w:{r.year}:{w}" for w in r.tokens if len(w) >= 4 and w not in _COMMON}
    return keys


@dataclass
class ScoredIndex:
    """Inverted index of prepared rows for scored linking; common keys are narrowed, not
    scanned: a title shared by hundreds of rows is narrowed by year; a person, to rows of the
    decades a ±1 year reaches (or of no year); a name or word on too many rows says nothing."""

    rows: list[Row]
    max_block: int = 400
    max_people: int = 100
    # a key of one row holds the row itself: most keys are, and a list per key costs 72 bytes
    blocks: dict[str, int | list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        blocks = self.blocks
        for i, r in enumerate(self.rows):
            for k in scored_block_keys(r):
                got = blocks.get(k)
                if got is None:
                    blocks[k] = i
                elif isinstance(got, int):
                    blocks[k] = [got, i]
                else:
                    got.append(i)

    def candidates(self, r: Row, keys: Iterable[str]) -> set[int]:
        """Rows filed under any of ``keys`` (those of ``r``), common keys narrowed."""
        found: set[int] = set()
        rows = self.rows
        year = r.year
        for k in keys:
            got = self.blocks.get(k)
            if got is None:
                continue
            if isinstance(got, int):
                found.add(got)
                continue
            block = got
            if k[0] == "t" or k[0] == "e":
                if len(block) > self.max_block and year:
                    years = (year - 1, year, year + 1, None)
                    block = [i for i in block if rows[i].year in years]
            elif k[0] == "w":
                if len(block) > 50:  # a common word: no evidence of kinship
                    continue
            elif k[0] == "p":
                if len(block) > self.max_people:
                    continue
                if year:
                    decades = ((year - 1) // 10, (year + 1) // 10)
                    block = [i for i in block if not (y := rows[i].year) or y // 10 in decades]
            found.update(block)
        return found


SURE = 0.95  # a row with a candidate this sure by title, id or episode is not searched further


FLOOR = 0.01  # pairs scoring less are dropped: they link at no useful threshold


@dataclass(frozen=True, slots=True)
class Scored:
    """A candidate pair (positions in the two tables), its score, whether it rests on titles
    alone, and (for training) its features."""

    i: int
    j: int
    score: float
    weak: bool
    x: tuple[float, ...] | None = None


@dataclass
class Candidates:
    lrows: list[Row]
    rrows: list[Row]
    stats: Stats
    found: list[Scored]


def scored_candidates(
    left: Sequence[Row],
    right: Sequence[Row],
    model: Model,
    floor: float = FLOOR,
    keep_features: bool = False,
) -> Candidates:
    """Every blocked pair not barred by a hard rule and scoring at least ``floor``; IDF is
    taken over both tables."""
    lrows, rrows = list(left), list(right)
    stats: Stats = build_stats([*lrows, *rrows])
    index = ScoredIndex(rrows)
    out: list[Scored] = []
    for i, lr in enumerate(lrows):
        keys = scored_block_keys(lr)
        first = {k for k in keys if k[0] in "tie"}  # titles, ids, episodes
        seen = index.candidates(lr, first)
        best = 0.0
        for stage, found in ((0, seen), (1, ())):
            if stage == 1:  # people and rare words: only when titles found nothing sure
                if best >= SURE:
                    break
                found = index.candidates(lr, keys - first) - seen
            for j in sorted(found):
                ev = evidence(lr, rrows[j], stats)
                if ev.blocked:
                    continue
                score = model.score(ev)
                best = max(best, score)
                if score >= floor:
                    out.append(Scored(i, j, score, ev.weak, ev.x if keep_features else None))
    return Candidates(lrows, rrows, stats, out)


def _without_close_rival(found: Sequence[Scored], margin: float) -> list[Scored]:
    """Weak pairs (titles alone: no agreeing year, people, episode, runtime or id) are kept
    only when no other candidate of either row scores within ``margin`` of them: two
    same-titled remakes against a row with only a title stay apart."""
    scores: dict[tuple[bool, int], list[float]] = defaultdict(list)
    for s in found:
        scores[(True, s.i)].append(s.score)
        scores[(False, s.j)].append(s.score)

    def rival(side: tuple[bool, int], score: float) -> bool:
        return sum(1 for x in scores[side] if x >= score - margin) > 1

    return [s for s in found
            if not s.weak or not (rival((True, s.i), s.score) or rival((False, s.j), s.score))]  # fmt: skip


def assign(c: Candidates, threshold: float, margin: float, explain: bool = True) -> list[Pair]:
    """Greedy one-to-one assignment, best score first; ties broken by the rows' ids (then
    their positions), so shuffled input rows give the same links. Reasons are built for the
    links only."""
    lrows, rrows = c.lrows, c.rrows
    kept = [s for s in _without_close_rival(c.found, margin) if s.score >= threshold]
    kept.sort(key=lambda s: (-s.score, lrows[s.i].id, rrows[s.j].id, s.i, s.j))
    used_left: set[int] = set()
    used_right: set[int] = set()
    out: list[Pair] = []
    for s in kept:
        if s.i in used_left or s.j in used_right:
            continue
        used_left.add(s.i)
        used_right.add(s.j)
        reasons: tuple[str, ...] = ()
        if explain:
            reasons = evidence(lrows[s.i], rrows[s.j], c.stats, explain=True).reasons
            if s.weak:
                reasons += ("title only: no rival candidate on either side comes close",)
        out.append(Pair(lrows[s.i].id, rrows[s.j].id, s.score, reasons))
    return sorted(out, key=lambda p: (p.left, p.right))


def scored_link(
    left: Sequence[Profile], right: Sequence[Profile], model: Model, threshold: float
) -> list[Pair]:
    """One-to-one links whose calibrated probability of being one work is >= ``threshold``."""
    lrows = [prepare(p) for p in left]
    rrows = [prepare(p) for p in right]
    return assign(scored_candidates(lrows, rrows, model), threshold, model.rival_margin)


# ------------------------------------------------------------------------------ ground truth


@dataclass(frozen=True)
class Truth:
    """Known pairs. With a label column, the labelled negatives too: then only labelled pairs
    are judged (a link between two unlabelled rows is neither right nor wrong)."""

    positives: frozenset[tuple[str, str]]
    negatives: frozenset[tuple[str, str]] | None = None

    def judge(self, links: Iterable[tuple[str, str]]) -> tuple[int, int, int]:
        got = set(links)
        tp = len(got & self.positives)
        fp = len(got - self.positives) if self.negatives is None else len(got & self.negatives)
        return tp, fp, len(self.positives - got)


_TRUTH_HEADERS = {"left_id", "right_id", "ltable_id", "rtable_id", "d1", "d2", "id1", "id2",
                  "left", "right", "source", "target", "label"}  # fmt: skip


def read_truth(path: Path) -> Truth:
    """A CSV of true pairs: "left_id,right_id", Magellan's "ltable_id,rtable_id,label" (only
    label 1 rows are matches) or the MovieGraph "D1|D2"; no header means two id columns."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TableError(f"cannot read the truth file {path}: {exc}") from exc
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise TableError(f"the truth file {path} is empty")
    try:
        sep = csv.Sniffer().sniff(lines[0] + "\n", delimiters=",;|\t").delimiter
    except csv.Error:
        sep = ","
    rows = list(csv.reader(lines, delimiter=sep))
    head = [h.strip().lower() for h in rows[0]]
    label = None
    if _TRUTH_HEADERS & set(head):
        label = head.index("label") if "label" in head else None
        rows = rows[1:]
    pos: set[tuple[str, str]] = set()
    neg: set[tuple[str, str]] = set()
    for n, row in enumerate(rows, start=2 if label is not None else 1):
        if len(row) < 2 or (label is not None and len(row) <= label):
            raise TableError(
                f"{path}, line {n}: expected left_id{sep}right_id, got {sep.join(row)!r}"
            )
        pair = (row[0].strip(), row[1].strip())
        if label is None or row[label].strip().lower() in ("1", "true", "yes"):
            pos.add(pair)
        else:
            neg.add(pair)
    return Truth(frozenset(pos), frozenset(neg) if label is not None else None)


REPORT_THRESHOLDS = (0.1, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def threshold_report(pairs: Sequence[Pair], truth: Truth, chosen: float | None) -> str:
    """Precision, recall and F1 of the links at several score thresholds (``chosen`` marked);
    with ``chosen`` None, of the links as given."""

    def line(name: str, kept: Iterable[Pair]) -> str:
        tp, fp, fn = truth.judge((p.left, p.right) for p in kept)
        prec = tp / (tp + fp) if tp + fp else 1.0
        rec = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        return f"{name:<18} P {prec:.3f}  R {rec:.3f}  F1 {f1:.3f}  (tp {tp}, fp {fp}, fn {fn})"

    judged = "labelled pairs only" if truth.negatives is not None else "every link"
    out = [f"against {len(truth.positives)} true pairs ({judged} judged):"]
    if chosen is None:
        return "\n".join([*out, line("links", pairs)])
    for t in sorted({*REPORT_THRESHOLDS, chosen}):
        mark = "  <- --threshold" if t == chosen else ""
        out.append(line(f"score >= {t:.2f}", [p for p in pairs if p.score >= t]) + mark)
    return "\n".join(out)


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
