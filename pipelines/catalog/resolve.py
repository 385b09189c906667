"""Resolution against the catalog: which work each stored record belongs to, and why.

* ``resolve_film`` blocks on title keys and external ids, scores the candidates with
  ``pipelines.identity`` and attaches the record, starts a work, or leaves it unattached
  with an ``ambiguous_match`` flag;
* ``resolve_reference`` attaches reviews, quotes, offers and ratings through the film they name;
* ``check_synopses`` is the text consistency check (rule 6);
* ``refresh_work`` derives a work's fields from all its records, in a fixed order, so the
  same records give the same work whatever order they came in;
* ``settle`` runs after a crawl; ``rebuild`` recomputes everything (``filmagg resolve --rebuild``).
"""

from __future__ import annotations

import logging
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import Session, select

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
    Review,
    SourceRecord,
    Work,
    WorkTitle,
    utcnow,
)
from pipelines.catalog.profiles import candidate_work_ids, film_profile, title_rows, work_facts
from pipelines.identity import (
    Decision,
    Reference,
    character_key,
    compare,
    decide,
    decide_reference,
    name_phrases,
    person_key,
    title_key,
    title_variants,
    years_in,
)
from pipelines.records import STRICT_MODELS, Film, Kind

logger = logging.getLogger(__name__)

REFERENCE_TYPES = ("review", "offer", "quote", "rating")
_RESOLUTION_FLAGS = (
    "ambiguous_match",
    "ambiguous_reference",
    "unresolved_reference",
    "id_kind_conflict",
)
_DERIVED = (WorkTitle, ExternalId, Credit, Rating, Review, Offer, Quote, Mention)

Progress = Callable[[int, int], None]


# ------------------------------------------------------------------------------ films


def resolve_film(session: Session, sr: SourceRecord, fresh: bool = False) -> Decision:
    """Attach a film record to a work (or start one) and store the decision."""
    film = Film.model_validate(sr.data)
    profile = film_profile(film, f"r{sr.id}")
    ids = candidate_work_ids(
        session, profile.title_keys(), film.external_ids, film.year, film.directors
    )
    facts = work_facts(session, ids)
    decision = decide(profile, [f.profile for f in facts.values()])
    if not fresh:  # a record stored for the first time has contributed no rows yet
        _clear_record(session, sr)
    for wid, f in sorted(facts.items()):
        c = compare(profile, f.profile)
        if c.shared_id and any(x.startswith("kind ") for x in c.conflicts):
            _flag(session, sr, wid, "id_kind_conflict",
                  f"shares an external id with work #{wid} but its kind differs: {'; '.join(c.conflicts)}",
                  {"work_id": wid, "conflicts": c.conflicts})  # fmt: skip
    if decision.outcome == "matched":
        work_id = int(decision.target)  # type: ignore[arg-type]
    elif decision.outcome == "new":
        work = Work(title=film.title, year=film.year, kind=film.kind.value)
        session.add(work)
        session.flush()
        work_id = work.id  # type: ignore[assignment]
        decision.reasons.insert(0, "started a new work")
    else:
        work_id = None
        _flag(session, sr, None, "ambiguous_match",
              f"{decision.reasons[0]}: candidates {', '.join('#' + c for c in decision.candidates)}",
              {"candidates": _describe(session, decision.candidates)})  # fmt: skip
    sr.work_id = work_id
    sr.resolved = True
    session.add(sr)
    _save_decision(session, sr, decision, work_id)
    if work_id is not None:
        _attach_film_rows(session, sr, film, work_id)
        refresh_work(session, work_id)
    return decision


