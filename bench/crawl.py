"""Crawl throughput (issue 9): filmagg's crawl against a bare Scrapy spider doing the same
extraction, on a generated few-thousand-page two-host site served by nginx, in one run.

    python bench/crawl.py [--films 1000] [--only a,b,c,d,e] [--trials 1] [--pg-url URL]
                          [--redis-url URL] [--timeout 1200] [--keep]

Crawls, each its own subprocess (peak RSS from ``os.wait4``), each from a fresh catalog, each
killed after ``--timeout`` seconds:

* (a) ``bench/bare_spider.py``: ``parse_page`` on every page into a JSON Lines feed, tuned
  (16 requests, 16 per domain, 10 items) and at Scrapy's defaults; (a') tuned, following only
  the links filmagg's generic rules follow, so it fetches exactly filmagg's pages;
* (b) ``filmagg crawl schema_org`` into SQLite; (c) the same into a new PostgreSQL database;
* (d) two ``filmagg crawl --redis`` workers into one new PostgreSQL database (when the option
  exists), under a Redis key prefix of their own;
* (e) re-crawls of the unchanged site into (b)'s catalog: every page due, then the default
  refresh policy.

nginx serves the site on 127.0.0.1 (``127.0.0.1`` and ``localhost`` are the two hosts): a Python
server would be the bottleneck being measured. Prints per crawl: wall seconds (process start to
exit), pages fetched, pages/s, items (records), items/s, peak RSS, and against (a tuned) its
pages/s and its wall time (a crawler that skips junk fetches fewer pages for the same catalog);
per filmagg catalog: pairwise precision/recall/F1 of the film records' works against the truth
and the share of the true reviews stored; then issue 9's targets as PASS/FAIL lines.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# bench/ leads sys.path when this runs as a script; bench/incremental.py would shadow the
# ``incremental`` package Twisted imports, so the repository root takes its place.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (HERE, ROOT)]

from bench import crawlsite  # noqa: E402
from tests.catalog_compare import crawl_runs, engine_for, fresh_postgres_database  # noqa: E402

FAST = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "ROBOTSTXT_OBEY": "False",
        "LOG_LEVEL": "WARNING", "CONCURRENT_REQUESTS_PER_DOMAIN": "16"}  # fmt: skip
ALL_DUE = json.dumps({k: 0 for k in ("film", "review", "listing", "sitemap", "other")})
PARTS = "abcde"
INSTALL_NGINX = "apt-get update && apt-get install -y nginx-light"
NGINX_CONF = """\
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ text/html html; application/xml xml; text/plain txt; application/json json; }}
    default_type application/octet-stream;
    access_log off;
    etag on;
    sendfile on;
    keepalive_requests 100000;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        server_name 127.0.0.1 localhost;
        root {site};
    }}
}}
"""


class Unavailable(Exception):
    """A tool or service a selected part needs is missing: one line, exit 2."""


# ------------------------------------------------------------------------------ processes


@dataclass
class Proc:
    code: int
    rss_mb: float
    killed: bool


@dataclass
class Result:
    """One crawl (or one pair of workers), as printed."""

    label: str
    wall: float
    pages: int
    items: int
    rss_mb: float
    codes: list[int]
    status: str = ""
    killed: bool = False
    quality: Quality | None = None

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall if self.wall else 0.0

    @property
    def items_per_s(self) -> float:
        return self.items / self.wall if self.wall else 0.0


def run_procs(cmds: Sequence[tuple[list[str], Path, Path]], timeout: float
              ) -> tuple[float, list[Proc]]:  # fmt: skip
    """Start every (command, cwd, log) at once and wait for all: the wall time from the first
    start to the last exit, and each process's exit code and own peak RSS (``wait4``: the
    rusage of that child alone). A process still running after ``timeout`` is SIGKILLed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FILMAGG_DB", None)
    began = time.monotonic()
    procs: list[subprocess.Popen[bytes]] = []
    for cmd, cwd, log in cmds:
        with log.open("wb") as out:
            procs.append(subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out,
                                          stderr=subprocess.STDOUT))  # fmt: skip
    killed: set[int] = set()

    def kill(p: subprocess.Popen[bytes]) -> None:
        killed.add(p.pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGKILL)

    timers = [threading.Timer(timeout, kill, (p,)) for p in procs]
    for t in timers:
        t.start()
    out: list[Proc] = []
    try:
        for p in procs:
            _, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen consistent
            out.append(Proc(p.returncode, usage.ru_maxrss / 1024, p.pid in killed))
    finally:
        for t in timers:
            t.cancel()
    return time.monotonic() - began, out


