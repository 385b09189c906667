"""Every way a URL can fail gets its true reason: ``failure_reason`` over the exceptions Scrapy
2.19 really raises (several produced by Scrapy's own middlewares here, not imitated), the
redirect middlewares that make loops visible, what ``on_error`` quarantines or only counts,
start-URL counts, size caps that follow FILMAGG_MAX_PAGE_BYTES, and broken JSON-LD. No reactor."""

from __future__ import annotations

import gzip
import random
from pathlib import Path
from typing import Any

import pytest
from OpenSSL import SSL
from scrapy import Spider
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from scrapy.http import HtmlResponse, Request, Response
from scrapy.robotstxt import ProtegoRobotParser
from scrapy.settings import Settings
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.internet import error as txerror
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed, ResponseNeverReceived

import crawler.middlewares as middlewares
from crawler import settings as project_settings
from crawler.extract.jsonld import unreadable_blocks
from crawler.extract.pagecheck import why_not_film
from crawler.middlewares import (
    LoopAwareMetaRefreshMiddleware,
    LoopAwareRedirectMiddleware,
    RedirectLoop,
    RetryAfterMiddleware,
    TooManyRedirects,
)
from crawler.spiders.base import START_URL, failure_reason
from crawler.spiders.sites import SchemaOrgSpider
from pipelines.records import PageRejected

FAULTS = Path(__file__).resolve().parent.parent / "fixtures" / "faults"
URL = "http://films.example/film/1.html"
MiB = 1024 * 1024


def _response(status: int, url: str = URL, **kw: Any) -> Response:
    return Response(url, status=status, request=Request(url), **kw)


def _lost(*reasons: BaseException) -> ResponseFailed:
    return ResponseFailed([Failure(r) for r in reasons])


def _wrapped(outer: BaseException, inner: BaseException) -> BaseException:
    """What ``wrap_twisted_exceptions`` raises: Scrapy's exception ``from`` Twisted's."""
    outer.__cause__ = inner
    return outer


CASES: list[tuple[str, Any, str, str]] = [
    # id, what the errback gets, reason, a piece of the detail
    ("timeout", DownloadTimeoutError("Getting u took longer than 2.0 seconds."), "timeout", "2.0"),
    ("tx-timeout", txerror.TimeoutError(), "timeout", "timeout"),
    ("tcp-timeout", txerror.TCPTimedOutError(), "timeout", ""),
    ("refused", DownloadConnectionRefusedError("Connection was refused"), "connection_refused",
     "refused"),
    ("tx-refused", txerror.ConnectionRefusedError(), "connection_refused", ""),
    ("dns", CannotResolveHostError("DNS lookup failed: films.invalid"), "dns_error", "invalid"),
    ("tx-dns", txerror.DNSLookupError("films.invalid"), "dns_error", ""),
    ("truncated", ResponseDataLossError(), "connection_lost", "cut short"),
    ("reset", _wrapped(DownloadFailedError("[<Failure ConnectionLost>]"),
                       _lost(txerror.ConnectionLost("reset by peer"))),
     "connection_lost", "ConnectionLost"),
    ("never-received", ResponseNeverReceived([Failure(txerror.ConnectionLost())]),
     "connection_lost", "ConnectionLost"),
    ("tx-lost", txerror.ConnectionLost(), "connection_lost", ""),
    ("no-route", txerror.NoRouteError(), "connection_failed", "NoRouteError"),
    ("tls", SSL.Error("certificate verify failed"), "tls_error", "certificate"),
    ("scheme", UnsupportedURLSchemeError("Unsupported URL scheme 'ftps'"), "unsupported_url",
     "ftps"),
    ("announced-too-large", DownloadCancelledError(
        "Expected to receive 52428800 bytes which is larger than download max size (10485760)"),
     "too_large", "52428800"),
    ("streamed-too-large", DownloadCancelledError(""), "too_large", "DOWNLOAD_MAXSIZE=10485760"),
    ("robots", IgnoreRequest("Forbidden by robots.txt"), "robots_disallowed", "robots.txt"),
    ("max-redirects", IgnoreRequest("max redirections reached"), "too_many_redirects", "max"),
    ("offsite", IgnoreRequest("Filtered offsite request to 'elsewhere.example'"), "offsite",
     "elsewhere"),
    ("other-ignore", IgnoreRequest("dropped by a middleware"), "ignored", "dropped"),
    ("loop", RedirectLoop(["http://a/1", "http://a/2", "http://a/1"]), "redirect_loop",
     "http://a/1 -> http://a/2 -> http://a/1"),
    ("chain", TooManyRedirects(["http://a/1", "http://a/2"]), "too_many_redirects", "a/2"),
    ("http-404", HttpError(_response(404)), "http_404", "HTTP 404"),
    ("http-503", HttpError(_response(503)), "http_503", "HTTP 503"),
    ("http-no-response", HttpError.__new__(HttpError), "http_error", ""),
    ("response-500", _response(500), "http_500", "HTTP 500"),
    ("failure", Failure(DownloadTimeoutError("slow")), "timeout", "slow"),
    ("unknown", ValueError("something new"), "download_error", "ValueError: something new"),
]  # fmt: skip


