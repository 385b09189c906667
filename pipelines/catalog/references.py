"""Reviews, quotes, offers and ratings: attached to the work their film reference points to.

A reference is decided against the works as they stand (``decide_reference``, rule 7): a shared
external id or the film's own page decide at once; otherwise the works sharing a title key
compete on the evidence the page gives (year, director, characters, names in the text). The
resolver decides a reference again whenever a work it could point to changes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func
from sqlmodel import Session, select

from pipelines.catalog.models import (
    ExternalId,
    Flag,
    MatchDecision,
    Offer,
    Quote,
    Rating,
    Review,
    SourceRecord,
    Work,
)
from pipelines.catalog.profiles import candidate_work_ids, work_facts
from pipelines.identity import Decision, Reference, decide_reference, title_variants
from pipelines.records import STRICT_MODELS

REFERENCE_TYPES = ("review", "offer", "quote", "rating")
REFERENCE_FLAGS = ("ambiguous_reference", "unresolved_reference")
REFERENCE_ROWS = (Review, Offer, Quote, Rating)


def resolve_reference(session: Session, sr: SourceRecord) -> Decision:
    """Attach a review, quote, offer or rating to the work its film reference points to, with
    its decision and, when nothing decides, an ``ambiguous_reference`` or
    ``unresolved_reference`` flag."""
    record = STRICT_MODELS[sr.type].model_validate(sr.data)
    ref = record.film  # type: ignore[attr-defined]
    clear_reference(session, sr.id)  # type: ignore[arg-type]
    text, characters = page_context(session, sr)
    if characters:
        ref = ref.model_copy(
            update={"characters": list(dict.fromkeys([*ref.characters, *characters]))}
        )
    decision = _decide(session, ref, text)
    work_id = int(decision.target) if decision.outcome == "matched" else None  # type: ignore[arg-type]
    if decision.outcome == "ambiguous":
        add_flag(session, sr.id, None, "ambiguous_reference",
                 f"'{ref.title}' fits {len(decision.candidates)} works; no evidence decides",
                 {"title": ref.title, "candidates": describe_works(session, decision.candidates)})  # fmt: skip
    elif decision.outcome != "matched":
        decision.outcome = "unresolved"
        add_flag(session, sr.id, None, "unresolved_reference",
                 f"no work in the catalog fits '{ref.title}'", {"title": ref.title})  # fmt: skip
    sr.work_id = work_id
    session.add(sr)
    save_decision(session, sr.id, decision, work_id)  # type: ignore[arg-type]
    _attach_row(session, sr, record, work_id)
    return decision


def clear_reference(session: Session, record_id: int) -> None:
    for table in REFERENCE_ROWS:
        session.exec(delete(table).where(table.source_record_id == record_id))  # type: ignore[attr-defined]
    session.exec(
        delete(Flag).where(Flag.source_record_id == record_id, Flag.kind.in_(REFERENCE_FLAGS))
    )


def page_context(session: Session, sr: SourceRecord) -> tuple[str, list[str]]:
    """References on one page name one film: they share the page's evidence (the review's
    text, every quote's speakers), so a review and its quotes always resolve together."""
    text: list[str] = []
    characters: list[str] = []
    rows = session.exec(select(SourceRecord.data).where(
        SourceRecord.site == sr.site, SourceRecord.url == sr.url,
        SourceRecord.type.in_(REFERENCE_TYPES)).order_by(SourceRecord.item_key, SourceRecord.type)).all()  # fmt: skip
    for data in rows:
        data = data or {}
        if data.get("body"):
            text.append(data["body"])
        characters += (data.get("film") or {}).get("characters") or []
        characters += [line["speaker"] for line in data.get("lines") or [] if line.get("speaker")]
    return "\n\n".join(text), list(dict.fromkeys(characters))


def _decide(session: Session, ref: Any, text: str) -> Decision:
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
    facts = work_facts(session, candidate_work_ids(session, title_variants(ref.title)))
    reference = Reference(title=ref.title, year=ref.year, directors=ref.directors,
                          characters=ref.characters, people=ref.people, text=text)  # fmt: skip
    return decide_reference(reference, list(facts.values()))


def _attach_row(session: Session, sr: SourceRecord, record: Any, work_id: int | None) -> None:
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
                          url=record.offer_url, first_seen=sr.first_seen, last_seen=sr.last_seen,
                          gone_at=sr.gone_at))  # fmt: skip
    elif sr.type == "quote":
        session.add(Quote(work_id=work_id, source_record_id=sr.id, site=sr.site, url=sr.url,  # type: ignore[arg-type]
                          lines=[line.model_dump() for line in record.lines]))  # fmt: skip
    elif sr.type == "rating" and work_id is not None:
        r = record.rating
        session.add(Rating(work_id=work_id, source_record_id=sr.id, source=r.source, raw=r.raw,  # type: ignore[arg-type]
                           scale_max=r.scale_max, value_100=r.value_100, count=r.count, kind=r.kind,
                           seen_at=sr.last_seen))  # fmt: skip


# ------------------------------------------------------------------------------ shared rows


def save_decision(session: Session, record_id: int, d: Decision, work_id: int | None) -> None:
    row = session.exec(
        select(MatchDecision).where(MatchDecision.source_record_id == record_id)
    ).first()
    row = row or MatchDecision(source_record_id=record_id, outcome=d.outcome)
    row.work_id, row.score, row.outcome, row.weak = work_id, d.score, d.outcome, d.weak
    row.reasons, row.candidates = d.reasons, d.candidates
    session.add(row)


def add_flag(session: Session, record_id: int | None, work_id: int | None, kind: str, detail: str,
             evidence: dict[str, Any]) -> Flag:  # fmt: skip
    flag = Flag(source_record_id=record_id, work_id=work_id, kind=kind, detail=detail,
                evidence=evidence)  # fmt: skip
    session.add(flag)
    return flag


def describe_works(session: Session, ids: list[str]) -> list[dict[str, Any]]:
    """Candidate works as flags show them (id, title, year, kind), in ``work_anchors`` order."""
    wanted = [int(i) for i in ids]
    works = {w.id: w for w in session.exec(select(Work).where(Work.id.in_(wanted))).all()}
    anchors = work_anchors(session, list(works))
    return [
        {"work_id": w.id, "title": w.title, "year": w.year, "kind": w.kind}
        for w in sorted(works.values(), key=lambda w: anchors.get(w.id, ""))  # type: ignore[arg-type]
    ]


def work_anchors(session: Session, work_ids: list[int]) -> dict[int, str]:
    """Each work's first film record ("site url"): an order of works that depends on what
    they hold, not on the ids they happened to get."""
    if not work_ids:
        return {}
    rows = session.exec(
        select(SourceRecord.work_id, func.min(SourceRecord.site + " " + SourceRecord.url))
        .where(SourceRecord.work_id.in_(work_ids), SourceRecord.type == "film")
        .group_by(SourceRecord.work_id)
    ).all()
    return {wid: anchor for wid, anchor in rows}  # type: ignore[misc]
