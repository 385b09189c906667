"""Run history and quarantine, as ``filmagg runs`` and ``filmagg quarantine`` show them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from pipelines.catalog.models import Change, CrawlRun, Quarantine, SourceRecord

ITEM_TYPES = ("film", "review", "offer", "quote", "rating")


def run_summary(run: CrawlRun) -> dict[str, Any]:
    """One run as a row: when, how it ended, and its main counts (from its stats)."""
    stats = run.stats or {}
    failed = sum(v for k, v in stats.items() if k.startswith("filmagg/failed/"))
    return {
        "id": run.id, "spider": run.spider, "plan_entry": run.plan_entry,
        "started_at": run.started_at.isoformat(timespec="seconds"),
        "finished_at": run.finished_at.isoformat(timespec="seconds") if run.finished_at else None,
        "status": run.status, "finish_reason": run.finish_reason,
        "pages": stats.get("response_received_count", 0),
        "items": {t: stats[f"filmagg/valid/{t}"] for t in ITEM_TYPES if stats.get(f"filmagg/valid/{t}")},
        "errors": stats.get("log_count/ERROR", 0) + failed,
        "quarantined": stats.get("filmagg/stored/quarantined", 0)
        + stats.get("filmagg/stored/quarantined_again", 0),
        "host": run.host, "pid": run.pid,
    }  # fmt: skip


def list_runs(session: Session, spider: str | None = None, plan_entry: str | None = None,
              limit: int = 50) -> list[dict[str, Any]]:  # fmt: skip
    q = select(CrawlRun).where(CrawlRun.spider != "(write check)")
    if spider:
        q = q.where(CrawlRun.spider == spider)
    if plan_entry:
        q = q.where(CrawlRun.plan_entry == plan_entry)
    runs = session.exec(q.order_by(CrawlRun.id.desc()).limit(limit)).all()  # type: ignore[union-attr]
    return [run_summary(r) for r in runs]


def quarantined(session: Session, run_id: int | None = None, reason: str | None = None,
                site: str | None = None, everything: bool = False) -> Iterator[dict[str, Any]]:  # fmt: skip
    """Quarantined pages and records, oldest first; only open ones unless ``everything``."""
    q = select(Quarantine)
    if run_id is not None:
        q = q.where(Quarantine.crawl_run_id == run_id)
    if reason:  # "http_*" matches every reason starting "http_"
        q = q.where(Quarantine.reason.startswith(reason[:-1]) if reason.endswith("*")
                    else Quarantine.reason == reason)  # fmt: skip
    if site:
        q = q.where(Quarantine.site == site)
    if not everything:
        q = q.where(Quarantine.resolved_at.is_(None))  # type: ignore[union-attr]
    for row in session.exec(q.order_by(Quarantine.id).execution_options(yield_per=500)):
        yield {
            "id": row.id, "site": row.site, "url": row.url, "record_type": row.record_type,
            "reason": row.reason, "errors": row.errors, "times_seen": row.times_seen,
            "first_seen": row.at.isoformat(timespec="seconds"),
            "last_seen": row.last_seen.isoformat(timespec="seconds"), "run": row.crawl_run_id,
            "retry": row.retry, "resolved_at": row.resolved_at.isoformat(timespec="seconds")
            if row.resolved_at else None,
        }  # fmt: skip


def changes(session: Session, since: datetime | None = None,
            work_id: int | None = None) -> Iterator[dict[str, Any]]:  # fmt: skip
    """What re-crawls changed, oldest first: a record's field (old and new value), or an
    offer that appeared (old None) or vanished (new None)."""
    q = select(Change, SourceRecord.site, SourceRecord.url, SourceRecord.type,
               SourceRecord.work_id).join(SourceRecord, SourceRecord.id == Change.source_record_id)  # fmt: skip
    if since is not None:
        q = q.where(Change.at >= since)
    if work_id is not None:
        q = q.where(SourceRecord.work_id == work_id)
    for c, site, url, rtype, wid in session.exec(
        q.order_by(Change.at, Change.id).execution_options(yield_per=500)  # type: ignore[arg-type]
    ):
        yield {"at": c.at.isoformat(timespec="seconds"), "work_id": wid, "site": site, "url": url,
               "record_type": rtype, "field": c.field, "old": c.old, "new": c.new,
               "run": c.crawl_run_id}  # fmt: skip
