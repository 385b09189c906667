"""Reviews, quotes, offers and ratings: attached to the work their film reference points to.

A reference is decided against the works as they stand (``decide_reference``, rule 7): a shared
external id or the film's own page decide at once; otherwise the works sharing a title key
compete on the evidence the page gives (year, director, characters, names in the text). The
resolver decides a reference again whenever a work it could point to changes.

No reference's decision reads what another one wrote (only film records, works and the pages'
references), so references are resolved a chunk at a time: their old rows go in one DELETE
per table, each kind of evidence is looked up for the whole chunk at once, and the new rows
go in one INSERT per table.

Reviews, offers and quotes are items that several records may reach (a mirror, another port,
a syndicated copy): each decision carries the item's ``identity`` (``duplicates``), and once
a pass has decided its references, ``settle_duplicates`` gives every identity it touched
(before or after) one row, its holder's (``duplicates.rank``); the other records' decisions
point at it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, update
from sqlalchemy.orm import defer
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from pipelines.catalog.batching import chunks, insert_rows, select_in
from pipelines.catalog.duplicates import (
    IDENTIFIED,
    Member,
    changed_at,
    holder,
    identity,
    latest,
    offer_times,
    rank,
)
from pipelines.catalog.models import (
    ExternalId,
    Flag,
    MatchDecision,
    Offer,
    Quote,
    Rating,
    Review,
    SourceRecord,
    utcnow,
)
from pipelines.catalog.profiles import WorkCache, candidates_by_key
from pipelines.identity import Decision, Reference, decide_reference, title_variants
from pipelines.records import STRICT_MODELS

REFERENCE_TYPES = ("review", "offer", "quote", "rating")
REFERENCE_FLAGS = ("ambiguous_reference", "unresolved_reference")
REFERENCE_ROWS = (Review, Offer, Quote, Rating)

Page = tuple[str, str]  # (site, url)
Row = dict[str, Any]


@dataclass
class Items:
    """The reviews, offers and quotes a pass decided: their identities before and after (the
    items to settle), and which record each was a copy of before (to count new copies)."""

    identities: set[str] = field(default_factory=set)
    copy_of: dict[int, int | None] = field(default_factory=dict)


def resolve_references(
    session: Session, records: Sequence[SourceRecord], works: WorkCache,
    touched: Items | None = None,
) -> list[Decision]:  # fmt: skip
    """Attach reviews, quotes, offers and ratings to the works their film references point
    to, each with its decision and, when nothing decides, an ``ambiguous_reference`` or
    ``unresolved_reference`` flag; returns the decisions in the order of ``records``.

    Reviews, offers and quotes get no row here: their identities, before and after, are added
    to ``touched`` for ``settle_duplicates``, which the caller runs once the pass has decided
    every reference (the rows of an item depend on all its records)."""
    parsed = [STRICT_MODELS[sr.type].model_validate(sr.data) for sr in records]
    ids = [sr.id for sr in records]
    if touched is not None:
        stmt = select(MatchDecision.source_record_id, MatchDecision.identity,
                      MatchDecision.duplicate_of).where(MatchDecision.identity.is_not(None))  # fmt: skip
        for rid, ident, dup in select_in(session, stmt, MatchDecision.source_record_id, ids):
            touched.identities.add(ident)
            touched.copy_of.setdefault(rid, dup)
    clear_references(session, ids)  # type: ignore[arg-type]
    pages = page_contexts(session, {(sr.site, sr.url) for sr in records})
    texts = [pages[(sr.site, sr.url)][0] for sr in records]
    refs = [
        _with_characters(record.film, pages[(sr.site, sr.url)][1])  # type: ignore[attr-defined]
        for sr, record in zip(records, parsed, strict=True)
    ]
    decisions = decide_references(session, refs, texts, works)
    written = _write(session, records, parsed, refs, decisions, works)
    if touched is not None:
        touched.identities.update(written)
    return decisions


def clear_references(session: Session, record_ids: list[int]) -> None:
    """What these references gave before: attachments, decisions and reference flags (Core
    DELETEs: none of these rows is held by the session)."""
    for table in (*REFERENCE_ROWS, MatchDecision):
        session.execute(delete(table).where(table.source_record_id.in_(record_ids))  # type: ignore[attr-defined]
                        .execution_options(synchronize_session=False))  # fmt: skip
    session.execute(delete(Flag).where(Flag.source_record_id.in_(record_ids),
                                       Flag.kind.in_(REFERENCE_FLAGS))
                    .execution_options(synchronize_session=False))  # fmt: skip


def page_contexts(session: Session, pages: set[Page]) -> dict[Page, tuple[str, list[str]]]:
    """References on one page name one film: they share the page's evidence (the review's
    text, every quote's speakers), so a review and its quotes always resolve together."""
    stmt = (select(SourceRecord.site, SourceRecord.url, SourceRecord.data)
            .where(SourceRecord.type.in_(REFERENCE_TYPES))
            .order_by(SourceRecord.item_key, SourceRecord.type))  # fmt: skip
    on_page: dict[Page, list[dict[str, Any]]] = defaultdict(list)
    for site, url, data in select_in(session, stmt, SourceRecord.url, {url for _, url in pages}):
        if (site, url) in pages:
            on_page[(site, url)].append(data or {})
    return {page: _page_context(on_page[page]) for page in pages}


