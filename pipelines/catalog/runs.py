"""Crawl runs: started with host and pid, kept alive by a heartbeat, closed with a true status.

Statuses: ``running``; ``finished`` (Scrapy finished, a CLOSESPIDER cap included, and every
record was stored); ``degraded`` (finished, but some records could not be stored and went to
quarantine as ``store_error``, or were lost, or resolving them failed and they wait pending); ``interrupted`` (Ctrl-C / SIGTERM: Scrapy's
``shutdown``); ``failed`` (nothing could be fetched, no start URL or sitemap answered, or Scrapy stopped
for another reason);
``abandoned`` (the process died without closing its run: found by the next run on the
catalog, by a dead pid on the same host or a heartbeat older than ``stale_after``).
"""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from pipelines.catalog.db import write_session
from pipelines.catalog.health import health_report, share_of_a_job
from pipelines.catalog.models import CrawlRun, utcnow

STATUSES = ("running", "finished", "failed", "interrupted", "degraded", "abandoned")
HEARTBEAT_STALE_AFTER = 300.0  # seconds without a heartbeat before a run counts as dead


def run_status(reason: str, stats: dict[str, Any]) -> str:
    """The status a run ends with, from Scrapy's finish reason and the run's stats."""
    if reason == "shutdown":
        return "interrupted"
    if stats.get("filmagg/start/failed") and not stats.get("filmagg/start/fetched"):
        return "failed"  # no start URL or sitemap could be read
    normal = reason == "finished" or reason.startswith("closespider_")  # a cap is a finish
    # a worker of a distributed job may find every page taken by the others: not a failure
    fetched = stats.get("response_received_count") or stats.get("filmagg/redis/job")
    if not normal or reason == "closespider_errorcount" or not fetched:
        return "failed"
    if any(stats.get(f"filmagg/{k}") for k in ("store_failed", "lost", "resolve_failed")):
        return "degraded"
    return "finished"


def start_run(
    engine: Engine, spider: str, args: dict[str, Any], plan_entry: str | None = None
) -> int:
    """Record a new run (after marking runs whose process died as abandoned)."""
    reap_abandoned(engine)
    with write_session(engine) as s:
        now = utcnow()
        run = CrawlRun(spider=spider, args=args, host=socket.gethostname(), pid=os.getpid(),
                       started_at=now, heartbeat_at=now, plan_entry=plan_entry)  # fmt: skip
        s.add(run)
        s.flush()
        return run.id  # type: ignore[return-value]


def heartbeat(engine: Engine, run_id: int) -> None:
    with write_session(engine) as s:
        s.exec(update(CrawlRun).where(CrawlRun.id == run_id, CrawlRun.status == "running")
               .values(heartbeat_at=utcnow()))  # fmt: skip


def finish_run(engine: Engine, run_id: int, status: str, reason: str, stats: dict[str, Any],
               health: dict[str, Any] | None = None) -> None:  # fmt: skip
    assert status in STATUSES, status
    with write_session(engine) as s:
        s.exec(update(CrawlRun).where(CrawlRun.id == run_id).values(
            status=status, finish_reason=reason, finished_at=utcnow(), heartbeat_at=utcnow(),
            stats=json.loads(json.dumps(stats, default=str)), health=health))  # fmt: skip


def close_run(engine: Engine, run_id: int, reason: str, stats: dict[str, Any],
              limits: dict[str, Any] | None = None) -> tuple[str, dict[str, Any] | None]:  # fmt: skip
    """End a run: its status from Scrapy's finish reason and its stats, then, for a run that
    finished, its health against the previous good run of the same plan entry (or the same
    spider and arguments; a distributed worker's share is held to the rate checks only); a
    failed check makes it ``degraded``. Returns (status, health)."""
    status = run_status(reason, stats)
    health = None
    if status == "finished":
        previous = None if share_of_a_job(stats) else previous_good_run(engine, run_id)
        health = health_report(stats, previous.stats if previous else None, limits,
                               previous.id if previous else None)  # fmt: skip
        if health["problems"]:
            status = "degraded"
    finish_run(engine, run_id, status, reason, stats, health)
    return status, health


def previous_good_run(engine: Engine, run_id: int) -> CrawlRun | None:
    """The last finished run of the same plan entry, or of the same spider and arguments."""
    with Session(engine) as s:
        run = s.get(CrawlRun, run_id)
        if run is None:
            return None
        q = select(CrawlRun).where(CrawlRun.id < run_id, CrawlRun.status == "finished")
        if run.plan_entry:
            q = q.where(CrawlRun.plan_entry == run.plan_entry)
        else:
            q = q.where(CrawlRun.spider == run.spider, CrawlRun.plan_entry.is_(None))  # type: ignore[union-attr]
        for candidate in s.exec(q.order_by(CrawlRun.id.desc()).limit(20)).all():  # type: ignore[union-attr]
            if run.plan_entry or candidate.args == run.args:
                return candidate
    return None


def reap_abandoned(engine: Engine, stale_after: float = HEARTBEAT_STALE_AFTER) -> list[int]:
    """Mark as ``abandoned`` the running runs whose process is gone: a pid that no longer runs
    on this host, or (any host) no heartbeat for ``stale_after`` seconds."""
    host, me = socket.gethostname(), os.getpid()
    cutoff = utcnow() - timedelta(seconds=stale_after)
    with Session(engine) as s:
        running = s.exec(select(CrawlRun).where(CrawlRun.status == "running")).all()
    dead = [
        r.id
        for r in running
        if (r.host == host and r.pid not in (None, me) and not pid_alive(r.pid))  # type: ignore[arg-type]
        or (r.heartbeat_at is not None and _aware(r.heartbeat_at) < cutoff)
        or (r.heartbeat_at is None and _aware(r.started_at) < cutoff)
    ]
    if dead:
        with write_session(engine) as s:
            s.exec(update(CrawlRun).where(CrawlRun.id.in_(dead), CrawlRun.status == "running")
                   .values(status="abandoned", finished_at=utcnow()))  # fmt: skip
    return dead  # type: ignore[return-value]


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs here (a zombie, dead but not yet reaped, counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _aware(dt: Any) -> Any:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