@pytest.mark.parametrize(("error", "reason", "detail"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_failure_reason(error: Any, reason: str, detail: str) -> None:
    got_reason, got_detail = failure_reason(error, max_bytes=10 * MiB)
    assert got_reason == reason
    assert detail in got_detail


# ------------------------------------------------------------------ Scrapy's own exceptions


def test_robots_refusal_as_scrapy_raises_it() -> None:
    crawler = get_crawler(Spider, {"ROBOTSTXT_OBEY": True})
    crawler.stats.open_spider()
    mw = RobotsTxtMiddleware.from_crawler(crawler)
    parser = ProtegoRobotParser.from_crawler(crawler, b"User-agent: *\nDisallow: /private/\n")
    with pytest.raises(IgnoreRequest) as info:
        mw.process_request_2(parser, Request("http://films.example/private/x.html"))
    assert failure_reason(info.value) == ("robots_disallowed", "Forbidden by robots.txt")


def _decompress(body: bytes, max_size: int) -> IgnoreRequest:
    crawler = get_crawler(Spider, {"DOWNLOAD_MAXSIZE": max_size})
    crawler.stats.open_spider()
    mw = HttpCompressionMiddleware.from_crawler(crawler)
    response = HtmlResponse(URL, body=body, headers={"Content-Encoding": "gzip"})
    with pytest.raises(IgnoreRequest) as info:
        mw.process_response(Request(URL), response)
    return info.value


def test_gzip_bomb_as_scrapy_refuses_it() -> None:
    error = _decompress(gzip.compress(bytes(20 * MiB)), max_size=MiB)
    reason, detail = failure_reason(error)
    assert reason == "gzip_bomb" and "during decompression" in detail


def test_a_big_compressed_page_is_too_large_not_a_bomb() -> None:
    rng = random.Random(7)
    words = [f"w{rng.randrange(50_000)}" for _ in range(400_000)]  # compresses ~3x
    page = ("<html><body>" + " ".join(words) + "</body></html>").encode()
    assert len(page) > MiB
    assert failure_reason(_decompress(gzip.compress(page), max_size=MiB))[0] == "too_large"


# ------------------------------------------------------------------ redirects


def _redirector(cls: type = LoopAwareRedirectMiddleware, max_times: int = 20) -> Any:
    crawler = get_crawler(Spider, {"REDIRECT_MAX_TIMES": max_times})
    crawler.spider = Spider.from_crawler(crawler, name="t")
    return cls.from_crawler(crawler)


def _follow(mw: Any, request: Request, location: str) -> Any:
    response = Response(request.url, status=302, headers={"Location": location}, request=request)
    return mw.process_response(request, response)


def test_a_redirect_is_followed() -> None:
    out = _follow(_redirector(), Request("http://films.example/a"), "/b")
    assert isinstance(out, Request) and out.url == "http://films.example/b"


def test_a_loop_back_to_the_chain_fails_with_the_chain() -> None:
    mw = _redirector()
    b = _follow(mw, Request("http://films.example/a"), "/b")
    with pytest.raises(RedirectLoop) as info:
        _follow(mw, b, "http://films.example/a")
    assert info.value.chain == ["http://films.example/a", "http://films.example/b",
                                "http://films.example/a"]  # fmt: skip


def test_a_page_redirecting_to_itself_is_a_loop() -> None:
    with pytest.raises(RedirectLoop):
        _follow(_redirector(), Request("http://films.example/a?x=1&y=2"), "/a?y=2&x=1")


def test_a_too_long_chain_is_too_many_redirects() -> None:
    mw = _redirector(max_times=3)
    request = Request("http://films.example/0")
    for n in range(1, 4):
        request = _follow(mw, request, f"/{n}")
    with pytest.raises(TooManyRedirects) as info:
        _follow(mw, request, "/4")
    assert [u.rsplit("/", 1)[1] for u in info.value.chain] == ["0", "1", "2", "3", "4"]


def test_a_meta_refresh_loop_is_a_loop_too() -> None:
    mw = _redirector(LoopAwareMetaRefreshMiddleware)
    request = Request("http://films.example/a")
    page = b'<html><head><meta http-equiv="refresh" content="0; url=/a"></head></html>'
    with pytest.raises(RedirectLoop):
        mw.process_response(request, HtmlResponse(request.url, body=page, request=request))


# ------------------------------------------------------------------ Retry-After


def test_retry_after_slows_the_slot_only_for_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    crawler = get_crawler(Spider, {"RETRY_TIMES": 2})
    crawler.spider = Spider.from_crawler(crawler, name="t")
    crawler.stats.open_spider()
    slot = SimpleNamespace(delay=0.5)
    crawler.engine = SimpleNamespace(downloader=SimpleNamespace(
        slots={"films.example": slot}, get_slot_key=lambda r: "films.example"))  # fmt: skip
    mw = RetryAfterMiddleware.from_crawler(crawler)
    now = [1000.0]
    monkeypatch.setattr(middlewares, "monotonic", lambda: now[0])
    request = Request(URL)
    mw.process_response(request, _response(429, headers={"Retry-After": "3"}))
    assert slot.delay == 3
    now[0] += 2
    mw.process_request(Request(URL))
    assert slot.delay == 3  # still waiting
    now[0] += 1.5
    mw.process_request(Request(URL))
    assert slot.delay == 0.5  # the wait is over: the host's own pace again


# ------------------------------------------------------------------ the spider


def _spider(**kwargs: Any) -> SchemaOrgSpider:
    crawler = get_crawler(SchemaOrgSpider)
    crawler.stats.open_spider()
    kwargs.setdefault("start_urls", "http://films.example/")
    return SchemaOrgSpider.from_crawler(crawler, **kwargs)


def _errback(spider: SchemaOrgSpider, error: BaseException, request: Request) -> list[Any]:
    failure = Failure(error)
    failure.request = request  # type: ignore[attr-defined]
    return list(spider.on_error(failure))


def _stats(spider: SchemaOrgSpider) -> dict[str, Any]:
    return {k: v for k, v in spider.crawler.stats.get_stats().items() if k.startswith("filmagg/")}


def test_a_dead_link_is_counted_not_quarantined() -> None:
    spider = _spider()
    request = Request("http://films.example/person/1")
    assert _errback(spider, HttpError(_response(404, request.url)), request) == []
    assert _stats(spider) == {"filmagg/not_found": 1}


@pytest.mark.parametrize("meta", [{START_URL: True}, {"filmagg_sitemap": True}])
def test_a_start_url_or_sitemap_answering_404_is_quarantined(meta: dict[str, Any]) -> None:
    spider = _spider()
    request = Request("http://films.example/sitemap.xml", meta=meta)
    (item,) = _errback(spider, HttpError(_response(404, request.url)), request)
    assert isinstance(item, PageRejected) and item.reason == "http_404"
    expected = {"filmagg/failed/http_404": 1}
    if START_URL in meta:
        expected["filmagg/start/failed"] = 1
    assert _stats(spider) == expected


def test_a_redirect_loop_quarantines_the_first_url_with_the_chain() -> None:
    spider = _spider()
    chain = ["http://films.example/a", "http://films.example/b", "http://films.example/a"]
    request = Request(chain[1], meta={"redirect_urls": chain[:1], START_URL: True})
    (item,) = _errback(spider, RedirectLoop(chain), request)
    assert (item.url, item.reason) == ("http://films.example/a", "redirect_loop")
    assert item.detail == " -> ".join(chain)
    assert _stats(spider) == {"filmagg/failed/redirect_loop": 1, "filmagg/start/failed": 1}


def test_a_failure_after_a_redirect_names_both_urls() -> None:
    spider = _spider()
    request = Request(
        "http://films.example/new", meta={"redirect_urls": ["http://films.example/old"]}
    )
    (item,) = _errback(spider, DownloadTimeoutError("slow"), request)
    assert item.url == "http://films.example/old" and "redirected from" in item.detail


def test_offsite_requests_and_links_are_counted() -> None:
    spider = _spider()
    request = Request("http://elsewhere.example/")
    assert _errback(spider, IgnoreRequest("Filtered offsite request to 'x'"), request) == []
    page = (b'<html><head><title>Films</title></head><body><p>Our films and more.</p>'
            b'<a href="http://elsewhere.example/f">x</a><a href="https://other.example/">y</a>'
            b'<a href="mailto:a@films.example">z</a><a href="/film/2">ok</a></body></html>')  # fmt: skip
    response = HtmlResponse("http://films.example/", body=page,
                            request=Request("http://films.example/", meta={START_URL: True}))  # fmt: skip
    out = list(spider.parse(response))
    assert [r.url for r in out if isinstance(r, Request)] == ["http://films.example/film/2"]
    # two offsite links and the offsite request; the mailto: link is skipped by the link rules
    assert _stats(spider) == {"filmagg/offsite": 3, "filmagg/start/fetched": 1,
                              "filmagg/links/skipped": 1}  # fmt: skip


def test_a_sitemap_gzip_bomb_is_quarantined_and_fails_the_start() -> None:
    spider = _spider(start_urls=None, sitemap="http://films.example/sitemap.xml.gz")
    request = Request("http://films.example/sitemap.xml.gz", meta={START_URL: True})
    response = Response(request.url, body=gzip.compress(bytes(20 * MiB)), request=request)
    (item,) = list(spider.parse_sitemap(response))
    assert item.reason == "gzip_bomb"
    assert _stats(spider) == {"filmagg/failed/gzip_bomb": 1, "filmagg/start/failed": 1}


def test_size_caps_follow_filmagg_max_page_bytes() -> None:
    def resolved(**cmdline: Any) -> tuple[int, int]:
        settings = Settings()
        settings.setmodule(project_settings, priority="project")
        settings.setdict(cmdline, priority="cmdline")
        SchemaOrgSpider.update_settings(settings)
        return settings.getint("DOWNLOAD_MAXSIZE"), settings.getint("DOWNLOAD_WARNSIZE")

    assert resolved() == (10 * MiB, 5 * MiB)
    assert resolved(FILMAGG_MAX_PAGE_BYTES=2 * MiB) == (2 * MiB, MiB)
    assert resolved(FILMAGG_MAX_PAGE_BYTES=2 * MiB, DOWNLOAD_MAXSIZE=3 * MiB) == (3 * MiB, MiB)


# ------------------------------------------------------------------ broken JSON-LD


def _page(
    head: str, body: str = "<h1>A film</h1>", url: str = "https://films.example/film/x"
) -> HtmlResponse:
    return HtmlResponse(url, body=f"<html><head>{head}</head><body>{body}</body></html>".encode())


def test_broken_jsonld_is_its_own_reason() -> None:
    response = HtmlResponse("https://films.example/film/joan",
                            body=(FAULTS / "broken-jsonld.html").read_bytes())  # fmt: skip
    assert len(unreadable_blocks(response)) == 1
    assert why_not_film(response) == "broken_jsonld"


def test_a_broken_block_beside_a_good_one_is_still_broken() -> None:
    good = '<script type="application/ld+json">{"@type": "Organization", "name": "F"}</script>'
    bad = "<script type=\"application/ld+json\">{'@type': 'Movie', 'name': 'X'}</script>"
    assert why_not_film(_page(good + bad)) == "broken_jsonld"


def test_repairable_jsonld_is_not_broken() -> None:
    head = ('<script type="application/ld+json"><!-- {"@type": "Movie", "name": "Nosferatu",'
            ' "datePublished": "1922",} --></script>')  # fmt: skip
    assert unreadable_blocks(_page(head)) == []
    assert why_not_film(_page(head)) is None  # a film: nothing to refuse


def test_a_js_shell_without_jsonld_is_still_a_js_shell() -> None:
    head = '<script src="/app.js"></script>'
    assert why_not_film(_page(head, '<div id="root"></div>')) == "js_shell"


def test_a_start_url_that_redirects_names_the_sites_host() -> None:
    spider = _spider(start_urls="http://films.example/")
    request = Request("https://www.films.example/",
                      meta={START_URL: True, "redirect_urls": ["http://films.example/"]})  # fmt: skip
    page = (
        b'<html><body><p>Films.</p><a href="https://www.films.example/film/1">x</a></body></html>'
    )
    response = HtmlResponse(request.url, body=page, request=request)
    out = [r.url for r in spider.parse(response) if isinstance(r, Request)]
    assert out == ["https://www.films.example/film/1"]
    assert "filmagg/offsite" not in _stats(spider)
