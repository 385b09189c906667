"""Incremental crawling: fetch only what is due, and ask only whether it changed.

* ``PageStates``: what the catalog knows of each page of this spider (validators, last
  fetch, kind), read once when the spider opens (``page`` table, kept by staging).
* ``is_due`` (pure): a page is due when it was never fetched, when its sitemap ``lastmod`` is
  newer than our last fetch, or when its kind's refresh interval (``FILMAGG_REFRESH_AFTER``,
  seconds per kind: film and review pages weekly, listings and sitemaps daily) has passed.
* ``ConditionalRequestsMiddleware`` (downloader): ``If-None-Match`` / ``If-Modified-Since`` on
  pages fetched before, and lets a 304 answer through to the spider.
* ``PageStateMiddleware`` (spider): drops followed requests for pages not yet due; after each
  page's output emits a ``PageFetched`` item with the links the page led to; on a 304 the
  callback's output is dropped (nothing on the page changed) and the links remembered from
  its last full fetch are followed instead, so a crawl of an unchanged site still walks it
  with conditional requests only; and it adds to the start requests the quarantined pages
  due for a retry (download failures, and what ``filmagg retry`` asked for).

Start URLs and retries are always fetched (conditionally): they are where a crawl begins.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from pipelines.records import PageFetched, ScrapedFilm, ScrapedRecord
from pipelines.urls import UrlCanon, url_aliases

# Response meta: every link a page's callback followed, as (callback name, url), in page order,
# including those it did not yield again because this crawl had already requested them. The
# page's remembered links and kind come from it, so skipping repeats changes neither.
FOLLOWED = "filmagg_followed"

logger = logging.getLogger(__name__)

DAY = 86_400.0
DEFAULT_REFRESH_AFTER = {"film": 7 * DAY, "review": 7 * DAY, "listing": DAY, "sitemap": DAY,
                         "other": DAY}  # fmt: skip
# Quarantine reasons a later run simply tries again: the page may answer this time.
RETRY_NEXT_RUN = ("http_5", "http_429", "http_error", "timeout", "connection_", "dns_error",
                  "download_error", "store_error")  # fmt: skip


@dataclass(frozen=True)
class PageState:
    etag: str | None
    last_modified: str | None
    fetched_at: datetime | None
    kind: str | None


def is_due(state: PageState | None, now: datetime, refresh_after: dict[str, float],
           lastmod: datetime | None = None) -> bool:  # fmt: skip
    """Whether a page should be fetched now (see the module docstring)."""
    if state is None or state.fetched_at is None:
        return True
    if lastmod is not None:
        return lastmod > state.fetched_at
    interval = refresh_after.get(state.kind or "other", refresh_after.get("other", DAY))
    return now - state.fetched_at >= timedelta(seconds=interval)


def is_sitemap(url: str, reason: str, state: PageState | None) -> bool:
    """Whether a quarantined URL is a sitemap, to retry it with the sitemap parser: it was
    fetched as one before, its reason says so, or (never fetched) its path names an XML sitemap."""
    if (state is not None and state.kind == "sitemap") or reason == "bad_sitemap":
        return True
    path = urlsplit(url).path.lower()
    return "sitemap" in path and path.endswith((".xml", ".xml.gz"))


def parse_lastmod(value: str | None) -> datetime | None:
    """A sitemap ``lastmod`` (W3C datetime: "2024-05-01", "2024-05-01T10:00:00+02:00")."""
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class PageStates:
    """The catalog's page states for one spider, shared by the two middlewares."""

    def __init__(self, states: dict[str, PageState], refresh_after: dict[str, float],
                 canon: UrlCanon | None = None) -> None:  # fmt: skip
        self.states = states
        self.refresh_after = refresh_after
        self.canon = canon or UrlCanon()  # page rows are keyed by canonical URL

    @classmethod
    def of(cls, crawler: Crawler) -> Self:
        """Loaded once per crawler (both middlewares share it)."""
        found = getattr(crawler, "_filmagg_page_states", None)
        if found is None:
            refresh = {**DEFAULT_REFRESH_AFTER, **{
                k: float(v) for k, v in crawler.settings.getdict("FILMAGG_REFRESH_AFTER").items()}}  # fmt: skip
            found = cls(
                {}, refresh, UrlCanon(url_aliases(crawler.settings.get("FILMAGG_URL_ALIASES")))
            )
            crawler._filmagg_page_states = found  # type: ignore[attr-defined]
        return found

    def load(self, db_url: str | None, site: str) -> None:
        if not db_url:
            return
        from sqlmodel import Session, select

        from pipelines.catalog.db import get_reader
        from pipelines.catalog.models import Page

        with Session(get_reader(db_url)) as s:
            rows = s.exec(select(Page.url, Page.etag, Page.last_modified, Page.fetched_at, Page.kind)
                          .where(Page.site == site)).all()  # fmt: skip
        self.states = {
            url: PageState(etag, lm, _aware(at), kind) for url, etag, lm, at, kind in rows
        }
        logger.info("%d pages of %s known from earlier crawls", len(self.states), site)

    def get(self, url: str) -> PageState | None:
        """The state of the page ``url`` names, however it is spelled."""
        return self.states.get(self.canon(url))


