"""Scored film matching: name and title forms, pair features, and a calibrated model.

``filmagg match`` without ``--strict`` links pairs whose *probability of being one work* passes a
threshold. The probability comes from a small logistic regression over pair features (title
similarity on normalized forms, IDF-weighted title tokens and people, year agreement, episode
numbers, runtime, a missing title), trained by ``bench/train_match.py`` on training splits only and shipped
as ``pipelines/data/match_model.json``. Scoring is pure and deterministic: same rows, same scores.

Hard rules stay rules, not weights: a shared external id links (rule 1); a different id of the
same namespace, an incompatible kind, directors named on both sides with none in common (the
1931 English and Spanish "Dracula"), and title numbers that disagree ("Psycho" vs "Psycho II")
block a pair whatever the rest says.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from rapidfuzz import fuzz

from pipelines.identity import (
    Profile,
    is_generic_title,
    kinds_compatible,
    numbers_agree,
    runtime_compatible,
    title_form,
    title_variants,
)
from pipelines.normalize import fold
from pipelines.records import Kind

MODEL_PATH = Path(__file__).resolve().parent / "data" / "match_model.json"

# ------------------------------------------------------------------------------ title forms

_YEAR_IN_TITLE = re.compile(
    r"\s*[(\[]\s*(?P<year>(?:18|19|20)\d\d)(?:\s*/\s*[IVXivx]+)?\s*[)\]]\s*$"
)
_ARTICLE_WORDS = ("the a an le la les l' der die das den dem des el los las lo il gli i un una "
                  "une uno ein eine de het o os as um uma ta to ho he det en et ett al").split()  # fmt: skip
_TRAILING = re.compile(
    r"^(?P<body>.+?),\s*(?P<art>" + "|".join(re.escape(a) for a in _ARTICLE_WORDS) + r")"
    r"(?P<rest>\s*(?:[:(\[-].*)?)$",
    re.I,
)
_ELIDED = re.compile(r"\b([ldLD])['’](?=\w)")


def split_title_year(title: str) -> tuple[str, int | None]:
    """ "Thinner (1996)" -> ("Thinner", 1996); "Hamlet (1948/I)" -> ("Hamlet", 1948): a year
    (with an IMDb "/I" disambiguator) at the end of a title is a year, not part of the title."""
    m = _YEAR_IN_TITLE.search(title)
    if not m or m.start() == 0:
        return title, None
    return title[: m.start()].strip(), int(m.group("year"))


def move_trailing_article(title: str) -> str:
    """ "Amor brujo, El (1986)" -> "El Amor brujo (1986)", for articles of many languages
    ("Avventura, L'" -> "L'Avventura"); catalogs file titles under their first noun."""
    m = _TRAILING.match(title)
    if not m:
        return title
    art = m.group("art")
    glue = "" if art.endswith("'") else " "
    return f"{art}{glue}{m.group('body')}{m.group('rest')}"


def scored_titles(title: str) -> tuple[str, ...]:
    """A title and its cleaned forms: year or disambiguator cut, trailing article moved, elided
    article split off ("L'Avventura" -> "L Avventura", so the article is dropped as a word)."""
    bare, _ = split_title_year(title.strip())
    moved = move_trailing_article(bare)
    forms = [title, bare, moved, _ELIDED.sub(r"\1 ", moved)]
    return tuple(dict.fromkeys(f for f in forms if f))


_ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint", "vs": "versus",
                  "vol": "volume", "ft": "featuring", "feat": "featuring"}  # fmt: skip


def _spelled_out(key: str) -> str:
    """ "mr flotsam" -> "mister flotsam": sites abbreviate title words differently."""
    words = key.split()
    if _ABBREVIATIONS.keys().isdisjoint(words):
        return key
    return " ".join(_ABBREVIATIONS.get(w, w) for w in words)


# ------------------------------------------------------------------------------ name forms

_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
_DOUBLED = re.compile(r"(.)\1+")
_PUNCT = re.compile(r"[^\w\s]|_")
_NAME_DISAMBIG = re.compile(r"\s*\((?:[IVXivx]+|\d+)\)\s*$")  # IMDb's "(II)"
_SKELETON = (("tch", "ch"), ("sch", "sh"), ("kh", "h"), ("ph", "f"), ("ck", "k"), ("ou", "u"),
             ("y", "i"), ("w", "v"), ("dj", "j"), ("ts", "c"), ("tz", "c"))  # fmt: skip


@lru_cache(maxsize=50_000)
def skeleton(token: str) -> str:
    """A folded word with transliteration variants merged ("Tchaikovsky" = "Chaikovsky",
    "Yuri" = "Iouri") and doubled letters collapsed ("Phillip" = "Filip")."""
    for a, b in _SKELETON:
        token = token.replace(a, b)
    return _DOUBLED.sub(r"\1", token)


class NameForm(NamedTuple):
    """A person's name for comparison: surname + first initial (the blocking and IDF key) and
    the first given name, so "N. Renoir" meets "Nadia Renoir" but "Jean Renoir" stays apart.
    A tuple: a catalog holds hundreds of thousands of them."""

    key: str  # "renoir n"
    given: str  # "nadia", "n" for an initial, "" for a lone name


@lru_cache(maxsize=100_000)
def name_form(name: str) -> NameForm | None:
    """ "Renoir, Nadia (II)", "N. Renoir", "NADIA RENOIR", "Nádia Renoir" -> key "renoir n"."""
    text = _NAME_DISAMBIG.sub("", name.strip())
    if text.count(",") == 1:  # "Renoir, Nadia" (read_table has already turned most around)
        last, first = (t.strip() for t in text.split(","))
        if first and last and first.lower().rstrip(".") not in _NAME_SUFFIXES:
            text = f"{first} {last}"
    text = _PUNCT.sub(" ", text.casefold() if text.isascii() else fold(text))
    tokens = [skeleton(t) for t in text.split() if t not in _NAME_SUFFIXES]
    if not tokens:
        return None
    surname, given = tokens[-1], tokens[0] if len(tokens) > 1 else ""
    return NameForm(f"{surname} {given[0]}" if given else surname, given)


def names_agree(a: NameForm, b: NameForm) -> bool:
    """Same surname and initial; full given names, when both sides have them, must be equal."""
    if a.key != b.key:
        return False
    return len(a.given) <= 1 or len(b.given) <= 1 or a.given == b.given


def clear_caches() -> None:
    """Forget the title and name forms memoized while tables were read: linking a 200k-row
    pair of tables needs the prepared rows, not 100 MB of caches over them."""
    for cached in (title_form, title_variants, name_form, skeleton):
        cached.cache_clear()


# ------------------------------------------------------------------------------ prepared rows


@dataclass(slots=True)
class Row:
    """What scoring needs of a table row, computed once and nothing more (a 200k-row table
    is held whole): cleaned title keys and words, the year (from the title when no column
    gives one), name forms, and the few plain fields compared."""

    id: str
    keys: tuple[str, ...]  # title keys of every cleaned form and variant, and without spaces
    main_keys: tuple[str, ...]  # title_form keys of the cleaned forms (no variants)
    tokens: frozenset[str]
    year: int | None
    year_from_title: bool
    alt_years: tuple[int, ...]
    kind: Kind
    runtime: int | None
    season: int | None
    episode: int | None
    external_ids: dict[str, str] | None
    titled: bool
    generic: bool
    directors: tuple[NameForm, ...]
    people: tuple[NameForm, ...]  # directors, cast and other credits
    names: tuple[str, ...]  # display names, aligned with ``people``


def prepare(p: Profile) -> Row:
    """A profile's scoring row: its forms are computed once here, not once per candidate pair."""
    titles: list[str] = []
    year_in_title: int | None = None
    for t in p.titles:
        titles.extend(scored_titles(t))
        year_in_title = year_in_title or split_title_year(t)[1]
    titles = list(dict.fromkeys(titles))
    main = tuple(dict.fromkeys(k for t in titles if (k := _spelled_out(title_form(t).key))))
    compact = [c for k in main if " " in k and len(c := k.replace(" ", "")) >= 6]
    keys = tuple(dict.fromkeys([*main, *(k for t in titles for k in title_variants(t)), *compact]))
    forms: dict[NameForm, str] = {}
    for n in [*p.directors, *p.cast, *p.people]:
        f = name_form(n)
        if f is not None and f not in forms:
            forms[f] = n
    return Row(
        id=p.id,
        keys=keys,
        main_keys=main,
        tokens=frozenset(w for k in main for w in k.split()),
        year=p.year or year_in_title,
        year_from_title=not p.year and year_in_title is not None,
        alt_years=tuple(p.alt_years),
        kind=p.kind,
        runtime=p.runtime,
        season=p.season,
        episode=p.episode,
        external_ids=dict(p.external_ids) or None,
        titled=bool(p.titles),
        generic=any(is_generic_title(t) for t in p.titles),
        directors=tuple(dict.fromkeys(f for n in p.directors if (f := name_form(n)))),
        people=tuple(forms),
        names=tuple(forms.values()),
    )


