"""Identity rules (DESIGN.md §4): keys, evidence and decisions, case by case."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.identity import (
    Profile,
    Reference,
    WorkFacts,
    compare,
    decide,
    decide_reference,
    is_generic_title,
    is_match,
    person_key,
    title_key,
    title_variants,
)
from pipelines.matcher import Resolver, link
from pipelines.records import Kind


def film(pid: str, title: str | None, year: int | None = None, *, kind: Kind = Kind.feature,
         runtime: int | None = None, directors: tuple[str, ...] = (), cast: tuple[str, ...] = (),
         alt: tuple[str, ...] = (), ids: dict[str, str] | None = None,
         season: int | None = None, episode: int | None = None) -> Profile:  # fmt: skip
    return Profile(id=pid, titles=([title] if title else []) + list(alt), year=year, kind=kind,
                   runtime=runtime, directors=list(directors), cast=list(cast),
                   external_ids=ids or {}, season=season, episode=episode)  # fmt: skip


@pytest.mark.parametrize(
    ("a", "b"),
    [("Psycho II", "Psycho 2"), ("Se7en", "Seven"), ("Ocean's 11", "Ocean's Eleven"),
     ("Drácula", "DRACULA"), ("Matrix, The (1999)", "The Matrix"), ("Fast & Furious", "Fast and Furious"),
     ("Rocky IV", "Rocky 4"), ("Les Misérables", "Miserables, Les"), ("Apocalypse Now Redux", "Apocalypse Now"),
     ("Blade Runner: The Final Cut", "Blade Runner"), ("Fire: Part 1", "Fire (1)"),
     ("The Godfather Part II", "The Godfather: Part 2")],
)  # fmt: skip
def test_same_key(a: str, b: str) -> None:
    assert title_key(a) == title_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("Psycho", "Psycho II"), ("Dune: Part One", "Dune: Part Two"), ("Chapter 47", "Chapter 48"),
     ("Chapter 3", "Episode 3"), ("Rocky", "Rocky II")],
)  # fmt: skip
def test_different_key(a: str, b: str) -> None:
    assert title_key(a) != title_key(b)


def test_concert_prefix_is_a_variant() -> None:
    assert "leaving las vegas" in title_variants("The Killers - Leaving Las Vegas")


@pytest.mark.parametrize(
    ("a", "b"), [("Cage, Nicolas (I)", "Nicolas Cage"), ("William H. Macy", "William Macy"),
                 ("Pedro Almodóvar", "PEDRO ALMODOVAR"), ("Sammy Davis Jr.", "Davis, Sammy")],
)  # fmt: skip
def test_person_keys(a: str, b: str) -> None:
    assert person_key(a) == person_key(b)


@pytest.mark.parametrize(
    "title", ["Episode 6", "Folge 2", "Episode #1.6", "Chapter 47", "#08527", "Part 2"]
)
def test_generic_titles(title: str) -> None:
    assert is_generic_title(title)


@pytest.mark.parametrize("title", ["The Chapter", "Episode I: The Phantom Menace", "Seven"])
def test_not_generic(title: str) -> None:
    assert not is_generic_title(title)


# ------------------------------------------------------------------------------ pairs

SAME = [
    ("Psycho II = Psycho 2",
     film("a", "Psycho II", 1983, runtime=113), film("b", "Psycho 2", 1983, runtime=113)),
    ("Se7en = Seven",
     film("a", "Se7en", 1995, runtime=127), film("b", "Seven", 1995, runtime=127, directors=("David Fincher",))),
    ("Dune 2021 = Dune: Part One",
     film("a", "Dune", 2021, directors=("Denis Villeneuve",)),
     film("b", "Dune: Part One", 2021, directors=("Villeneuve, Denis",))),
    ("foreign original title with an English alternate",
     film("a", "Le fabuleux destin d'Amélie Poulain", 2001, alt=("Amélie",), directors=("Jean-Pierre Jeunet",)),
     film("b", "Amelie", 2001, directors=("Jean-Pierre Jeunet",), runtime=122)),
    ("foreign title only, people and year carry it",
     film("a", "Ya vstretil devushku", 1957, directors=("Anna Ivanova",), cast=("Boris Petrov", "Olga Orlova")),
     film("b", "I Have Met a Girl", 1957, directors=("Anna Ivanova",), cast=("Olga Orlova", "Boris Petrov"))),
    ("missing title, people and year carry it",
     film("a", None, 1960, directors=("Lewis Milestone",), cast=("Frank Sinatra",)),
     film("b", "Ocean's 11", 1960, directors=("Lewis Milestone",), cast=("Frank Sinatra", "Dean Martin"))),
    ("edition with the same director",
     film("a", "Apocalypse Now Redux", 1979, runtime=202, directors=("Francis Ford Coppola",)),
     film("b", "Apocalypse Now", 1979, runtime=147, directors=("Francis Ford Coppola",))),
    ("catalogue form and Last, First names",
     film("a", "Third Man, The (1949)", 1949, directors=("Reed, Carol (I)",)),
     film("b", "The Third Man", 1949, directors=("Carol Reed",))),
    ("shared id beats a festival year",
     film("a", "Heat", 1995, ids={"imdb": "tt0113277"}), film("b", "Heat", 1996, ids={"imdb": "tt0113277"})),
    ("same episode between similar titles",
     film("a", "The Eternal Now: Part 1", 1960, kind=Kind.tv_episode, season=7, episode=28),
     film("b", "The Eternal Vow: Part 1", 1960, kind=Kind.tv_episode, season=7, episode=28)),
]  # fmt: skip

APART = [
    ("Psycho 1960 vs 1998", film("a", "Psycho", 1960, directors=("Alfred Hitchcock",), runtime=109),
     film("b", "Psycho", 1998, directors=("Gus Van Sant",), runtime=105)),
    ("Psycho vs Psycho II", film("a", "Psycho", 1983, runtime=113), film("b", "Psycho II", 1983, runtime=113)),
    ("Ocean's 11 (1960) vs Ocean's Eleven (2001)", film("a", "Ocean's 11", 1960, runtime=127),
     film("b", "Ocean's Eleven", 2001, runtime=116)),
    ("Dracula vs Drácula, both 1931", film("a", "Dracula", 1931, directors=("Tod Browning",)),
     film("b", "Drácula", 1931, directors=("George Melford",))),
    ("Dune 1984 vs Dune 2021", film("a", "Dune", 1984, directors=("David Lynch",)),
     film("b", "Dune", 2021, directors=("Denis Villeneuve",))),
    ("Dune: Part One vs Dune: Part Two", film("a", "Dune: Part One", 2021, directors=("Denis Villeneuve",)),
     film("b", "Dune: Part Two", 2024, directors=("Denis Villeneuve",))),
    ("a TV series and a film of the same name",
     film("a", "Fargo", 1996, directors=("Joel Coen",), runtime=98),
     film("b", "Fargo", 1996, kind=Kind.tv_series, runtime=53)),
    ("a concert film titled after a drama",
     film("a", "The Killers - Leaving Las Vegas", 2007, kind=Kind.concert, runtime=61),
     film("b", "Leaving Las Vegas", 1995, directors=("Mike Figgis",), runtime=111)),
    ("concert vs drama even in the same year",
     film("a", "Leaving Las Vegas", 1995, kind=Kind.concert, runtime=111),
     film("b", "Leaving Las Vegas", 1995, kind=Kind.feature, runtime=111)),
    ("title + year alone", film("a", "Heat", 1995), film("b", "Heat", 1995)),
    ("same director, same year, different film",
     film("a", "Lola", 1981, directors=("Rainer Werner Fassbinder",)),
     film("b", "Lili Marleen", 1981, directors=("Rainer Werner Fassbinder",), cast=("Hanna Schygulla",))),
    ("Chapter 47 vs Chapter 48", film("a", "Chapter 47", 2016, kind=Kind.tv_episode, season=4, episode=8),
     film("b", "Chapter 48", 2016, kind=Kind.tv_episode, season=4, episode=8)),
    ("episode numbers alone", film("a", "Jobs That Bite Harder", 2006, kind=Kind.tv_episode, season=2, episode=17),
     film("b", "Snake Researcher", 2006, kind=Kind.tv_episode, season=2, episode=17)),
    ("generic titles that differ", film("a", "Folge 6", 1972, kind=Kind.tv_episode, season=1, episode=6),
     film("b", "Episode 6", 1972, kind=Kind.tv_episode, season=1, episode=6)),
    ("different ids", film("a", "Heat", 1995, ids={"imdb": "tt1"}, runtime=170),
     film("b", "Heat", 1995, ids={"imdb": "tt2"}, runtime=170)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "a", "b"), SAME, ids=[c[0] for c in SAME])
def test_same_work(name: str, a: Profile, b: Profile) -> None:
    c = compare(a, b)
    assert is_match(c), (c.reasons, c.conflicts)
    assert c.reasons  # every decision says why
    assert is_match(compare(b, a))  # symmetric


@pytest.mark.parametrize(("name", "a", "b"), APART, ids=[c[0] for c in APART])
def test_different_works(name: str, a: Profile, b: Profile) -> None:
    assert not is_match(compare(a, b))
    assert not is_match(compare(b, a))


def test_year_plus_one_only_without_an_exact_rival() -> None:
    record = film("r", "Heat", 1995, runtime=170, directors=("Michael Mann",))
    festival = film("1", "Heat", 1994, runtime=170, directors=("Michael Mann",))
    release = film("2", "Heat", 1995, runtime=171, directors=("Michael Mann",))
    assert decide(record, [festival, release]).target == "2"
    assert decide(record, [festival]).target == "1"


def test_year_and_runtime_need_no_rival() -> None:
    record = film("r", "Heat", 1995, runtime=170)
    one = film("1", "Heat", 1995, runtime=168)
    assert decide(record, [one]).outcome == "matched"
    two = film("2", "Heat", 1995, runtime=172)
    d = decide(record, [one, two])  # a rival: not guessed, and not started as a duplicate work
    assert (d.outcome, d.candidates) == ("ambiguous", ["1", "2"])
    assert decide(record, [one]).weak  # a match that a later rival must reopen


def test_decisions_record_reasons_for_new_works() -> None:
    d = decide(film("r", "Psycho", 1998, directors=("Gus Van Sant",)),
               [film("1", "Psycho", 1960, directors=("Alfred Hitchcock",))])  # fmt: skip
    assert d.outcome == "new" and any("year 1998≠1960" in r for r in d.reasons)


def test_thin_record_does_not_start_a_junk_work() -> None:
    d = decide(film("r", "Dracula", None, kind=Kind.unknown),
               [film("1", "Dracula", 1931), film("2", "Drácula", 1931)])  # fmt: skip
    assert d.outcome == "ambiguous" and d.candidates == ["1", "2"]


# ------------------------------------------------------------------------------ references

PSYCHO = [WorkFacts(film("1960", "Psycho", 1960, directors=("Alfred Hitchcock",), cast=("Anthony Perkins",)),
                    ["Norman Bates", "Marion Crane"]),
          WorkFacts(film("1998", "Psycho", 1998, directors=("Gus Van Sant",), cast=("Vince Vaughn",)),
                    ["Norman Bates", "Marion Crane"])]  # fmt: skip


@pytest.mark.parametrize(
    ("ref", "outcome", "target"),
    [
        (Reference(title="Psycho", characters=["Norman Bates"]), "ambiguous", None),
        (Reference(title="Psycho", text="Anthony Perkins is unforgettable."), "matched", "1960"),
        (Reference(title="Psycho", year=1998), "matched", "1998"),
        (Reference(title="Psycho", directors=["Gus Van Sant"]), "matched", "1998"),
        (Reference(title="Psycho", year=1975), "new", None),
    ],
)
def test_reference_rules(ref: Reference, outcome: str, target: str | None) -> None:
    d = decide_reference(ref, PSYCHO)
    assert (d.outcome, d.target) == (outcome, target), d.reasons


# ------------------------------------------------------------------------------ tables and streams


def test_link_is_one_to_one_and_prefers_exact_years() -> None:
    left = [film("L1", "Heat", 1995, runtime=170, directors=("Michael Mann",))]
    right = [film("R1", "Heat", 1996, runtime=170, directors=("Michael Mann",)),
             film("R2", "Heat", 1995, runtime=171, directors=("Michael Mann",))]  # fmt: skip
    (pair,) = link(left, right)
    assert (pair.left, pair.right) == ("L1", "R2") and pair.reasons


def _catalog() -> list[Profile]:
    rows = []
    for i, (title, year, director) in enumerate([("Psycho", 1960, "Alfred Hitchcock"), ("Psycho", 1998, "Gus Van Sant"),
                                                 ("Dracula", 1931, "Tod Browning"), ("Drácula", 1931, "George Melford"),
                                                 ("Dune", 1984, "David Lynch"), ("Dune", 2021, "Denis Villeneuve")]):  # fmt: skip
        for source, form in enumerate(
            (title, title.upper(), f"{title}, The" if False else title.lower())
        ):
            rows.append(film(f"{i}-{source}", form, year, directors=(director,), runtime=100 + i))
    return rows


@pytest.mark.parametrize("seed", range(5))
def test_resolver_is_order_independent(seed: int) -> None:
    records = _catalog()
    reference = Resolver()
    for r in records:
        reference.add(r)
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    other = Resolver()
    for r in shuffled:
        other.add(r)

    def groups(res: Resolver) -> set[frozenset[str]]:
        out: dict[int, set[str]] = {}
        for rid, wid in res.assignment.items():
            out.setdefault(wid, set()).add(rid)
        return {frozenset(g) for g in out.values()}

    assert groups(other) == groups(reference)
    assert len(groups(reference)) == 6


@given(st.text(min_size=1, max_size=40))
def test_title_key_ignores_case_and_accents(title: str) -> None:
    assert title_key(title) == title_key(title.upper().lower())


@given(st.sampled_from(["Psycho", "Heat", "Dune", "The Matrix", "Amélie"]), st.integers(1900, 2030))
def test_a_record_matches_itself_with_support(title: str, year: int) -> None:
    p = film("a", title, year, directors=("Some One",))
    assert is_match(compare(p, film("b", title, year, directors=("Some One",))))
