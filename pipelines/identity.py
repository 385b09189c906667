"""Film identity: matching keys, profiles, pairwise evidence and match decisions.

The rules (DESIGN.md §4) in one place, as pure functions over ``Profile`` values, so the
crawl pipeline, ``filmagg resolve`` and ``filmagg match`` all decide the same way:

* keys find candidates (blocking); they never decide;
* ``compare`` lists evidence for and against two profiles being one work, with hard conflicts
  (different directors, years apart, concert vs narrative feature, title numbers that
  disagree) that block a merge whatever the rest says;
* ``decide`` picks among candidates: a merge needs supporting evidence beyond title + year,
  and a near tie between rivals is never broken by guessing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz

from pipelines.normalize import fold
from pipelines.records import Kind

# ------------------------------------------------------------------------------ title keys

_ARTICLES = frozenset(
    [
        "the",
        "a",
        "an",
        "le",
        "la",
        "les",
        "l",
        "der",
        "die",
        "das",
        "den",
        "el",
        "los",
        "las",
        "lo",
        "il",
        "gli",
        "i",
        "un",
        "una",
        "une",
        "ein",
        "eine",
        "de",
        "het",
    ]
)
_TRAILING_ARTICLE = re.compile(r"^(?P<body>.+?),\s*(?P<art>the|a|an|le|la|les|l'|der|die|das|el|los|las|il)"
                               r"(?P<rest>\s*(?:[:(\[-].*)?)$", re.I)  # fmt: skip
_YEAR_SUFFIX = re.compile(r"\s*[(\[]\s*(?:tv\s+)?(?:mini\s+)?(?:series\s+)?(18|19|20)\d\d(?:\s*[–-]\s*(?:\d{4})?)?\s*[)\]]\s*$", re.I)  # fmt: skip
_EDITION = re.compile(
    r"\s*[(\[:-]?\s*\b(?:the\s+)?(?:director'?s'?\s+cut|extended(?:\s+(?:edition|cut|version))?|"
    r"redux|remaster(?:ed)?|final\s+cut|special\s+edition|unrated(?:\s+(?:edition|cut))?|"
    r"theatrical\s+cut|ultimate\s+(?:edition|cut)|re-?release|4k\s+restoration|restored)\b\s*[)\]]?",
    re.I,
)
_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
}  # fmt: skip
_WORD_OF = {v: k for k, v in _NUMBER_WORDS.items() if not k.endswith(("st", "nd", "rd", "th"))}
_ROMAN = re.compile(r"^(?=[mdclxvi])m{0,3}(cm|cd|d?c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$")
_ROMAN_VALUES = {"m": 1000, "d": 500, "c": 100, "l": 50, "x": 10, "v": 5, "i": 1}
# Roman numerals that are also ordinary words in titles: only numbers after the first word.
_ROMAN_WORDS = frozenset(
    {"i", "mix", "mid", "dim", "lid", "mild", "vi", "di", "li", "mi", "xi", "d", "c", "l", "m", "v"}
)


def _roman_value(token: str) -> int | None:
    if not token or not _ROMAN.match(token):
        return None
    total = 0
    for a, b in zip(token, token[1:] + " ", strict=True):
        va, vb = _ROMAN_VALUES[a], _ROMAN_VALUES.get(b, 0)
        total += -va if va < vb else va
    return total or None


def _stylized(token: str) -> str:
    """ "se7en" -> "seven": a digit standing inside its own name."""
    m = re.fullmatch(r"([a-z]*)(\d)([a-z]*)", token)
    if m and (m.group(1) or m.group(3)):
        word = _WORD_OF.get(int(m.group(2)), "")
        if word.startswith(m.group(1)) and word.endswith(m.group(3)) and len(word) > len(token) - 1:
            return word
    return token


@dataclass(frozen=True)
class TitleForm:
    """A title reduced for comparison: its key, the numbers it carries, its edition marker."""

    key: str  # "psycho 2", "oceans 11", "dune part 1"
    numbers: tuple[int, ...]
    edition: bool


@lru_cache(maxsize=200_000)
def title_form(title: str) -> TitleForm:
    """Accents folded, lower case, leading/trailing articles dropped, & -> and, punctuation
    stripped, roman numerals and number words -> digits, "(1950)" and edition markers cut."""
    text = fold(title).replace("&", " and ").replace("+", " and ")
    text = _YEAR_SUFFIX.sub("", text)
    edition = bool(_EDITION.search(text))
    if edition:
        text = _EDITION.sub(" ", text)
    m = _TRAILING_ARTICLE.match(text)
    if m:
        text = f"{m.group('body')}{m.group('rest')}"
    text = re.sub(r"['’`´]", "", text)
    text = re.sub(r"[^\w\s]|_", " ", text)
    tokens = text.split()
    if len(tokens) > 1 and tokens[0] in _ARTICLES:
        tokens = tokens[1:]
    out: list[str] = []
    numbers: list[int] = []
    for i, tok in enumerate(tokens):
        tok = _stylized(tok)
        value: int | None = None
        if tok.isdigit():
            value = int(tok)
        elif (
            tok in _NUMBER_WORDS
            and tok not in {"first", "second"}
            or (tok in {"first", "second"} and i > 0)
        ):
            value = _NUMBER_WORDS[tok]
        elif i > 0 and (tok not in _ROMAN_WORDS or tok in {"i", "v", "x"} and i == len(tokens) - 1):
            value = _roman_value(tok)
        if value is not None:
            numbers.append(value)
            out.append(str(value))
        else:
            out.append(tok)
    # "Fire: Part 1" = "Fire (1)", "The Godfather Part II" = "The Godfather 2"; a lone "Part 1"
    # or "Chapter 3" is left alone (its words are all the identity it has).
    key = re.sub(r"(?<=\w) (?:part|pt) (\d+)\b", r" \1", " ".join(out))
    return TitleForm(key=key, numbers=tuple(numbers), edition=edition)


def title_key(title: str) -> str:
    return title_form(title).key


@lru_cache(maxsize=200_000)
def title_variants(title: str) -> tuple[str, ...]:
    """Every key a title should be found under: the whole title, the part after an
    "Artist - " prefix (concert films), and the main title before a ": subtitle"."""
    keys = {title_key(title)}
    for sep in (" - ", " – ", " — "):
        if sep in title:
            head, tail = title.split(sep, 1)
            keys.add(title_key(tail))
            keys.add(title_key(head))
    if ":" in title:
        keys.add(title_key(title.split(":", 1)[0]))
    return tuple(sorted(k for k in keys if k))


def numbers_agree(a: TitleForm, b: TitleForm) -> bool:
    """Numbers in titles must agree ("Psycho" vs "Psycho II" differ); a lone 1 ("Part One")
    agrees with none (a first instalment is often retitled later)."""
    na, nb = set(a.numbers), set(b.numbers)
    return na == nb or (na | nb) == {1} or not (na ^ nb) - {1}


def title_similarity(a: str, b: str) -> float:
    """0..1 similarity of two titles' keys (token order ignored)."""
    ka, kb = title_key(a), title_key(b)
    if ka == kb:
        return 1.0
    if not ka or not kb:
        return 0.0
    return fuzz.token_sort_ratio(ka, kb) / 100.0


