"""One review, offer or quote per real-world item, whatever URL reached it.

A source record is keyed by its page's URL, so the same review reached at a mirror host,
another port, over http and https, or syndicated on a second site makes several records.
They are several *sources* of one item: each record keeps its decision, and only one record,
the ``holder``, has the item's row in ``review``, ``offer`` or ``quote``; the others'
decisions say ``duplicate_of`` it. The holder is the earliest *published* copy (a syndicated
copy usually carries a later time of day than the original), then the smallest (site, url,
type, item key): never the first one crawled, because which copy a crawl reaches first
depends on the order pages happen to be fetched in, and the catalog must not (the same
records in any order, or from concurrent crawls, give the same catalog). Nothing is dropped:
the records stay, with their pages and history; ``works show`` names the copy each other
record stands for, and the resolver counts the copies it finds (``duplicates/<type>``).

An item's ``identity`` (stored on its decision) is:

* a **review**: its work, the folded author, the publication date (the day: a syndicated copy
  may carry another time of day) and the normalized body; without a body, the rating. A
  review with neither an author nor a body has no identity (a bare rating says too little);
* an **offer**: its work, provider, country, monetization and quality (across sites: one
  offer of a provider, whichever aggregator lists it). Its row takes the price of the member
  whose content changed last ("latest price wins"), the earliest ``first_seen``, the latest
  ``last_seen``, and is gone only when every member is gone;
* a **quote**: its work and its lines (speakers and text, folded).

Records attached to no work are identified on the film they name (folded title, year,
external ids) instead, so an unattached review crawled twice is still one review. Ratings
have no identity: they are measurements at a time, not items.

Everything here is pure; ``pipelines.catalog.references.settle_duplicates`` applies it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipelines.normalize import fold

IDENTIFIED = ("review", "offer", "quote")


def _text(value: Any) -> str:
    """Folded, with runs of blanks as one space: how two copies of one text compare."""
    return " ".join(fold(str(value)).split()) if value else ""


def _film(work_id: int | None, data: dict[str, Any]) -> str:
    """The work, or for an unattached record the film its page names."""
    if work_id is not None:
        return f"w{work_id}"
    film = data.get("film") or {}
    ids = sorted((film.get("external_ids") or {}).items())
    return "ref:" + _digest([_text(film.get("title")), film.get("year"), ids])


def _digest(parts: Any) -> str:
    text = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def item_parts(type_: str, data: dict[str, Any]) -> list[Any] | None:
    """What makes a review, offer or quote the item it is, apart from its work; None when
    the record says too little to be told apart from another (it is then never merged)."""
    if type_ == "review":
        author, body = _text(data.get("author")), _text(data.get("body"))
        day = (data.get("published_at") or "")[:10]
        if body:
            return [author, day, "body", body]
        rating = data.get("rating") or {}
        if author and rating.get("value_100") is not None:
            return [author, day, "rating", round(float(rating["value_100"]), 3)]
        return None
    if type_ == "offer":
        if not data.get("provider"):
            return None
        return [_text(data.get("provider")), data.get("country"), data.get("monetization"),
                _text(data.get("quality"))]  # fmt: skip
    if type_ == "quote":
        lines = [[_text(line.get("speaker")), _text(line.get("text"))]
                 for line in data.get("lines") or []]  # fmt: skip
        return lines or None
    return None


def identity(type_: str, data: dict[str, Any], work_id: int | None) -> str | None:
    """The item a reference record is, on its work: equal for every copy of one review,
    offer or quote (``type:work:digest``); None for a record that is never merged."""
    parts = item_parts(type_, data)
    if parts is None:
        return None
    return f"{type_}:{_film(work_id, data)}:{_digest(parts)}"


@dataclass(frozen=True)
class Member:
    """A record holding an identity, as the grouping needs it."""

    id: int
    rank: tuple[str, ...]  # ``rank(...)``: the smallest holds the item's row
    first_seen: datetime
    last_seen: datetime
    gone_at: datetime | None
    changed_at: datetime  # when its content last changed (its first_seen if never)


def utc(value: datetime | str) -> datetime:
    """An aware UTC datetime, whatever the driver gave (SQLite: naive UTC) or a change log's
    ISO text."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def changed_at(first_seen: datetime, changes: Sequence[dict[str, Any]] | None) -> datetime:
    """When a record's content last changed: its last change entry, else its first sighting."""
    return utc(changes[-1]["at"]) if changes else utc(first_seen)


def rank(data: dict[str, Any], key: Sequence[str]) -> tuple[str, ...]:
    """Where a record stands among the copies of its item: the earliest published first
    (records without a date last), then by its (site, url, type, item key). Content only, so
    the holder does not depend on the order records arrived in."""
    return (data.get("published_at") or "\uffff", *key)


def holder(members: Sequence[Member]) -> Member:
    """The record whose row stands for the item: the smallest ``rank``."""
    return min(members, key=lambda m: m.rank)


def latest(members: Sequence[Member]) -> Member:
    """The record whose offer terms (price, currency, link) the row shows: the one whose
    content changed last (then the highest id). Seeing a record again unchanged does not
    move it, so resolving incrementally and rebuilding agree."""
    return max(members, key=lambda m: (m.changed_at, m.id))


def offer_times(members: Sequence[Member]) -> dict[str, datetime | None]:
    """An offer row's times over its members: first seen by any, last seen by any, gone only
    when every member is gone (then since the last one went)."""
    gone = [m.gone_at for m in members if m.gone_at is not None]
    return {  # the members' own values (a driver's naive or aware datetimes), compared in UTC
        "first_seen": min((m.first_seen for m in members), key=utc),
        "last_seen": max((m.last_seen for m in members), key=utc),
        "gone_at": max(gone, key=utc) if len(gone) == len(members) else None,
    }


__all__ = [
    "IDENTIFIED",
    "Member",
    "changed_at",
    "holder",
    "identity",
    "item_parts",
    "latest",
    "offer_times",
    "utc",
]
