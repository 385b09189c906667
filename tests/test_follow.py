"""Resolution beside the crawl (issue 9): the resolver loop of ``filmagg resolve --follow`` and of
a crawl's resolver process gives the catalog an in-process resolution gives, and the CLI worker
follows crawls that only stage (``FILMAGG_RESOLVER=external``) and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pipelines.catalog.db import get_engine
from pipelines.catalog.follow import follow
from pipelines.catalog.store import Catalog
from tests.catalog_compare import diff, snapshot
from tests.conftest import ROOT, run_pipeline


def pending(db_url: str) -> int:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        return conn.execute("SELECT count(*) FROM source_record WHERE resolved = 0").fetchone()[0]


@pytest.mark.parametrize("mode", ["external", "inline", "process"])
def test_any_resolver_mode_gives_the_same_catalog(scraped_demo: list[Any], tmp_path: Path,
                                                  mode: str) -> None:  # fmt: skip
    reference = f"sqlite:///{tmp_path / 'ref.db'}"
    run_pipeline(scraped_demo, reference, batch_size=50)
    db = f"sqlite:///{tmp_path / f'{mode}.db'}"
    run_pipeline(scraped_demo, db, batch_size=50, resolver=mode)
    if mode == "external":
        assert pending(db) > 0  # staged only
        stop = threading.Event()
        stop.set()  # one last look: resolve what is staged, then end
        done = follow(Catalog(get_engine(db)), stop)
        assert done["pending"] > 0
    assert pending(db) == 0
    assert not diff(snapshot(reference), snapshot(db))


def test_follow_waits_for_records_and_stops_when_told(scraped_demo: list[Any],
                                                     tmp_path: Path) -> None:  # fmt: skip
    db = f"sqlite:///{tmp_path / 'c.db'}"
    get_engine(db)
    stop = threading.Event()
    passes: list[int] = []
    worker = threading.Thread(target=follow, args=(Catalog(get_engine(db)), stop, 0.05,
                                                   lambda c: passes.append(c["pending"])))  # fmt: skip
    worker.start()
    try:
        run_pipeline(scraped_demo[: len(scraped_demo) // 2], db, resolver="external")
        run_pipeline(scraped_demo[len(scraped_demo) // 2 :], db, resolver="external")
        deadline = time.monotonic() + 60
        while pending(db) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pending(db) == 0
    finally:
        stop.set()
        worker.join(60)
    assert not worker.is_alive() and sum(passes) > 0


def test_resolve_follow_cli_beside_staging_crawls(scraped_demo: list[Any], tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    reference = f"sqlite:///{tmp_path / 'ref.db'}"
    run_pipeline(scraped_demo, reference, batch_size=50)
    get_engine(db)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "resolve", "--follow", "--poll",
                             "0.1", "--db", db], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        run_pipeline(scraped_demo, db, resolver="external")
        deadline = time.monotonic() + 60
        while pending(db) and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "following" in err and "SIGTERM" in err and "resolved:" in err
    assert pending(db) == 0
    assert not diff(snapshot(reference), snapshot(db))


def test_follow_rejects_a_bad_poll(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "crawler.cli", "resolve", "--follow", "--poll",
                           "0", "--db", f"sqlite:///{tmp_path / 'c.db'}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--poll" in done.stderr