def _page_context(records: list[dict[str, Any]]) -> tuple[str, list[str]]:
    text: list[str] = []
    characters: list[str] = []
    for data in records:
        if data.get("body"):
            text.append(data["body"])
        characters += (data.get("film") or {}).get("characters") or []
        characters += [line["speaker"] for line in data.get("lines") or [] if line.get("speaker")]
    return "\n\n".join(text), list(dict.fromkeys(characters))


def _with_characters(ref: Any, characters: list[str]) -> Any:
    if not characters:
        return ref
    return ref.model_copy(
        update={"characters": list(dict.fromkeys([*ref.characters, *characters]))}
    )


# ------------------------------------------------------------------------------ deciding


@dataclass
class _Known:
    """The works that film records give each external id and each film page URL."""

    by_id: dict[tuple[str, str], set[int]] = field(default_factory=lambda: defaultdict(set))
    by_url: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))


def decide_references(session: Session, refs: Sequence[Any], texts: Sequence[str],
                      works: WorkCache) -> list[Decision]:  # fmt: skip
    """Each reference decided by a shared id, its film page, or else by the works sharing one
    of its title keys (one lookup of each kind for all of them)."""
    known = _known(session, refs)
    decisions = [_by_id_or_page(ref, known) for ref in refs]
    titled = [i for i, d in enumerate(decisions) if d is None and refs[i].title]
    by_key = candidates_by_key(session, {k for i in titled for k in title_variants(refs[i].title)})
    candidates = {
        i: {wid for k in title_variants(refs[i].title) for wid in by_key.get(k, ())} for i in titled
    }
    stored = works.get(wid for ids in candidates.values() for wid in ids)
    for i, ids in candidates.items():
        ref = refs[i]
        reference = Reference(title=ref.title, year=ref.year, directors=ref.directors,
                              characters=ref.characters, people=ref.people, text=texts[i])  # fmt: skip
        decisions[i] = decide_reference(reference, [stored[w].facts for w in ids if w in stored])
    return [d or Decision("new", None, 0.0, ["the reference names no title"]) for d in decisions]


def _known(session: Session, refs: Sequence[Any]) -> _Known:
    out = _Known()
    values = {value for ref in refs for value in ref.external_ids.values()}
    stmt = select(ExternalId.namespace, ExternalId.value, ExternalId.work_id)
    for ns, value, wid in select_in(session, stmt, ExternalId.value, values):
        out.by_id[(ns, value)].add(wid)
    urls = {ref.url for ref in refs if ref.url}
    stmt = select(SourceRecord.url, SourceRecord.work_id).where(  # type: ignore[assignment]
        SourceRecord.type == "film", SourceRecord.work_id.is_not(None)
    )
    for url, wid in select_in(session, stmt, SourceRecord.url, urls):
        out.by_url[url].add(wid)
    return out


def _by_id_or_page(ref: Any, known: _Known) -> Decision | None:
    for ns, value in sorted(ref.external_ids.items()):
        works = sorted(known.by_id.get((ns, value), ()))
        if len(works) == 1:
            return Decision(
                "matched", str(works[0]), 1.0, [f"same {ns} id {value}"], [str(works[0])]
            )
    if ref.url:
        works = sorted(known.by_url.get(ref.url, ()))
        if len(works) == 1:
            return Decision("matched", str(works[0]), 1.0,
                            [f"its page {ref.url} is the film record's page"], [str(works[0])])  # fmt: skip
    return None


# ------------------------------------------------------------------------------ writing