def _attach_film_rows(session: Session, sr: SourceRecord, film: Film, work_id: int) -> None:
    session.add_all(title_rows(work_id, sr.id, film))
    for ns, value in sorted(film.external_ids.items()):
        exists = session.exec(
            select(ExternalId.id).where(
                ExternalId.namespace == ns, ExternalId.value == value, ExternalId.work_id == work_id
            )  # fmt: skip
        ).first()
        if exists is None:
            session.add(
                ExternalId(namespace=ns, value=value, work_id=work_id, source_record_id=sr.id)
            )
    people = _people(session, [c.name for c in film.credits])
    for c in film.credits:
        person = people[person_key(c.name) or c.name.casefold()]
        session.add(Credit(work_id=work_id, person_id=person.id, source_record_id=sr.id,  # type: ignore[arg-type]
                           role=c.role, character=c.character, order=c.order,
                           character_key=character_key(c.character) if c.character else None))  # fmt: skip
    if film.synopsis:
        session.add_all(
            Mention(source_record_id=sr.id, key=k) for k in sorted(mention_keys(film.synopsis))
        )  # type: ignore[arg-type]
    for r in film.ratings:
        session.add(Rating(work_id=work_id, source_record_id=sr.id, source=r.source, raw=r.raw,  # type: ignore[arg-type]
                           scale_max=r.scale_max, value_100=r.value_100, count=r.count, kind=r.kind,
                           seen_at=sr.last_seen))  # fmt: skip
    session.flush()


def _people(session: Session, names: list[str]) -> dict[str, Person]:
    """Person rows by key for these names, created where missing (one query for all)."""
    wanted = {person_key(n) or n.casefold(): n for n in names}
    if not wanted:
        return {}
    found = {
        p.key: p for p in session.exec(select(Person).where(Person.key.in_(sorted(wanted)))).all()
    }
    new = [Person(name=name, key=key) for key, name in sorted(wanted.items()) if key not in found]
    if new:
        session.add_all(new)
        session.flush()
        found.update((p.key, p) for p in new)
    return found


# ------------------------------------------------------------------------------ references


def resolve_reference(session: Session, sr: SourceRecord) -> Decision:
    """Attach a review, quote, offer or rating to the work its film reference points to."""
    record = STRICT_MODELS[sr.type].model_validate(sr.data)
    ref = record.film  # type: ignore[attr-defined]
    _clear_record(session, sr)
    text, characters = _page_context(session, sr)
    if characters:
        ref = ref.model_copy(
            update={"characters": list(dict.fromkeys([*ref.characters, *characters]))}
        )
    decision = _reference_decision(session, sr, ref, text)
    work_id = int(decision.target) if decision.outcome == "matched" else None  # type: ignore[arg-type]
    if decision.outcome == "ambiguous":
        _flag(session, sr, None, "ambiguous_reference",
              f"'{ref.title}' fits {len(decision.candidates)} works; no evidence decides",
              {"title": ref.title, "candidates": _describe(session, decision.candidates)})  # fmt: skip
    elif decision.outcome != "matched":
        decision.outcome = "unresolved"
        _flag(session, sr, None, "unresolved_reference",
              f"no work in the catalog fits '{ref.title}'", {"title": ref.title})  # fmt: skip
    sr.work_id = work_id
    sr.resolved = True
    session.add(sr)
    _save_decision(session, sr, decision, work_id)
    _attach_reference_row(session, sr, record, work_id)
    return decision


def _page_context(session: Session, sr: SourceRecord) -> tuple[str, list[str]]:
    """References on one page name one film: they share the page's evidence (the review's
    text, every quote's speakers), so a review and its quotes always resolve together."""
    text: list[str] = []
    characters: list[str] = []
    for data in session.exec(select(SourceRecord.data).where(
            SourceRecord.site == sr.site, SourceRecord.url == sr.url,
            SourceRecord.type.in_(REFERENCE_TYPES)).order_by(SourceRecord.id)).all():  # fmt: skip
        data = data or {}
        if data.get("body"):
            text.append(data["body"])
        characters += (data.get("film") or {}).get("characters") or []
        characters += [line["speaker"] for line in data.get("lines") or [] if line.get("speaker")]
    return "\n\n".join(text), list(dict.fromkeys(characters))


