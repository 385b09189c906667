"""The one spider class every site uses, built from the site's ``SiteRules``.

It holds no extraction logic: ``page_records`` routes a response to the site's parser and
turns every way a page can fail (empty, too large, not text, no film data, parser bug) into a
``PageRejected`` item for quarantine, so one bad page never stops the crawl.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap
from twisted.python.failure import Failure

from crawler.sites.base import ORDINARY_PAGES, NoFilmData, SiteRules
from pipelines.normalize import fold
from pipelines.records import PageRejected, ScrapedRecord

logger = logging.getLogger(__name__)

DEFAULT_MAX_PAGE_BYTES = 10 * 1024 * 1024


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

    async def start(self) -> AsyncIterator[Any]:
        for url in self.sitemaps:
            yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.on_error)
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse, errback=self.on_error)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """Every page a sitemap (or sitemap index, gzipped or not) lists on the allowed hosts."""
        body = response.body
        if body[:2] == b"\x1f\x8b":
            body = gunzip(body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
        try:
            sitemap = Sitemap(body)
        except Exception as exc:  # lxml refuses non-XML bodies
            yield PageRejected(
                site=self.rules.name, url=response.url, reason="bad_sitemap", detail=repr(exc)
            )
            return
        for entry in sitemap:
            loc = entry.get("loc", "").strip()
            if not loc or urlsplit(loc).netloc not in self.allowed_hosts:
                continue
            callback = self.parse_sitemap if sitemap.type == "sitemapindex" else self.parse
            yield scrapy.Request(loc, callback=callback, errback=self.on_error)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        max_bytes = self.settings.getint("FILMAGG_MAX_PAGE_BYTES", DEFAULT_MAX_PAGE_BYTES)
        yield from page_records(self.rules, response, max_bytes)
        if not isinstance(response, TextResponse):
            return
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href.strip()).split("#", 1)[0]
            if urlsplit(url).netloc in self.allowed_hosts and self.rules.should_follow(url):
                yield scrapy.Request(url, callback=self.parse, errback=self.on_error)

    def on_error(self, failure: Failure) -> Iterator[PageRejected]:
        """Download failures (HTTP errors, refused connections, timeouts) go to quarantine."""
        request = failure.request  # type: ignore[attr-defined]
        response = getattr(failure.value, "response", None)
        if response is not None:
            reason, detail = "http_error", f"HTTP {response.status}"
        else:
            reason, detail = (
                "download_error",
                f"{failure.type.__name__}: {failure.getErrorMessage()}",
            )
        self.logger.warning("cannot fetch %s: %s", request.url, detail)
        yield PageRejected(site=self.rules.name, url=request.url, reason=reason, detail=detail)