@dataclass
class Stats:
    """Document frequencies over both tables: rare title words, titles and names weigh more."""

    rows: int = 0
    tokens: Counter[str] = field(default_factory=Counter)
    keys: Counter[str] = field(default_factory=Counter)
    names: Counter[str] = field(default_factory=Counter)
    _token_idf: dict[str, float] = field(default_factory=dict, repr=False)
    _name_idf: dict[str, float] = field(default_factory=dict, repr=False)

    def add(self, row: Row) -> None:
        self.rows += 1
        self.tokens.update(row.tokens)
        self.keys.update(row.main_keys)
        self.names.update({f.key for f in row.people})

    def idf(self, counter: Counter[str], item: str) -> float:
        return math.log((self.rows + 1) / (counter.get(item, 0) + 1))

    def token_idf(self, token: str) -> float:
        """Cached: a pair's title words are looked up again for every candidate."""
        got = self._token_idf.get(token)
        if got is None:
            got = self._token_idf[token] = self.idf(self.tokens, token)
        return got

    def name_idf(self, key: str) -> float:
        got = self._name_idf.get(key)
        if got is None:
            got = self._name_idf[key] = self.idf(self.names, key)
        return got

    def max_idf(self) -> float:
        return math.log(self.rows + 1) or 1.0


def build_stats(rows: Iterable[Row]) -> Stats:
    """Frequencies over every row of both tables (the IDF of a title word or a name)."""
    stats = Stats()
    for r in rows:
        stats.add(r)
    return stats