def _reference_decision(session: Session, sr: SourceRecord, ref: Any, text: str) -> Decision:
    for ns, value in sorted(ref.external_ids.items()):
        works = sorted(set(session.exec(select(ExternalId.work_id).where(
            ExternalId.namespace == ns, ExternalId.value == value)).all()))  # fmt: skip
        if len(works) == 1:
            return Decision(
                "matched", str(works[0]), 1.0, [f"same {ns} id {value}"], [str(works[0])]
            )
    if ref.url:
        works = sorted(set(session.exec(select(SourceRecord.work_id).where(
            SourceRecord.url == ref.url, SourceRecord.type == "film",
            SourceRecord.work_id.is_not(None))).all()))  # fmt: skip
        if len(works) == 1:
            return Decision("matched", str(works[0]), 1.0,
                            [f"its page {ref.url} is the film record's page"], [str(works[0])])  # fmt: skip
    if not ref.title:
        return Decision("new", None, 0.0, ["the reference names no title"])
    ids = candidate_work_ids(session, title_variants(ref.title), {})
    facts = work_facts(session, ids)
    reference = Reference(title=ref.title, year=ref.year, directors=ref.directors,
                          characters=ref.characters, people=ref.people, text=text)  # fmt: skip
    return decide_reference(reference, list(facts.values()))


def _attach_reference_row(
    session: Session, sr: SourceRecord, record: Any, work_id: int | None
) -> None:
    if sr.type == "review":
        session.add(Review(work_id=work_id, source_record_id=sr.id, site=sr.site, url=sr.url,  # type: ignore[arg-type]
                           author=record.author, published_at=record.published_at, title=record.title,
                           body=record.body, critic=record.critic,
                           rating_value_100=record.rating.value_100 if record.rating else None,
                           rating_raw=record.rating.raw if record.rating else None))  # fmt: skip
    elif sr.type == "offer":
        session.add(Offer(work_id=work_id, source_record_id=sr.id, site=sr.site,  # type: ignore[arg-type]
                          provider=record.provider, country=record.country,
                          monetization=record.monetization.value if record.monetization else None,
                          quality=record.quality, price=record.price, currency=record.currency,
                          url=record.offer_url, first_seen=sr.first_seen, last_seen=sr.last_seen))  # fmt: skip
    elif sr.type == "quote":
        session.add(Quote(work_id=work_id, source_record_id=sr.id, site=sr.site, url=sr.url,  # type: ignore[arg-type]
                          lines=[line.model_dump() for line in record.lines]))  # fmt: skip
    elif sr.type == "rating" and work_id is not None:
        r = record.rating
        session.add(Rating(work_id=work_id, source_record_id=sr.id, source=r.source, raw=r.raw,  # type: ignore[arg-type]
                           scale_max=r.scale_max, value_100=r.value_100, count=r.count, kind=r.kind,
                           seen_at=sr.last_seen))  # fmt: skip
    session.flush()


# ------------------------------------------------------------------------------ text checks

MIN_FOREIGN_MATCHES = 3


