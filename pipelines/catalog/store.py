"""Storing records: idempotent, batched upserts into the catalog.

A record is keyed by (site, url, type, item_key). Storing the same content again only moves
``last_seen``; changed content replaces the payload, remembers which fields changed, and
resolves the record again. Rejected records go to quarantine with every reason; a repeat of
the same rejection bumps ``times_seen`` instead of adding a row. Each batch is one transaction:
a failure rolls back the batch and leaves what was stored before untouched.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from pipelines.catalog.db import session_scope
from pipelines.catalog.models import CrawlRun, Offer, Quarantine, SourceRecord, utcnow
from pipelines.catalog.resolve import (
    Progress,
    rebuild,
    reference_key,
    resolve_film,
    settle,
)
from pipelines.identity import title_variants
from pipelines.normalize import fold
from pipelines.records import Record


@dataclass(frozen=True)
class Accepted:
    """A validated record with the raw payload it came from."""

    record: Record
    raw: dict[str, Any]


@dataclass(frozen=True)
class Rejected:
    """A record (or page) that failed: stored in quarantine, never dropped."""

    site: str
    url: str
    record_type: str
    reason: str
    errors: list[dict[str, Any]]
    raw: dict[str, Any] | None = None


@dataclass
class BatchResult:
    counts: Counter[str] = field(default_factory=Counter)


def item_key(data: dict[str, Any]) -> str:
    """What tells apart several records of one type on one page."""
    if data["type"] == "offer":
        parts = (
            data.get("provider"),
            data.get("country"),
            data.get("monetization"),
            data.get("quality"),
        )
        return "|".join(fold(p or "") for p in parts)
    if data["type"] == "quote":
        text = "\n".join(f"{line.get('speaker') or ''}: {line['text']}" for line in data["lines"])
        return hashlib.sha1(text.encode()).hexdigest()[:16]
    if data["type"] == "rating":
        return data["rating"]["source"]
    if data["type"] == "review":  # a critic list holds many reviews at one URL
        who = "|".join(str(data.get(k) or "") for k in ("author", "published_at", "title"))
        rating = (data.get("rating") or {}).get("source") or ""
        return (
            hashlib.sha1(f"{who}|{rating}".encode()).hexdigest()[:16]
            if who.strip("|") or rating
            else ""
        )
    return ""


def content_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


class Catalog:
    """The catalog's write side, used by the Scrapy pipeline and the CLI alike."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.touched_works: set[int] = set()
        self.touched_keys: set[str] = set()

    # -------------------------------------------------------------- runs

    def start_run(self, spider: str, args: dict[str, Any]) -> int:
        with session_scope(self.engine) as s:
            run = CrawlRun(spider=spider, args=args)
            s.add(run)
            s.flush()
            return run.id  # type: ignore[return-value]

    def finish_run(self, run_id: int, status: str, stats: dict[str, Any]) -> None:
        with session_scope(self.engine) as s:
            run = s.get(CrawlRun, run_id)
            if run:
                run.finished_at, run.status = utcnow(), status
                run.stats = json.loads(json.dumps(stats, default=str))
                s.add(run)

    # -------------------------------------------------------------- records

    def store(self, items: Sequence[Accepted | Rejected], run_id: int | None = None) -> BatchResult:
        """Store one batch in one transaction; returns counts (new, updated, unchanged, ...)."""
        result = BatchResult()
        with session_scope(self.engine) as s:
            for item in items:
                if isinstance(item, Rejected):
                    result.counts[self._quarantine(s, item, run_id)] += 1
                else:
                    result.counts[self._upsert(s, item, run_id)] += 1
        return result

    def _upsert(self, s: Session, item: Accepted, run_id: int | None) -> str:
        data = item.record.model_dump(mode="json")
        key = item_key(data)
        digest = content_hash(data)
        now = utcnow()
        sr = s.exec(select(SourceRecord).where(
            SourceRecord.site == data["site"], SourceRecord.url == data["url"],
            SourceRecord.type == data["type"], SourceRecord.item_key == key)).first()  # fmt: skip
        if sr is not None and sr.content_hash == digest:
            sr.last_seen = now
            s.add(sr)
            if sr.type == "offer":
                offer = s.exec(select(Offer).where(Offer.source_record_id == sr.id)).first()
                if offer:
                    offer.last_seen = now
                    s.add(offer)
            return "unchanged"
        outcome = "new"
        if sr is None:
            sr = SourceRecord(site=data["site"], url=data["url"], type=data["type"], item_key=key,
                              content_hash=digest, first_seen=now)  # fmt: skip
        else:
            outcome = "updated"
            changed = sorted(
                k for k in set(data) | set(sr.data or {}) if data.get(k) != (sr.data or {}).get(k)
            )
            sr.changes = [*(sr.changes or []), {"at": now.isoformat(), "fields": changed,
                                                "previous_hash": sr.content_hash}]  # fmt: skip
        sr.raw, sr.data, sr.content_hash = item.raw, data, digest
        sr.last_seen, sr.crawl_run_id, sr.resolved = now, run_id, False
        sr.ref_key = reference_key(data)
        s.add(sr)
        s.flush()
        if sr.type == "film":
            old = sr.work_id
            resolve_film(s, sr, fresh=outcome == "new")
            self.touched_works.update(w for w in (old, sr.work_id) if w)
            self.touched_keys.update(k for t in self._titles(data) for k in title_variants(t))
        return outcome

    @staticmethod
    def _titles(data: dict[str, Any]) -> list[str]:
        out = [data["title"]]
        if data.get("original_title"):
            out.append(data["original_title"])
        return out + [t["title"] for t in data.get("titles") or []]

    def _quarantine(self, s: Session, item: Rejected, run_id: int | None) -> str:
        row = s.exec(select(Quarantine).where(
            Quarantine.site == item.site, Quarantine.url == item.url,
            Quarantine.record_type == item.record_type, Quarantine.reason == item.reason)).first()  # fmt: skip
        if row is None:
            s.add(Quarantine(site=item.site, url=item.url, record_type=item.record_type,
                             reason=item.reason, raw=item.raw, errors=item.errors,
                             crawl_run_id=run_id))  # fmt: skip
            return "quarantined"
        row.times_seen += 1
        row.last_seen = utcnow()
        row.errors, row.raw = item.errors, item.raw
        s.add(row)
        return "quarantined_again"

    # -------------------------------------------------------------- resolution

    def settle(self, progress: Progress | None = None) -> dict[str, int]:
        """Resolve pending references and re-run text checks for what this run changed."""
        with session_scope(self.engine) as s:
            counts = settle(s, set(self.touched_works), set(self.touched_keys), progress)
        self.touched_works.clear()
        self.touched_keys.clear()
        return counts

    def rebuild(self, progress: Progress | None = None) -> dict[str, int]:
        with session_scope(self.engine) as s:
            return rebuild(s, progress)