def tail(log: Path, lines: int = 8) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


# ------------------------------------------------------------------------------ services


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_binary() -> str:
    exe = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if exe is None:
        raise Unavailable(f"nginx is not installed; install it with `{INSTALL_NGINX}` (as root)")
    return exe


@contextlib.contextmanager
def nginx(site: Path, prefix: Path) -> Iterator[int]:
    """nginx serving ``site`` on 127.0.0.1 (a free port), in the foreground as our child;
    stopped on exit. Yields the port."""
    exe = nginx_binary()
    port = free_port()
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, port=port, site=site), encoding="utf-8")
    log = prefix / "stderr.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([exe, "-e", str(prefix / "error.log"), "-c", str(conf),
                                 "-p", str(prefix), "-g", "daemon off;"],
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                raise Unavailable(f"nginx exited {proc.returncode}: "
                                  + (tail(prefix / "error.log", 2) or tail(log, 2)).strip())  # fmt: skip
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                raise Unavailable(f"nginx did not listen on 127.0.0.1:{port} within 10 s")
            time.sleep(0.05)
        yield port
    finally:
        if proc.poll() is None:
            proc.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def check_postgres(url: str) -> None:
    engine = engine_for(url)
    try:
        with engine.connect():
            pass
    except Exception as exc:  # noqa: BLE001 - any failure means: no server to measure against
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Unavailable(f"PostgreSQL is not reachable at {url} (needed for (c), (d)): {first}; "
                          "start it, pass --pg-url, or leave c,d out of --only") from exc  # fmt: skip
    finally:
        engine.dispose()


def redis_command(url: str, *commands: str) -> list[str]:
    """Send inline commands to the Redis of ``url`` (its database selected first); the replies'
    first lines. A raw socket: the benchmark needs no Redis client library."""
    parts = urlsplit(url)
    db = (parts.path or "/0").strip("/") or "0"
    address = (parts.hostname or "127.0.0.1", parts.port or 6379)
    with socket.create_connection(address, 3) as s, s.makefile("rb") as replies:
        out = []
        for cmd in (f"SELECT {db}", *commands):
            s.sendall(cmd.encode() + b"\r\n")
            out.append(replies.readline().decode(errors="replace").strip())
        return out


def check_redis(url: str) -> None:
    try:
        replies = redis_command(url, "PING")
    except OSError as exc:
        raise Unavailable(f"Redis is not reachable at {url} (needed for (d)): {exc}; start it, "
                          "pass --redis-url, or leave d out of --only") from exc  # fmt: skip
    if replies[-1] != "+PONG":
        raise Unavailable(f"Redis at {url} answered {replies!r} (needed for (d))")