# ------------------------------------------------------------------------------ people keys

_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})


@lru_cache(maxsize=500_000)
def person_key(name: str) -> str:
    """ "Cage, Nicolas (I)" / "Nicolas Cage" / "NICOLAS CAGE" -> "cage nicolas".
    Initials and suffixes dropped, so "William H. Macy" = "William Macy"."""
    text = fold(name)
    text = re.sub(r"\s*\((?:[ivx]+|\d+)\)\s*$", "", text)
    if text.count(",") == 1:
        last, first = text.split(",")
        text = f"{first} {last}"
    tokens = re.sub(r"[^\w\s]|_", " ", text).split()
    tokens = [t for t in tokens if len(t) > 1 and t not in _SUFFIXES]
    return " ".join(sorted(tokens))


def character_key(name: str) -> str:
    """Characters compare like titles but keep articles: "Count Dracula" -> "count dracula"."""
    return " ".join(re.sub(r"[^\w\s]|_", " ", fold(name)).split())


# ------------------------------------------------------------------------------ kinds

_NARRATIVE = {Kind.feature, Kind.tv_movie, Kind.video, Kind.short}
_NONFICTION = {Kind.documentary, Kind.concert}
_SERIES = {Kind.tv_series, Kind.tv_miniseries}


def kinds_compatible(a: Kind, b: Kind) -> bool:
    """unknown fits anything; narrative films fit each other; a concert film may be listed as a
    documentary; series fit series; everything else only itself."""
    if a == b or Kind.unknown in (a, b):
        return True
    return any(a in group and b in group for group in (_NARRATIVE, _NONFICTION, _SERIES))


