"""What a site module declares: how to walk the site and which parser reads which page.

A site module holds no Scrapy spider; ``crawler.spiders`` builds one from its ``SiteRules``.
Parsers are pure functions ``(response) -> list[ScrapedRecord]`` over a Scrapy
``TextResponse`` (only ``.url``, ``.text``, ``.css``/``.xpath`` are used), so tests call them
on ``HtmlResponse`` objects built from fixture files, with no reactor.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from scrapy.http import TextResponse

from pipelines.records import ScrapedRecord

Parser = Callable[[TextResponse], list[ScrapedRecord]]


# Reasons that only say the page is another ordinary kind of page: counted, not quarantined.
ORDINARY_PAGES = frozenset(
    {"listing", "search_results", "person_page", "not_a_film_page", "no_film_data"}
)


class NoFilmData(Exception):
    """The page is readable but holds no film data (a consent wall, a search page, ...).

    ``reason`` is a short slug counted in stats (``filmagg/no_film_data/<reason>``);
    the message says why in words.
    """

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason


def not_film(reason: str, message: str) -> Parser:
    """A parser for pages of a kind that never holds film data (search, listing, person
    pages): routing them keeps the reason, instead of a vague "no parser" outcome."""

    def parse(response: TextResponse) -> list[ScrapedRecord]:
        raise NoFilmData(reason, message)

    parse.__name__ = f"not_film_{reason}"
    return parse


@dataclass(frozen=True)
class Route:
    """Pages whose URL path matches ``pattern`` are read by ``parser``."""

    pattern: str
    parser: Parser

    def matches(self, url: str) -> bool:
        return re.search(self.pattern, urlsplit(url).path) is not None


@dataclass(frozen=True)
class SiteRules:
    """A site: its name, hosts, where a crawl starts, what it follows, who parses what."""

    name: str
    routes: Sequence[Route]
    follow: Sequence[str] = ()  # regexes over the URL path; links matching them are followed
    hosts: Sequence[str] = ()  # real sites' hostnames (for `filmagg parse` dispatch)
    start_path: str = "/"  # path of the index page, relative to a base URL
    settings: dict[str, Any] = field(default_factory=dict)  # politeness defaults etc.
    # ranks links instead of ``follow`` when given (the generic spider: see ``LinkPolicy``)
    links: LinkPolicy | None = None

    def parser_for(self, url: str) -> Parser | None:
        for route in self.routes:
            if route.matches(url):
                return route.parser
        return None

    def should_follow(self, url: str) -> bool:
        path = urlsplit(url).path
        return any(re.search(p, path) for p in self.follow)

    def decide_link(self, url: str) -> LinkDecision:
        """Whether a link is followed, and how soon: the site's ``links`` policy, else its
        ``follow`` patterns (followed at priority 0)."""
        if self.links is not None:
            return self.links.decide(url)
        return LinkDecision("follow", 0) if self.should_follow(url) else LinkDecision("skip", None)


# ---------------------------------------------------------------------- link policy

# Request priorities (higher is fetched sooner): pages that hold films come before the
# listings that lead to them, listings before pages we know nothing about.
PRIORITY_SITEMAP = 100
PRIORITY_FILM = 20
PRIORITY_LISTING = 10
PRIORITY_OTHER = 0


class LinkDecision(NamedTuple):
    """What a link is (``kind``) and its request priority; ``priority`` None: not followed."""

    kind: str
    priority: int | None


@dataclass(frozen=True)
class LinkPolicy:
    """Which links lead to films, as data. ``decide`` is the pure function reading it.

    ``skip``, ``listing`` and ``content`` are ``(kind, regex)`` pairs matched in full against
    each path segment (lower-cased, its extension dropped): any ``skip`` segment drops the
    link (a film's cast page is a cast page), then ``listing`` segments make it a listing, then
    a ``content`` segment makes it a film or review page when more path follows it
    (``/film/metropolis``) and a listing when it ends the path (``/films/``)."""

    skip: Sequence[tuple[str, str]] = ()
    listing: Sequence[tuple[str, str]] = ()
    content: Sequence[tuple[str, str]] = ()
    skip_extensions: frozenset[str] = frozenset()  # static assets, without the dot
    skip_query_keys: frozenset[str] = frozenset()  # share/print/feed/search parameters
    paging_query_keys: frozenset[str] = frozenset()  # ?page=2: a listing
    sitemap: str = r"(.*[-_])?sitemap([-_].*)?"  # last segment's stem of an XML sitemap
    schemes: frozenset[str] = frozenset({"http", "https"})

    def decide(self, url: str) -> LinkDecision:
        parts = urlsplit(url)
        if parts.scheme.lower() not in self.schemes:
            return LinkDecision("scheme", None)  # mailto:, javascript:, tel:, data:, ...
        segments = [s for s in parts.path.lower().split("/") if s]
        stems = [posixpath.splitext(s)[0] for s in segments]
        last = segments[-1] if segments else ""
        name, ext = posixpath.splitext(last.removesuffix(".gz"))  # sitemap.xml.gz
        if ext == ".xml" and re.fullmatch(self.sitemap, name):
            return LinkDecision("sitemap", PRIORITY_SITEMAP)
        if posixpath.splitext(last)[1][1:] in self.skip_extensions:
            return LinkDecision("asset", None)
        keys = {k.lower() for k, _ in parse_qsl(parts.query, keep_blank_values=True)}
        if keys & self.skip_query_keys:
            return LinkDecision("query", None)
        for kind, pattern in self.skip:
            if any(re.fullmatch(pattern, s) for s in stems):
                return LinkDecision(kind, None)
        for kind, pattern in self.listing:
            if any(re.fullmatch(pattern, s) for s in stems):
                return LinkDecision(kind, PRIORITY_LISTING)
        for kind, pattern in self.content:
            for i, stem in enumerate(stems):
                if re.fullmatch(pattern, stem):
                    if i + 1 < len(stems):
                        return LinkDecision(kind, PRIORITY_FILM)
                    return LinkDecision("listing", PRIORITY_LISTING)
        if not stems or keys & self.paging_query_keys:
            return LinkDecision("listing", PRIORITY_LISTING)  # a home page, ?page=3
        return LinkDecision("other", PRIORITY_OTHER)