def check_synopsis(session: Session, sr: SourceRecord) -> Flag | None:
    """Rule 6: a film record whose synopsis names the people, characters or year of another
    work gets a ``synopsis_conflict`` flag (and its synopsis is not used for its work)."""
    session.exec(
        delete(Flag).where(Flag.source_record_id == sr.id, Flag.kind == "synopsis_conflict")
    )
    synopsis = (sr.data or {}).get("synopsis")
    if not synopsis or sr.work_id is None:
        return None
    people, characters = synopsis_keys(synopsis)
    pkeys, ckeys = sorted(people), sorted(characters)
    hits: dict[int, dict[str, set[str]]] = defaultdict(
        lambda: {"people": set(), "characters": set()}
    )
    for wid, name in session.exec(select(Credit.work_id, Person.name).join(Person, Person.id == Credit.person_id)
                                  .where(Person.key.in_(pkeys))).all():  # fmt: skip
        hits[wid]["people"].add(name)
    for wid, character in session.exec(select(Credit.work_id, Credit.character)
                                       .where(Credit.character_key.in_(ckeys))).all():  # fmt: skip
        hits[wid]["characters"].add(character)  # type: ignore[arg-type]
    own = hits.pop(sr.work_id, {"people": set(), "characters": set()})
    own_count = len(own["people"]) + len(own["characters"])
    work = session.get(Work, sr.work_id)
    best: tuple[int, int] | None = None
    for wid, h in sorted(hits.items()):
        count = len(h["people"]) + len(h["characters"])
        foreign = count >= MIN_FOREIGN_MATCHES and h["people"] and count > 2 * own_count
        if foreign and (best is None or count > best[1]):
            best = (wid, count)
    if best is None:
        return None
    other = session.get(Work, best[0])
    h = hits[best[0]]
    years = sorted(
        y for y in years_in(synopsis) if other and y == other.year and (not work or y != work.year)
    )
    people, chars = sorted(h["people"]), sorted(h["characters"])  # type: ignore[type-var]
    label = f"#{other.id} '{other.title}' ({other.year})" if other else f"#{best[0]}"
    detail = (f"synopsis describes work {label}: names {', '.join(people + chars)}"
              + (f", year {', '.join(map(str, years))}" if years else "")
              + f"; none of them is credited on this work '{work.title if work else '?'}'")  # fmt: skip
    evidence = {"other_work_id": best[0], "other_title": other.title if other else None,
                "other_year": other.year if other else None, "people": people, "characters": chars,
                "years": years, "own_matches": own_count}  # fmt: skip
    return _flag(session, sr, sr.work_id, "synopsis_conflict", detail, evidence)


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


def records_mentioning(session: Session, work_ids: Iterable[int]) -> list[SourceRecord]:
    """Film records of *other* works whose synopsis names these works' people or characters:
    the reverse direction of ``check_synopsis`` (an indexed lookup, whatever the catalog's
    size), so the check holds whatever order pages came in."""
    ids = sorted(set(work_ids))
    if not ids:
        return []
    people = session.exec(select(Person.key).join(Credit, Credit.person_id == Person.id)
                          .where(Credit.work_id.in_(ids)).distinct()).all()  # fmt: skip
    characters = session.exec(select(Credit.character_key).where(
        Credit.work_id.in_(ids), Credit.character_key.is_not(None)).distinct()).all()  # fmt: skip
    keys = sorted({f"p:{k}" for k in people} | {f"c:{k}" for k in characters})
    found: set[int] = set()
    for i in range(0, len(keys), 500):  # bounded IN lists
        found |= set(
            session.exec(
                select(Mention.source_record_id).where(Mention.key.in_(keys[i : i + 500]))
            ).all()
        )
    if not found:
        return []
    return list(session.exec(select(SourceRecord).where(
        SourceRecord.id.in_(sorted(found)), SourceRecord.type == "film", SourceRecord.work_id.is_not(None),
        SourceRecord.work_id.not_in(ids)).order_by(SourceRecord.id)).all())  # fmt: skip


# ------------------------------------------------------------------------------ works


def refresh_work(session: Session, work_id: int) -> Work | None:
    """Recompute a work's fields from its film records, deterministically; a work left with no
    film record is removed and its references go back to pending."""
    work = session.get(Work, work_id)
    if work is None:
        return None
    records = session.exec(select(SourceRecord).where(SourceRecord.work_id == work_id,
                                                      SourceRecord.type == "film")
                           .order_by(SourceRecord.site, SourceRecord.url)).all()  # fmt: skip
    if not records:
        _remove_work(session, work_id)
        return None
    flagged = set(session.exec(select(Flag.source_record_id).where(
        Flag.work_id == work_id, Flag.kind == "synopsis_conflict")).all())  # fmt: skip
    films = [r.data or {} for r in records]
    work.title = _most_common([f["title"] for f in films])
    work.original_title = _most_common(
        [f.get("original_title") for f in films if f.get("original_title")], None
    )
    years = [f["year"] for f in films if f.get("year")]
    counts = Counter(years)  # the most common year; on a tie, the earliest
    work.year = min(y for y, n in counts.items() if n == max(counts.values())) if years else None
    kinds = [f.get("kind") for f in films if f.get("kind") and f["kind"] != Kind.unknown.value]
    work.kind = _most_common(kinds, Kind.unknown.value)
    runtimes = sorted(f["runtime_minutes"] for f in films if f.get("runtime_minutes"))
    work.runtime_minutes = int(statistics.median_low(runtimes)) if runtimes else None
    work.genres = list(dict.fromkeys(g for f in films for g in f.get("genres") or []))
    synopses = [(r.id, (r.data or {}).get("synopsis")) for r in records]
    work.synopsis = next((s for rid, s in synopses if s and rid not in flagged), None)
    work.updated_at = utcnow()
    session.add(work)
    return work