# ------------------------------------------------------------------------------ features

FEATURES = (
    "title_sim",  # best token-sort similarity of cleaned title keys, 0..1
    "title_idf",  # IDF-weighted share of title words in common, 0..1
    "title_exact_unique",  # same title key, and no other row of either table has it
    "title_exact_common",  # same title key, shared with other rows (remakes, "Episode 1")
    "generic_title",  # a title with no identity of its own ("Episode 6", "Chapter 47")
    "year_same",
    "year_off1",
    "year_far",  # both years known, two or more apart
    "year_missing",  # one side has no year
    "episode_same",  # same season (or one unknown) and episode number
    "episode_differ",
    "people_idf",  # IDF-weighted people in common, normalized, capped at 1
    "runtime_ok",
    "runtime_differ",
    "untitled",  # one side has no title at all (people and year must carry it)
    "people_title_gap",  # people_idf x (1 - title_sim): people weigh more when titles differ
)


@dataclass(frozen=True)
class Evidence:
    """A pair's features, any hard block, and reasons a user can read."""

    x: tuple[float, ...]
    blocked: str | None
    shared_id: bool
    weak: bool  # titles alone (no agreeing year, people, episode, runtime or id): needs no rival
    reasons: tuple[str, ...]


def _best_title(a: Row, b: Row) -> tuple[float, str, str]:
    same = set(a.main_keys).intersection(b.main_keys)
    if same:
        k = min(same)
        return 1.0, k, k
    best = (0.0, "", "")
    for ka in a.main_keys:
        for kb in b.main_keys:
            if ka.replace(" ", "") == kb.replace(" ", ""):  # "Beach Head" = "Beachhead"
                return 1.0, ka, kb
            sim = fuzz.token_sort_ratio(ka, kb) / 100.0
            if sim > best[0]:
                best = (sim, ka, kb)
    if best[0] < 0.9:  # "Title: Subtitle" vs "Title", "Artist - Title"
        variants = set(a.keys).intersection(b.keys)
        if variants:
            best = (0.9, min(variants), min(variants))
    return best


def _title_idf(a: Row, b: Row, stats: Stats) -> float:
    union = a.tokens | b.tokens
    if not union:
        return 0.0
    cache = stats._token_idf
    idf = stats.token_idf
    total = common = 0.0
    for t in union:
        w = cache.get(t) or idf(t)
        total += w
        if t in a.tokens and t in b.tokens:
            common += w
    return common / total if total else 0.0


