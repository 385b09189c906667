"""Issue 7 end to end: many writers, kills and interrupts leave the catalog right.

Every test runs real ``filmagg crawl schema_org`` processes (``python -m crawler.cli``) against
a generated two-host film site (``tests/sitegen.py``) served on 127.0.0.1, on SQLite and on
PostgreSQL, and compares the resulting catalog row by row (``tests/catalog_compare.py``) with
the catalog one uninterrupted single-process crawl of the same pages builds. No test calls
``filmagg resolve``: the crawl processes must leave records resolved themselves.

A failing test collects every broken guarantee into one message (exit codes, lost records,
duplicates, wrong splits/merges, run statuses, the catalog diff), since that list is the
evidence of what is wrong. Each subprocess has a timeout (``sitegen.CRAWL_TIMEOUT``).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests import sitegen
from tests.catalog_compare import (
    count_rows,
    crawl_runs,
    diff,
    fresh_postgres_database,
    rows_of_run,
    snapshot,
)

FILMS = 70  # ~200 record pages on two hosts: ~4 s for one crawl on 2 cores
KILL_MOMENTS = 1  # issue 7 asks for 10 in its acceptance runs: bench/concurrency.py --kills 10
SEED = 20240607
SIGTERM_AT = 0.4  # of the record pages served: surely mid-crawl, with records buffered
# Batch sizes (FILMAGG_BATCH_SIZE). Concurrent writers store in batches of 20: many more
# interleaved transactions per second of crawling, so the races show on a 70-film site
# (issue 7 saw them with the default 200 on a 300-film one: bench/concurrency.py runs that).
# Killed crawls use 50: a kill leaves some batches committed, perhaps one half-written, and
# the rest unstored. The SIGTERM test keeps the default 200, so a whole batch is still
# buffered when the signal comes and must be flushed.
WRITER_SETTINGS = {"FILMAGG_BATCH_SIZE": "20"}
KILL_SETTINGS = {"FILMAGG_BATCH_SIZE": "50"}

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@dataclass
class Reference:
    """One uninterrupted single-process crawl of every record page, and its snapshot."""

    db_url: str
    snap: dict[str, Any]
    seconds: float


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> sitegen.Site:
    return sitegen.generate(tmp_path_factory.mktemp("site"), FILMS, seed=7)


@pytest.fixture(scope="module")
def server(site: sitegen.Site) -> Iterator[sitegen.Server]:
    # One server (one port) for the module: URLs, and so record keys, are the same in the
    # reference catalog and in every catalog compared with it.
    with sitegen.serve(site.root) as srv:
        yield srv


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def _pg_unavailable(exc: Exception) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {exc}")
    pytest.skip(f"no PostgreSQL server: {exc}")


@pytest.fixture(scope="module")
def reference(
    backend: str,
    site: sitegen.Site,
    server: sitegen.Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Reference]:
    """Built once per backend; a failed reference crawl fails every test that needs it."""
    logs = tmp_path_factory.mktemp(f"reference-{backend}")
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            db = f"sqlite:///{logs / 'reference.db'}"
        else:
            try:
                db = stack.enter_context(fresh_postgres_database())
            except Exception as exc:  # noqa: BLE001
                _pg_unavailable(exc)
        urls = sitegen.start_urls(server.bases, site.record_pages())
        crawl = sitegen.start_crawl(db, urls, logs / "crawl.log")
        code = crawl.wait()
        seconds = time.monotonic() - crawl.started
        assert code == 0, f"the reference crawl exited {code}:\n{crawl.tail()}"
        yield Reference(db_url=db, snap=snapshot(db), seconds=seconds)


@pytest.fixture
def fresh_db(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[], str]]:
    """Fresh, schema-less catalogs for this test: the first from ``postgres_url`` on
    PostgreSQL, any further ones from ``fresh_postgres_database``."""
    made: list[str] = []
    first = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    with contextlib.ExitStack() as stack:

        def make() -> str:
            if backend == "sqlite":
                url = f"sqlite:///{tmp_path / f'catalog{len(made)}.db'}"
            elif not made and first:
                url = first
            else:
                url = stack.enter_context(fresh_postgres_database())
            made.append(url)
            return url

        yield make


# ------------------------------------------------------------------------------ helpers


def _catalog_problems(db: str, site: sitegen.Site, server: sitegen.Server,
                      reference: Reference) -> list[str]:  # fmt: skip
    """Truth (lost, duplicated, split, merged) and the row-by-row comparison."""
    snap = snapshot(db)
    problems = sitegen.check_truth(snap, site, server.bases).problems()
    if snap != reference.snap:
        problems.append(
            "catalog differs from the single-process crawl's:\n"
            + diff(snap, reference.snap, names=("this catalog", "reference"))
        )
    return problems


def _run_of(runs: list[dict[str, Any]], pid: int) -> dict[str, Any] | None:
    """The run a process recorded: by pid (and this host) when the schema has them, else the
    first run (the tests give each killed crawl a fresh catalog)."""
    if runs and "pid" in runs[0]:
        mine = [r for r in runs if r.get("pid") == pid]
        here = [r for r in mine if r.get("host") in (None, socket.gethostname(), socket.getfqdn())]
        return (here or mine or [None])[0]
    return runs[0] if runs else None


def _fail(title: str, problems: list[str]) -> None:
    if problems:
        pytest.fail(f"{title}:\n- " + "\n- ".join(problems), pytrace=False)


# ------------------------------------------------------------------------------ tests


def test_single_crawl_is_reproducible(
    backend: str,
    site: sitegen.Site,
    server: sitegen.Server,
    reference: Reference,
    fresh_db: Callable[[], str],
    tmp_path: Path,
) -> None:
    """Two uninterrupted crawls of the same pages (fetched in whatever order Scrapy's 16
    concurrent requests finish) give the same catalog: the baseline the other tests need."""
    db = fresh_db()
    urls = sitegen.start_urls(server.bases, site.record_pages())
    crawl = sitegen.start_crawl(db, urls, tmp_path / "again.log")
    code = crawl.wait()
    problems = [f"exit code {code}:\n{crawl.tail()}"] if code != 0 else []
    problems += _catalog_problems(db, site, server, reference)
    _fail("a second single-process crawl", problems)


@pytest.mark.parametrize("writers", [2, 4])
def test_concurrent_crawls_equal_one_crawl(
    writers: int,
    backend: str,
    site: sitegen.Site,
    server: sitegen.Server,
    reference: Reference,
    fresh_db: Callable[[], str],
    tmp_path: Path,
) -> None:
    """N crawls over overlapping page sets of both hosts, started at once on a catalog with
    no schema yet: all exit 0, nothing lost or duplicated, the catalog equals one crawl's."""
    db = fresh_db()
    plans = sitegen.writer_plans(site, writers, seed=SEED + writers)
    times = Counter(p.path for plan in plans for p in plan)
    assert set(times) == {p.path for p in site.record_pages()}, "a page is crawled by no writer"
    assert sum(n > 1 for n in times.values()) > len(times) / 4, "too little overlap"
    ran = sitegen.run_writers(server, db, plans, tmp_path, WRITER_SETTINGS)
    codes = ran.exit_codes
    problems = [
        f"writer {k} exited {code}{' (timed out)' if c.killed_on_timeout else ''}:\n{c.tail(6)}"
        for k, (c, code) in enumerate(zip(ran.crawls, codes, strict=True))
        if code != 0
    ]
    runs = crawl_runs(db)
    if runs and "pid" in runs[0]:
        statuses = [(r or {}).get("status") for r in (_run_of(runs, c.pid) for c in ran.crawls)]
    else:
        statuses = [r.get("status") for r in runs]
    if statuses != ["finished"] * writers:
        problems.append(f"writers' crawl_run statuses {statuses}, expected {writers} x 'finished'")
    problems += _catalog_problems(db, site, server, reference)
    _fail(f"{writers} concurrent crawls (exit codes {codes})", problems)


