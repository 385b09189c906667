"""The text consistency check (rule 6): a synopsis that describes another work.

A film record whose synopsis names the people, characters or year of another work more than
its own gets a ``synopsis_conflict`` flag with the evidence, and its synopsis is not used for
its work. The ``mention`` index (the names each synopsis mentions) finds, for works whose
credits changed, the synopses to check again, whatever order pages came in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete
from sqlmodel import Session, select

from pipelines.catalog.models import Credit, Flag, Mention, Person, SourceRecord, Work
from pipelines.catalog.references import add_flag, work_anchors
from pipelines.identity import character_key, name_phrases, person_key, years_in

MIN_FOREIGN_MATCHES = 3
CHUNK = 500


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
    keys = sorted(set(keys))
    found: set[int] = set()
    for i in range(0, len(keys), CHUNK):
        found |= set(
            session.exec(
                select(Mention.source_record_id).where(Mention.key.in_(keys[i : i + CHUNK]))
            ).all()
        )
    return found


def check_synopsis(session: Session, sr: SourceRecord) -> bool:
    """Flag ``sr`` if its synopsis describes another work; returns whether it is flagged."""
    session.exec(
        delete(Flag).where(Flag.source_record_id == sr.id, Flag.kind == "synopsis_conflict")
    )
    synopsis = (sr.data or {}).get("synopsis")
    if not synopsis or sr.work_id is None:
        return False
    people, characters = synopsis_keys(synopsis)
    hits: dict[int, dict[str, set[str]]] = defaultdict(
        lambda: {"people": set(), "characters": set()}
    )
    for wid, name in session.exec(select(Credit.work_id, Person.name).join(Person, Person.id == Credit.person_id)
                                  .where(Person.key.in_(sorted(people)))).all():  # fmt: skip
        hits[wid]["people"].add(name)
    for wid, character in session.exec(select(Credit.work_id, Credit.character)
                                       .where(Credit.character_key.in_(sorted(characters)))).all():  # fmt: skip
        hits[wid]["characters"].add(character)  # type: ignore[arg-type]
    own = hits.pop(sr.work_id, {"people": set(), "characters": set()})
    own_count = len(own["people"]) + len(own["characters"])
    foreign = {
        wid: len(h["people"]) + len(h["characters"])
        for wid, h in hits.items()
        if h["people"]
        and len(h["people"]) + len(h["characters"]) >= MIN_FOREIGN_MATCHES
        and len(h["people"]) + len(h["characters"]) > 2 * own_count
    }
    if not foreign:
        return False
    top = max(foreign.values())
    tied = [w for w, n in foreign.items() if n == top]
    anchors = work_anchors(session, tied)
    best = min(tied, key=lambda w: anchors.get(w, ""))
    other, work = session.get(Work, best), session.get(Work, sr.work_id)
    h = hits[best]
    years = sorted(
        y for y in years_in(synopsis) if other and y == other.year and (not work or y != work.year)
    )
    names, chars = sorted(h["people"]), sorted(h["characters"])
    label = f"#{best} '{other.title}' ({other.year})" if other else f"#{best}"
    detail = (f"synopsis describes work {label}: names {', '.join(names + chars)}"
              + (f", year {', '.join(map(str, years))}" if years else "")
              + f"; none of them is credited on this work '{work.title if work else '?'}'")  # fmt: skip
    evidence = {"other_work_id": best, "other_title": other.title if other else None,
                "other_year": other.year if other else None, "people": names, "characters": chars,
                "years": years, "own_matches": own_count}  # fmt: skip
    add_flag(session, sr.id, sr.work_id, "synopsis_conflict", detail, evidence)
    return True