def filmagg_has_redis() -> bool:
    done = subprocess.run([sys.executable, "-m", "crawler.cli", "crawl", "--help"], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    return "--redis" in done.stdout


# ------------------------------------------------------------------------------ crawls


@dataclass
class Bench:
    tmp: Path
    start_urls: list[str]
    bases: dict[str, str]
    truth: dict[str, Any]
    timeout: float
    pg_url: str
    redis_url: str
    results: dict[str, list[Result]] = field(default_factory=dict)

    def add(self, key: str, result: Result) -> Result:
        self.results.setdefault(key, []).append(result)
        return result

    def log(self, name: str) -> Path:
        folder = self.tmp / "logs"
        folder.mkdir(exist_ok=True)
        return folder / f"{name}.log"


BARE = {  # key -> (profile, links, label)
    "tuned": ("tuned", "all", "(a) bare Scrapy, tuned"),
    "defaults": ("defaults", "all", "(a) bare Scrapy, defaults"),
    "rules": ("tuned", "rules", "(a') bare, tuned, same pages"),
}


def bare(bench: Bench, key: str, trial: int) -> Result:
    profile, links, label = BARE[key]
    out = bench.tmp / "out"
    out.mkdir(exist_ok=True)
    feed, stats_path = out / f"bare-{key}-{trial}.jsonl", out / f"bare-{key}-{trial}.json"
    cmd = [sys.executable, str(ROOT / "bench" / "bare_spider.py"), "--profile", profile,
           "--links", links, "--start-urls", ",".join(bench.start_urls), "--feed", str(feed),
           "--stats", str(stats_path)]  # fmt: skip
    log = bench.log(f"bare-{key}-{trial}")
    wall, (proc,) = run_procs([(cmd, bench.tmp, log)], bench.timeout)
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    records = [json.loads(line) for line in feed.open(encoding="utf-8")] if feed.exists() else []
    if proc.code != 0 or not stats:
        print(f"  bare spider ({key}) exited {proc.code}" + (" (killed)" if proc.killed else "")
              + f"; log {log}:\n{tail(log)}")  # fmt: skip
    result = Result(label, wall, stats.get("response_received_count", 0), len(records),
                    proc.rss_mb, [proc.code], killed=proc.killed,
                    quality=feed_quality(records, bench))  # fmt: skip
    return bench.add(f"a_{key}", result)


def filmagg_cmd(db: str, urls: Sequence[str], extra: Sequence[str] = (), **settings: str
                ) -> list[str]:  # fmt: skip
    merged = {**FAST, **settings}
    flags = [x for k, v in merged.items() for x in ("-s", f"{k}={v}")]
    return [sys.executable, "-m", "crawler.cli", "crawl", "schema_org",
            "-a", "start_urls=" + ",".join(urls), "--db", db, "--logfile", "-",
            "--loglevel", "WARNING", *extra, *flags]  # fmt: skip


def filmagg(bench: Bench, key: str, label: str, db: str, name: str, workers: int = 1,
            extra: Sequence[str] = (), **settings: str) -> Result:  # fmt: skip
    """``workers`` filmagg crawls started together on one catalog; pages and items from the
    runs they recorded (``crawl_run.stats``)."""
    before = len(crawl_runs(db))
    cmds = [(filmagg_cmd(db, bench.start_urls, extra, **settings), ROOT, bench.log(f"{name}-w{w}"))
            for w in range(workers)]  # fmt: skip
    wall, procs = run_procs(cmds, bench.timeout)
    runs = crawl_runs(db)[before:]
    pages = sum((r.get("stats") or {}).get("response_received_count", 0) for r in runs)
    items = sum(v for r in runs for k, v in (r.get("stats") or {}).items()
                if k.startswith("filmagg/valid/"))  # fmt: skip
    statuses = ",".join(str(r.get("status")) for r in runs) or "no run recorded"
    for p, (_, _, log) in zip(procs, cmds, strict=True):
        if p.code != 0:
            print(f"  {label}: exit {p.code}" + (" (killed)" if p.killed else "")
                  + f", run status {statuses}; log {log}:\n{tail(log)}")  # fmt: skip
    result = Result(label, wall, pages, items, max(p.rss_mb for p in procs),
                    [p.code for p in procs], statuses, any(p.killed for p in procs))  # fmt: skip
    return bench.add(key, result)


# ------------------------------------------------------------------------------ quality


@dataclass
class Quality:
    film_pages: int
    film_records: int  # stored film records on the site's film pages
    works: int  # distinct works those records are attached to
    true_films: int
    precision: float | None
    recall: float | None
    f1: float | None
    reviews: crawlsite.ReviewScore


def _page_key(site: str, url: str, bases: dict[str, str]) -> tuple[str, str]:
    host = next((h for h, name in crawlsite.SITE_NAME.items() if name == site), None)
    base = bases.get(host or "", "")
    return site, url[len(base) :] if base and url.startswith(base) else url


def catalog_quality(db: str, bench: Bench) -> Quality:
    """The catalog's film records and reviews held against the truth file."""
    from sqlalchemy import text

    engine = engine_for(db)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT site, url, type, work_id, data FROM source_record "
                                     "WHERE type IN ('film', 'review')")).all()  # fmt: skip
    finally:
        engine.dispose()
    films: dict[Any, Any] = {}
    reviews: dict[Any, Any] = {}
    for site, url, rtype, work, data in rows:
        key = _page_key(site, url, bench.bases)
        if rtype == "film":
            films[key] = work
        else:
            data = json.loads(data) if isinstance(data, str) else data or {}
            reviews[(*key, data.get("author"), data.get("title"))] = work
    truth = crawlsite.film_pages(bench.truth)
    p, r, f1 = crawlsite.pairwise(truth, films)
    score = crawlsite.review_share(crawlsite.review_keys(bench.truth), reviews,
                                   crawlsite.majority_work(truth, films))  # fmt: skip
    return Quality(len(truth), sum(1 for k in films if k in truth),
                   len({w for k, w in films.items() if k in truth and w is not None}),
                   len(bench.truth["films"]), p, r, f1, score)  # fmt: skip