def _write(session: Session, records: Sequence[SourceRecord], parsed: Sequence[Any],
           refs: Sequence[Any], decisions: Sequence[Decision], works: WorkCache) -> set[str]:  # fmt: skip
    """Decisions, flags and attachments in one INSERT per table; the records point at their
    works (``point_records``). Returns the identities of the items decided (their rows are
    ``settle_duplicates``'s); a record without one gets its row here."""
    items: set[str] = set()
    now = utcnow()
    rows: dict[Any, list[Row]] = defaultdict(list)
    targets: list[tuple[SourceRecord, int | None]] = []
    for sr, record, ref, d in zip(records, parsed, refs, decisions, strict=True):
        work_id = int(d.target) if d.outcome == "matched" else None  # type: ignore[arg-type]
        if d.outcome == "ambiguous":
            rows[Flag].append(flag_row(sr.id, None, "ambiguous_reference",
                                       f"'{ref.title}' fits {len(d.candidates)} works; no evidence decides",
                                       {"title": ref.title, "candidates": describe_works(works, d.candidates)},
                                       now))  # fmt: skip
        elif d.outcome != "matched":
            d.outcome = "unresolved"
            rows[Flag].append(flag_row(sr.id, None, "unresolved_reference",
                                       f"no work in the catalog fits '{ref.title}'",
                                       {"title": ref.title}, now))  # fmt: skip
        item = identity(sr.type, sr.data or {}, work_id) if sr.type in IDENTIFIED else None
        rows[MatchDecision].append(
            {"source_record_id": sr.id, "work_id": work_id, "score": d.score,
             "outcome": d.outcome, "weak": d.weak, "reasons": d.reasons,
             "candidates": d.candidates, "decided_at": now, "identity": item,
             "duplicate_of": None}
        )  # fmt: skip
        if item is not None:
            items.add(item)
        elif attached := _attachment(sr, record, work_id):
            rows[attached[0]].append(attached[1])
        targets.append((sr, work_id))
    for table, table_rows in rows.items():
        insert_rows(session, table, table_rows)
    point_records(session, targets)
    return items


def _attachment(sr: SourceRecord, record: Any, work_id: int | None) -> tuple[Any, Row] | None:
    """The review, offer, quote or rating row a reference gives (a rating only on a work)."""
    if sr.type == "review":
        rating = record.rating
        return Review, {"work_id": work_id, "source_record_id": sr.id, "site": sr.site,
                        "url": sr.url, "author": record.author, "published_at": record.published_at,
                        "title": record.title, "body": record.body, "critic": record.critic,
                        "rating_value_100": rating.value_100 if rating else None,
                        "rating_raw": rating.raw if rating else None}  # fmt: skip
    if sr.type == "offer":
        return Offer, {"work_id": work_id, "source_record_id": sr.id, "site": sr.site,
                       "provider": record.provider, "country": record.country,
                       "monetization": record.monetization.value if record.monetization else None,
                       "quality": record.quality, "price": record.price, "currency": record.currency,
                       "url": record.offer_url, "first_seen": sr.first_seen,
                       "last_seen": sr.last_seen, "gone_at": sr.gone_at}  # fmt: skip
    if sr.type == "quote":
        return Quote, {"work_id": work_id, "source_record_id": sr.id, "site": sr.site,
                       "url": sr.url, "lines": [line.model_dump() for line in record.lines]}  # fmt: skip
    if sr.type == "rating" and work_id is not None:
        r = record.rating
        return Rating, {"work_id": work_id, "source_record_id": sr.id, "source": r.source,
                        "raw": r.raw, "scale_max": r.scale_max, "value_100": r.value_100,
                        "count": r.count, "kind": r.kind, "seen_at": sr.last_seen}  # fmt: skip
    return None


# ------------------------------------------------------------------------------ duplicates