# ------------------------------------------------------------------------------ profiles


@dataclass
class Profile:
    """What identity needs to know of a record, a work or a table row."""

    id: str
    titles: list[str] = field(default_factory=list)
    year: int | None = None
    kind: Kind = Kind.unknown
    runtime: int | None = None
    directors: list[str] = field(default_factory=list)
    cast: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)  # credited, role unknown or other
    characters: list[str] = field(default_factory=list)
    external_ids: dict[str, str] = field(default_factory=dict)
    alt_years: list[int] = field(default_factory=list)  # other years the work is known by
    genres: list[str] = field(default_factory=list)  # kept for display; not identity evidence
    season: int | None = None  # episodes: their season and episode numbers
    episode: int | None = None

    def title_keys(self) -> set[str]:
        return {k for t in self.titles for k in title_variants(t)}

    def director_keys(self) -> set[str]:
        return {person_key(n) for n in self.directors} - {""}

    def cast_keys(self) -> set[str]:
        return {person_key(n) for n in self.cast} - {""}

    def people_keys(self) -> set[str]:
        return (self.director_keys() | self.cast_keys() | {person_key(n) for n in self.people}) - {
            ""
        }

    def character_keys(self) -> set[str]:
        return {character_key(c) for c in self.characters} - {""}

    def years(self) -> set[int]:
        return ({self.year} if self.year else set()) | set(self.alt_years)


# ------------------------------------------------------------------------------ evidence


@dataclass
class Comparison:
    """Evidence about two profiles: supporting facts, conflicts, and a 0..1 score."""

    score: float
    title_sim: float
    reasons: list[str]
    conflicts: list[str]
    shared_id: bool = False
    exact_year: bool = False
    support: bool = False  # evidence beyond title + year (people, ids, runtime)
    needs_unique: bool = False  # a match only if neither side has a rival (series: title + year)
    same_director: bool = False
    shared_people: int = 0  # cast/crew in common besides directors
    runtime_ok: bool = False
    untitled: bool = False  # one side has no title at all
    episode_support: bool = False  # same season/episode/year between similar titles

    @property
    def blocked(self) -> bool:
        return bool(self.conflicts)


def _best_title(a: Profile, b: Profile) -> tuple[float, str, str]:
    best = (0.0, "", "")
    for ta in a.titles:
        for tb in b.titles:
            sim = title_similarity(ta, tb)
            if sim > best[0]:
                best = (sim, ta, tb)
            if sim == 1.0:
                return best
    for ka in a.title_keys():  # variants: "The Killers - Leaving Las Vegas" vs "Leaving Las Vegas"
        if ka in b.title_keys() and best[0] < 0.9:
            best = (0.9, ka, ka)
    return best


def runtime_compatible(a: int, b: int) -> bool:
    return abs(a - b) <= max(6, round(0.08 * max(a, b)))