class ConditionalRequestsMiddleware:
    """Known pages are asked for only if changed; a 304 reaches the spider middleware."""

    def __init__(self, states: PageStates) -> None:
        self.states = states

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("FILMAGG_INCREMENTAL", True):
            raise NotConfigured
        return cls(PageStates.of(crawler))

    def process_request(self, request: Request) -> None:
        state = self.states.get(request.url)
        if state is None or request.method != "GET":
            return
        if state.etag and b"If-None-Match" not in request.headers:
            request.headers[b"If-None-Match"] = state.etag
        if state.last_modified and b"If-Modified-Since" not in request.headers:
            request.headers[b"If-Modified-Since"] = state.last_modified
        allowed = request.meta.get("handle_httpstatus_list") or []
        if 304 not in allowed:
            request.meta["handle_httpstatus_list"] = [*allowed, 304]


class PageStateMiddleware:
    """Drops requests not yet due, emits ``PageFetched`` after each page, queues retries."""

    def __init__(self, states: PageStates, db_url: str | None, crawler: Crawler) -> None:
        self.states = states
        self.db_url = db_url
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("FILMAGG_INCREMENTAL", True):
            raise NotConfigured
        mw = cls(PageStates.of(crawler), crawler.settings.get("FILMAGG_DB"), crawler)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    def spider_opened(self, spider: Any) -> None:
        self.states.load(self.db_url, spider.name)

    # ------------------------------------------------------------------ start requests

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        seen: set[str] = set()
        async for obj in start:
            if isinstance(obj, Request):
                obj.meta.setdefault("filmagg_start", True)
                seen.add(obj.url)
            yield obj
        for request in self._retries(seen):
            yield request

    def _retries(self, seen: set[str]) -> Iterator[Request]:
        spider = self.crawler.spider
        hosts = getattr(spider, "allowed_hosts", None)
        if not self.db_url or not hosts or not hasattr(spider, "on_error"):
            return
        from sqlmodel import Session, select

        from pipelines.catalog.db import get_reader
        from pipelines.catalog.models import Quarantine

        with Session(get_reader(self.db_url)) as s:
            rows = s.exec(select(Quarantine.url, Quarantine.reason, Quarantine.retry)
                          .where(Quarantine.resolved_at.is_(None))).all()  # type: ignore[union-attr]  # fmt: skip
        seen = {self.states.canon(url) for url in seen}  # quarantine rows: canonical URLs
        due = {url: reason for url, reason, retry in rows
               if (retry or reason.startswith(RETRY_NEXT_RUN))
               and urlsplit(url).netloc in hosts and url not in seen}  # fmt: skip
        if due:
            logger.info("retrying %d quarantined pages", len(due))
            self.crawler.stats.inc_value("filmagg/retried", len(due))  # type: ignore[union-attr]
        for url in sorted(due):
            sitemap = is_sitemap(url, due[url], self.states.get(url))
            callback = (
                getattr(spider, "parse_sitemap" if sitemap else "parse", None) or spider.parse
            )  # type: ignore[union-attr]
            yield Request(url, callback=callback, errback=spider.on_error,  # type: ignore[union-attr]
                          meta={"filmagg_start": True})  # fmt: skip

    # ------------------------------------------------------------------ page output

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        tally: Counter[str] = Counter()
        links: list[tuple[str, str]] = []
        for obj in result:
            if self._keep(response, obj, tally, links):
                yield obj
        if response.status == 304:
            yield from self._follow_again(self._links_of(response.url))
        yield from self._fetched(response, tally, links)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        tally: Counter[str] = Counter()
        links: list[tuple[str, str]] = []
        async for obj in result:
            if self._keep(response, obj, tally, links):
                yield obj
        if response.status == 304:
            from scrapy.utils.defer import maybe_deferred_to_future
            from twisted.internet.threads import deferToThread

            remembered = await maybe_deferred_to_future(deferToThread(self._links_of, response.url))
            for request in self._follow_again(remembered):
                yield request
        for item in self._fetched(response, tally, links):
            yield item

    def _links_of(self, url: str) -> list[list[str]]:
        """Where a page led at its last full fetch (read off the reactor thread)."""
        if not self.db_url:
            return []
        from pipelines.catalog.db import get_reader

        with get_reader(self.db_url).connect() as conn:
            found = conn.execute(_links_query(), {"url": self.states.canon(url)}).scalar()
            return list(found or [])

    def _follow_again(self, links: list[list[str]]) -> Iterator[Request]:
        """The remembered links of an unchanged page that are due, built by the spider's
        ``request_again`` when it has one (the follow rules' priority, links this crawl
        already requested left out, as on a page parsed now)."""
        spider = self.crawler.spider
        again = getattr(spider, "request_again", None)
        now = datetime.now(UTC)
        for callback, url in links:
            if again is not None:
                if (request := again(callback, url)) is None:
                    continue
            else:
                request = Request(url, callback=getattr(spider, callback, None),
                                  errback=getattr(spider, "on_error", None))  # fmt: skip
            if not is_due(self.states.get(url), now, self.states.refresh_after):
                self.crawler.stats.inc_value("filmagg/skipped/not_due")  # type: ignore[union-attr]
                continue
            yield request

    def _keep(self, response: Response, obj: Any, tally: Counter[str],
              links: list[tuple[str, str]]) -> bool:  # fmt: skip
        if response.status == 304:
            return False  # the page did not change: nothing it would yield is new
        if isinstance(obj, Request):
            tally["requests"] += 1
            links.append((getattr(obj.callback, "__name__", None) or "parse", obj.url))
            if obj.meta.get("filmagg_start") or obj.dont_filter:
                return True
            lastmod = parse_lastmod(obj.meta.get("lastmod"))
            if not is_due(
                self.states.get(obj.url), datetime.now(UTC), self.states.refresh_after, lastmod
            ):
                self.crawler.stats.inc_value("filmagg/skipped/not_due")  # type: ignore[union-attr]
                return False
            return True
        if isinstance(obj, ScrapedRecord.__args__):  # type: ignore[attr-defined]
            tally["film" if isinstance(obj, ScrapedFilm) else obj.type] += 1
        return True

    def _fetched(self, response: Response, tally: Counter[str],
                 links: list[tuple[str, str]]) -> Iterator[PageFetched]:  # fmt: skip
        if not (200 <= response.status < 300 or response.status == 304):
            return
        if response.status == 304:
            self.crawler.stats.inc_value("filmagg/not_modified")  # type: ignore[union-attr]
        elif FOLLOWED in response.meta:
            links = list(response.meta[FOLLOWED])
            tally["requests"] = len(links)
        callback = getattr(response.request, "callback", None) if response.request else None
        if tally["film"]:
            kind = "film"
        elif tally["review"]:
            kind = "review"
        elif getattr(callback, "__name__", "") == "parse_sitemap":
            kind = "sitemap"
        elif tally["requests"]:
            kind = "listing"
        else:
            known = self.states.get(response.url)
            kind = (
                (known.kind if known and known.kind else "other")
                if response.status == 304
                else "other"
            )
        headers = response.headers
        yield PageFetched(
            site=self.crawler.spider.name,  # type: ignore[union-attr]
            url=response.url, status=response.status,
            etag=_header(headers, b"ETag"), last_modified=_header(headers, b"Last-Modified"),
            kind=kind, links=links,  # type: ignore[arg-type]
        )  # fmt: skip


@functools.cache
def _links_query() -> Any:
    """Where a page led (its ``links``), by URL: one Core statement, compiled once."""
    from sqlalchemy import bindparam, select

    from pipelines.catalog.models import Page

    table = Page.__table__  # type: ignore[attr-defined]
    return select(table.c.links).where(table.c.url == bindparam("url"))


def _header(headers: Any, name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value else None


def _aware(when: datetime | None) -> datetime | None:
    return when if when is None or when.tzinfo else when.replace(tzinfo=UTC)
