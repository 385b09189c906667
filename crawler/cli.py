"""The ``filmagg`` command (DESIGN.md §5).

Every failure a user can cause (unknown spider, bad database URL, unwritable output, bad SQL)
is one line on stderr and exit code 2, never a traceback; nothing stored is changed by it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from sqlmodel import Session

from pipelines.catalog.db import (
    DEFAULT_DB,
    CatalogError,
    check_writable,
    database_url,
    get_engine,
    open_readonly_engine,
)

REPO = Path(__file__).resolve().parent.parent
FIXTURE_SITES = Path(os.environ.get("FILMAGG_FIXTURES", REPO / "fixtures")) / "sites"
DEMO_SPIDERS = ("cinepedia", "streamfinder", "reelreviews")
DEMO_PORT = 8157


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


# ------------------------------------------------------------------------------ helpers


def _progress(label: str) -> Callable[[int, int | None], None]:
    """A one-line progress counter on stderr (only on a terminal, so logs stay clean);
    ``total`` None when it is not known in advance (streamed exports)."""
    last = [0.0]

    def tick(done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if sys.stderr.isatty() and (now - last[0] > 0.2 or done == total):
            last[0] = now
            shown = f"{done}/{total}" if total is not None else f"{done} rows"
            sys.stderr.write(f"\r{label}: {shown}" + ("\n" if done == total else ""))
            sys.stderr.flush()

    return tick


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if path in (None, "-"):
        yield sys.stdout
        return
    target = Path(path)  # type: ignore[arg-type]
    if target.is_dir() or path.endswith(("/", os.sep)) or target.name in {"", ".", ".."}:  # type: ignore[union-attr]
        raise CliError(f"cannot write {path}: it is a directory; give a file name")
    if not target.parent.is_dir():
        raise CliError(f"cannot write {path}: no directory {target.parent}")
    tmp = target.with_name(f".{target.name}.partial")
    try:
        handle = tmp.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        with handle:
            yield handle
        os.replace(tmp, target)  # a failed export never leaves a half-written file behind
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _session(db: str | None) -> Session:
    return Session(open_readonly_engine(db))


# ------------------------------------------------------------------------------ crawl


def _split_pairs(pairs: Sequence[str], flag: str) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise CliError(f"{flag} expects NAME=VALUE, got {pair!r}")
        k, v = pair.split("=", 1)
        out[k.strip()] = v
    return out


def _check_urls(spider_args: dict[str, str]) -> None:
    """Start URLs, sitemaps and base URLs must be absolute http(s) URLs."""
    from urllib.parse import urlsplit

    for name in ("start_urls", "sitemap", "base_url"):
        for url in filter(None, (u.strip() for u in spider_args.get(name, "").split(","))):
            parts = urlsplit(url)
            if parts.scheme not in {"http", "https"} or not parts.netloc:
                raise CliError(
                    f"-a {name}: {url!r} is not an http(s) URL (e.g. https://example.org/films/)"
                )


def _check_settings(defaults: Any, given: dict[str, str]) -> None:
    """A setting whose default is a number or a flag must be given as one (Scrapy would fail
    deep inside a component otherwise)."""
    from scrapy.settings import BaseSettings

    for name, value in given.items():
        kind = type(defaults.get(name))
        probe = BaseSettings({name: value})
        try:
            if kind is bool:
                probe.getbool(name)
            elif kind is int:
                probe.getint(name)
            elif kind is float:
                probe.getfloat(name)
        except ValueError:
            what = (
                "true or false" if kind is bool else "a whole number" if kind is int else "a number"
            )
            raise CliError(f"-s {name}={value}: expected {what}") from None
    from pipelines.stages import RESOLVER_MODES

    if "FILMAGG_RESOLVER" in given and given["FILMAGG_RESOLVER"] not in RESOLVER_MODES:
        raise CliError(f"-s FILMAGG_RESOLVER={given['FILMAGG_RESOLVER']}: expected one of "
                       f"{', '.join(RESOLVER_MODES)}")  # fmt: skip


def _log_file(args: argparse.Namespace, settings: Any) -> str | None:
    """Where Scrapy's log goes: ``--logfile`` (``-``: the terminal), else a new file per run in
    ``FILMAGG_LOG_DIR`` (default ``./logs``). ``--loglevel`` sets its level."""
    if args.loglevel:
        settings.set("LOG_LEVEL", args.loglevel.upper(), priority="cmdline")
    if args.logfile == "-":
        return None
    if args.logfile:
        path = Path(args.logfile)
    else:
        folder = Path(
            os.environ.get("FILMAGG_LOG_DIR") or settings.get("FILMAGG_LOG_DIR") or "logs"
        )
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        path = folder / f"{args.spider}-{stamp}-{os.getpid()}.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.open("a", encoding="utf-8").close()
    except OSError as exc:
        raise CliError(f"cannot write the log file {path}: {exc.strerror}") from exc
    return str(path)


def _print_crawl_summary(spider: str, stats: dict[str, Any], seconds: float,
                         log_file: str | None) -> None:  # fmt: skip
    """The few lines a crawl ends with on the terminal (the detail is in its log file)."""
    out = sys.stderr
    pages = stats.get("response_received_count", 0)
    print(f"{spider}: run #{stats.get('filmagg/run_id')} {stats.get('filmagg/run_status', 'failed')}"
          f" in {seconds:.1f} s (finish reason {stats.get('finish_reason')})", file=out)  # fmt: skip
    items = {k.rsplit("/", 1)[-1]: v for k, v in stats.items() if k.startswith("filmagg/valid/")}
    stored = {k.rsplit("/", 1)[-1]: v for k, v in stats.items() if k.startswith("filmagg/stored/")}
    extra = [f"{stats[k]} {label}" for k, label in (
        ("filmagg/not_modified", "not modified"), ("filmagg/skipped/not_due", "not due"),
        ("filmagg/retried", "retried")) if stats.get(k)]  # fmt: skip
    print(f"  pages {pages}" + (f" ({', '.join(extra)})" if extra else ""), file=out)
    print(f"  records {items or '{}'}; stored {stored or '{}'}", file=out)
    failed = {k.split("/", 2)[-1]: v for k, v in stats.items() if k.startswith("filmagg/failed/")}
    if failed or stats.get("log_count/ERROR"):
        print(f"  failed pages {failed or '{}'}; {stats.get('log_count/ERROR', 0)} errors logged",
              file=out)  # fmt: skip
    if log_file:
        print(f"  log: {log_file}", file=out)


def cmd_crawl(args: argparse.Namespace) -> int:
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.crawler import AsyncCrawlerProcess
    from scrapy.spiderloader import get_spider_loader
    from scrapy.utils.project import get_project_settings

    from crawler.spiders.base import SiteSpider

    settings = get_project_settings()
    given = _split_pairs(args.set or [], "-s")
    _check_settings(settings, given)
    settings.setdict(given, priority="cmdline")
    log_file = _log_file(args, settings)
    db = database_url(args.db or settings.get("FILMAGG_DB"))
    check_writable(get_engine(db))  # fail fast, before any crawling, on a bad or read-only catalog
    settings.set("FILMAGG_DB", db, priority="cmdline")
    spider_args = _split_pairs(args.arg or [], "-a")
    _check_urls(spider_args)
    loader = get_spider_loader(settings)
    if args.spider not in loader.list():
        raise CliError(
            f"unknown spider {args.spider!r} (known: {', '.join(sorted(loader.list()))})"
        )
    spidercls = loader.load(args.spider)
    if issubclass(spidercls, SiteSpider) and not (
        {"start_urls", "base_url", "sitemap"} & set(spider_args)
    ):
        raise CliError(
            f"spider {args.spider!r} needs -a start_urls=URL[,URL...], -a sitemap=URL or -a base_url=URL"
        )
    redis_url = args.redis or settings.get("FILMAGG_REDIS")
    if redis_url:  # one worker of a distributed crawl (crawler/distributed.py)
        from crawler.distributed import check_server, configure, job_name

        job = settings.get("FILMAGG_REDIS_JOB") or job_name(args.spider, spider_args)
        if not str(job).strip() or any(c.isspace() for c in str(job)):
            raise CliError(f"-s FILMAGG_REDIS_JOB={job!r}: expected a name without spaces")
        problem = check_server(redis_url)
        if problem:
            raise CliError(problem)
        configure(settings, redis_url, str(job))
    if log_file:
        settings.set("LOG_FILE", log_file, priority="cmdline")
        settings.set("FILMAGG_PROGRESS", sys.stderr.isatty(), priority="cmdline")
    process = AsyncCrawlerProcess(settings)
    crawler = process.create_crawler(spidercls)
    process.crawl(crawler, **spider_args)
    started = time.monotonic()
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    if getattr(crawler, "spider", None) is None:
        raise CliError(
            f"spider {args.spider!r} could not start (see {log_file or 'the log above'})"
        )
    status = stats.get("filmagg/run_status", "failed")
    _print_crawl_summary(args.spider, stats, time.monotonic() - started, log_file)
    reason = stats.get("finish_reason")
    fetched = stats.get("response_received_count", 0)
    if status != "finished":
        problems = stats.get("filmagg/health_problems") or []
        lost = {k: stats[f"filmagg/{k}"] for k in ("store_failed", "lost", "resolve_failed")
                if stats.get(f"filmagg/{k}")}  # fmt: skip
        why = {
            "interrupted": "interrupted",
            "degraded": "; ".join([*problems, *(f"{k}: {n}" for k, n in lost.items())]),
        }.get(status, "no page could be fetched" if not fetched else str(reason))
        print(f"filmagg: crawl {status} ({why})", file=sys.stderr)
        return 1
    return 0


# ------------------------------------------------------------------------------ demo


@contextlib.contextmanager
def serve_directory(root: Path, port: int = 0) -> Iterator[str]:
    """Serve ``root`` over HTTP on 127.0.0.1 in a thread (port 0: any free one); yields the
    base URL."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    handler = functools.partial(Quiet, directory=str(root))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise CliError(f"cannot serve the demo sites on 127.0.0.1:{port}: {exc.strerror} "
                       "(choose another with --port)") from exc  # fmt: skip
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def cmd_demo(args: argparse.Namespace) -> int:
    db = database_url(args.db)
    get_engine(db)
    if not FIXTURE_SITES.is_dir():
        raise CliError(f"demo sites not found at {FIXTURE_SITES} (run from a filmagg checkout)")
    # A fixed port keeps the demo's URLs, and so its records, the same from run to run.
    with serve_directory(FIXTURE_SITES, args.port) as base:
        print(f"serving {FIXTURE_SITES} at {base}", file=sys.stderr)
        for i, spider in enumerate(DEMO_SPIDERS, 1):
            print(f"[{i}/{len(DEMO_SPIDERS)}] crawling {spider} ...", file=sys.stderr)
            cmd = [sys.executable, "-m", "crawler.cli", "crawl", spider, "-a", f"base_url={base}",
                   "--db", db, "--loglevel", args.loglevel, "--logfile", "-",
                   # local fixtures: no politeness delay needed
                   "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]  # fmt: skip
            done = subprocess.run(cmd, cwd=REPO, check=False)
            if done.returncode != 0:
                raise CliError(f"the {spider} crawl failed (exit {done.returncode})")
    from sqlmodel import Session

    from pipelines.catalog.queries import summary

    with Session(get_engine(db)) as s:
        _print_summary(summary(s), db)
    return 0


def _print_summary(s: dict[str, Any], db: str) -> None:
    print(f"catalog {db}")
    print(
        f"  works:   {s['works']}  ({', '.join(f'{k} {v}' for k, v in s['works_by_kind'].items())})"
    )
    print(f"  records: {s['records']}  ({s['unattached_records']} unattached)")
    print(f"  reviews: {s['reviews']}  offers: {s['offers']}  quotes: {s['quotes']}")
    print(f"  flags:   {', '.join(f'{k} {v}' for k, v in s['flags'].items()) or 'none'}")
    print(f"  quarantined: {s['quarantined']}")


# ------------------------------------------------------------------------------ parse


def cmd_parse(args: argparse.Namespace) -> int:
    from crawler.parse import parse_file

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {args.file}")
    records, rejected, site = parse_file(path, args.url)
    for rec in records:
        print(json.dumps(rec, ensure_ascii=False))
    for why in rejected:
        print(f"filmagg: {why}", file=sys.stderr)
    if not records and not rejected:
        print(
            f"filmagg: no film data: the {site} parser found nothing on this page", file=sys.stderr
        )
    return 0


# ------------------------------------------------------------------------------ works


def cmd_works(args: argparse.Namespace) -> int:
    from pipelines.catalog.queries import alias_of, search_works, work_detail

    with _session(args.db) as s:
        if args.works_cmd == "search":
            found = search_works(s, args.text, year=args.year, kind=args.kind, limit=args.limit)
            if args.json:
                print(json.dumps(found, ensure_ascii=False, indent=2))
            elif not found:
                print(f"no work matches {args.text!r}", file=sys.stderr)
            for w in [] if args.json else found:
                people = ", ".join(w["directors"]) or "director unknown"
                print(f"#{w['id']:<5} {w['title']} ({w['year'] or '?'}) — {w['kind']}, {people}")
            return 0
        work = work_detail(s, args.id)
        if work is None:
            alias = alias_of(s, args.id)
            if alias is None:
                raise CliError(f"no work with id {args.id}")
            if alias.work_id is None:
                raise CliError(f"work #{args.id} was dissolved: its records no longer make a work "
                               "of their own (see `filmagg export records`)")  # fmt: skip
            work = work_detail(s, alias.work_id)
            assert work is not None
            work = {"requested_id": args.id, "merged_into": alias.work_id, **work}
            if not args.json:
                print(f"#{args.id} was merged into #{alias.work_id}")
        if args.history:
            from pipelines.catalog.history import changes

            work["history"] = list(changes(s, work_id=work["id"]))
        if args.json:
            print(json.dumps(work, ensure_ascii=False, indent=2))
        else:
            _print_work(work)
    return 0


def _short(value: Any, width: int = 40) -> str:
    if value is None:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_work(w: dict[str, Any]) -> None:
    print(f"#{w['id']} {w['title']} ({w['year'] or '?'})  [{w['kind']}]"
          + (f"  {w['runtime_minutes']} min" if w["runtime_minutes"] else ""))  # fmt: skip
    if w["original_title"]:
        print(f"  original title: {w['original_title']}")
    if w["genres"]:
        print(f"  genres: {', '.join(w['genres'])}")
    if w["directors"]:
        print(f"  directed by: {', '.join(w['directors'])}")
    for c in w["cast"][:10]:
        print(f"  cast: {c['name']}" + (f" as {c['character']}" if c["character"] else ""))
    if w["external_ids"]:
        print("  ids: " + ", ".join(f"{k} {v}" for k, v in w["external_ids"].items()))
    for r in w["ratings"]:
        print(f"  rating: {r['source']} {r['value']} (/{r['scale_max']:g}; {r['value_100']:g}/100)")
    if w["synopsis"]:
        text = w["synopsis"].replace("\n\n", " ")
        print(f"  synopsis: {text[:300]}{'…' if len(text) > 300 else ''}")
    for o in w["offers"]:
        price = f" {o['price']:.2f} {o['currency']}" if o["price"] is not None else ""
        gone = f"  gone since {o['gone_at'][:10]}" if o.get("gone_at") else ""
        print(
            f"  offer: {o['provider']} {o['monetization'] or ''} {o['quality'] or ''}{price} ({o['country'] or '?'}){gone}"
        )
    for r in w["reviews"]:
        print(
            f'  review: "{r["title"]}" by {r["author"] or "?"} at {r["published_at"] or "?"} — {r["url"]}'
        )
    for q in w["quotes"]:
        first = q["lines"][0]
        print(f"  quote: {first.get('speaker') or ''}: {first['text'][:80]}")
    for f in w["flags"]:
        print(f"  FLAG {f['kind']}: {f['detail']}")
    if "history" in w:
        print("  history:" if w["history"] else "  history: no change seen by re-crawls")
        for c in w["history"]:
            print(f"    {c['at']}  {c['record_type']:<6} {c['field']:<15} {_short(c['old'])} -> "
                  f"{_short(c['new'])}  ({c['site']})")  # fmt: skip
    print("  decisions:")
    for d in w["decisions"]:
        print(f"    {d['type']:<6} {d['site']:<13} {d['outcome']:<9} {d['score']:.2f}  {d['url']}")
        for reason in d["reasons"]:
            print(f"        - {reason}")
        if d.get("copy_of"):
            print(f"        - another copy of the one at {d['copy_of']}: stored once")


# ------------------------------------------------------------------------------ runs, quarantine


def cmd_runs(args: argparse.Namespace) -> int:
    from pipelines.catalog.history import list_runs, run_summary
    from pipelines.catalog.models import CrawlRun
    from pipelines.catalog.runs import reap_abandoned

    engine = open_readonly_engine(args.db)
    reap_abandoned(get_engine(args.db))  # a run whose process died reads abandoned
    with Session(engine) as s:
        if args.runs_cmd == "show":
            run = s.get(CrawlRun, args.id)
            if run is None:
                raise CliError(f"no run with id {args.id}")
            shown = {**run_summary(run), "args": run.args, "health": run.health,
                     "stats": run.stats or {}}  # fmt: skip
            if args.json:
                print(json.dumps(shown, ensure_ascii=False, indent=2, default=str))
            else:
                _print_run(shown)
            return 0
        rows = list_runs(s, spider=args.spider, plan_entry=args.plan_entry, limit=args.limit)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    table = [(r["id"], r["spider"], r["plan_entry"] or "", r["started_at"], r["finished_at"] or "",
              r["status"], r["pages"], " ".join(f"{k}:{v}" for k, v in r["items"].items()),
              r["errors"], r["quarantined"]) for r in rows]  # fmt: skip
    _print_table(["id", "spider", "plan", "started", "finished", "status", "pages", "items",
                  "errors", "quarantined"], table)  # fmt: skip
    return 0


def _print_run(run: dict[str, Any]) -> None:
    print(f"run #{run['id']} {run['spider']}"
          + (f" (plan entry {run['plan_entry']})" if run["plan_entry"] else "")
          + f": {run['status']} ({run['finish_reason'] or 'no finish reason'})")  # fmt: skip
    print(f"  started {run['started_at']}, finished {run['finished_at'] or '-'}, "
          f"on {run['host']} pid {run['pid']}")  # fmt: skip
    print(f"  pages {run['pages']}, items {run['items'] or '{}'}, errors {run['errors']}, "
          f"quarantined {run['quarantined']}")  # fmt: skip
    if run["stats"].get("filmagg/log_file"):
        print(f"  log: {run['stats']['filmagg/log_file']}")
    health = run.get("health")
    if health:
        m = health["measures"]
        against = health.get("compared_with_run")
        print(f"  health: {'OK' if not health['problems'] else 'PROBLEMS'}"
              + (f" (compared with run #{against})" if against else " (no earlier good run)"))  # fmt: skip
        for why in health["problems"]:
            print(f"    ! {why}")
        print(f"    items {m['items']}; coverage of films {m['coverage']}")
        print(f"    error rate {m['error_rate']}, quarantine rate {m['quarantine_rate']}, "
              f"304 rate {m['not_modified_rate']}")  # fmt: skip
    print("  stats:")
    for key, value in sorted(run["stats"].items()):
        print(f"    {key}: {value}")


def cmd_quarantine(args: argparse.Namespace) -> int:
    from pipelines.catalog.export import write
    from pipelines.catalog.history import quarantined

    with _session(args.db) as s:
        rows = quarantined(s, run_id=args.run, reason=args.reason, site=args.site,
                           everything=args.all)  # fmt: skip
        if args.format != "table":
            with _output(args.out) as out:
                n = write(rows, args.format, out)
            if args.out not in (None, "-"):
                print(f"wrote {n} quarantined entries to {args.out}", file=sys.stderr)
            return 0
        table = [(r["id"], r["reason"], r["record_type"], r["times_seen"], r["last_seen"],
                  r["url"]) for r in rows]  # fmt: skip
    _print_table(["id", "reason", "type", "seen", "last seen", "url"], table)
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    from sqlalchemy import update

    from pipelines.catalog.db import write_session
    from pipelines.catalog.models import Quarantine

    engine = get_engine(args.db)
    where = [Quarantine.resolved_at.is_(None), Quarantine.retry.is_(False)]  # type: ignore[union-attr]
    if args.run is not None:
        where.append(Quarantine.crawl_run_id == args.run)
    if args.reason:
        where.append(Quarantine.reason.startswith(args.reason[:-1]) if args.reason.endswith("*")
                     else Quarantine.reason == args.reason)  # fmt: skip
    if args.site:
        where.append(Quarantine.site == args.site)
    with write_session(engine) as s:
        n = s.execute(update(Quarantine).where(*where).values(retry=True)).rowcount  # type: ignore[attr-defined]
    print(f"{n} quarantined page(s) queued: the next crawl of their hosts fetches them again")
    return 0


# ------------------------------------------------------------------------------ export / sql


def _since(text: str | None) -> Any:
    """``--since`` as an aware datetime: a date ("2026-11-01") or an ISO 8601 timestamp."""
    from datetime import UTC, datetime

    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"--since {text!r}: expected a date like 2026-11-01 or 2026-11-01T08:00"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def cmd_export(args: argparse.Namespace) -> int:
    from pipelines.catalog.export import export

    if args.since and args.what != "changes":
        raise CliError("--since applies to `export changes` only")
    since = _since(args.since)
    tick = _progress(f"exporting {args.what}")
    with _session(args.db) as s, _output(args.out) as out:
        n = export(s, args.what, args.format, out, progress=tick, since=since)
        tick(n, n)  # the final count, and the line ends
    if args.out not in (None, "-"):
        print(f"wrote {n} {args.what} to {args.out}", file=sys.stderr)
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from pipelines.catalog.sql import run_readonly

    engine = open_readonly_engine(args.db)
    try:
        columns, rows = run_readonly(engine, args.query, timeout=args.timeout)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if args.format == "json":
        print(
            json.dumps(
                [dict(zip(columns, r, strict=True)) for r in rows],
                ensure_ascii=False,
                default=str,
                indent=2,
            )
        )
    elif args.format == "csv":
        import csv

        from pipelines.catalog.export import neutralize

        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(columns)
        w.writerows([neutralize(v) if isinstance(v, str) else v for v in r] for r in rows)
    else:
        _print_table(columns, rows)
    return 0


def _print_table(columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    cells = [[("" if v is None else str(v)).replace("\n", " ")[:60] for v in r] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", file=sys.stderr)


# ------------------------------------------------------------------------------ resolve


def cmd_resolve(args: argparse.Namespace) -> int:
    from pipelines.catalog.runs import reap_abandoned
    from pipelines.catalog.store import Catalog

    engine = get_engine(args.db)
    reap_abandoned(engine)
    catalog = Catalog(engine)
    if args.follow:
        return _follow(catalog, args.poll)
    tick = _progress("resolving")
    counts = catalog.rebuild(tick) if args.rebuild else catalog.resolve(True, tick)
    print(json.dumps(dict(counts or {}), sort_keys=True))
    return 0


def _follow(catalog: Any, poll: float) -> int:
    """``resolve --follow``: resolve until SIGTERM/SIGINT, one line per pass on stderr."""
    import signal
    import threading

    from pipelines.catalog.follow import follow

    if poll <= 0:
        raise CliError("--poll must be more than 0 seconds")
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        print(f"filmagg resolve: {signal.Signals(signum).name}: finishing the pass, then stopping",
              file=sys.stderr, flush=True)  # fmt: skip
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    url = catalog.engine.url.render_as_string()
    print(f"filmagg resolve: following {url} (every {poll:g}s)", file=sys.stderr, flush=True)

    def report(done: Counter[str]) -> None:
        shown = ", ".join(f"{k} {v}" for k, v in sorted(done.items()) if v)
        print(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} resolved: {shown}",
              file=sys.stderr, flush=True)  # fmt: skip

    total = follow(catalog, stop, poll, report)
    print(json.dumps(dict(total), sort_keys=True))
    return 0


# ------------------------------------------------------------------------------ db


def cmd_db(args: argparse.Namespace) -> int:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from pipelines.catalog import migrate
    from pipelines.catalog.db import normalize_url

    url = normalize_url(database_url(args.db))
    if args.db_cmd == "status":
        path = make_url(url).database or ""
        if url.startswith("sqlite") and path not in {"", ":memory:"} and not os.path.exists(path):
            raise CliError(f"no database at {path}")
        rev, head = migrate.status(create_engine(url))
        state = "current" if rev == head else "empty" if rev is None else "needs upgrade"
        print(f"schema revision {rev or '-'} (this filmagg: {head}): {state}")
        return 0
    engine = get_engine(url)  # upgrades under the schema lock; prints nothing by itself
    rev, head = migrate.status(engine)
    print(f"schema at revision {rev} (head {head})")
    from pipelines.catalog.resolver import pending_count
    from pipelines.catalog.store import Catalog

    if pending_count(engine):
        counts = Catalog(engine).resolve(True, _progress("resolving records the upgrade reopened"))
        print(json.dumps(dict(counts or {}), sort_keys=True))
    return 0


# ------------------------------------------------------------------------------ match


def cmd_match(args: argparse.Namespace) -> int:
    from pipelines.matcher import (
        TableError,
        assign,
        link,
        parse_map,
        read_rows,
        read_table,
        read_truth,
        scored_candidates,
        threshold_report,
        write_pairs,
    )
    from pipelines.scoring import clear_caches, load_model

    sep = args.sep.encode().decode("unicode_escape") if args.sep else None
    if sep is not None and len(sep) != 1:
        raise CliError(f"--sep takes one character (\\t for a tab), not {args.sep!r}")
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise CliError(f"--threshold is a probability between 0 and 1, not {args.threshold}")
    if args.strict and args.threshold is not None:
        raise CliError("--threshold applies to scored links; --strict has no scores to cut")
    if args.report and not args.truth:
        raise CliError("--report needs --truth FILE (a CSV of left_id,right_id pairs)")
    try:
        started = time.monotonic()
        truth = read_truth(Path(args.truth)) if args.truth else None
        read = read_table if args.strict else read_rows
        left = read(Path(args.left), parse_map(args.left_map), sep)
        right = read(Path(args.right), parse_map(args.right_map), sep)
        print(f"read {len(left)} + {len(right)} rows in {time.monotonic() - started:.1f}s; linking ...",
              file=sys.stderr)  # fmt: skip
        if args.strict:
            pairs = link(left, right, strict=True)
        else:
            clear_caches()
            model = load_model()
            threshold = model.threshold if args.threshold is None else args.threshold
            low = min(threshold, 0.1) if args.report else threshold
            found = scored_candidates(left, right, model)
            del left, right
            every = assign(found, low, model.rival_margin)
            pairs = [p for p in every if p.score >= threshold]
    except TableError as exc:
        raise CliError(str(exc)) from exc
    out = Path(args.out)
    try:
        n = write_pairs(pairs, out)
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc.strerror}") from exc
    print(f"wrote {n} pairs to {args.out} in {time.monotonic() - started:.1f}s", file=sys.stderr)
    if truth is not None:
        if args.report and not args.strict:
            print(threshold_report(every, truth, threshold))
        else:
            print(threshold_report(pairs, truth, None))
    return 0


# ------------------------------------------------------------------------------ parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("filmagg")
    except PackageNotFoundError:
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument(
        "--db",
        metavar="URL",
        help=f"SQLAlchemy database URL (env FILMAGG_DB; default {DEFAULT_DB})",
    )
    p = argparse.ArgumentParser(prog="filmagg", description="Film listing scraper and aggregator.")
    p.add_argument("--version", action="version", version=f"filmagg {_version()}")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    d = sub.add_parser(
        "demo", parents=[db], help="crawl the demo sites (served on 127.0.0.1) into the catalog"
    )
    d.add_argument(
        "--port",
        type=int,
        default=DEMO_PORT,
        help=f"port on 127.0.0.1 to serve the demo sites on (default {DEMO_PORT})",
    )
    d.add_argument(
        "--loglevel", default="WARNING", help="Scrapy log level for the crawls (default WARNING)"
    )
    d.set_defaults(func=cmd_demo)

    c = sub.add_parser("crawl", parents=[db], help="run one spider into the catalog")
    c.add_argument(
        "spider", help="one per site module (README lists them; an unknown name does too)"
    )
    c.add_argument("-a", dest="arg", action="append", metavar="NAME=VALUE", help="spider argument")
    c.add_argument("-s", dest="set", action="append", metavar="NAME=VALUE", help="Scrapy setting")
    c.add_argument("--loglevel", metavar="LEVEL", help="Scrapy's log level (default INFO)")
    c.add_argument("--logfile", metavar="PATH",
                   help="Scrapy's log (default: a new file per run in ./logs or FILMAGG_LOG_DIR; "
                        "- for the terminal)")  # fmt: skip
    c.add_argument("--redis", metavar="URL",
                   help="be one worker of a distributed crawl: share the frontier and duplicate "
                        "filter with every crawl of the same spider and arguments on this Redis "
                        "(redis://HOST:PORT/DB; env FILMAGG_REDIS)")  # fmt: skip
    c.set_defaults(func=cmd_crawl)

    pa = sub.add_parser("parse", help="print the normalized records a saved page yields (offline)")
    pa.add_argument("file")
    pa.add_argument(
        "--url", required=True, help="the URL the page was fetched from (chooses the parser)"
    )
    pa.set_defaults(func=cmd_parse)

    w = sub.add_parser("works", help="search and show works")
    wsub = w.add_subparsers(dest="works_cmd", required=True, metavar="search|show")
    ws = wsub.add_parser("search", parents=[db], help="find works by title")
    ws.add_argument("text")
    ws.add_argument("--year", type=int)
    ws.add_argument("--kind")
    ws.add_argument("--limit", type=int, default=20)
    ws.add_argument("--json", action="store_true")
    wsh = wsub.add_parser("show", parents=[db], help="a work with everything known of it and why")
    wsh.add_argument("id", type=int)
    wsh.add_argument("--json", action="store_true")
    wsh.add_argument("--history", action="store_true",
                     help="also what re-crawls changed: ratings, offers, synopses, runtimes")  # fmt: skip
    w.set_defaults(func=cmd_works)

    e = sub.add_parser(
        "export", parents=[db], help="stream works, reviews, offers, records or flags"
    )
    e.add_argument("what", choices=["works", "aliases", "reviews", "offers", "records", "flags",
                                    "changes"])  # fmt: skip
    e.add_argument("--since", metavar="DATE", help="changes: only those at or after DATE")
    e.add_argument("--format", choices=["csv", "json", "jsonl"], default="jsonl")
    e.add_argument("--out", metavar="PATH", help="output file (default: stdout)")
    e.set_defaults(func=cmd_export)

    q = sub.add_parser("sql", parents=[db], help="run a read-only SQL query")
    q.add_argument("query")
    q.add_argument("--format", choices=["table", "json", "csv"], default="table")
    q.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                   help="stop the query after this long (default 30)")  # fmt: skip
    q.set_defaults(func=cmd_sql)

    r = sub.add_parser(
        "resolve", parents=[db], help="re-run identity resolution over stored records"
    )
    mode = r.add_mutually_exclusive_group()
    mode.add_argument("--rebuild", action="store_true",
                      help="recompute every decision from scratch")  # fmt: skip
    mode.add_argument("--follow", action="store_true",
                      help="keep running: resolve records as crawls stage them (beside crawls "
                           "run with -s FILMAGG_RESOLVER=external); stop with SIGTERM or Ctrl-C")  # fmt: skip
    r.add_argument("--poll", type=float, default=1.0, metavar="SECONDS",
                   help="with --follow: how often to look for new records (default 1)")  # fmt: skip
    r.set_defaults(func=cmd_resolve)

    ru = sub.add_parser("runs", parents=[db], help="crawl runs: when, how they ended, counts")
    ru.add_argument("--spider", help="only this spider's runs")
    ru.add_argument("--plan-entry", dest="plan_entry", metavar="NAME",
                    help="only the runs of this crawls.toml entry")  # fmt: skip
    ru.add_argument("--limit", type=int, default=50, help="newest N runs (default 50)")
    ru.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    rusub = ru.add_subparsers(dest="runs_cmd", metavar="[show ID]")
    rus = rusub.add_parser("show", parents=[db], help="one run's stats and health report")
    rus.add_argument("id", type=int)
    rus.add_argument("--json", action="store_true")
    ru.set_defaults(func=cmd_runs)

    qu = sub.add_parser(
        "quarantine", parents=[db], help="list or export quarantined pages and records"
    )
    qu.add_argument("--run", type=int, metavar="ID", help="quarantined by this run")
    qu.add_argument("--reason", help="a reason, or a prefix ending in * (http_*)")
    qu.add_argument("--site", help="this site's entries only")
    qu.add_argument("--all", action="store_true", help="resolved entries too")
    qu.add_argument("--format", choices=["table", "csv", "json", "jsonl"], default="table")
    qu.add_argument("--out", metavar="PATH", help="output file (default: stdout)")
    qu.set_defaults(func=cmd_quarantine)

    rt = sub.add_parser("retry", parents=[db], help="queue quarantined pages for the next crawl")
    rt.add_argument("--run", type=int, metavar="ID", help="quarantined by this run")
    rt.add_argument("--reason", help="a reason, or a prefix ending in * (http_*)")
    rt.add_argument("--site", help="this site's entries only")
    rt.set_defaults(func=cmd_retry)

    from crawler.schedule import add_commands

    add_commands(sub, db)

    dbp = sub.add_parser("db", help="the catalog's schema: status, upgrade")
    dbsub = dbp.add_subparsers(dest="db_cmd", required=True, metavar="status|upgrade")
    dbsub.add_parser("status", parents=[db], help="the catalog's schema revision")
    dbsub.add_parser("upgrade", parents=[db],
                     help="migrate the catalog to this filmagg's schema (crawls do it themselves)")  # fmt: skip
    dbp.set_defaults(func=cmd_db)

    m = sub.add_parser(
        "match",
        help="link two film tables one-to-one: scored links, or the identity rules (--strict)",
    )
    m.add_argument("left", metavar="LEFT.csv")
    m.add_argument("right", metavar="RIGHT.csv")
    m.add_argument(
        "--out", required=True, metavar="PAIRS.csv", help="left_id,right_id,score,reasons"
    )
    m.add_argument(
        "--left-map",
        metavar="FIELD=COL,...",
        help="columns of LEFT for id, title, year, date, "
        "kind, runtime, directors, writers, cast, people, genres, season, episode",
    )
    m.add_argument("--right-map", metavar="FIELD=COL,...", help="the same for RIGHT")
    m.add_argument("--sep", help="field separator of both files (default: sniffed)")
    m.add_argument("--threshold", type=float, metavar="P",
                   help="write links whose score (a calibrated probability of being the same "
                        "work) is at least P (default: the model's, chosen on training data)")  # fmt: skip
    m.add_argument("--strict", action="store_true",
                   help="the catalog's identity rules only: title + year alone never links")  # fmt: skip
    m.add_argument("--truth", metavar="PAIRS.csv",
                   help="known pairs (left_id,right_id; ltable_id,rtable_id[,label]; D1|D2): "
                        "print precision and recall of the links")  # fmt: skip
    m.add_argument("--report", action="store_true",
                   help="with --truth: precision and recall at several thresholds")  # fmt: skip
    m.set_defaults(func=cmd_match)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CliError, CatalogError) as exc:
        print(f"filmagg: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("filmagg: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    # run the importable module's main, so that CliError raised by modules that import
    # crawler.cli (the scheduler) is the class caught here
    from crawler.cli import main as _main

    sys.exit(_main())
