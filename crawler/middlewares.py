"""Downloader middlewares.

``RetryAfterMiddleware`` is Scrapy's retry middleware, honouring ``Retry-After``: when a site
answers 429 or 503 with it, the site's download slot waits at least that long before its next
request (the way AutoThrottle adjusts slot delays, so the whole host slows down, not one
request), then the request is retried within ``RETRY_TIMES``. A wait longer than
``FILMAGG_RETRY_AFTER_MAX`` seconds gives up at once: the page is quarantined as an HTTP
error instead of stalling the crawl.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Self

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings

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

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        mw = cls(crawler.settings, crawler.settings.getfloat("FILMAGG_RETRY_AFTER_MAX", 300.0))
        mw.crawler = crawler
        return mw

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
        slot = downloader.slots.get(downloader.get_slot_key(request))
        if slot is not None and slot.delay < wait:
            logger.info(
                "slowing %s down to one request every %.0fs (Retry-After)", request.url, wait
            )
            slot.delay = wait
