"""Issue 9: the generic spider follows what can lead to films, soonest what holds them, and
builds one request per distinct link. Pure decisions and spider output, no reactor."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler

from crawler.incremental import FOLLOWED, PageStateMiddleware
from crawler.sites.base import (
    PRIORITY_FILM,
    PRIORITY_LISTING,
    PRIORITY_OTHER,
    PRIORITY_SITEMAP,
    LinkDecision,
)
from crawler.sites.schema_org import GENERIC_LINKS
from crawler.spiders.base import OPTIONAL, SITEMAP
from crawler.spiders.sites import SchemaOrgSpider
from pipelines.records import PageFetched

BASE = "http://films.example.org"


@pytest.mark.parametrize(
    ("path", "kind", "priority"),
    [
        # pages that hold films
        ("/film/metropolis-1927.html", "film", PRIORITY_FILM),
        ("/movies/0007-silent-harbor-1990.html", "film", PRIORITY_FILM),
        ("/title/tt0017136/", "film", PRIORITY_FILM),
        ("/tv/the-wire/season/2", "film", PRIORITY_FILM),
        ("/review/0042.html", "review", PRIORITY_FILM),
        ("/reviews/metropolis", "review", PRIORITY_FILM),
        # listings, indexes, pagination
        ("/", "listing", PRIORITY_LISTING),
        ("/index.html", "listing", PRIORITY_LISTING),
        ("/a/index/3.html", "listing", PRIORITY_LISTING),
        ("/browse/3.html", "listing", PRIORITY_LISTING),
        ("/films/", "listing", PRIORITY_LISTING),
        ("/films/page/2", "listing", PRIORITY_LISTING),
        ("/latest?page=3", "listing", PRIORITY_LISTING),
        ("/anything?page=3", "listing", PRIORITY_LISTING),
        ("/sitemap.html", "listing", PRIORITY_LISTING),  # a page for people: a listing
        # XML sitemaps
        ("/sitemap.xml", "sitemap", PRIORITY_SITEMAP),
        ("/sitemap_index.xml", "sitemap", PRIORITY_SITEMAP),
        ("/sitemaps/films-sitemap.xml.gz", "sitemap", PRIORITY_SITEMAP),
        # pages we know nothing about
        ("/weekly-picks.html", "other", PRIORITY_OTHER),
        ("/faults/500", "other", PRIORITY_OTHER),
        ("/film-about-time", "other", PRIORITY_OTHER),  # whole segments only
        ("/about-time-2013.html", "other", PRIORITY_OTHER),
        ("/data/film.json", "listing", PRIORITY_LISTING),  # JSON-LD documents are read
        # skipped: people, taxonomy, account, legal, about, share/feed/search, assets
        ("/person/fritz-lang", "person", None),
        ("/people/", "person", None),
        ("/name/nm0000485/", "person", None),
        ("/film/metropolis/cast", "person", None),  # a film's cast page is a cast page
        ("/title/tt0017136/fullcredits", "person", None),
        ("/directors/fritz-lang.html", "person", None),
        ("/genre/drama", "taxonomy", None),
        ("/films/tags/silent", "taxonomy", None),
        ("/category/noir/page/2", "taxonomy", None),
        ("/login?next=/film/x", "account", None),
        ("/account/settings", "account", None),
        ("/signup", "account", None),
        ("/cart", "account", None),
        ("/checkout/", "account", None),
        ("/privacy-policy.html", "legal", None),
        ("/terms-of-service", "legal", None),
        ("/cookies", "legal", None),
        ("/impressum", "legal", None),
        ("/about.html", "about", None),
        ("/about-us/", "about", None),
        ("/contact", "about", None),
        ("/faq", "about", None),
        ("/careers", "about", None),
        ("/feed/", "share", None),
        ("/rss.xml", "share", None),
        ("/search", "share", None),
        ("/search?q=metropolis", "query", None),
        ("/film/metropolis?share=twitter", "query", None),
        ("/film/metropolis?print=1", "query", None),
        ("/?s=nosferatu", "query", None),
        ("/static/poster.JPG", "asset", None),
        ("/css/site.css", "asset", None),
        ("/js/app.min.js", "asset", None),
        ("/press-kit.pdf", "asset", None),
        ("/fonts/serif.woff2", "asset", None),
        ("/trailers/metropolis.mp4", "asset", None),
    ],
)
def test_what_the_generic_spider_follows(path: str, kind: str, priority: int | None) -> None:
    assert GENERIC_LINKS.decide(BASE + path) == LinkDecision(kind, priority)


@pytest.mark.parametrize(
    "url", ["mailto:films@example.org", "javascript:void(0)", "tel:+4930123", "data:,x"]
)
def test_other_schemes_are_skipped(url: str) -> None:
    assert GENERIC_LINKS.decide(url) == LinkDecision("scheme", None)


def test_films_come_before_listings_and_listings_before_the_rest() -> None:
    assert PRIORITY_SITEMAP > PRIORITY_FILM > PRIORITY_LISTING > PRIORITY_OTHER


# ------------------------------------------------------------------------------ the spider


def _spider(**settings: Any) -> SchemaOrgSpider:
    crawler = get_crawler(SchemaOrgSpider, settings_dict=settings)
    return SchemaOrgSpider.from_crawler(crawler, start_urls=f"{BASE}/index.html")


def _page(url: str, links: list[str]) -> TextResponse:
    body = "".join(f'<a href="{href}">x</a>' for href in links)
    return HtmlResponse(url, body=f"<html><body>{body}</body></html>".encode(), encoding="utf-8",
                        request=Request(url))  # fmt: skip


LINKS = [
    "film/metropolis-1927.html",
    "film/metropolis-1927.html#cast",  # the same page
    "/film/metropolis-1927.html",
    "index/2.html",
    "person/fritz-lang",
    "genre/drama",
    "about.html",
    "weekly-picks.html",
    "sitemap.xml",
    "mailto:films@example.org",
    "http://elsewhere.example/film/x.html",
    "http://elsewhere.example/film/x.html",
]


def test_one_request_per_distinct_link_with_its_priority() -> None:
    spider = _spider()
    out = list(spider.follow_links(_page(f"{BASE}/index.html", LINKS)))
    assert [(r.url, r.priority) for r in out] == [
        (f"{BASE}/film/metropolis-1927.html", PRIORITY_FILM),
        (f"{BASE}/index/2.html", PRIORITY_LISTING),
        (f"{BASE}/weekly-picks.html", PRIORITY_OTHER),
        (f"{BASE}/sitemap.xml", PRIORITY_SITEMAP),
    ]
    sitemap = out[-1]
    assert sitemap.callback == spider.parse_sitemap
    assert sitemap.meta[SITEMAP] and sitemap.meta[OPTIONAL]  # a missing one is no fault
    stats = spider.crawler.stats.get_stats()
    assert stats["filmagg/links/skipped"] == 4  # person, genre, about, mailto
    assert stats["filmagg/offsite"] == 1
    assert "filmagg/links/seen" not in stats


@pytest.mark.parametrize(
    ("settings", "skips_seen"),
    [
        ({}, True),  # incremental: the page's links are remembered whole all the same
        ({"FILMAGG_INCREMENTAL": False}, True),
        ({"DEPTH_LIMIT": 3}, False),  # a link dropped deep may come again from a shallower page
    ],
)
def test_links_already_requested_are_not_built_again(
    settings: dict[str, Any], skips_seen: bool
) -> None:
    spider = _spider(**settings)
    assert spider.skip_seen_links is skips_seen
    first = list(spider.follow_links(_page(f"{BASE}/index.html", LINKS)))
    page = _page(
        f"{BASE}/index/2.html", ["/film/metropolis-1927.html", "/film/nosferatu-1922.html"]
    )
    again = list(spider.follow_links(page))
    assert len(first) == 4
    urls = [r.url for r in again]
    if skips_seen:
        assert urls == [f"{BASE}/film/nosferatu-1922.html"]
        assert spider.crawler.stats.get_value("filmagg/links/seen") == 1
    else:
        assert urls == [f"{BASE}/film/metropolis-1927.html", f"{BASE}/film/nosferatu-1922.html"]
    # every link the page led to is listed, skipped or not
    assert page.meta[FOLLOWED] == [("parse", f"{BASE}/film/metropolis-1927.html"),
                                   ("parse", f"{BASE}/film/nosferatu-1922.html")]  # fmt: skip


def test_a_page_remembers_links_it_did_not_yield_again() -> None:
    """PageStateMiddleware stores a page's links and kind from what it led to, not from the
    requests that reached it: a listing whose links were all requested before is a listing."""
    spider = _spider()
    spider.crawler.spider = spider
    mw = PageStateMiddleware.from_crawler(spider.crawler)
    list(spider.follow_links(_page(f"{BASE}/index.html", ["/film/metropolis-1927.html"])))
    page = _page(f"{BASE}/index/2.html", ["/film/metropolis-1927.html"])
    out = list(mw.process_spider_output(page, spider.follow_links(page)))
    assert len(out) == 1 and isinstance(out[0], PageFetched)
    assert out[0].kind == "listing"
    assert [tuple(link) for link in out[0].links] == [
        ("parse", f"{BASE}/film/metropolis-1927.html")
    ]


def test_real_site_rules_keep_their_follow_patterns() -> None:
    from crawler.sites import all_sites

    rules = all_sites()["cinepedia"]
    assert rules.links is None
    for url in ("http://127.0.0.1:8157/cinepedia/index.html", "http://127.0.0.1:8157/other"):
        decision = rules.decide_link(url)
        assert (decision.priority == 0) is rules.should_follow(url)


def _robots(body: bytes, status: int = 200) -> TextResponse:
    request = Request(f"{BASE}/robots.txt", meta={OPTIONAL: True})
    return TextResponse(f"{BASE}/robots.txt", status=status, body=body, request=request)


def test_robots_sitemaps_are_asked_for_first() -> None:
    spider = _spider()
    body = (b"User-agent: *\nDisallow: /private/\nSitemap: /sitemap_index.xml\n"
            b"sitemap: http://elsewhere.example/sitemap.xml\n")  # fmt: skip
    out = list(spider.parse_robots(_robots(body)))
    assert [(r.url, r.priority, r.callback) for r in out] == [
        (f"{BASE}/sitemap_index.xml", PRIORITY_SITEMAP, spider.parse_sitemap)
    ]
    assert out[0].meta[OPTIONAL]
    assert list(spider.parse_robots(_robots(b"User-agent: *\n"))) == []  # none: carry on


async def _start(spider: SchemaOrgSpider) -> list[Request]:
    return [r async for r in spider.start()]


@pytest.mark.parametrize(("sitemaps_first", "first"), [(True, "robots.txt"), (False, "index.html")])
def test_sitemaps_first_is_switchable(sitemaps_first: bool, first: str) -> None:
    spider = _spider(FILMAGG_SITEMAPS_FIRST=sitemaps_first)
    requests = asyncio.run(_start(spider))
    assert requests[0].url == f"{BASE}/{first}"
    assert len(requests) == (2 if sitemaps_first else 1)


def test_a_sitemap_it_was_not_given_keeps_to_the_rules() -> None:
    spider = _spider()
    urls = "".join(f"<url><loc>{BASE}{p}</loc></url>" for p in ("/film/a.html", "/about.html"))
    body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()
    for optional, expected in ((True, ["/film/a.html"]), (False, ["/film/a.html", "/about.html"])):
        request = Request(f"{BASE}/sitemap.xml", meta={SITEMAP: True, OPTIONAL: optional})
        response = TextResponse(f"{BASE}/sitemap.xml", body=body, request=request)
        out = [r for r in spider.parse_sitemap(response) if isinstance(r, Request)]
        assert [r.url.removeprefix(BASE) for r in out] == expected
        assert out[0].priority == PRIORITY_FILM


def test_with_robotstxt_obey_scrapys_robots_txt_is_used() -> None:
    from scrapy.robotstxt import ProtegoRobotParser

    spider = _spider(ROBOTSTXT_OBEY=True)
    assert [r.url for r in asyncio.run(_start(spider))] == [f"{BASE}/index.html"]  # no 2nd fetch
    crawled: list[Request] = []
    spider.crawler.engine = type("Engine", (), {"crawl": staticmethod(crawled.append)})()
    parser = ProtegoRobotParser.from_crawler(spider.crawler, b"Sitemap: /sitemap.xml\n")
    spider.robots_parsed(parser, Request(f"{BASE}/index.html"))
    spider.robots_parsed(parser, Request("http://elsewhere.example/x"))  # not this crawl's host
    assert [(r.url, r.priority) for r in crawled] == [(f"{BASE}/sitemap.xml", PRIORITY_SITEMAP)]


def test_an_unchanged_page_follows_its_remembered_links_as_a_parsed_page_would() -> None:
    """A 304 page's stored links come back with today's rules' priority, each once per crawl
    (a link a page parsed now already requested is not built again), a sitemap as a sitemap;
    a link the rules now skip was followed for a reason (a given sitemap listed it) and keeps
    the lowest priority."""
    spider = _spider()
    spider.crawler.spider = spider
    mw = PageStateMiddleware.from_crawler(spider.crawler)
    list(spider.follow_links(_page(f"{BASE}/index.html", ["/film/metropolis-1927.html"])))
    remembered = [["parse", f"{BASE}/film/metropolis-1927.html"],
                  ["parse", f"{BASE}/film/nosferatu-1922.html"],
                  ["parse", f"{BASE}/index/2.html"],
                  ["parse_sitemap", f"{BASE}/sitemap.xml"],
                  ["parse", f"{BASE}/person/fritz-lang"],
                  ["parse", f"{BASE}/film/nosferatu-1922.html"]]  # fmt: skip
    out = list(mw._follow_again(remembered))
    assert [(r.url, r.priority, r.callback) for r in out] == [
        (f"{BASE}/film/nosferatu-1922.html", PRIORITY_FILM, spider.parse),
        (f"{BASE}/index/2.html", PRIORITY_LISTING, spider.parse),
        (f"{BASE}/sitemap.xml", PRIORITY_SITEMAP, spider.parse_sitemap),
        (f"{BASE}/person/fritz-lang", 0, spider.parse),
    ]
    assert out[2].meta[SITEMAP] and out[2].meta[OPTIONAL]
    assert spider.crawler.stats.get_value("filmagg/links/seen") == 2
