"""Retry-After: the host slows down, the request is retried, a too-long wait gives up."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from scrapy import Spider
from scrapy.http import Request, Response
from scrapy.utils.test import get_crawler

from crawler.middlewares import RetryAfterMiddleware, parse_retry_after


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (b"7", 7.0),
        ("120", 120.0),
        (b"Sat, 21 Nov 2026 06:01:00 GMT", 60.0),
        (b"soon", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: bytes | str | None, seconds: float | None) -> None:
    now = datetime(2026, 11, 21, 6, 0, 0, tzinfo=UTC)
    assert parse_retry_after(value, now) == seconds


def _middleware(max_wait: float = 300) -> tuple[RetryAfterMiddleware, SimpleNamespace]:
    crawler = get_crawler(Spider, {"FILMAGG_RETRY_AFTER_MAX": max_wait, "RETRY_TIMES": 2})
    crawler.spider = Spider.from_crawler(crawler, name="t")
    crawler.stats.open_spider()
    slot = SimpleNamespace(delay=0.5)
    crawler.engine = SimpleNamespace(downloader=SimpleNamespace(slots={"films.example": slot},
                                                               get_slot_key=lambda r: "films.example"))  # fmt: skip
    return RetryAfterMiddleware.from_crawler(crawler), slot


def test_429_with_retry_after_slows_the_host_and_retries() -> None:
    mw, slot = _middleware()
    request = Request("https://films.example/title/1")
    out = mw.process_response(
        request, Response(request.url, status=429, headers={"Retry-After": "12"})
    )
    assert isinstance(out, Request) and out.meta["retry_times"] == 1
    assert slot.delay == 12
    assert mw.crawler.stats.get_value("filmagg/retry_after/429") == 1


def test_too_long_a_wait_gives_up() -> None:
    mw, slot = _middleware(max_wait=60)
    request = Request("https://films.example/title/1")
    response = Response(request.url, status=503, headers={"Retry-After": "3600"})
    assert mw.process_response(request, response) is response
    assert slot.delay == 0.5
    assert mw.crawler.stats.get_value("filmagg/retry_after/too_long") == 1


def test_without_the_header_it_is_scrapy_retry() -> None:
    mw, slot = _middleware()
    request = Request("https://films.example/title/1")
    out = mw.process_response(request, Response(request.url, status=503))
    assert isinstance(out, Request) and slot.delay == 0.5


def test_a_real_crawl_waits_and_gets_the_page(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A local server answers 429 + Retry-After: 1 once, then the page: the crawl waits, retries
    and stores the film (the middleware runs inside Scrapy's real downloader)."""
    import json
    import sqlite3
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tests.test_cli_e2e import filmagg

    page = ('<html><head><title>Metropolis</title><script type="application/ld+json">'
            + json.dumps({"@type": "Movie", "name": "Metropolis", "datePublished": "1927-01-10",
                          "director": {"@type": "Person", "name": "Fritz Lang"}})
            + "</script></head><body><h1>Metropolis</h1></body></html>").encode()  # fmt: skip
    hits: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/robots.txt":
                self.send_response(404)
                self.end_headers()
                return
            hits.append(time.monotonic())
            if len(hits) == 1:
                self.send_response(429)
                self.send_header("Retry-After", "1")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        db = tmp_path / "r.db"
        filmagg("crawl", "schema_org", "-a", f"start_urls=http://127.0.0.1:{server.server_address[1]}/film",
                "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "--db", f"sqlite:///{db}")  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert len(hits) == 2 and hits[1] - hits[0] >= 0.9
    with sqlite3.connect(db) as conn:
        assert conn.execute("select title, year from work").fetchall() == [("Metropolis", 1927)]
        (stats,) = conn.execute("select stats from crawl_run").fetchone()
    assert '"filmagg/retry_after/429": 1' in stats