def compare(a: Profile, b: Profile) -> Comparison:
    """Evidence for and against ``a`` and ``b`` being one work."""
    reasons: list[str] = []
    conflicts: list[str] = []
    score = 0.0

    shared = sorted(ns for ns, v in a.external_ids.items() if b.external_ids.get(ns) == v)
    differing = sorted(
        ns for ns, v in a.external_ids.items() if ns in b.external_ids and b.external_ids[ns] != v
    )
    if shared:
        reasons.append(f"same {shared[0]} id {a.external_ids[shared[0]]}")
    if differing and not shared:
        conflicts.append(
            f"different {differing[0]} ids {a.external_ids[differing[0]]}≠{b.external_ids[differing[0]]}"
        )

    sim, ta, tb = _best_title(a, b)
    if sim == 1.0:
        reasons.append(f"same title '{ta}'" if ta == tb else f"same title key '{ta}' = '{tb}'")
    elif sim >= 0.85:
        reasons.append(f"similar title '{ta}' ~ '{tb}' ({sim:.2f})")
    episode_match = _same_episode(a, b)
    if (
        ta
        and tb
        and not numbers_agree(title_form(ta), title_form(tb))
        and not (episode_match and _part_marker_only(ta, tb))
    ):
        conflicts.append(f"title numbers differ '{ta}' vs '{tb}'")
    score += 0.35 * sim

    exact_year = False
    if a.year and b.year:
        ya, yb = a.years(), b.years()
        if a.year == b.year or ya & yb:
            exact_year = True
            reasons.append(f"same year {a.year if a.year == b.year else min(ya & yb)}")
            score += 0.2
        elif min(abs(x - y) for x in ya for y in yb) == 1:
            reasons.append(f"year {a.year}~{b.year} (±1)")
            score += 0.1
        elif not shared:
            conflicts.append(f"year {a.year}≠{b.year}")

    if episode_match:
        reasons.append(f"same episode S{a.season or '?'}E{a.episode}")
        score += 0.15
    elif a.episode is not None and b.episode is not None and not shared:
        conflicts.append(f"episode S{a.season or '?'}E{a.episode}≠S{b.season or '?'}E{b.episode}")

    if not kinds_compatible(a.kind, b.kind):
        conflicts.append(f"kind {a.kind.value}≠{b.kind.value}")
    elif a.kind == b.kind and a.kind != Kind.unknown:
        score += 0.05

    # Episode numbers repeat in every series: they support a match only between similar,
    # non-generic titles ("Episode 6" / "Folge 6" say nothing of which series).
    generic = any(is_generic_title(t) for t in (ta, tb) if t)
    # An identical generic title ("Chapter 15") with the same episode and year still counts.
    title_ok = sim == 1.0 if generic else sim >= EPISODE_TITLE_MIN
    support = bool(shared) or (episode_match and exact_year and title_ok)
    da, db = a.director_keys(), b.director_keys()
    if da and db:
        common = da & db
        if common:
            names = sorted(n for n in a.directors if person_key(n) in common)
            reasons.append(f"same director {', '.join(names)}")
            score += 0.25
            support = True
        elif not shared:
            conflicts.append(
                f"directors differ ({', '.join(a.directors)} vs {', '.join(b.directors)})"
            )

    pa, pb = a.people_keys() - da, b.people_keys() - db
    if pa and pb:
        common = pa & pb
        if common:
            reasons.append(f"{len(common)} shared cast/crew")
            score += min(0.2, 0.07 * len(common))
            support = support or len(common) >= 2 or bool(da & db)

    series = a.kind in _SERIES or b.kind in _SERIES
    needs_unique = False
    if series and not support and sim == 1.0 and exact_year and not generic:
        reasons.append("series: same title and year (runtimes of series do not compare)")
        support = needs_unique = True
    if a.runtime and b.runtime and not series:  # series list episode or total runtimes
        if runtime_compatible(a.runtime, b.runtime):
            reasons.append(f"runtime {a.runtime}≈{b.runtime} min")
            score += 0.1
            if exact_year and not support:  # rule 3: year + runtime hold only without a rival
                support = needs_unique = True
                reasons.append("no rival with this title, year and runtime")
        elif (
            not (da & db)
            and not shared
            and not (title_form(ta).edition or title_form(tb).edition if ta and tb else False)
        ):
            conflicts.append(f"runtime {a.runtime}≠{b.runtime} min")

    if shared:
        score = max(score, 0.95)
    return Comparison(
        score=round(min(score, 1.0), 3),
        title_sim=sim,
        reasons=reasons,
        conflicts=conflicts,
        shared_id=bool(shared),
        exact_year=exact_year,
        support=support,
        needs_unique=needs_unique,
        same_director=bool(da & db),
        shared_people=len(pa & pb) if pa and pb else 0,
        runtime_ok=bool(a.runtime and b.runtime and runtime_compatible(a.runtime, b.runtime)),
        untitled=not a.titles or not b.titles,
        episode_support=episode_match and exact_year and title_ok,
    )


