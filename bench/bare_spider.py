"""A bare Scrapy spider doing filmagg's generic extraction and nothing else: the yardstick of
``bench/crawl.py``.

Why: filmagg's crawl cost is Scrapy's plus our middlewares, pipelines and catalog writes. This
spider fetches the same pages (every same-host ``<a href>``, fragments dropped, Scrapy's
dupefilter), runs the same parser (``crawler.sites.schema_org.parse_page``) and writes the
records to a JSON Lines feed, so the ratio of the two crawls' pages/s is what filmagg adds.
It reads no project settings (``scrapy.cfg`` names filmagg's): only Scrapy's defaults and the
profile's.

    python bench/bare_spider.py --start-urls URL[,URL...] --feed out.jsonl --stats stats.json \
        [--profile tuned|defaults]

``--links rules`` follows only the links filmagg's generic rules follow (``GENERIC_LINKS``, with
their priorities), so it fetches the same pages as ``filmagg crawl schema_org``: the like-for-like
yardstick. ``tuned``: CONCURRENT_REQUESTS 16, per domain 16, CONCURRENT_ITEMS 10. ``defaults``: Scrapy's
(16, per domain 8, items 100). Both: no delay, no AutoThrottle, robots.txt not read, log at
WARNING (Scrapy's DEBUG default would measure the logger).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, bench/ leads sys.path, and bench/incremental.py would shadow the
# ``incremental`` package Twisted imports: the repository root takes its place.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (HERE, ROOT)]

import scrapy  # noqa: E402
from scrapy.http import Response, TextResponse  # noqa: E402

from crawler.sites.base import NoFilmData  # noqa: E402
from crawler.sites.schema_org import RULES, parse_page  # noqa: E402

COMMON = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "ROBOTSTXT_OBEY": False,
          "LOG_LEVEL": "WARNING", "FEED_EXPORT_ENCODING": "utf-8"}  # fmt: skip
PROFILES: dict[str, dict[str, Any]] = {
    "tuned": {
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "CONCURRENT_ITEMS": 10,
    },  # fmt: skip
    "defaults": {},
}


class BareSpider(scrapy.Spider):
    """Start URLs, same-host links, ``parse_page`` on every page; nothing else."""

    name = "bare"

    def __init__(self, start_urls: str = "", stats_path: str = "", links: str = "all",
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(**kwargs)
        self.start_urls = [u.strip() for u in start_urls.split(",") if u.strip()]
        self.allowed_hosts = {urlsplit(u).netloc for u in self.start_urls}
        self.stats_path = stats_path
        self.use_rules = links == "rules"

    async def start(self) -> AsyncIterator[Any]:
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            return
        try:
            records = parse_page(response)
        except NoFilmData:
            records = []
        for record in records:
            yield record.model_dump(mode="json")
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href.strip()).split("#", 1)[0]
            if urlsplit(url).netloc not in self.allowed_hosts:
                continue
            if not self.use_rules:
                yield scrapy.Request(url, callback=self.parse)
            elif (priority := RULES.decide_link(url).priority) is not None:
                yield scrapy.Request(url, callback=self.parse, priority=priority)

    def closed(self, reason: str) -> None:
        """Scrapy's stats, for the benchmark to read (the feed holds only records)."""
        if self.stats_path and self.crawler.stats is not None:
            stats = self.crawler.stats.get_stats()
            Path(self.stats_path).write_text(json.dumps(stats, default=str), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--start-urls", required=True, help="comma-separated")
    ap.add_argument("--feed", required=True, type=Path, help="the JSON Lines output")
    ap.add_argument("--stats", required=True, type=Path, help="Scrapy's stats, as JSON")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="tuned")
    ap.add_argument("--links", choices=("all", "rules"), default="all",
                    help="follow every same-host link, or only those filmagg's generic rules "
                         "follow (GENERIC_LINKS: the same pages filmagg fetches)")  # fmt: skip
    args = ap.parse_args(argv)
    from scrapy.crawler import AsyncCrawlerProcess

    settings = {**COMMON, **PROFILES[args.profile],
                "FEEDS": {str(args.feed): {"format": "jsonlines", "overwrite": True}}}  # fmt: skip
    process = AsyncCrawlerProcess(settings)
    process.crawl(BareSpider, start_urls=args.start_urls, stats_path=str(args.stats),
                  links=args.links)  # fmt: skip
    process.start()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