def _most_common(values: list[Any], default: Any = "") -> Any:
    if not values:
        return default
    counts = Counter(values)
    top = max(counts.values())
    return next(v for v in values if counts[v] == top)


def _remove_work(session: Session, work_id: int) -> None:
    session.exec(update(SourceRecord).where(SourceRecord.work_id == work_id)
                 .values(work_id=None, resolved=False))  # fmt: skip
    for table in _DERIVED:
        if hasattr(table, "work_id"):
            session.exec(delete(table).where(table.work_id == work_id))
    session.exec(update(MatchDecision).where(MatchDecision.work_id == work_id).values(work_id=None))
    session.exec(delete(Flag).where(Flag.work_id == work_id))
    session.exec(delete(Work).where(Work.id == work_id))


# ------------------------------------------------------------------------------ helpers


def _clear_record(session: Session, sr: SourceRecord) -> None:
    """Remove the rows a record contributed before it is resolved again."""
    for table in _DERIVED:
        session.exec(delete(table).where(table.source_record_id == sr.id))
    session.exec(
        delete(Flag).where(Flag.source_record_id == sr.id, Flag.kind.in_(_RESOLUTION_FLAGS))
    )
    old_work = sr.work_id
    sr.work_id = None
    if old_work is not None and sr.type == "film":
        session.add(sr)
        session.flush()
        refresh_work(session, old_work)


def _save_decision(session: Session, sr: SourceRecord, d: Decision, work_id: int | None) -> None:
    row = session.exec(select(MatchDecision).where(MatchDecision.source_record_id == sr.id)).first()
    row = row or MatchDecision(source_record_id=sr.id, outcome=d.outcome)  # type: ignore[arg-type]
    row.work_id, row.score, row.outcome, row.weak = work_id, d.score, d.outcome, d.weak
    row.reasons, row.candidates, row.decided_at = d.reasons, d.candidates, utcnow()
    session.add(row)


def _flag(session: Session, sr: SourceRecord | None, work_id: int | None, kind: str, detail: str,
          evidence: dict[str, Any]) -> Flag:  # fmt: skip
    flag = Flag(source_record_id=sr.id if sr else None, work_id=work_id, kind=kind, detail=detail,
                evidence=evidence)  # fmt: skip
    session.add(flag)
    return flag


def _describe(session: Session, ids: Iterable[str]) -> list[dict[str, Any]]:
    out = []
    for wid in ids:
        w = session.get(Work, int(wid))
        if w:
            out.append({"work_id": w.id, "title": w.title, "year": w.year, "kind": w.kind})
    return out


# ------------------------------------------------------------------------------ batch steps