def settle_duplicates(session: Session, items: Items) -> Counter[str]:
    """Give each of these items one row, its holder's (``duplicates.holder``), and point its
    other records' decisions at the holder; returns ``duplicates/<type>`` counts: records
    found to be a copy of another in this pass (not copies already known as such). An
    identity no record holds any more leaves nothing: its rows went with the decisions that
    moved away."""
    counts: Counter[str] = Counter()
    groups: dict[str, list[int]] = defaultdict(list)
    work_of: dict[int, int | None] = {}
    before: dict[int, int | None] = {}
    stmt = select(MatchDecision.identity, MatchDecision.source_record_id, MatchDecision.work_id,
                  MatchDecision.duplicate_of)  # fmt: skip
    for ident, rid, wid, dup in select_in(
        session, stmt, MatchDecision.identity, sorted(items.identities)
    ):
        groups[ident].append(rid)  # type: ignore[index]
        work_of[rid] = wid
        before[rid] = items.copy_of.get(rid, dup)
    if not groups:
        return counts
    ids = sorted(work_of)
    records = {sr.id: sr for sr in select_in(session, select(SourceRecord).options(
        defer(SourceRecord.raw), defer(SourceRecord.changes)), SourceRecord.id, ids)}  # type: ignore[arg-type]  # fmt: skip
    # when each offer's content last changed (its change log, read in bulk, not per record)
    stmt = select(SourceRecord.id, SourceRecord.changes).where(SourceRecord.type == "offer")  # type: ignore[assignment]
    logs = dict(select_in(session, stmt, SourceRecord.id, ids))
    rows: dict[Any, list[Row]] = defaultdict(list)
    pointers: list[dict[str, Any]] = []
    for ident in sorted(groups):
        members = [records[rid] for rid in sorted(groups[ident])]
        first, row = _item_row(members, work_of, logs)
        rows[row[0]].append(row[1])
        pointers += [{"rid": sr.id, "dup": None if sr.id == first else first} for sr in members]
        found = sum(1 for sr in members if sr.id != first and before[sr.id] != first)  # type: ignore[index]
        if found:
            counts[f"duplicates/{members[0].type}"] += found
    for chunk in chunks(ids):
        for table in (Review, Offer, Quote):
            session.execute(delete(table).where(table.source_record_id.in_(chunk))  # type: ignore[attr-defined]
                            .execution_options(synchronize_session=False))  # fmt: skip
    for table, table_rows in rows.items():
        insert_rows(session, table, table_rows)
    decision = MatchDecision.__table__  # type: ignore[attr-defined]
    session.connection().execute(
        update(decision).where(decision.c.source_record_id == bindparam("rid"))
        .values(duplicate_of=bindparam("dup")), pointers)  # fmt: skip
    return counts


def _item_row(members: Sequence[SourceRecord], work_of: dict[int, int | None],
              logs: dict[int, Any]) -> tuple[int, tuple[Any, Row]]:  # fmt: skip
    """The holder's id and the row standing for the item its records are (an offer's terms
    from its latest member, its times over all of them). ``logs``: offers' change logs."""
    seen = [Member(sr.id, rank(sr.data or {}, (sr.site, sr.url, sr.type, sr.item_key)),  # type: ignore[arg-type]
                   sr.first_seen, sr.last_seen, sr.gone_at, changed_at(sr.first_seen, logs.get(sr.id)))
            for sr in members]  # fmt: skip
    first = holder(seen).id
    sr = next(m for m in members if m.id == first)
    model = STRICT_MODELS[sr.type]
    table, row = _attachment(sr, model.model_validate(sr.data), work_of[first])  # type: ignore[misc]
    if sr.type == "offer":
        newest = latest(seen).id
        terms = model.model_validate(next(m for m in members if m.id == newest).data)
        row.update(price=terms.price, currency=terms.currency, url=terms.offer_url,
                   **offer_times(seen))  # fmt: skip
    return first, (table, row)


# ------------------------------------------------------------------------------ shared rows


def point_records(session: Session, targets: Sequence[tuple[SourceRecord, int | None]]) -> None:
    """Point records at works: one UPDATE, executed for each record that moves; the session's
    objects keep the new ``work_id`` as their committed value (nothing left to flush)."""
    moved = [{"rid": sr.id, "wid": wid} for sr, wid in targets if sr.work_id != wid]
    if moved:
        source = SourceRecord.__table__  # type: ignore[attr-defined]
        stmt = update(source).where(source.c.id == bindparam("rid"))
        session.connection().execute(stmt.values(work_id=bindparam("wid")), moved)
    for sr, wid in targets:
        set_committed_value(sr, "work_id", wid)


def flag_row(record_id: int | None, work_id: int | None, kind: str, detail: str,
             evidence: dict[str, Any], now: Any) -> Row:  # fmt: skip
    """A ``Flag`` row for a bulk INSERT."""
    return {"source_record_id": record_id, "work_id": work_id, "kind": kind, "detail": detail,
            "evidence": evidence, "created_at": now}  # fmt: skip


def describe_works(works: WorkCache, ids: Iterable[str]) -> list[dict[str, Any]]:
    """Candidate works as flags show them (id, title, year, kind), in ``work_anchors`` order."""
    found = works.get(int(i) for i in ids)
    return [
        {"work_id": wid, "title": w.title, "year": w.year, "kind": w.kind}
        for wid, w in sorted(found.items(), key=lambda item: (item[1].anchor, item[0]))
    ]