def _shared_people(a: Row, b: Row) -> list[tuple[NameForm, NameForm]]:
    """People of ``a`` with an agreeing name in ``b`` (a few names each: a plain double loop)."""
    return [
        (f, next(g for g in b.people if names_agree(f, g)))
        for f in a.people
        if any(f.key == g.key and names_agree(f, g) for g in b.people)
    ]


def _ids(a: dict[str, str], b: dict[str, str]) -> tuple[str | None, str | None]:
    shared = sorted(ns for ns, v in a.items() if b.get(ns) == v)
    differ = sorted(ns for ns, v in a.items() if ns in b and b[ns] != v)
    return (shared[0] if shared else None), (differ[0] if differ else None)


def evidence(a: Row, b: Row, stats: Stats, explain: bool = False) -> Evidence:
    """Features of the pair (``FEATURES`` order), hard blocks, and with ``explain`` the
    reasons a user reads (built only for the pairs written: they cost more than the score)."""
    pa, pb = a, b
    shared_id = differ_id = None
    if pa.external_ids and pb.external_ids:
        shared_id, differ_id = _ids(pa.external_ids, pb.external_ids)
    blocked: str | None = None
    if differ_id and not shared_id:
        blocked = f"different {differ_id} ids"
    if pa.kind is not pb.kind and not kinds_compatible(pa.kind, pb.kind):
        blocked = blocked or f"kind {pa.kind.value}≠{pb.kind.value}"

    sim, ka, kb = _best_title(a, b)
    ep = _episode(pa, pb)
    numbers_differ = sim < 1.0 and ka and kb and not numbers_agree(title_form(ka), title_form(kb))
    if numbers_differ and not (ep == 1 and _part_number_only(ka, kb)):
        blocked = blocked or f"title numbers differ '{ka}' vs '{kb}'"
    exact = sim == 1.0
    key_rows = stats.keys.get(ka, 0) if exact else 0
    unique = exact and key_rows <= 2

    year_same = year_off1 = year_far = year_missing = 0.0
    if a.year and b.year:
        if pa.alt_years or pb.alt_years:
            gap = min(abs(x - y) for x in {a.year, *pa.alt_years} for y in {b.year, *pb.alt_years})
        else:
            gap = abs(a.year - b.year)
        year_same, year_off1, year_far = float(gap == 0), float(gap == 1), float(gap >= 2)
    elif a.year or b.year:
        year_missing = 1.0

    shared = _shared_people(a, b) if a.people and b.people else []
    people = 0.0
    if shared:
        people = min(1.0, sum(stats.name_idf(f.key) for f, _ in shared) / (0.5 * stats.max_idf()))
    directors = a.directors and b.directors and not shared_id  # rule 3: a hard conflict
    if directors and not any(names_agree(f, g) for f in a.directors for g in b.directors):
        blocked = blocked or "directors differ"
    runtime_ok = runtime_differ = 0.0
    if pa.runtime and pb.runtime and not ({pa.kind, pb.kind} & _SERIES):
        ok = runtime_compatible(pa.runtime, pb.runtime)
        runtime_ok, runtime_differ = float(ok), float(not ok)

    x = (sim, _title_idf(a, b, stats), float(unique), float(exact and not unique),
         float(a.generic or b.generic), year_same, year_off1, year_far, year_missing,
         float(ep == 1), float(ep == -1), people, runtime_ok, runtime_differ,
         float(not pa.titled or not pb.titled), people * (1.0 - sim))  # fmt: skip
    # A generic title ("Episode 6") with a year and an episode number still fits every series
    # that has that episode that year: like a bare title, it holds only without a rival.
    titled_support = (ep == 1 or year_same or year_off1) and not (a.generic or b.generic)
    weak = not (shared_id or shared or runtime_ok or titled_support)
    reasons: tuple[str, ...] = ()
    if explain:
        reasons = _reasons(a, b, x, shared_id, (sim, ka, kb, key_rows), ep, shared)
    return Evidence(x, blocked, bool(shared_id), weak, reasons)


_SERIES = {Kind.tv_series, Kind.tv_miniseries}