def test_sigkill_then_rerun_equals_uninterrupted(
    backend: str,
    site: sitegen.Site,
    server: sitegen.Server,
    reference: Reference,
    fresh_db: Callable[[], str],
    tmp_path: Path,
) -> None:
    """SIGKILL after a random number of served pages, then a complete re-run: the catalog
    equals the uninterrupted crawl's, and the killed run reads ``abandoned``."""
    rng = random.Random(SEED)
    urls = sitegen.start_urls(server.bases, site.record_pages())
    problems: list[str] = []
    for m in range(KILL_MOMENTS):
        at = rng.randint(1, int(len(urls) * 0.95))
        db = fresh_db()
        killed = sitegen.interrupt_crawl(server, db, urls, at, signal.SIGKILL,
                                         tmp_path / f"kill{m}.log", KILL_SETTINGS)  # fmt: skip
        left = count_rows(db, "source_record")
        where = f"kill {m} after {at}/{len(urls)} pages ({left} records stored before the kill)"
        if not killed.sent:
            problems.append(f"{where}: the crawl ended first (exit {killed.exit_code}):\n"
                            f"{sitegen.log_tail(killed.log, 6)}")  # fmt: skip
            continue
        rerun = sitegen.start_crawl(db, urls, tmp_path / f"rerun{m}.log", KILL_SETTINGS)
        code = rerun.wait()
        if code != 0:
            problems.append(f"{where}: the re-run exited {code}:\n{rerun.tail(6)}")
        runs = crawl_runs(db)
        run = _run_of(runs, killed.pid)
        status = run.get("status") if run else None
        if status != "abandoned":
            problems.append(f"{where}: killed run status {status!r} (runs: "
                            f"{[(r.get('id'), r.get('status')) for r in runs]})")  # fmt: skip
        problems += [f"{where}: {p}" for p in _catalog_problems(db, site, server, reference)]
    _fail(f"{KILL_MOMENTS} SIGKILLs each followed by a re-run", problems)


