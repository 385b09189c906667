"""End to end against the fault server (tests/faultserver.py): one real crawl in a subprocess
over a site whose index links to every fault, then the catalog checked URL by URL. Every URL
ends stored, counted or quarantined with its true reason, and the crawl's peak RSS stays within
what capped bodies allow (each of the 16 concurrent 50 MB pages and the gzip bomb is cut at
``FILMAGG_MAX_PAGE_BYTES`` as it streams; the memory figures themselves come from bench/faults.py). Start URLs and sitemaps that fail are
counted so the run can be failed."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crawler.spiders.base import DEFAULT_MAX_PAGE_BYTES
from tests.faultserver import FaultServer

ROOT = Path(__file__).resolve().parent.parent
CRAWL_TIMEOUT = 90  # seconds; the fault crawl takes ~8 s on 2 cores
# Memory figures are the benchmark's business (bench/faults.py, bench/RESULTS.md): this test checks
# that bodies are capped while they stream. Uncapped, the 16 pages of 50 MB would take the crawl
# past 900 MB; capped, it peaks at 198-238 MB alone and was seen at 256-349 MB inside full-suite
# runs (not understood yet: the same crawl alone, in the same checkout, stays near 210 MB).
BASE_RSS_MB = 140
MAX_RSS_MB = BASE_RSS_MB + 2 * 16 * DEFAULT_MAX_PAGE_BYTES / 2**20
SETTINGS = {
    "DOWNLOAD_TIMEOUT": "2",
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "RETRY_TIMES": "1",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",  # all 16 huge pages at once
    "LOG_LEVEL": "WARNING",
}


@dataclass
class Crawl:
    returncode: int
    stderr: str
    peak_rss_mb: float
    wall: float
    quarantine: dict[str, tuple[str, str]]  # url -> (reason, message)
    works: set[str]
    status: str
    stats: dict[str, Any]


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def crawl(tmp_path: Path, **spider_args: str) -> Crawl:
    """``python -m crawler.cli crawl schema_org`` in a subprocess; its own peak RSS comes from
    ``wait4`` (the rusage of that child alone, unlike RUSAGE_CHILDREN's maximum over all)."""
    db = tmp_path / "faults.db"
    args = [sys.executable, "-m", "crawler.cli", "crawl", "schema_org", "--db", f"sqlite:///{db}"]
    for name, value in spider_args.items():
        args += ["-a", f"{name}={value}"]
    for name, value in SETTINGS.items():
        args += ["-s", f"{name}={value}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FILMAGG_DB", None)
    err = tmp_path / "stderr.txt"
    began = time.monotonic()
    with err.open("w") as stderr:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    watchdog = threading.Timer(CRAWL_TIMEOUT, proc.send_signal, (signal.SIGKILL,))
    watchdog.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        watchdog.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen consistent
    wall = time.monotonic() - began
    assert proc.returncode != -signal.SIGKILL, f"crawl killed after {CRAWL_TIMEOUT}s"
    with sqlite3.connect(db) as conn:
        quarantine = {
            url: (reason, json.loads(errors)[0]["message"])
            for url, reason, errors in conn.execute("select url, reason, errors from quarantine")
        }
        works = {title for (title,) in conn.execute("select title from work")}
        status_, stats = conn.execute("select status, stats from crawl_run").fetchone()
    return Crawl(proc.returncode, err.read_text(), usage.ru_maxrss / 1024, wall, quarantine, works,
                 status_, json.loads(stats))  # fmt: skip


@pytest.fixture(scope="module")
def fault_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[FaultServer, Crawl, float, str]:
    tmp = tmp_path_factory.mktemp("faults")
    server = FaultServer()
    server.start()
    dead = f"http://127.0.0.1:{_dead_port()}/"
    try:
        # the index, a port nobody listens on, a host no DNS knows (.invalid: RFC 6761)
        result = crawl(tmp, start_urls=f"{server.url('/index.html')},{dead},http://films.invalid/")
    finally:
        shutdown = server.close()
    return server, result, shutdown, dead


def test_every_url_is_accounted_for_with_its_true_reason(
    fault_crawl: tuple[FaultServer, Crawl, float, str],
) -> None:
    server, result, _, dead = fault_crawl
    expected = {
        server.url(p): o.value for p, o in server.expected.items() if o.kind == "quarantined"
    }
    expected[dead] = "connection_refused"
    expected["http://films.invalid/"] = "dns_error"
    assert {url: reason for url, (reason, _) in result.quarantine.items()} == expected
    titles = {o.value for o in server.expected.values() if o.kind == "stored"}
    assert titles <= result.works, result.stderr[-3000:]
    counted = Counter(o.value for o in server.expected.values() if o.kind == "counted")
    for key, n in counted.items():
        assert result.stats.get(key) == n, key


def test_the_details_say_what_happened(fault_crawl: tuple[FaultServer, Crawl, float, str]) -> None:
    server, result, _, _ = fault_crawl
    detail = {url: message for url, (_, message) in result.quarantine.items()}
    loop = [server.url(p) for p in ("/faults/loop-a", "/faults/loop-b", "/faults/loop-a")]
    assert detail[server.url("/faults/loop-a")] == " -> ".join(loop)
    chain = detail[server.url("/faults/chain/0")].split(" -> ")
    assert len(chain) == 22 and chain[-1].endswith("/faults/chain/21")  # REDIRECT_MAX_TIMES=20
    assert "while streaming" in detail[server.url("/faults/huge/1")]
    assert "Expected to receive 52428800 bytes" in detail[server.url("/faults/huge-declared")]
    assert "during decompression" in detail[server.url("/faults/gzip-bomb")]


def test_what_the_server_saw(fault_crawl: tuple[FaultServer, Crawl, float, str]) -> None:
    server, _, shutdown, _ = fault_crawl
    hits = server.hits
    assert hits["/private/film.html"] == 0  # robots.txt obeyed: never requested
    assert hits["/faults/500"] == 2 and hits["/faults/503-once"] == 2  # RETRY_TIMES=1
    assert hits["/faults/429-once"] == 2 and hits["/faults/slow"] == 2
    assert hits["/faults/loop-a"] == 1 and hits["/faults/loop-b"] == 1  # no second lap
    assert shutdown < 3, f"the server took {shutdown:.1f}s to stop"


def test_counts_for_runs_and_health(fault_crawl: tuple[FaultServer, Crawl, float, str]) -> None:
    server, result, _, _ = fault_crawl
    stats = result.stats
    assert stats["filmagg/start/fetched"] == 1 and stats["filmagg/start/failed"] == 2
    assert stats["filmagg/retry_after/429"] == 1
    failed = {k.removeprefix("filmagg/failed/"): v for k, v in stats.items()
              if k.startswith("filmagg/failed/")}  # fmt: skip
    downloads = Counter(reason for reason, _ in result.quarantine.values()
                        if reason not in ("empty_body",) and not reason.startswith("no_film_data/"))  # fmt: skip
    assert failed == dict(downloads)  # one failed/<reason> per quarantined download failure
    for reason, n in downloads.items():  # the pipeline's own count of the same quarantine rows
        assert stats[f"filmagg/rejected/{reason}"] == n
    # current rules (pipelines/catalog/runs.py run_status): pages were fetched, all stored
    assert result.status in ("finished", "degraded")
    assert result.returncode == (0 if result.status == "finished" else 1)


def test_bodies_are_capped_while_they_stream(
    fault_crawl: tuple[FaultServer, Crawl, float, str],
) -> None:
    _, result, _, _ = fault_crawl
    assert result.peak_rss_mb < MAX_RSS_MB, f"peak RSS {result.peak_rss_mb:.0f} MB"
    assert result.wall < CRAWL_TIMEOUT


@pytest.mark.parametrize("arg", ["start_urls", "sitemap"])
def test_a_start_url_or_sitemap_answering_404_is_a_failed_start(tmp_path: Path, arg: str) -> None:
    with FaultServer(huge_pages=0, bomb_bytes=0) as server:
        result = crawl(tmp_path, **{arg: server.url("/gone.xml")})
    assert result.stats["filmagg/start/failed"] == 1
    assert "filmagg/start/fetched" not in result.stats
    assert result.stats["filmagg/failed/http_404"] == 1
    assert result.quarantine == {
        server.url("/gone.xml"): ("http_404", f"HTTP 404 from {server.url('/gone.xml')}")
    }
    assert result.status == "failed" and result.returncode == 1  # no start URL was fetched