def settle(session: Session, touched_works: set[int], touched_keys: set[str],
           progress: Progress | None = None) -> dict[str, int]:  # fmt: skip
    """After a crawl: resolve pending references (and those whose title may now fit a new
    work), then re-run synopsis checks in both directions for the works that changed."""
    counts: Counter[str] = Counter()
    conds = [SourceRecord.resolved.is_(False)]
    if touched_keys:
        conds.append(SourceRecord.ref_key.in_(sorted(touched_keys)))
    refs = session.exec(select(SourceRecord).where(SourceRecord.type.in_(REFERENCE_TYPES), or_(*conds))
                        .order_by(SourceRecord.site, SourceRecord.url, SourceRecord.item_key)).all()  # fmt: skip
    film_conds = [SourceRecord.resolved.is_(False)]
    if touched_keys:
        # an unattached (ambiguous) record may now have a match; a record matched only for
        # want of a rival (a weak decision) may now have one: both are decided again
        weak = select(MatchDecision.source_record_id).where(MatchDecision.weak.is_(True))
        film_conds.append(
            SourceRecord.ref_key.in_(sorted(touched_keys))
            & (SourceRecord.work_id.is_(None) | SourceRecord.id.in_(weak))
        )
    films = session.exec(select(SourceRecord).where(SourceRecord.type == "film", or_(*film_conds))
                         .order_by(SourceRecord.site, SourceRecord.url)).all()  # fmt: skip
    total = len(refs) + len(films)
    done = 0
    for sr in films:
        resolve_film(session, sr)
        if sr.work_id:
            touched_works.add(sr.work_id)
        done += 1
        if progress:
            progress(done, total)
    for sr in refs:
        d = resolve_reference(session, sr)
        counts[f"reference/{d.outcome}"] += 1
        done += 1
        if progress:
            progress(done, total)
    session.flush()
    to_check = {sr.id: sr for sr in records_mentioning(session, touched_works)}
    if touched_works:
        for sr in session.exec(select(SourceRecord).where(SourceRecord.type == "film",
                                                          SourceRecord.work_id.in_(sorted(touched_works)))).all():  # fmt: skip
            to_check[sr.id] = sr
    flagged = set(session.exec(select(Flag.source_record_id).where(Flag.kind == "synopsis_conflict",
                                                                   Flag.source_record_id.in_(sorted(to_check)))).all())  # fmt: skip
    affected: set[int] = set()
    for rid, sr in sorted(to_check.items()):
        if not (sr.data or {}).get("synopsis") and rid not in flagged:
            continue  # nothing to check, no flag to lift
        now = check_synopsis(session, sr) is not None
        counts["flag/synopsis_conflict"] += now
        if now != (rid in flagged) and sr.work_id is not None:
            affected.add(sr.work_id)  # the work's synopsis choice changes
    session.flush()
    for wid in sorted(affected):
        refresh_work(session, wid)
    return dict(counts)


def rebuild(session: Session, progress: Progress | None = None) -> dict[str, int]:
    """Recompute every decision from the stored records, in a canonical order."""
    for table in (*_DERIVED, MatchDecision):
        session.exec(delete(table))
    session.exec(delete(Flag))
    session.exec(update(SourceRecord).values(work_id=None, resolved=False))
    session.exec(delete(Work))
    session.flush()
    films = session.exec(select(SourceRecord).where(SourceRecord.type == "film")).all()
    films = sorted(films, key=_canonical_order)
    counts: Counter[str] = Counter()
    for i, sr in enumerate(films, 1):
        counts[f"film/{resolve_film(session, sr, fresh=True).outcome}"] += 1
        if progress:
            progress(i, len(films))
    session.flush()
    all_works = set(session.exec(select(Work.id)).all())
    counts.update(settle(session, all_works, set(), progress))
    return dict(counts)


def _canonical_order(sr: SourceRecord) -> tuple[Any, ...]:
    """Best-identified records first (ids, then directors), then by site and URL."""
    data = sr.data or {}
    has_ids = bool(data.get("external_ids"))
    has_dirs = any(c.get("role") == "director" for c in data.get("credits") or [])
    return (not has_ids, not has_dirs, sr.site, sr.url, sr.item_key)


def reference_key(data: dict[str, Any]) -> str | None:
    """The title key a record is found under when new works appear (films: their own title;
    references: the title they name)."""
    title = data.get("title") if data["type"] == "film" else (data.get("film") or {}).get("title")
    return title_key(title) if title else None
