"""Nothing lost (issue 7): races are retried, a batch that fails is split until the bad record
is found and quarantined with the error, and runs end with a true status."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import DataError, OperationalError
from sqlmodel import Session, select

from pipelines.catalog import stage as stage_module
from pipelines.catalog.db import get_engine
from pipelines.catalog.models import CrawlRun, Quarantine, SourceRecord, utcnow
from pipelines.catalog.runs import reap_abandoned, run_status, start_run
from pipelines.records import ScrapedFilm
from tests.conftest import run_pipeline

FILMS = [ScrapedFilm(site="s", url=f"http://s.example/{i}", title=f"Film {i}", year="1990")
         for i in range(9)]  # fmt: skip


def _fail_for(url: str, exc: Exception, times: int | None = None) -> Any:
    real = stage_module._upsert
    calls = {"n": 0}

    def upsert(session: Any, item: Any, run_id: Any, *prepared: Any) -> str:
        if item.record.url == url and (times is None or calls["n"] < times):
            calls["n"] += 1
            raise exc
        return real(session, item, run_id, *prepared)

    return upsert


def test_a_record_that_cannot_be_stored_is_found_and_quarantined(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = FILMS[4].url
    error = DataError("INSERT …", {}, Exception("value too long for type character varying(8)"))
    monkeypatch.setattr(stage_module, "_upsert", _fail_for(bad, error))
    stats = run_pipeline(FILMS, sqlite_url, batch_size=9)
    assert stats["filmagg/store_failed"] == 1 and "filmagg/lost" not in stats
    assert stats["filmagg/stored/new"] == 8
    with Session(get_engine(sqlite_url)) as s:
        assert len(s.exec(select(SourceRecord)).all()) == 8
        (q,) = s.exec(select(Quarantine)).all()
    assert (q.url, q.reason) == (bad, "store_error")
    assert "value too long" in q.errors[0]["message"]  # type: ignore[index]
    assert q.raw and q.raw["title"] == "Film 4"
    assert run_status("finished", {**stats, "response_received_count": 9}) == "degraded"


def test_a_race_is_retried_not_dropped(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
    monkeypatch.setattr(stage_module, "_upsert", _fail_for(FILMS[2].url, locked, times=2))
    stats = run_pipeline(FILMS, sqlite_url, batch_size=9)
    assert stats["filmagg/stored/new"] == 9 and "filmagg/store_failed" not in stats


@pytest.mark.postgres
def test_postgres_refusing_a_record_quarantines_only_that_one(postgres_url: str) -> None:
    """A 6,000-character URL of random text is more than a PostgreSQL index entry can hold."""
    import random
    import string

    noise = "".join(random.Random(5).choices(string.ascii_letters + string.digits, k=6000))
    films = [
        *FILMS[:3],
        FILMS[3].model_copy(update={"url": f"http://s.example/{noise}"}),
        *FILMS[4:],
    ]
    stats = run_pipeline(films, postgres_url, batch_size=9)
    assert stats["filmagg/store_failed"] == 1 and stats["filmagg/stored/new"] == 8
    with Session(get_engine(postgres_url)) as s:
        (q,) = s.exec(select(Quarantine)).all()
        assert q.reason == "store_error" and "index row" in q.errors[0]["message"]  # type: ignore[index]
        assert q.raw and q.raw["url"].endswith(noise) and len(q.url) <= 1000
        assert len(s.exec(select(SourceRecord)).all()) == 8


@pytest.mark.parametrize(
    ("reason", "stats", "status"),
    [
        ("finished", {"response_received_count": 3}, "finished"),
        ("closespider_pagecount", {"response_received_count": 5}, "finished"),
        ("finished", {"response_received_count": 0}, "failed"),
        ("finished", {}, "failed"),  # a dead server: nothing fetched
        ("shutdown", {"response_received_count": 3}, "interrupted"),
        ("closespider_errorcount", {"response_received_count": 3}, "failed"),
        ("cancelled", {"response_received_count": 3}, "failed"),
        ("finished", {"response_received_count": 3, "filmagg/lost": 1}, "degraded"),
        ("finished", {"response_received_count": 3, "filmagg/resolve_failed": 1}, "degraded"),
    ],
)
def test_run_status(reason: str, stats: dict[str, Any], status: str) -> None:
    assert run_status(reason, stats) == status


def test_runs_whose_process_died_are_found_abandoned(sqlite_url: str) -> None:
    engine = get_engine(sqlite_url)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    with Session(engine) as s:
        now = utcnow()
        runs = [
            CrawlRun(spider="killed", host=socket.gethostname(), pid=int(dead.stdout), heartbeat_at=now),
            CrawlRun(spider="silent", host="elsewhere", pid=1, heartbeat_at=now - timedelta(hours=1)),
            CrawlRun(spider="alive", host=socket.gethostname(), pid=os.getppid(), heartbeat_at=now),
            CrawlRun(spider="remote", host="elsewhere", pid=1, heartbeat_at=now),
        ]  # fmt: skip
        s.add_all(runs)
        s.commit()
    start_run(engine, "next", {})  # a new run looks for the dead first
    with Session(engine) as s:
        status = {r.spider: r.status for r in s.exec(select(CrawlRun)).all()}
    assert status == {"killed": "abandoned", "silent": "abandoned", "alive": "running",
                      "remote": "running", "next": "running"}  # fmt: skip
    assert reap_abandoned(engine) == []