def _same_episode(a: Profile, b: Profile) -> bool:
    if a.episode is None or b.episode is None or a.episode != b.episode:
        return False
    return a.season == b.season or None in (a.season, b.season)


_PART_SUFFIX = re.compile(r"\s*\((\d{1,2})\)\s*$")


def _part_marker_only(a: str, b: str) -> bool:
    """ "Dead End" vs "Dead End (2)": a part marker one source adds to a two-part episode."""
    for x, y in ((a, b), (b, a)):
        if _PART_SUFFIX.search(y) and not title_form(x).numbers:
            return title_form(_PART_SUFFIX.sub("", y)).key == title_form(x).key
    return False


# ------------------------------------------------------------------------------ decisions

TITLE_MIN = 0.86  # below this, titles alone do not make two records candidates
EPISODE_TITLE_MIN = 0.7  # same season/episode/year: titles may differ this much ("Vow"/"Now")

_GENERIC = re.compile(
    r"^(?:episode|ep|folge|chapter|chapitre|capitulo|capítulo|episodio|épisode|aflevering|odcinek|"
    r"jakso|avsnitt|afsnit|серия|part|pilot|untitled|unknown|title)\b[\s#.:\d-]*$|^[\d\s#.:-]+$",
    re.I,
)


def is_generic_title(title: str) -> bool:
    """ "Episode 6", "Folge 2", "Episode #1.6", "Chapter 47", "#08527": no identity of their own."""
    return bool(_GENERIC.match(title.strip()))


@dataclass
class Decision:
    outcome: str  # matched | new | ambiguous
    target: str | None
    score: float
    reasons: list[str]
    candidates: list[str] = field(default_factory=list)
    weak: bool = False  # matched only because no rival existed: revisit when one appears


def is_match(c: Comparison) -> bool:
    """Rule 3: a merge needs no hard conflict and supporting evidence, not title + year alone.
    Without a close title (missing or foreign), people overlap and year must carry it."""
    if c.blocked:
        return False
    if c.shared_id:
        return True
    if c.title_sim >= TITLE_MIN:
        return c.support  # with needs_unique, the caller checks that neither side has a rival
    if c.episode_support:
        return True
    if not c.exact_year or not c.same_director:
        return False
    # Titles differ (another language) or one is missing: people and year must carry it. A
    # director may make two films in a year, so differing titles need two more shared people.
    if c.untitled:
        return c.shared_people >= 1 or c.runtime_ok
    return c.shared_people >= 2


def _underspecified(p: Profile) -> bool:
    """Nothing but a title (and perhaps a year): no runtime, ids or people to decide with."""
    return not (p.runtime or p.external_ids or p.people_keys())


def _id_order(pid: str) -> tuple[int, str]:
    return (len(pid), pid)