def test_sigterm_records_interrupted_and_stores_what_was_fetched(
    backend: str,
    site: sitegen.Site,
    server: sitegen.Server,
    fresh_db: Callable[[], str],
    tmp_path: Path,
) -> None:
    """SIGTERM mid-crawl: a non-zero exit, the run reads ``interrupted``, and every item the
    run counted as scraped is stored (every page crawled here yields records and then its
    ``PageFetched`` item, so ``item_scraped_count`` = source records + quarantined pages +
    fetched pages of that run)."""
    db = fresh_db()
    pages = site.record_pages()
    urls = sitegen.start_urls(server.bases, pages)
    at = int(len(urls) * SIGTERM_AT)
    stopped = sitegen.interrupt_crawl(server, db, urls, at, signal.SIGTERM, tmp_path / "term.log")
    if not stopped.sent:
        pytest.fail(f"the crawl ended (exit {stopped.exit_code}) before {at} pages were served:\n"
                    f"{sitegen.log_tail(stopped.log)}", pytrace=False)  # fmt: skip
    problems: list[str] = []
    if stopped.exit_code == 0:
        problems.append("exit code 0 after SIGTERM")
    runs = crawl_runs(db)
    run = _run_of(runs, stopped.pid)
    if run is None:
        _fail("SIGTERM", [*problems, f"no crawl_run row for pid {stopped.pid}: {runs}"])
        return
    if run.get("status") != "interrupted":
        problems.append(f"run status {run.get('status')!r}, expected 'interrupted'")
    stats = run.get("stats") or {}
    scraped = stats.get("item_scraped_count")
    stored = rows_of_run(db, "source_record", run["id"])
    quarantined = rows_of_run(db, "quarantine", run["id"])
    fetched = rows_of_run(db, "page", run["id"])
    total = len(site.expected_records(server.bases, pages))
    if scraped is None:
        problems.append(f"no item_scraped_count in the run's stats ({sorted(stats)[:8]}...)")
    elif stored + quarantined + fetched != scraped:
        lost = scraped - stored - quarantined - fetched
        problems.append(f"item_scraped_count {scraped}, but {stored} records + {quarantined} "
                        f"quarantined + {fetched} pages stored for the run ({lost} lost)")  # fmt: skip
    if scraped is not None and scraped - fetched >= total:
        problems.append(f"the crawl scraped all {total} records: SIGTERM came too late to test")
    report = sitegen.check_truth(snapshot(db), site, server.bases, pages)
    if report.unexpected or report.duplicates:
        problems.append(f"unexpected records {report.unexpected[:5]}, {report.duplicates} dups")
    _fail(f"SIGTERM after {at}/{len(urls)} pages (exit {stopped.exit_code})", problems)