def feed_quality(records: list[dict[str, Any]], bench: Bench) -> Quality:
    """What the bare spider extracted: film pages and reviews found (it clusters nothing)."""
    truth = crawlsite.film_pages(bench.truth)
    films = {_page_key(r["site"], r["url"], bench.bases) for r in records if r["type"] == "film"}
    reviews = {(*_page_key(r["site"], r["url"], bench.bases), r.get("author"), r.get("title")): None
               for r in records if r["type"] == "review"}  # fmt: skip
    score = crawlsite.review_share(crawlsite.review_keys(bench.truth), reviews, {})
    return Quality(len(truth), len(films & truth.keys()), 0, len(bench.truth["films"]),
                   None, None, None, score)  # fmt: skip


# ------------------------------------------------------------------------------ the run


def trial(bench: Bench, parts: str, n: int, has_redis: bool) -> None:
    if "a" in parts:
        bare(bench, "tuned", n)
        bare(bench, "defaults", n)
        bare(bench, "rules", n)
    if "b" in parts:
        db = f"sqlite:///{bench.tmp / f'b-{n}.db'}"
        res = filmagg(bench, "b", "(b) filmagg -> SQLite", db, f"b-{n}")
        res.quality = catalog_quality(db, bench)
        if "e" in parts:
            time.sleep(1.1)  # If-Modified-Since has one-second resolution
            res = filmagg(bench, "e_due", "(e) re-crawl, all due", db, f"e-due-{n}",
                          FILMAGG_REFRESH_AFTER=ALL_DUE)  # fmt: skip
            filmagg(bench, "e_default", "(e) re-crawl, default policy", db, f"e-default-{n}")
            res.quality = catalog_quality(db, bench)
    if "c" in parts:
        with fresh_postgres_database(bench.pg_url) as db:
            res = filmagg(bench, "c", "(c) filmagg -> PostgreSQL", db, f"c-{n}")
            res.quality = catalog_quality(db, bench)
    if "d" in parts:
        if not has_redis:
            return
        prefix = f"filmagg-bench-{uuid.uuid4().hex[:10]}"  # keys of their own: nothing to flush
        with fresh_postgres_database(bench.pg_url) as db:
            res = filmagg(bench, "d", "(d) 2 workers --redis -> PG", db, f"d-{n}", workers=2,
                          extra=("--redis", bench.redis_url), FILMAGG_REDIS_PREFIX=prefix)  # fmt: skip
            res.quality = catalog_quality(db, bench)


def fmt_row(r: Result, ref: Result | None) -> str:
    """One crawl's figures; against (a tuned): its pages/s, and the job's speed (its wall time
    over ours: a crawler that skips junk pages fetches fewer pages for the same catalog)."""
    ratio = f"{r.pages_per_s / ref.pages_per_s:.2f}" if ref and ref.pages_per_s else "-"
    job = f"{ref.wall / r.wall:.2f}" if ref and r.wall else "-"
    codes = ",".join(map(str, r.codes)) + (" KILLED" if r.killed else "")
    status = f" ({r.status})" if r.status and r.status != "finished" else ""
    return (f"{r.label:<32} {r.wall:>7.1f} {r.pages:>6} {r.pages_per_s:>8.1f} {r.items:>6} "
            f"{r.items_per_s:>8.1f} {r.rss_mb:>7.0f} {ratio:>10} {job:>9}  {codes}{status}")  # fmt: skip


