"""The text consistency check (rule 6): a synopsis that describes another work.

A film record whose synopsis names the people, characters or year of another work more than
its own gets a ``synopsis_conflict`` flag with the evidence, and its synopsis is not used for
its work. The ``mention`` index (the names each synopsis mentions) finds, for works whose
credits changed, the synopses to check again, whatever order pages came in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, select

from pipelines.catalog.batching import insert_rows, select_in
from pipelines.catalog.models import Credit, Flag, Mention, Person, SourceRecord, utcnow
from pipelines.catalog.profiles import StoredWork, WorkCache
from pipelines.catalog.references import flag_row
from pipelines.identity import character_key, name_phrases, person_key, years_in

MIN_FOREIGN_MATCHES = 3


def synopsis_keys(synopsis: str) -> tuple[set[str], set[str]]:
    """The person keys (multi-word names) and character keys a synopsis may mention."""
    phrases = name_phrases(synopsis)
    people = {person_key(p) for p in phrases if " " in p} - {""}
    characters = {character_key(p) for p in phrases} - {""}
    return people, characters


def mention_keys(synopsis: str) -> set[str]:
    """``synopsis_keys`` as ``Mention`` rows store them ("p:<key>", "c:<key>")."""
    people, characters = synopsis_keys(synopsis)
    return {f"p:{k}" for k in people} | {f"c:{k}" for k in characters}


def credit_mention_keys(credits: Iterable[dict]) -> set[str]:
    """The mention keys under which synopses naming these credits are found."""
    out: set[str] = set()
    for c in credits:
        if key := person_key(c["name"]):
            out.add(f"p:{key}")
        if c.get("character") and (ckey := character_key(c["character"])):
            out.add(f"c:{ckey}")
    return out


def records_mentioning(session: Session, keys: Iterable[str]) -> set[int]:
    """Film records whose synopsis mentions one of these keys (indexed, chunked lookups)."""
    return set(select_in(session, select(Mention.source_record_id), Mention.key, keys))


@dataclass
class _Hits:
    """The credited names of one work a synopsis mentions."""

    people: set[str] = field(default_factory=set)
    characters: set[str] = field(default_factory=set)

    def count(self) -> int:
        return len(self.people) + len(self.characters)


@dataclass
class _Conflict:
    """A synopsis naming other works' credits more than its own: the works tied for most."""

    sr: SourceRecord
    hits: dict[int, _Hits]
    own_count: int
    tied: list[int]


Credits = dict[str, list[tuple[int, str]]]  # mention key -> (work id, credited name)


def check_synopses(session: Session, records: Sequence[SourceRecord], works: WorkCache) -> set[int]:
    """Flag the records whose synopsis describes another work; returns their ids. Credits do
    not change while synopses are checked, so those the synopses name are read at once."""
    if not records:
        return set()
    ids = [sr.id for sr in records]
    session.execute(delete(Flag).where(Flag.source_record_id.in_(ids), Flag.kind == "synopsis_conflict")
                    .execution_options(synchronize_session=False))  # fmt: skip
    keys = {sr.id: synopsis_keys(sr.data["synopsis"]) for sr in records  # type: ignore[index]
            if sr.work_id is not None and (sr.data or {}).get("synopsis")}  # fmt: skip
    by_person, by_character = _credits_named(session, keys.values())
    conflicts = [conflict for sr in records if sr.id in keys
                 if (conflict := _conflict(sr, _hits(*keys[sr.id], by_person, by_character)))]  # fmt: skip
    shown = works.get(w for c in conflicts for w in [*c.tied, c.sr.work_id])
    now = utcnow()
    insert_rows(session, Flag, [_flag(c, shown, now) for c in conflicts])
    return {c.sr.id for c in conflicts}  # type: ignore[misc]


def _credits_named(
    session: Session, mentioned: Iterable[tuple[set[str], set[str]]]
) -> tuple[Credits, Credits]:
    """The credits of the person keys and of the character keys these synopses mention."""
    mentioned = list(mentioned)
    by_person: Credits = defaultdict(list)
    stmt = select(Person.key, Credit.work_id, Person.name).join(
        Person, Person.id == Credit.person_id
    )
    for key, wid, name in select_in(
        session, stmt, Person.key, {k for p, _ in mentioned for k in p}
    ):
        by_person[key].append((wid, name))
    by_character: Credits = defaultdict(list)
    stmt = select(Credit.character_key, Credit.work_id, Credit.character)
    for key, wid, character in select_in(session, stmt, Credit.character_key,
                                         {k for _, c in mentioned for k in c}):  # fmt: skip
        by_character[key].append((wid, character))
    return by_person, by_character


def _hits(people: set[str], characters: set[str], by_person: Credits,
          by_character: Credits) -> dict[int, _Hits]:  # fmt: skip
    """Per work, its credited people and characters that one synopsis names."""
    hits: dict[int, _Hits] = defaultdict(_Hits)
    for wid, name in (c for k in people for c in by_person.get(k, ())):
        hits[wid].people.add(name)
    for wid, character in (c for k in characters for c in by_character.get(k, ())):
        hits[wid].characters.add(character)
    return hits


def _conflict(sr: SourceRecord, hits: dict[int, _Hits]) -> _Conflict | None:
    """Works named at least ``MIN_FOREIGN_MATCHES`` times, a person among them, and more than
    twice as often as the record's own work."""
    own = hits.pop(sr.work_id, _Hits())  # type: ignore[arg-type]
    foreign = {
        wid: h.count()
        for wid, h in hits.items()
        if h.people and h.count() >= MIN_FOREIGN_MATCHES and h.count() > 2 * own.count()
    }
    if not foreign:
        return None
    top = max(foreign.values())
    return _Conflict(sr, hits, own.count(), [w for w, n in foreign.items() if n == top])


def _flag(c: _Conflict, works: dict[int, StoredWork], now: Any) -> dict[str, Any]:
    """The ``synopsis_conflict`` flag, naming the tied work with the first anchor."""
    sr = c.sr
    best = min(c.tied, key=lambda w: works[w].anchor if w in works else "")
    other, work = works.get(best), works.get(sr.work_id)  # type: ignore[arg-type]
    h = c.hits[best]
    synopsis = sr.data["synopsis"]  # type: ignore[index]
    years = sorted(
        y for y in years_in(synopsis) if other and y == other.year and (not work or y != work.year)
    )
    names, chars = sorted(h.people), sorted(h.characters)
    label = f"#{best} '{other.title}' ({other.year})" if other else f"#{best}"
    detail = (f"synopsis describes work {label}: names {', '.join(names + chars)}"
              + (f", year {', '.join(map(str, years))}" if years else "")
              + f"; none of them is credited on this work '{work.title if work else '?'}'")  # fmt: skip
    evidence = {"other_work_id": best, "other_title": other.title if other else None,
                "other_year": other.year if other else None, "people": names, "characters": chars,
                "years": years, "own_matches": c.own_count}  # fmt: skip
    return flag_row(sr.id, sr.work_id, "synopsis_conflict", detail, evidence, now)
