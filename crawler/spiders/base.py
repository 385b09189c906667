"""The one spider class every site uses, built from the site's ``SiteRules``.

It holds no extraction logic: ``page_records`` routes a response to the site's parser and
turns every way a page can fail (empty, too large, not text, no film data, parser bug) into a
``PageRejected`` item for quarantine, so one bad page never stops the crawl. Download failures
take the same road through ``on_error``, with the true reason ``failure_reason`` reads from
Scrapy's exception (``timeout``, ``redirect_loop``, ``http_503``, ...): every URL a crawl
touches ends stored, counted as an ordinary page, or quarantined with why.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    NotSupported,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from scrapy.http import Request, Response, TextResponse
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots
from twisted.internet import error as txerror
from twisted.internet.defer import CancelledError
from twisted.internet.defer import TimeoutError as DeferredTimeoutError
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed

from crawler.incremental import FOLLOWED
from crawler.middlewares import RedirectFailure
from crawler.sites.base import (
    ORDINARY_PAGES,
    PRIORITY_SITEMAP,
    NoFilmData,
    SiteRules,
)
from pipelines.normalize import fold
from pipelines.records import PageRejected, ScrapedRecord

logger = logging.getLogger(__name__)

DEFAULT_MAX_PAGE_BYTES = 10 * 1024 * 1024
# Decompressed size over compressed size above which an oversized body is a decompression
# bomb rather than a big page: HTML compresses 5-15x, a bomb of zeros ~1000x. Scrapy stops
# inflating at DOWNLOAD_MAXSIZE, so the ratio known is a lower bound (so far / whole body).
BOMB_RATIO = 20
# Discovered links answering these are dead links: counted (filmagg/not_found), not quarantined.
NOT_FOUND = frozenset({404, 410})
START_URL = "filmagg_start_url"  # request meta: a start URL or sitemap the crawl was given
SITEMAP = "filmagg_sitemap"  # request meta: a sitemap (given, or listed in a sitemap index)
# request meta: robots.txt, or a sitemap it (or a page) led to; the crawl was not given it, so
# its absence is no fault: counted (filmagg/sitemaps/missing), not quarantined.
OPTIONAL = "filmagg_optional"
LINK_DECISIONS_CACHED = 65_536  # nav links recur on every page: decide each URL once
_DECOMPRESSED = re.compile(r"\((\d+) B compressed, (\d+) B decompressed")


def failure_reason(
    error: Failure | BaseException | Response, max_bytes: int | None = None
) -> tuple[str, str]:
    """Why a URL could not be fetched, as ``(reason slug, detail)``: from the exception a
    request's errback gets (or the Failure wrapping it), or from a non-2xx response.

    Pure, so every case is testable without a reactor. The exceptions are those Scrapy 2.19's
    HTTP/1.1 handler raises after ``wrap_twisted_exceptions`` (scrapy/utils/_download_handlers.py),
    the raw Twisted ones it wraps (other handlers, older Scrapy), and the ``IgnoreRequest``s of
    the downloader middlewares (robots.txt, decompression, redirects, offsite)."""
    if isinstance(error, Failure):
        error = error.value
    if isinstance(error, Response):
        return f"http_{error.status}", f"HTTP {error.status}"
    text = str(error).strip()
    name = type(error).__name__
    if isinstance(error, RedirectFailure):
        return error.reason, " -> ".join(error.chain)
    if isinstance(error, HttpError):
        response = getattr(error, "response", None)
        if response is None:
            return "http_error", text or name
        return f"http_{response.status}", f"HTTP {response.status} from {response.url}"
    if isinstance(error, IgnoreRequest):
        return _ignored_reason(error, text)
    if isinstance(error, DownloadCancelledError | CancelledError):
        # HTTP/1.1 handler: the body passed DOWNLOAD_MAXSIZE (announced by Content-Length,
        # or while streaming; then the message is empty). Timeouts raise DownloadTimeoutError.
        cap = f" (DOWNLOAD_MAXSIZE={max_bytes})" if max_bytes else ""
        return "too_large", text or f"the body passed the size cap while streaming{cap}"
    if isinstance(error, DownloadTimeoutError | DeferredTimeoutError | txerror.TimeoutError
                  | txerror.TCPTimedOutError):  # fmt: skip
        return "timeout", text or name
    if isinstance(error, DownloadConnectionRefusedError | txerror.ConnectionRefusedError):
        return "connection_refused", text or name
    if isinstance(error, CannotResolveHostError | txerror.DNSLookupError):
        return "dns_error", text or name
    if isinstance(error, ResponseDataLossError):
        return "connection_lost", "the body was cut short (fewer bytes than Content-Length)"
    if isinstance(error, DownloadFailedError | ResponseFailed | txerror.ConnectionClosed):
        return "connection_lost", f"{name}: {_reasons(error) or text}"
    if isinstance(error, txerror.ConnectError):
        return "connection_failed", f"{name}: {text}"
    if isinstance(error, UnsupportedURLSchemeError | NotSupported):
        return "unsupported_url", text or name
    if "SSL" in name or "TLS" in name or type(error).__module__.startswith("OpenSSL"):
        return "tls_error", f"{name}: {text}"
    return "download_error", f"{name}: {text}"


def _ignored_reason(error: IgnoreRequest, text: str) -> tuple[str, str]:
    """An ``IgnoreRequest`` raised by a downloader middleware; Scrapy tells them apart only by
    their messages (robotstxt.py, httpcompression.py, redirect.py, offsite.py)."""
    if "robots.txt" in text:
        return "robots_disallowed", text
    if "during decompression" in text or type(error.__cause__).__name__.startswith(
        "_Decompression"
    ):
        m = _DECOMPRESSED.search(text)
        bomb = m is not None and int(m.group(2)) >= BOMB_RATIO * max(1, int(m.group(1)))
        return ("gzip_bomb" if bomb else "too_large"), text
    if "max redirections" in text:
        return "too_many_redirects", text
    if text.startswith("Filtered offsite"):
        return "offsite", text
    return "ignored", text or type(error).__name__


def _reasons(error: BaseException) -> str:
    """What a Twisted wrapper exception (``ResponseFailed``, or Scrapy's wrapper around it)
    carries: "ConnectionLost: Connection to the other side was lost ..." ."""
    inner = getattr(error, "reasons", None) or getattr(error.__cause__, "reasons", None) or []
    return "; ".join(f"{f.type.__name__}: {f.getErrorMessage()}" for f in inner)


def first_url(request: Request) -> str:
    """The URL a request was made for, before any redirect: the one to quarantine and retry."""
    chain = request.meta.get("redirect_urls") or []
    return chain[0] if chain else request.url


def page_records(rules: SiteRules, response: Response, max_bytes: int = DEFAULT_MAX_PAGE_BYTES
                 ) -> Iterator[ScrapedRecord | PageRejected]:  # fmt: skip
    """The records a page yields, or one ``PageRejected`` saying why it yields none."""
    parser = rules.parser_for(response.url)
    if parser is None:
        return
    site, url = rules.name, response.url
    if not response.body.strip():
        yield PageRejected(
            site=site, url=url, reason="empty_body", detail="the page has no content"
        )
        return
    if len(response.body) > max_bytes:
        yield PageRejected(site=site, url=url, reason="page_too_large",
                           detail=f"{len(response.body)} bytes > FILMAGG_MAX_PAGE_BYTES={max_bytes}")  # fmt: skip
        return
    if not isinstance(response, TextResponse):
        yield PageRejected(site=site, url=url, reason="not_text",
                           detail=f"content type {response.headers.get('Content-Type', b'?')!r}")  # fmt: skip
        return
    try:
        records = parser(response)
    except NoFilmData as exc:
        yield PageRejected(site=site, url=url, reason=f"no_film_data/{exc.reason}", detail=str(exc),
                           raw=response.text[:2000], quarantine=exc.reason not in ORDINARY_PAGES)  # fmt: skip
        return
    except Exception as exc:  # a parser bug must not stop the crawl; it is logged and counted
        logger.exception("parser %s failed on %s", getattr(parser, "__name__", parser), url)
        yield PageRejected(site=site, url=url, reason="parser_error", detail=repr(exc),
                           raw=response.text[:2000])  # fmt: skip
        return
    if not records:
        yield PageRejected(site=site, url=url, reason="no_film_data/empty_result",
                           detail="the parser found no records on the page", raw=response.text[:2000])  # fmt: skip
        return
    yield from distinct_film_urls(records)


def distinct_film_urls(records: list[ScrapedRecord]) -> list[ScrapedRecord]:
    """A page holding several films (a season list without per-episode links, a JSON-LD list)
    gives the second and later ones a stable fragment URL, so each is its own record."""
    seen: set[str] = set()
    out: list[ScrapedRecord] = []
    for rec in records:
        if rec.type == "film" and rec.url in seen:
            slug = re.sub(r"[^a-z0-9]+", "-", fold(f"{rec.title or ''} {rec.year or ''}")).strip(
                "-"
            )
            rec = rec.model_copy(update={"url": f"{rec.url.split('#', 1)[0]}#{slug or 'film'}"})
        if rec.type == "film":
            seen.add(rec.url)
        out.append(rec)
    return out


class SiteSpider(scrapy.Spider):
    """Walks one site: start URLs, follow rules, and the site's parsers."""

    rules: SiteRules

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        """``DOWNLOAD_MAXSIZE`` follows ``FILMAGG_MAX_PAGE_BYTES`` (``-s`` included), so Scrapy
        cancels an oversized page while it streams instead of holding it whole; the warning
        size is half of it. A ``DOWNLOAD_MAXSIZE`` given on the command line or by a site wins."""
        super().update_settings(settings)
        cap = settings.getint("FILMAGG_MAX_PAGE_BYTES", DEFAULT_MAX_PAGE_BYTES)
        if cap <= 0:
            return
        project = SETTINGS_PRIORITIES["project"]
        for name, value in (("DOWNLOAD_MAXSIZE", cap), ("DOWNLOAD_WARNSIZE", cap // 2)):
            if (settings.getpriority(name) or 0) <= project:
                settings.set(name, value, priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SiteSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.request_dropped, signal=signals.request_dropped)
        settings = crawler.settings
        spider.sitemaps_first = settings.getbool("FILMAGG_SITEMAPS_FIRST", True)
        spider.robots_read_by_scrapy = settings.getbool("ROBOTSTXT_OBEY")
        if spider.sitemaps_first and spider.robots_read_by_scrapy:
            crawler.signals.connect(spider.robots_parsed, signal=signals.robots_parsed)
        # A link this crawl already requested is skipped before a Request is built (most
        # links of a site are nav links seen on every page), unless a DEPTH_LIMIT could drop
        # it where found deep while a shallower page yields it again: then duplicates reach
        # the dupefilter, as in plain Scrapy. What a page led to is remembered whole either
        # way (``FOLLOWED`` in the response meta, read by PageStateMiddleware).
        spider.skip_seen_links = not settings.getint("DEPTH_LIMIT")
        return spider

    def __init__(self, start_urls: str | Iterable[str] | None = None, base_url: str | None = None,
                 sitemap: str | None = None, *args: Any, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        urls = start_urls.split(",") if isinstance(start_urls, str) else list(start_urls or [])
        if base_url:
            urls.append(urljoin(base_url.rstrip("/") + "/", self.rules.start_path.lstrip("/")))
        self.start_urls = [u.strip() for u in urls if u.strip()]
        self.sitemaps = [u.strip() for u in (sitemap or "").split(",") if u.strip()]
        if not self.start_urls and not self.sitemaps:
            raise ValueError(f"spider {self.name!r} needs -a start_urls=URL[,URL...], -a sitemap=URL "
                             f"or -a base_url=URL of a server hosting {self.rules.start_path}")  # fmt: skip
        self.allowed_hosts = {urlsplit(u).netloc for u in [*self.start_urls, *self.sitemaps]}
        self.sitemaps_first = True  # from_crawler: FILMAGG_SITEMAPS_FIRST
        self.robots_read_by_scrapy = False  # from_crawler: ROBOTSTXT_OBEY
        self.skip_seen_links = False  # from_crawler: see there
        self.requested: set[str] = set()  # links yielded so far (when skip_seen_links)
        self.decide_link = functools.lru_cache(maxsize=LINK_DECISIONS_CACHED)(
            self.rules.decide_link
        )

    def _inc(self, key: str, count: int = 1) -> None:
        crawler = getattr(self, "crawler", None)
        if crawler is not None and crawler.stats is not None:
            crawler.stats.inc_value(key, count)

    async def start(self) -> AsyncIterator[Any]:
        # START_URL marks the URLs the user gave. Not Scrapy's is_start_request: requests
        # that spider middlewares add to the start (quarantine retries) get that one too.
        for url in self.sitemaps:
            yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.on_error,
                                 meta={START_URL: True, SITEMAP: True})  # fmt: skip
        if self.sitemaps_first and not self.sitemaps and not self.robots_read_by_scrapy:
            # the sitemaps robots.txt lists, read before the pages, as SitemapSpider does;
            # with ROBOTSTXT_OBEY the RobotsTxtMiddleware's copy is used (robots_parsed)
            for url in dict.fromkeys(urljoin(u, "/robots.txt") for u in self.start_urls):
                yield scrapy.Request(url, callback=self.parse_robots, errback=self.on_error,
                                     priority=PRIORITY_SITEMAP,
                                     meta={OPTIONAL: True, "dont_obey_robotstxt": True})  # fmt: skip
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse, errback=self.on_error,
                                 meta={START_URL: True})  # fmt: skip

    def parse_robots(self, response: Response) -> Iterator[Request]:
        """The sitemaps a site's robots.txt lists (its ``Sitemap:`` lines), asked for before
        the pages. None listed: the crawl goes on from its start URLs."""
        if response.status == 304:
            return  # unchanged: PageStateMiddleware follows the sitemaps it led to last time
        urls = sitemap_urls_from_robots(response.body, base_url=response.url)
        yield from self._robots_sitemaps(urls, response.url)

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        """With ``ROBOTSTXT_OBEY``, the robots.txt Scrapy read for a host before its first
        request: the sitemaps it lists are scheduled at once, ahead of the pages. Read from
        Scrapy's default parser (Protego); another parser gives none."""
        if not self.sitemaps_first or self.sitemaps or self.crawler.engine is None:
            return
        robots = urljoin(request.url, "/robots.txt")
        if urlsplit(robots).netloc not in self.allowed_hosts:
            return
        listed = getattr(getattr(robotparser, "rp", None), "sitemaps", None) or ()
        for sitemap in self._robots_sitemaps(listed, robots):
            self.crawler.engine.crawl(sitemap)

    def _robots_sitemaps(self, urls: Iterable[str], robots_url: str) -> Iterator[Request]:
        for url in urls:
            url = urljoin(robots_url, url.strip())
            if urlsplit(url).netloc not in self.allowed_hosts:
                self._inc("filmagg/offsite")
                continue
            self._inc("filmagg/sitemaps/listed")
            self.logger.debug("%s lists sitemap %s", robots_url, url)
            yield self._sitemap_request(url, optional=True)

    def _sitemap_request(self, url: str, optional: bool) -> Request:
        meta = {SITEMAP: True, OPTIONAL: True} if optional else {SITEMAP: True}
        return scrapy.Request(url, callback=self.parse_sitemap, errback=self.on_error,
                              priority=PRIORITY_SITEMAP, meta=meta)  # fmt: skip

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """Every page a sitemap (or sitemap index, gzipped or not) lists on the allowed hosts.
        A sitemap the crawl was not given (robots.txt's, a link's) is held to the follow rules."""
        start = bool(response.meta.get(START_URL))
        optional = bool(response.meta.get(OPTIONAL))
        if response.status == 304:  # unchanged: PageStateMiddleware follows its old entries
            if start:
                self._inc("filmagg/start/fetched")
            return
        body = response.body
        try:
            if body[:2] == b"\x1f\x8b":
                body = gunzip(body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
            sitemap = Sitemap(body)
        except Exception as exc:  # lxml refuses non-XML bodies; gunzip refuses bombs
            reason, detail = "bad_sitemap", repr(exc)
            if hasattr(exc, "decompressed_size"):  # scrapy.utils._compression's size error
                ratio = exc.decompressed_size >= BOMB_RATIO * max(1, len(response.body))
                reason, detail = ("gzip_bomb" if ratio else "too_large"), str(exc)
                self._inc(f"filmagg/failed/{reason}")
            if start:
                self._inc("filmagg/start/failed")
            self.logger.warning("cannot read sitemap %s: %s: %s", response.url, reason, detail)
            yield PageRejected(site=self.rules.name, url=response.url, reason=reason, detail=detail)
            return
        if start:
            self._inc("filmagg/start/fetched")
            self.allowed_hosts.add(urlsplit(response.url).netloc)
        skipped = 0
        for entry in sitemap:
            loc = entry.get("loc", "").strip()
            if not loc:
                continue
            if urlsplit(loc).netloc not in self.allowed_hosts:
                self._inc("filmagg/offsite")
                continue
            if sitemap.type == "sitemapindex":
                yield self._sitemap_request(loc, optional)
                continue
            priority = self.decide_link(loc).priority
            if priority is None:
                if optional:
                    skipped += 1
                    continue
                priority = 0  # a sitemap the crawl was given is followed whole
            # the page's lastmod lets the incremental middleware skip it while unchanged
            meta = {"lastmod": entry["lastmod"]} if entry.get("lastmod") else {}
            yield scrapy.Request(loc, callback=self.parse, errback=self.on_error, meta=meta,
                                 priority=priority)  # fmt: skip
        if skipped:
            self._inc("filmagg/links/skipped", skipped)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        if response.meta.get(START_URL):
            self._inc("filmagg/start/fetched")
            # a start URL that redirected (http -> https, a www host) names the site's host
            self.allowed_hosts.add(urlsplit(response.url).netloc)
        if response.status == 304:
            return  # Not Modified (a conditional request): nothing on the page changed
        if self.rules.parser_for(response.url) is None:
            self._inc("filmagg/navigation")  # a page read for its links only (an index)
        max_bytes = self.settings.getint("FILMAGG_MAX_PAGE_BYTES", DEFAULT_MAX_PAGE_BYTES)
        yield from page_records(self.rules, response, max_bytes)
        if isinstance(response, TextResponse):
            yield from self.follow_links(response)

    def follow_links(self, response: TextResponse) -> Iterator[Request]:
        """A request for each distinct link of the page the rules follow, with the rules'
        priority. Offsite links (``filmagg/offsite``) and those the rules skip
        (``filmagg/links/skipped``: mailto:, assets, person pages, ...) are counted once
        per page; with ``skip_seen_links``, a link already requested is not built again (it is
        still listed in the response's ``FOLLOWED`` meta)."""
        on_page: set[str] = set()
        followed: list[tuple[str, str]] = []
        offsite = skipped = seen = 0
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href.strip()).split("#", 1)[0]
            if url in on_page:
                continue
            on_page.add(url)
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https"):
                skipped += 1  # mailto:, javascript:, tel:, ...
                continue
            if parts.netloc not in self.allowed_hosts:
                offsite += 1  # counted, never fetched nor quarantined
                continue
            decision = self.decide_link(url)
            if decision.priority is None:
                skipped += 1
                continue
            callback = "parse_sitemap" if decision.kind == "sitemap" else "parse"
            followed.append((callback, url))
            if (request := self._link_request(callback, url, decision.priority)) is None:
                seen += 1
            else:
                yield request
        if response.request is not None:  # always, except in unit tests
            response.meta[FOLLOWED] = followed
        for key, n in (("filmagg/offsite", offsite), ("filmagg/links/skipped", skipped),
                       ("filmagg/links/seen", seen)):  # fmt: skip
            if n:
                self._inc(key, n)
        if skipped:
            self.logger.debug("%s: %d links skipped by the follow rules", response.url, skipped)

    def request_again(self, callback: str, url: str) -> Request | None:
        """The request for a link an unchanged (304) page led to at its last full fetch, as
        ``follow_links`` would build it now (the rules' priority), or None when this crawl
        already requested it. A link the rules skip was followed for a reason (a sitemap the
        crawl was given lists it): it keeps the lowest priority."""
        priority = self.decide_link(url).priority
        if (request := self._link_request(callback, url, priority or 0)) is None:
            self._inc("filmagg/links/seen")
        return request

    def _link_request(self, callback: str, url: str, priority: int) -> Request | None:
        """None when ``skip_seen_links`` and the link was requested already."""
        if self.skip_seen_links:
            if url in self.requested:
                return None
            self.requested.add(url)
        if callback == "parse_sitemap":
            return self._sitemap_request(url, optional=True)
        return scrapy.Request(url, callback=self.parse, errback=self.on_error, priority=priority)

    def on_error(self, failure: Failure) -> Iterator[PageRejected]:
        """A URL that could not be fetched is quarantined with its true reason (counted as
        ``filmagg/failed/<reason>``), except a discovered link answering 404/410 (a dead link:
        ``filmagg/not_found``) and an offsite request (``filmagg/offsite``), which are counted
        only. A failed start request or sitemap also counts ``filmagg/start/failed``."""
        request: Request = failure.request  # type: ignore[attr-defined]
        reason, detail = failure_reason(failure, self.settings.getint("DOWNLOAD_MAXSIZE"))
        url = first_url(request)
        if url != request.url and not isinstance(failure.value, RedirectFailure):
            detail = f"{detail} (redirected from {url})"
        start = bool(request.meta.get(START_URL))
        if start:
            self._inc("filmagg/start/failed")
        if reason == "offsite":
            self._inc("filmagg/offsite")
            return
        response = getattr(failure.value, "response", None)
        if request.meta.get(OPTIONAL) and (
            request.callback == self.parse_robots
            or (response is not None and response.status in NOT_FOUND)
        ):
            self._inc("filmagg/sitemaps/missing")  # no robots.txt, or no sitemap where it said
            self.logger.debug("no optional %s: %s: %s", url, reason, detail)
            return
        if (
            not start
            and response is not None
            and response.status in NOT_FOUND
            and not request.meta.get(SITEMAP)
        ):
            self._inc("filmagg/not_found")
            self.logger.debug("dead link %s: %s", url, detail)
            return
        self._inc(f"filmagg/failed/{reason}")
        self.logger.warning("cannot fetch %s: %s: %s", url, reason, detail)
        yield PageRejected(site=self.rules.name, url=url, reason=reason, detail=detail)

    def request_dropped(self, request: Request, spider: scrapy.Spider) -> None:
        """A redirect to a URL this crawl already fetched or queued is dropped by the
        dupefilter (the target is accounted for under its own URL): counted, so it is
        visible. Loops inside one chain never get here (see ``RedirectLoop``)."""
        if spider is self and request.meta.get("redirect_urls"):
            self._inc("filmagg/redirect/to_seen")
            self.logger.debug("redirect of %s to a URL already seen: %s",
                              request.meta["redirect_urls"][0], request.url)  # fmt: skip