def _reasons(a: Row, b: Row, x: Sequence[float], shared_id: str | None,
             title: tuple[float, str, str, int], ep: int,
             shared: Sequence[tuple[NameForm, NameForm]]) -> tuple[str, ...]:  # fmt: skip
    """The evidence in words, in the order of ``FEATURES``."""
    f = dict(zip(FEATURES, x, strict=True))
    pa, pb = a, b
    sim, ka, kb, key_rows = title
    out: list[str] = []
    if shared_id:
        out.append(f"same {shared_id} id {(pa.external_ids or {})[shared_id]}")
    if sim == 1.0:
        out.append(f"same title '{ka}'" + ("" if key_rows <= 2 else f" (on {key_rows} rows)"))
    elif ka == kb:
        out.append(f"same main title '{ka}' (a subtitle or prefix differs)")
    elif sim >= 0.6:
        out.append(f"similar title '{ka}' ~ '{kb}' ({sim:.2f})")
    elif pa.main_keys and pb.main_keys:
        out.append(f"titles differ '{pa.main_keys[0]}' / '{pb.main_keys[0]}' ({sim:.2f})")
    if f["untitled"]:
        out.append("one side has no title")
    if a.year and b.year:
        note = " (from the title)" if a.year_from_title or b.year_from_title else ""
        out.append(f"same year {a.year}{note}" if f["year_same"] else f"years {a.year}/{b.year}")
    elif f["year_missing"]:
        out.append("one side has no year")
    if ep == 1:
        out.append(f"same episode S{pa.season or '?'}E{pa.episode}")
    elif ep == -1:
        out.append(f"episode S{pa.season or '?'}E{pa.episode}≠S{pb.season or '?'}E{pb.episode}")
    directing = [(g, h) for g, h in shared if g in pa.directors and h in pb.directors]
    if directing:
        out.append(f"same director {', '.join(_show(g, h, pa, pb) for g, h in directing)}")
    others = [pair for pair in shared if pair not in directing]
    if others:
        names = ", ".join(_show(g, h, pa, pb) for g, h in others[:3])
        more = f" and {len(others) - 3} more" if len(others) > 3 else ""
        out.append(f"{len(others)} shared cast/crew: {names}{more}")
    if f["runtime_ok"] or f["runtime_differ"]:
        sign = "≈" if f["runtime_ok"] else "≠"
        out.append(f"runtime {pa.runtime}{sign}{pb.runtime} min")
    return tuple(out)


def _show(f: NameForm, g: NameForm, a: Row, b: Row) -> str:
    na = a.names[a.people.index(f)]
    nb = b.names[b.people.index(g)]
    return na if na == nb else f"{na} ~ {nb}"


def _part_number_only(ka: str, kb: str) -> bool:
    """ "dead end" vs "dead end 2": a part number one source adds to a two-part episode."""
    wa, wb = ka.split(), kb.split()
    return (wa[:-1] == wb and wa[-1:] != wb[-1:]) or (wb[:-1] == wa and wb[-1:] != wa[-1:])


def _episode(a: Row, b: Row) -> int:
    """1: same episode number (and season, or one season unknown); -1: numbers differ; 0: n/a."""
    if a.episode is None or b.episode is None:
        return 0
    if a.episode == b.episode and (a.season == b.season or None in (a.season, b.season)):
        return 1
    return -1


# ------------------------------------------------------------------------------ model


@dataclass(frozen=True)
class Model:
    """Logistic regression weights over ``FEATURES`` and the default threshold."""

    weights: tuple[float, ...]
    bias: float
    threshold: float
    rival_margin: float

    def probability(self, x: Sequence[float]) -> float:
        return sigmoid(self.bias + sum(w * v for w, v in zip(self.weights, x, strict=True)))

    def score(self, ev: Evidence) -> float:
        """The calibrated probability; a shared id is 0.99 at least, a hard block 0."""
        if ev.blocked:
            return 0.0
        p = self.probability(ev.x)
        return max(p, 0.99) if ev.shared_id else p


def sigmoid(z: float) -> float:
    """Numerically safe logistic function."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def model_from_json(data: dict) -> Model:
    names = data["features"]
    if tuple(names) != FEATURES:
        raise ValueError(f"model features {names} do not match this filmagg's {list(FEATURES)}")
    return Model(
        weights=tuple(float(w) for w in data["weights"]),
        bias=float(data["bias"]),
        threshold=float(data["threshold"]),
        rival_margin=float(data["rival_margin"]),
    )


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> Model:
    """The shipped weights (read from the package, never downloaded)."""
    return model_from_json(json.loads(path.read_text(encoding="utf-8")))