def decide(record: Profile, candidates: Sequence[Profile]) -> Decision:
    """Which candidate ``record`` belongs to, or that it starts a new work.

    Deterministic: candidates are taken in id order; exact-year matches beat ±1-year ones
    (rule 4); two rivals that both qualify with the same strength make it ambiguous.
    """
    scored = []
    for cand in sorted(candidates, key=lambda p: _id_order(p.id)):
        c = compare(record, cand)
        if is_match(c):
            scored.append((c, cand))
    if not scored and candidates and _underspecified(record):
        # Title (+ year) alone never merges; nor does it start a work that may well be a
        # duplicate: with a same-titled work of that year (or of no known year), it waits.
        fits = [c for c in candidates if not record.year or not c.year or record.year in c.years()
                or not compare(record, c).blocked]  # fmt: skip
        if fits:
            what = "a title and year" if record.year else "a title"
            return Decision(
                "ambiguous", None, 0.0,
                [f"the record gives only {what} (no people, runtime or ids): too little to tell "
                 f"whether it is one of {len(fits)} work(s) with that title or a new one"],
                [c.id for c in sorted(fits, key=lambda p: _id_order(p.id))],
            )  # fmt: skip
    if not scored:
        reasons = ["no candidate with supporting evidence"]
        near = [
            f"{cand.id}: {'; '.join(c.conflicts) or 'weak evidence'}"
            for cand in sorted(candidates, key=lambda p: _id_order(p.id))[:5]
            for c in [compare(record, cand)]
        ]
        return Decision("new", None, 0.0, reasons + near)
    rivals = [s[1].id for s in scored]
    if any(c.needs_unique for c, _ in scored) and len(scored) > 1:
        scored = [s for s in scored if not s[0].needs_unique]
    exact = [s for s in scored if s[0].exact_year or s[0].shared_id]
    if exact:
        scored = exact
    if not scored:  # only title + year (+ runtime) evidence, and it fits several works
        return Decision("ambiguous", None, 0.0,
                        [f"title, year and runtime fit {len(rivals)} works and nothing else tells them apart"],
                        rivals)  # fmt: skip
    scored.sort(key=lambda s: (-s[0].shared_id, -s[0].score, _id_order(s[1].id)))
    best, cand = scored[0]
    if len(scored) > 1:
        runner = scored[1][0]
        if runner.shared_id == best.shared_id and best.score - runner.score < 0.1:
            return Decision(
                "ambiguous", None, best.score,
                [f"{len(scored)} works fit equally well"] + best.reasons,
                [s[1].id for s in scored],
            )  # fmt: skip
    return Decision("matched", cand.id, best.score, best.reasons, [s[1].id for s in scored],
                    weak=best.needs_unique)  # fmt: skip


# ------------------------------------------------------------------------------ references


@dataclass
class Reference:
    """How a review, quote, offer or rating names its film (see ``records.Ref``),
    plus the text around it (a review body) where names and years may be mentioned."""

    title: str | None = None
    year: int | None = None
    directors: list[str] = field(default_factory=list)
    characters: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    text: str = ""


@dataclass
class WorkFacts:
    """A candidate work as references see it."""

    profile: Profile
    characters: list[str] = field(default_factory=list)


def _mentions(text_folded: str, phrase: str) -> bool:
    p = fold(phrase).strip()
    return bool(p) and re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text_folded) is not None


