"""Downloader middlewares.

``LoopAwareRedirectMiddleware`` (and its meta-refresh twin) are Scrapy's redirect middlewares
that fail loudly: a redirect back to a URL of the same chain raises ``RedirectLoop`` instead
of handing the request to the scheduler, whose dupefilter would drop it without a trace, and
the ``REDIRECT_MAX_TIMES`` give-up raises ``TooManyRedirects``. Both are ``IgnoreRequest``s
carrying the chain, so the request's errback can quarantine the page with it.

``RetryAfterMiddleware`` is Scrapy's retry middleware, honouring ``Retry-After``: when a site
answers 429 or 503 with it, the site's download slot waits at least that long before its next
request (the way AutoThrottle adjusts slot delays, so the whole host slows down, not one
request), then the request is retried within ``RETRY_TIMES``. Once the wait is over, the
slot gets its own delay back. A wait longer than ``FILMAGG_RETRY_AFTER_MAX`` seconds gives up
at once: the page is quarantined as ``http_429`` / ``http_503`` instead of stalling the crawl.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from time import monotonic
from typing import Self

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings
from w3lib.url import canonicalize_url

logger = logging.getLogger(__name__)


def parse_retry_after(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware(RetryMiddleware):
    """Retries that respect the server's ``Retry-After`` (see the module docstring)."""

    codes = frozenset({429, 503})

    def __init__(self, settings: BaseSettings, max_wait: float = 300.0) -> None:
        super().__init__(settings)
        self.max_wait = max_wait
        # slot key -> (monotonic time the wait ends, delay we set, delay before it)
        self._waits: dict[str, tuple[float, float, float]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        mw = cls(crawler.settings, crawler.settings.getfloat("FILMAGG_RETRY_AFTER_MAX", 300.0))
        mw.crawler = crawler
        return mw

    def process_request(self, request: Request) -> None:
        """Give a slot its own delay back once the server's wait is over."""
        if self._waits:
            self._relax(request)

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if (
            request.meta.get("dont_retry")
            or response.status not in self.codes & self.retry_http_codes
        ):
            return super().process_response(request, response)
        wait = parse_retry_after(response.headers.get(b"Retry-After"))
        if wait is None:
            return super().process_response(request, response)
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value(f"filmagg/retry_after/{response.status}")
        if wait > self.max_wait:
            logger.warning("%s asks to wait %.0fs (> FILMAGG_RETRY_AFTER_MAX=%.0fs); giving up on %s",
                           response.status, wait, self.max_wait, request.url)  # fmt: skip
            if stats is not None:
                stats.inc_value("filmagg/retry_after/too_long")
            return response
        self._slow_down(request, wait)
        return self._retry(request, f"{response.status} with Retry-After {wait:.0f}s") or response

    def _slow_down(self, request: Request, wait: float) -> None:
        engine = getattr(self.crawler, "engine", None)
        downloader = getattr(engine, "downloader", None)
        if downloader is None:
            return
        key = downloader.get_slot_key(request)
        slot = downloader.slots.get(key)
        if slot is not None and slot.delay < wait:
            logger.info(
                "slowing %s down to one request every %.0fs (Retry-After)", request.url, wait
            )
            before = self._waits[key][2] if key in self._waits else slot.delay
            self._waits[key] = (monotonic() + wait, wait, before)
            slot.delay = wait

    def _relax(self, request: Request) -> None:
        """Retry-After asks for one pause, not a slower host for the rest of the crawl: once
        it is over, the slot's delay goes back to what it was (unless something else, such as
        AutoThrottle, has changed it since)."""
        downloader = getattr(getattr(self.crawler, "engine", None), "downloader", None)
        if downloader is None:
            return
        key = downloader.get_slot_key(request)
        until, ours, before = self._waits.get(key, (0.0, 0.0, 0.0))
        if key not in self._waits or monotonic() < until:
            return
        del self._waits[key]
        slot = downloader.slots.get(key)
        if slot is not None and slot.delay == ours:
            slot.delay = before


def _same_url(url: str) -> str:
    return canonicalize_url(url, keep_fragments=False)


class RedirectFailure(IgnoreRequest):
    """A redirect chain Scrapy gave up on; ``chain`` lists every URL of it, in order."""

    reason = "redirect_failure"

    def __init__(self, chain: list[str]) -> None:
        super().__init__(f"{self.reason}: {' -> '.join(chain)}")
        self.chain = chain


class RedirectLoop(RedirectFailure):
    """The chain leads back to a URL it already went through."""

    reason = "redirect_loop"


class TooManyRedirects(RedirectFailure):
    """The chain is longer than ``REDIRECT_MAX_TIMES`` (the request's ``redirect_ttl``)."""

    reason = "too_many_redirects"


class _LoopAware:
    """Wraps a redirect middleware's ``process_response``. Scrapy would schedule a redirect
    back to a URL of its own chain, and the scheduler's dupefilter would drop it (a
    ``request_dropped`` signal, no errback, no trace of the page); here it raises
    ``RedirectLoop``. Scrapy's ``IgnoreRequest("max redirections reached")`` becomes
    ``TooManyRedirects``. Both reach the request's errback with the whole chain."""

    def process_response(self, request: Request, response: Response) -> Request | Response:
        chain = [*request.meta.get("redirect_urls", []), request.url]
        try:
            result = super().process_response(request, response)  # type: ignore[misc]
        except IgnoreRequest as exc:
            if isinstance(exc, RedirectFailure):
                raise
            target = response.headers.get(b"Location")
            tail = [response.urljoin(target.decode("latin-1"))] if target else []
            raise TooManyRedirects([*chain, *tail]) from exc
        if isinstance(result, Request) and result is not request:
            seen = {_same_url(u) for u in chain}
            if _same_url(result.url) in seen:
                raise RedirectLoop([*chain, result.url])
        return result


class LoopAwareRedirectMiddleware(_LoopAware, RedirectMiddleware):
    """Scrapy's ``RedirectMiddleware`` (3xx + Location), failing loudly on loops."""


class LoopAwareMetaRefreshMiddleware(_LoopAware, MetaRefreshMiddleware):
    """Scrapy's ``MetaRefreshMiddleware`` (``<meta http-equiv=refresh>``), failing loudly."""
