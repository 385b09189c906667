"""The Scrapy item pipeline: a thin adapter over normalize -> validate -> stage -> resolve.

Items are the scraped-record models of ``pipelines.records``; ``PageRejected`` items (empty,
huge, undecodable or non-film pages, download errors) go straight to quarantine. Records are
buffered and staged in batches (``FILMAGG_BATCH_SIZE``, or whatever is buffered after
``FILMAGG_FLUSH_INTERVAL`` seconds), one transaction each, in a thread: neither the reactor
nor the item waits on the database (a crawl waits only when ``MAX_BACKLOG`` batches are
queued, which bounds memory). Resolution follows ``FILMAGG_RESOLVER``:

* ``process`` (default): once a crawl has staged a few batches, a resolver process
  (``pipelines.catalog.follow``) resolves beside it, on another core;
* ``inline``: after each batch, in the staging thread, unless another process is resolving;
* ``external``: a ``filmagg resolve --follow`` worker does it; the crawl only stages.

At close (except ``external``) the pipeline stops its resolver process, waits its turn and
resolves what is left, so a crawl that exits has its records resolved.

The run is recorded in ``crawl_run`` with host and pid, kept alive by a heartbeat, and closed
from Scrapy's ``spider_closed`` signal, which carries the real finish reason: Ctrl-C or SIGTERM
flush the buffer and end ``interrupted``; records that could not be stored end ``degraded``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any, Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from pipelines.catalog.db import get_engine
from pipelines.catalog.health import COVERAGE_FIELDS
from pipelines.catalog.runs import close_run, heartbeat, start_run
from pipelines.catalog.stage import Accepted, PageSeen, Rejected, Storable, item_key
from pipelines.catalog.store import Catalog
from pipelines.normalize import normalize
from pipelines.records import PageFetched, PageRejected
from pipelines.urls import UrlCanon, url_aliases
from pipelines.validate import Invalid, validate

logger = logging.getLogger(__name__)

RESOLVER_MODES = ("process", "inline", "external")
MAX_BACKLOG = 8  # batches queued for the staging thread before a crawl waits for them


_PLAIN_URLS = UrlCanon()


def to_storable(
    item: Any, stats: StatsCollector | None = None, canon: UrlCanon = _PLAIN_URLS
) -> Storable | None:
    """One scraped item to what the store takes, counting outcomes under ``filmagg/``;
    ``None`` for an ordinary non-film page (a listing, a search page), which is only counted.
    Pages and records are keyed by their canonical URL (``pipelines.urls``); the URL as
    fetched stays in the record's raw payload."""
    if isinstance(item, PageFetched):
        return PageSeen(page=item.model_copy(update={"url": canon(item.url)}))
    if isinstance(item, PageRejected):
        if item.reason.startswith("no_film_data/"):
            _inc(stats, f"filmagg/{item.reason}")
            if not item.quarantine:
                logger.debug("no film data on %s: %s", item.url, item.detail)
                return None
        else:
            _inc(stats, f"filmagg/rejected/{item.reason}")
        return Rejected(site=item.site, url=canon(item.url), record_type="page", reason=item.reason,
                        errors=[{"field": "", "error": item.reason, "message": item.detail}],
                        raw={"excerpt": item.raw} if item.raw else None)  # fmt: skip
    raw = item.model_dump(mode="json")
    normalized = normalize(item)
    canonical_urls(normalized.data, canon)
    for problem in normalized.unreadable:
        _inc(stats, f"filmagg/unreadable/{problem.split(':', 1)[0]}")
    try:
        record = validate(normalized.data)
    except Invalid as exc:
        _inc(stats, f"filmagg/invalid/{exc.reason}")
        return Rejected(site=item.site, url=canon(item.url), record_type=item.type, reason=exc.reason,
                        errors=[p.as_dict() for p in exc.problems], raw=raw)  # fmt: skip
    _inc(stats, f"filmagg/valid/{record.type}")
    if record.type == "film":
        for name in COVERAGE_FIELDS:  # what run health compares between runs
            if getattr(record, name):
                _inc(stats, f"filmagg/coverage/film/{name}")
    return Accepted(record=record, raw=raw)


