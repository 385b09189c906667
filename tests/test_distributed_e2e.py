"""Issue 9 item 5 end to end: ``filmagg crawl schema_org --redis URL`` workers over the generated
two-host site (tests/sitegen.py), into one fresh PostgreSQL catalog.

Two workers started at once must fetch every page exactly once between them (the sitegen
server counts requests; a one-worker crawl of the same start URLs gives the expected count).
Both must exit 0 and give the catalog a one-worker crawl gives (tests/catalog_compare.py). A
second two-worker crawl of the same job must find nothing left over from the first. A Redis
that refuses connections is a one-line user error (exit 2). A Redis that dies mid-crawl ends
the run ``failed`` (exit 1). Every subprocess is bounded by ``sitegen.CRAWL_TIMEOUT``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import redis

from tests import sitegen
from tests.catalog_compare import crawl_runs, diff, fresh_postgres_database, snapshot
from tests.conftest import RedisTarget

FILMS = 70  # ~205 pages on two hosts
WORKER_SETTINGS = {"FILMAGG_BATCH_SIZE": "20"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> sitegen.Site:
    return sitegen.generate(tmp_path_factory.mktemp("site"), FILMS, seed=11)


@pytest.fixture(scope="module")
def server(site: sitegen.Site) -> Iterator[sitegen.Server]:
    with sitegen.serve(site.root) as srv:
        yield srv


def _roots(server: sitegen.Server) -> list[str]:
    """The two hosts' root indexes: every other page is found by following links, so the
    workers share discovered links, not just a given list."""
    return [server.bases["A"] + "a/index.html", server.bases["B"] + "b/index.html"]


def _start(db: str, urls: Sequence[str], log: Path, redis_url: str | None = None,
           settings: dict[str, str] | None = None) -> sitegen.CrawlProcess:  # fmt: skip
    cmd = sitegen.crawl_command(db, urls, {**WORKER_SETTINGS, **(settings or {})})
    if redis_url:
        cmd += ["--redis", redis_url]
    env = {**os.environ, "PYTHONPATH": str(sitegen.REPO)}
    env.pop("FILMAGG_DB", None)
    env.pop("FILMAGG_REDIS", None)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=sitegen.REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip
    return sitegen.CrawlProcess(proc=proc, log=log, started=time.monotonic())


def _workers(n: int, db: str, urls: Sequence[str], logdir: Path, target: RedisTarget,
             settings: dict[str, str] | None = None) -> list[tuple[sitegen.CrawlProcess, int]]:  # fmt: skip
    """``n`` workers of one job started at once, waited for within one CRAWL_TIMEOUT."""
    extra = {"FILMAGG_REDIS_PREFIX": target.prefix, **(settings or {})}
    crawls = [_start(db, urls, logdir / f"worker{k}.log", target.url, extra) for k in range(n)]
    deadline = time.monotonic() + sitegen.CRAWL_TIMEOUT
    return [(c, c.wait(deadline - time.monotonic())) for c in crawls]


def _job_keys(target: RedisTarget) -> list[bytes]:
    client = redis.Redis.from_url(target.url)
    try:
        return list(client.scan_iter(match=f"{target.prefix}:*"))
    finally:
        client.close()


def _fail(title: str, problems: list[str]) -> None:
    if problems:
        pytest.fail(f"{title}:\n- " + "\n- ".join(problems), pytrace=False)


def test_two_workers_fetch_each_page_once_and_equal_one_crawl(
    site: sitegen.Site,
    server: sitegen.Server,
    postgres_url: str,
    redis_target: RedisTarget,
    tmp_path: Path,
) -> None:
    urls = _roots(server)
    problems: list[str] = []
    with fresh_postgres_database() as reference_db:
        before = server.counter.value
        one = _start(reference_db, urls, tmp_path / "one.log")
        code = one.wait()
        expected = server.counter.value - before
        assert code == 0, f"the one-worker crawl exited {code}:\n{one.tail()}"
        assert expected >= len(site.pages), f"one crawl fetched {expected} of {len(site.pages)}"
        reference = snapshot(reference_db)

    for attempt, settings in enumerate([{}, {"FILMAGG_INCREMENTAL": "False"}]):
        # the second crawl of the same job (same spider and arguments) re-fetches everything
        # unconditionally: a duplicate filter left over from the first would fetch nothing
        what = ("first" if attempt == 0 else "second") + " two-worker crawl"
        before = server.counter.value
        ran = _workers(2, postgres_url, urls, tmp_path / f"crawl{attempt}", redis_target, settings)
        fetched = server.counter.value - before
        for k, (crawl, code) in enumerate(ran):
            if code != 0:
                timed_out = " (timed out)" if crawl.killed_on_timeout else ""
                problems.append(f"{what}: worker {k} exited {code}{timed_out}:\n{crawl.tail(8)}")
        if fetched != expected:
            problems.append(f"{what}: {fetched} requests served, one crawl makes {expected}")
        runs = crawl_runs(postgres_url)[-2:]
        pages = [(r.get("stats") or {}).get("response_received_count", 0) for r in runs]
        if sum(pages) != expected or min(pages) == 0:
            problems.append(f"{what}: pages per worker {pages}, expected both > 0, sum {expected}")
        if [r.get("status") for r in runs] != ["finished", "finished"]:
            problems.append(f"{what}: run statuses {[r.get('status') for r in runs]}")
        if _job_keys(redis_target):
            problems.append(f"{what}: Redis keys left: {_job_keys(redis_target)[:5]}")
        snap = snapshot(postgres_url)
        if snap != reference:
            problems.append(f"{what}: catalog differs from the one-worker crawl's:\n"
                            + diff(snap, reference, names=("two workers", "one worker")))  # fmt: skip
    _fail("distributed crawl", problems)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_redis_is_a_user_error(server: sitegen.Server, tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{_free_port()}/0"
    crawl = _start(f"sqlite:///{tmp_path / 'c.db'}", _roots(server), tmp_path / "c.log", url)
    code = crawl.wait(30)
    out = crawl.log.read_text().strip().splitlines()
    assert code == 2, crawl.tail()
    assert out == [f"filmagg: error: cannot reach Redis at {url}: Error 111 connecting to "
                   f"127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}. Connection refused."], out  # fmt: skip


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of this test's own, to kill mid-crawl."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    client = redis.Redis(port=port)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        proc.kill()
        proc.wait(10)


def test_redis_dying_mid_crawl_fails_the_run(
    server: sitegen.Server, own_redis: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    url, redis_proc = own_redis
    db = f"sqlite:///{tmp_path / 'c.db'}"
    before = server.counter.value
    crawl = _start(db, _roots(server), tmp_path / "c.log", url,
                   {"DOWNLOAD_DELAY": "0.02", "CONCURRENT_REQUESTS": "2"})  # fmt: skip
    if not server.counter.wait_for(before + 20, timeout=sitegen.CRAWL_TIMEOUT):
        crawl.wait(1)
        pytest.fail(f"the crawl never fetched 20 pages:\n{crawl.tail()}")
    redis_proc.kill()
    code = crawl.wait()
    runs = crawl_runs(db)
    problems = []
    if code != 1:
        problems.append(f"exit code {code}, expected 1")
    if "filmagg: crawl failed (redis_error)" not in crawl.log.read_text():
        problems.append("no 'crawl failed (redis_error)' line")
    if [r.get("status") for r in runs] != ["failed"]:
        problems.append(f"run statuses {[r.get('status') for r in runs]}")
    if server.counter.value - before > 150:
        problems.append(f"the crawl went on: {server.counter.value - before} pages")
    _fail(f"Redis killed mid-crawl:\n{crawl.tail(6)}", problems)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