def reference_evidence(ref: Reference, work: WorkFacts) -> tuple[int, list[str], list[str]]:
    """Points, reasons and conflicts for ``ref`` being about ``work``."""
    prof = work.profile
    points = 0
    reasons: list[str] = []
    conflicts: list[str] = []
    if ref.title and prof.titles:
        sim, ta, tb = _best_title(Profile("r", titles=[ref.title]), prof)
        if sim == 1.0:
            reasons.append(f"exact title '{ref.title}'")
        elif sim >= TITLE_MIN:
            reasons.append(f"title '{ref.title}' ~ '{tb}'")
        if ta and tb and not numbers_agree(title_form(ta), title_form(tb)):
            conflicts.append(f"title numbers differ '{ta}' vs '{tb}'")
    if ref.year and prof.year:
        if ref.year in prof.years():
            points += 3
            reasons.append(f"year {ref.year}")
        else:
            conflicts.append(f"year {ref.year}≠{prof.year}")
    ref_dirs = {person_key(d) for d in ref.directors} - {""}
    if ref_dirs and prof.director_keys():
        if ref_dirs & prof.director_keys():
            points += 3
            reasons.append(f"director {', '.join(ref.directors)}")
        else:
            conflicts.append(f"director {', '.join(ref.directors)} not credited")
    chars = {character_key(c): c for c in work.characters}
    named = [c for c in ref.characters if character_key(c) in chars]
    if named:
        points += 2 * min(3, len(named))
        reasons.append(f"characters {' and '.join(named)} match its credits")
    text = fold(ref.text) if ref.text else ""
    people = {person_key(p): p for p in ref.people}
    if text:
        for name in [*prof.directors, *prof.cast, *prof.people]:
            if person_key(name) not in people and _mentions(text, name):
                people[person_key(name)] = name
        found = [c for c in work.characters if c not in named and len(c) > 3 and _mentions(text, c)]
        if found and not named:
            points += 1
            reasons.append(f"text names character {found[0]}")
        if prof.year and re.search(rf"(?<!\d){prof.year}(?!\d)", text):
            points += 1
            reasons.append(f"text mentions {prof.year}")
    matched_people = sorted(v for k, v in people.items() if k in prof.people_keys())
    if matched_people:
        points += 2 * min(3, len(matched_people))
        reasons.append(f"names {', '.join(matched_people)} of its credits")
    return points, reasons, conflicts


def decide_reference(ref: Reference, works: Sequence[WorkFacts]) -> Decision:
    """Rule 7: attach to the one work the evidence points to; a title that fits several works
    with no deciding evidence stays unattached (ambiguous), never guessed."""
    scored = []
    for w in sorted(works, key=lambda w: _id_order(w.profile.id)):
        points, reasons, conflicts = reference_evidence(ref, w)
        if not conflicts:
            scored.append((points, reasons, w.profile.id))
    if not scored:
        return Decision("new", None, 0.0, ["no work fits the reference"])
    scored.sort(key=lambda s: (-s[0], _id_order(s[2])))
    points, reasons, wid = scored[0]
    if len(scored) == 1:
        if points == 0:
            reasons = reasons + ["the only work with this title"]
        return Decision("matched", wid, _ref_score(points), reasons, [wid])
    runner = scored[1][0]
    if points >= 2 and points - runner >= 2:
        others = ", ".join(f"#{s[2]} ({s[0]} pts)" for s in scored[1:4])
        return Decision("matched", wid, _ref_score(points), reasons + [f"other candidates weaker: {others}"],
                        [s[2] for s in scored])  # fmt: skip
    return Decision(
        "ambiguous", None, _ref_score(points),
        [f"title fits {len(scored)} works and no evidence decides"],
        [s[2] for s in scored],
    )  # fmt: skip


def _ref_score(points: int) -> float:
    return round(min(1.0, 0.5 + points / 20), 3)


# ------------------------------------------------------------------------------ text checks

_CAP_RUN = re.compile(
    r"\b[A-ZÀ-ÖØ-Þ][\w'’.-]*(?:\s+(?:[A-ZÀ-ÖØ-Þ][\w'’.-]*|de|van|von|da|del|la|le))*"
)


def name_phrases(text: str) -> set[str]:
    """Capitalised word runs and their sub-runs, folded: the names a synopsis may mention."""
    out: set[str] = set()
    for m in _CAP_RUN.finditer(text):
        words = [w.strip(".'’") for w in m.group(0).split()]
        for n in range(1, min(4, len(words)) + 1):
            for i in range(len(words) - n + 1):
                phrase = " ".join(words[i : i + n])
                if phrase:
                    out.add(phrase)
    return out


def years_in(text: str) -> set[int]:
    return {int(y) for y in re.findall(r"(?<!\d)(18[89]\d|19\d\d|20\d\d)(?!\d)", text)}
