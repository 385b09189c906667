"""What a site module declares: how to walk the site and which parser reads which page.

A site module holds no Scrapy spider; ``crawler.spiders`` builds one from its ``SiteRules``.
Parsers are pure functions ``(response) -> list[ScrapedRecord]`` over a Scrapy
``TextResponse`` (only ``.url``, ``.text``, ``.css``/``.xpath`` are used), so tests call them
on ``HtmlResponse`` objects built from fixture files, with no reactor.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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

    def parser_for(self, url: str) -> Parser | None:
        for route in self.routes:
            if route.matches(url):
                return route.parser
        return None

    def should_follow(self, url: str) -> bool:
        path = urlsplit(url).path
        return any(re.search(p, path) for p in self.follow)