def canonical_urls(data: dict[str, Any], canon: UrlCanon) -> None:
    """A normalized record's own URL and its film reference's page URL made canonical, in
    place (their fragments kept: ``UrlCanon.record``): a review finds its film record by
    that URL, so both sides need one spelling."""
    if isinstance(data.get("url"), str):
        data["url"] = canon.record(data["url"])
    film = data.get("film")
    if isinstance(film, dict) and isinstance(film.get("url"), str):
        film["url"] = canon.record(film["url"])


def _inc(stats: StatsCollector | None, key: str) -> None:
    if stats is not None:
        stats.inc_value(key)


class CatalogPipeline:
    """Stages every scraped record in the catalog named by ``FILMAGG_DB`` and resolves it."""

    def __init__(self, db_url: str | None, batch_size: int = 200, flush_interval: float = 5.0,
                 heartbeat_interval: float = 30.0, plan_entry: str | None = None,
                 crawler: Crawler | None = None, resolver: str = "process",
                 resolver_after: int = 2, url_aliases: dict[str, str] | None = None) -> None:  # fmt: skip
        if resolver not in RESOLVER_MODES:
            raise ValueError(f"FILMAGG_RESOLVER must be one of {', '.join(RESOLVER_MODES)}, "
                             f"not {resolver!r}")  # fmt: skip
        self.db_url = db_url
        self.canon = UrlCanon(url_aliases or {})  # ValueError on a bad alias: the crawl stops
        self.resolver = resolver
        self.resolver_after = resolver_after  # batches staged before the resolver process starts
        self._child: Any = None  # the resolver process, once started
        self._child_stop: Any = None
        self._batches = 0
        self._backlog: list[Any] = []  # deferreds of batches queued for the staging thread
        self.plan_entry = plan_entry
        self.batch_size = max(1, batch_size)
        self.flush_interval = flush_interval
        self.heartbeat_interval = heartbeat_interval
        self.crawler = crawler
        self.buffer: list[Storable] = []
        self.buffered_since: float | None = None
        self.catalog: Catalog | None = None
        self.run_id: int | None = None
        self._lock: Any = None  # a DeferredLock: one batch in flight per process
        self._loop: Any = None
        self._last_beat = 0.0
        # per page URL, until its PageFetched: the offers it listed, the reasons it was refused
        self._page_offers: defaultdict[str, set[str]] = defaultdict(set)
        self._page_rejected: defaultdict[str, set[str]] = defaultdict(set)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        pipeline = cls(db_url=s.get("FILMAGG_DB"), batch_size=s.getint("FILMAGG_BATCH_SIZE", 200),
                       flush_interval=s.getfloat("FILMAGG_FLUSH_INTERVAL", 5.0),
                       heartbeat_interval=s.getfloat("FILMAGG_HEARTBEAT_INTERVAL", 30.0),
                       plan_entry=s.get("FILMAGG_PLAN_ENTRY") or None, crawler=crawler,
                       resolver=s.get("FILMAGG_RESOLVER", "process"),
                       resolver_after=s.getint("FILMAGG_RESOLVER_AFTER", 2),
                       url_aliases=url_aliases(s.get("FILMAGG_URL_ALIASES")))  # fmt: skip
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    @property
    def stats(self) -> StatsCollector | None:
        return self.crawler.stats if self.crawler else None

    # ---------------------------------------------------------------- the synchronous core

    def open_run(self) -> None:
        self.catalog = Catalog(get_engine(self.db_url))
        spider = self.crawler.spider if self.crawler else None
        args = (
            {k: v for k, v in vars(spider).items() if isinstance(v, str | int | float | list)}
            if spider
            else {}
        )
        self.run_id = start_run(
            self.catalog.engine, getattr(spider, "name", "?"), args, plan_entry=self.plan_entry
        )
        if self.stats is not None:
            self.stats.set_value("filmagg/run_id", self.run_id)
            if self.crawler and self.crawler.settings.get("LOG_FILE"):
                self.stats.set_value("filmagg/log_file", self.crawler.settings.get("LOG_FILE"))

    def accept(self, item: Any) -> list[Storable] | None:
        """Buffer one item; returns the batch to store when the buffer is full."""
        storable = to_storable(item, self.stats, self.canon)
        if isinstance(storable, Accepted) and storable.record.type == "offer":
            data = storable.record.model_dump(mode="json")
            self._page_offers[storable.record.url].add(item_key(data))
        elif isinstance(storable, Rejected):
            self._page_rejected[storable.url].add(storable.reason)
        elif isinstance(storable, PageSeen):  # after the page's records: what they were
            url = storable.page.url
            storable = PageSeen(storable.page, frozenset(self._page_offers.pop(url, ())),
                                frozenset(self._page_rejected.pop(url, ())))  # fmt: skip
        if storable is not None:
            self.buffer.append(storable)
            if self.buffered_since is None:
                self.buffered_since = time.monotonic()
        return self.drain() if len(self.buffer) >= self.batch_size else None

    def drain(self, older_than: float | None = None) -> list[Storable]:
        """Take what is buffered (only if buffered for ``older_than`` seconds, when given)."""
        since = self.buffered_since
        if older_than is not None and (since is None or time.monotonic() - since < older_than):
            return []
        batch, self.buffer, self.buffered_since = self.buffer, [], None
        return batch

    def store_batch(self, batch: list[Storable]) -> Counter[str]:
        """Stage a batch, then resolve unless another process is resolving (thread-safe)."""
        assert self.catalog is not None
        counts = Counter({f"stored/{k}" if k not in {"store_failed", "lost"} else k: n
                          for k, n in self.catalog.store(batch, self.run_id).items()})  # fmt: skip
        logger.info("stored a batch of %d records: %s", len(batch), dict(counts))
        if self.resolver == "inline":
            counts += self._resolve(wait=False)
        return counts

    def settle(self) -> Counter[str]:
        """Resolve everything pending, waiting for the resolver lock (end of a run)."""
        return self._resolve(wait=True)

    def _resolve(self, wait: bool) -> Counter[str]:
        assert self.catalog is not None
        try:
            done = self.catalog.resolve(wait=wait)
        except Exception:  # records stay staged and pending: the next resolver pass takes them
            logger.exception("resolving failed; the staged records stay pending")
            return Counter({"resolve_failed": 1})
        return Counter({f"resolve/{k}": n for k, n in (done or {}).items()})

    def ingest(self, items: Iterable[Any]) -> None:
        """A whole run's items in this thread, as a crawl would pass them (buffering, staging,
        per-batch and final resolution; ``process`` resolves after each batch, as its resolver
        process would): for tests, benchmarks and imports without a reactor."""
        inline = self.resolver == "process"  # no second process here: resolve as inline does
        for item in items:
            batch = self.accept(item)
            if batch:
                self.count(self.store_batch(batch))
                if inline:
                    self.count(self._resolve(wait=False))
        self.count(self.store_batch(self.drain()))
        if self.resolver != "external":
            self.count(self.settle())

    def count(self, counts: Counter[str]) -> None:
        for key, n in counts.items():
            if self.stats is not None and n:
                self.stats.inc_value(f"filmagg/{key}", n)

    # ---------------------------------------------------------------- Scrapy's side

    def open_spider(self) -> None:
        from twisted.internet import reactor, task
        from twisted.internet.defer import DeferredLock

        self.open_run()
        self._lock = DeferredLock()
        if self.heartbeat_interval > 0 and reactor.running:  # type: ignore[attr-defined]
            self._loop = task.LoopingCall(self._tick)
            interval = min(self.heartbeat_interval, self.flush_interval or self.heartbeat_interval)
            self._loop.start(interval, now=False).addErrback(
                lambda f: logger.error("heartbeat stopped: %s", f.getErrorMessage())
            )

    async def process_item(self, item: Any) -> Any:
        batch = self.accept(item)
        if batch:
            self._stage_later(batch)
            if len(self._backlog) > MAX_BACKLOG:  # the database is behind: let it catch up
                from scrapy.utils.defer import maybe_deferred_to_future

                await maybe_deferred_to_future(self._backlog[0])
        return item

    def _stage_later(self, batch: list[Storable]) -> Any:
        """Queue a batch for the staging thread (FIFO: a page's records before its page row)
        without waiting for it; counted when done, and never lost without a count."""
        d = self._deferred(self.store_batch, batch)
        self._backlog.append(d)

        def done(counts: Counter[str]) -> None:
            self._backlog.remove(d)
            self.count(counts)
            self._batches += 1
            self._maybe_start_resolver()

        def failed(failure: Any) -> None:
            self._backlog.remove(d)
            logger.error("staging a batch of %d records failed: %s", len(batch),
                         failure.getErrorMessage())  # fmt: skip
            self.count(Counter({"lost": len(batch)}))

        d.addCallbacks(done, failed)
        return d

    def _maybe_start_resolver(self) -> None:
        """Start the resolver process once the crawl has staged ``resolver_after`` batches (a
        small crawl never pays for a second interpreter)."""
        if self.resolver != "process" or self._child is not None:
            return
        if self._batches < self.resolver_after:
            return
        import multiprocessing
        import os

        from pipelines.catalog.follow import resolver_process

        ctx = multiprocessing.get_context("spawn")
        self._child_stop = ctx.Event()
        self._child = ctx.Process(target=resolver_process, name="filmagg-resolver",
                                  args=(self.db_url, self._child_stop, os.getpid()),
                                  daemon=True)  # fmt: skip
        try:
            self._child.start()
        except OSError as exc:  # resolution then happens at close, in this process
            logger.warning("cannot start the resolver process (%s); resolving at the end", exc)
            self.resolver = "inline"
            return
        logger.info("resolver process started (pid %s)", self._child.pid)
        if self.stats is not None:
            self.stats.set_value("filmagg/resolver_pid", self._child.pid)

    def stop_resolver(self, timeout: float = 600.0) -> Counter[str]:
        """Let the resolver process finish its pass and end (blocking: call it in a thread)."""
        if self._child is None:
            return Counter()
        self._child_stop.set()
        self._child.join(timeout)
        if self._child.is_alive():
            logger.warning("the resolver process did not end in %.0fs; killing it", timeout)
            self._child.kill()  # its pass is one transaction: nothing half-written stays
            self._child.join(10)
        elif self._child.exitcode:
            logger.warning("the resolver process ended with exit code %s; resolving here",
                           self._child.exitcode)  # fmt: skip
            return Counter({"resolver_process_failed": 1})
        return Counter()

    async def close_spider(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        batch = self.drain()
        if batch:
            await self._in_thread(self.store_batch, batch)
        await self._in_thread(self.stop_resolver)
        if self.resolver != "external":
            await self._in_thread(self.settle)

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        """Close the run with Scrapy's real finish reason (set after the pipelines closed)."""
        if self.catalog is None or self.run_id is None:
            return
        stats = self.stats.get_stats() if self.stats else {}
        limits = self.crawler.settings.getdict("FILMAGG_HEALTH") if self.crawler else {}
        status, health = await self._in_thread(
            close_run, self.catalog.engine, self.run_id, reason, dict(stats), limits
        )
        if self.stats is not None:
            self.stats.set_value("filmagg/run_status", status)
            if health and health["problems"]:
                self.stats.set_value("filmagg/health_problems", health["problems"])
        logger.info("run #%s %s (%s)", self.run_id, status, reason)

    def _tick(self) -> Any:
        """Heartbeat; store what has waited ``flush_interval`` (a kill loses little)."""
        batch = self.drain(older_than=self.flush_interval)
        assert self.catalog is not None

        beat_due = time.monotonic() - self._last_beat >= self.heartbeat_interval
        if beat_due:
            self._last_beat = time.monotonic()
        if not batch and not beat_due:
            return None

        def beat() -> Counter[str]:
            if beat_due:
                heartbeat(self.catalog.engine, self.run_id)  # type: ignore[union-attr,arg-type]
            return self.store_batch(batch) if batch else Counter()

        return (
            self._deferred(beat)
            .addCallback(self.count)
            .addErrback(lambda f: logger.warning("heartbeat failed: %s", f.getErrorMessage()))
        )

    def _deferred(self, fn: Callable[..., Any], *args: Any) -> Any:
        from twisted.internet.threads import deferToThread

        return self._lock.run(deferToThread, fn, *args)

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        from scrapy.utils.defer import maybe_deferred_to_future

        result = await maybe_deferred_to_future(self._deferred(fn, *args))
        if isinstance(result, Counter):
            self.count(result)
        return result