def fmt_quality(label: str, q: Quality) -> str:
    rv = q.reviews
    prf = ("     -      -      -" if q.f1 is None
           else f"{q.precision:>6.3f} {q.recall:>6.3f} {q.f1:>6.3f}")  # fmt: skip
    works = f"{q.works:>5}/{q.true_films}" if q.f1 is not None else f"{'-':>5}/{q.true_films}"
    return (f"{label:<32} {q.film_records:>5}/{q.film_pages} {works:>10} {prf} "
            f"{rv.stored:>5}/{rv.expected} {rv.attached:>6} {rv.right_work:>6}")  # fmt: skip


def median(results: list[Result], attr: str = "pages_per_s") -> float | None:
    values = [getattr(r, attr) for r in results if not r.killed]
    return statistics.median(values) if values else None


def targets(bench: Bench) -> list[str]:
    """Issue 9's targets, PASS/FAIL, from the medians over trials; a part not measured says so."""
    res = bench.results
    a = median(res.get("a_tuned", []))
    lines: list[str] = []

    def ratio(name: str, num: float | None, den: float | None, goal: float) -> None:
        if num is None or not den:
            lines.append(f"  n/a   {name} >= {goal:.2f}: not measured")
            return
        ok = num / den >= goal
        lines.append(f"  {'PASS' if ok else 'FAIL'}  {name} >= {goal:.2f}: {num / den:.2f}")

    ratio("(b)/(a tuned) pages/s", median(res.get("b", [])), a, 0.90)
    a_wall, b_wall = median(res.get("a_tuned", []), "wall"), median(res.get("b", []), "wall")
    if a_wall and b_wall:
        lines.append(f"  (info) (a tuned) wall / (b) wall, the same catalog's speed: "
                     f"{a_wall / b_wall:.2f}")  # fmt: skip
    ratio("(c)/(a tuned) pages/s", median(res.get("c", [])), a, 0.90)
    same = median(res.get("a_rules", []))  # the same pages as filmagg: like for like
    ratio("(b)/(a' same pages) pages/s", median(res.get("b", [])), same, 0.90)
    ratio("(c)/(a' same pages) pages/s", median(res.get("c", [])), same, 0.90)
    ratio("(e all due)/(b) pages/s", median(res.get("e_due", [])), median(res.get("b", [])), 2.0)
    ratio("(d)/(c) pages/s", median(res.get("d", [])), median(res.get("c", [])), 1.6)
    for key in ("b", "e_due", "c", "d"):
        for n, r in enumerate(res.get(key, []), 1):
            q = r.quality
            if q is None:
                continue
            tag = ("(b) catalog after (e)" if key == "e_due" else r.label) + f" #{n}"
            f1_ok = q.f1 is not None and q.f1 >= 0.99
            lines.append(f"  {'PASS' if f1_ok else 'FAIL'}  F1 >= 0.99, {tag}: {q.f1:.3f}")
            rv = q.reviews
            ok = rv.stored == rv.expected
            lines.append(f"  {'PASS' if ok else 'FAIL'}  every review stored, {tag}: "
                         f"{rv.stored}/{rv.expected}")  # fmt: skip
    return lines


def report(bench: Bench, parts: str, has_redis: bool) -> None:
    tuned = [r for r in bench.results.get("a_tuned", []) if not r.killed]
    ref = sorted(tuned, key=lambda r: r.pages_per_s)[len(tuned) // 2] if tuned else None
    print(f"\n{'crawl':<32} {'wall s':>7} {'pages':>6} {'pages/s':>8} {'items':>6} {'items/s':>8} "
          f"{'RSS MB':>7} {'pages/s vs':>10} {'wall vs':>9}  exit")  # fmt: skip
    print(f"{'':<32} {'':>7} {'':>6} {'':>8} {'':>6} {'':>8} {'':>7} {'(a tuned)':>10} "
          f"{'(a tuned)':>9}")  # fmt: skip
    order = ("a_tuned", "a_defaults", "a_rules", "b", "c", "d", "e_due", "e_default")
    for key in order:
        for r in bench.results.get(key, []):
            print(fmt_row(r, ref))
    if "d" in parts and not has_redis:
        print("(d) not measured: filmagg crawl has no --redis yet")
    print(f"\n{'catalog (film records of film pages)':<32} {'films':>11} {'works':>10} "
          f"{'P':>6} {'R':>6} {'F1':>6} {'reviews':>11} {'attached':>6} {'right':>6}")  # fmt: skip
    for key in order:
        for r in bench.results.get(key, []):
            if r.quality is not None:
                name = "(b) catalog after (e)" if key == "e_due" else r.label
                print(fmt_quality(name, r.quality))
    print("\ntargets (issue 9), medians over trials:")
    print("\n".join(targets(bench)))


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--films", type=int, default=crawlsite.DEFAULT_FILMS,
                    help=f"films per host (default {crawlsite.DEFAULT_FILMS}: about 3,300 pages)")  # fmt: skip
    ap.add_argument("--only", default=",".join(PARTS), help="parts to run, e.g. a,b,e")
    ap.add_argument("--pg-url", default=os.environ.get(
        "FILMAGG_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server (its database is only used to create and drop fresh ones)")  # fmt: skip
    ap.add_argument("--redis-url", default=os.environ.get(
        "FILMAGG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        help="for (d); each run uses a key prefix of its own and leaves nothing behind")  # fmt: skip
    ap.add_argument("--trials", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=1200, help="seconds per crawl")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (site, logs, catalogs)")
    args = ap.parse_args()
    parts = "".join(p for p in PARTS if p in args.only.replace(",", ""))
    unknown = set(args.only.replace(",", "")) - set(PARTS)
    try:
        if unknown or not parts:
            raise Unavailable(f"--only takes letters from {','.join(PARTS)}, got {args.only!r}")
        nginx_binary()
        if "c" in parts or "d" in parts:
            check_postgres(args.pg_url)
        has_redis = "d" in parts and filmagg_has_redis()
        if has_redis:
            check_redis(args.redis_url)
    except Unavailable as exc:
        print(f"bench/crawl.py: {exc}", file=sys.stderr)
        return 2
    if "e" in parts and "b" not in parts:
        parts += "b"
        print("(e) re-crawls (b)'s catalog: (b) runs too")
    tmp = Path(tempfile.mkdtemp(prefix="filmagg-bench-crawl-"))
    tmp.chmod(0o755)  # nginx's workers run as another user
    try:
        began = time.monotonic()
        site = crawlsite.generate(tmp / "site", args.films)
        truth = crawlsite.write_truth(site, tmp / "truth.json")
        counts = crawlsite.page_counts(site.pages)
        print(f"site: {args.films} films, {len(site.pages)} pages on 2 hosts "
              f"({', '.join(f'{k} {v}' for k, v in counts.items())}), "
              f"{sum(len(p.reviews) for p in site.pages)} reviews; generated in "
              f"{time.monotonic() - began:.1f} s in {tmp}")  # fmt: skip
        with nginx(tmp / "site", tmp / "nginx") as port:
            bases = {"A": f"http://127.0.0.1:{port}/", "B": f"http://localhost:{port}/"}
            urls = [bases[h] + path for h, path in site.start_paths().items()]
            bench = Bench(tmp, urls, bases, truth, args.timeout, args.pg_url, args.redis_url)
            print(f"nginx on 127.0.0.1:{port}; start URLs {', '.join(urls)}")
            for n in range(1, args.trials + 1):
                print(f"trial {n}/{args.trials} ...", flush=True)
                trial(bench, parts, n, has_redis)
        report(bench, parts, has_redis)
    except Unavailable as exc:
        print(f"bench/crawl.py: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
