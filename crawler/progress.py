"""A live progress line on the terminal while a crawl runs (``FILMAGG_PROGRESS``).

``filmagg crawl`` turns it on when stderr is a terminal and Scrapy's log goes to a file: the
terminal then shows one line, rewritten every ``FILMAGG_PROGRESS_INTERVAL`` seconds, and the
command's summary at the end; the detail is in the run's log file.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Mapping
from typing import Any, Self, TextIO

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector


def progress_text(name: str, stats: Mapping[str, Any], elapsed: float) -> str:
    """ "streamfinder  120 pages (4.0/s)  338 records  2 quarantined  1 error" """
    pages = stats.get("response_received_count", 0)
    records = sum(v for k, v in stats.items() if k.startswith("filmagg/valid/"))
    quarantined = stats.get("filmagg/stored/quarantined", 0)
    errors = sum(v for k, v in stats.items() if k.startswith("filmagg/failed/"))
    errors += stats.get("log_count/ERROR", 0)
    rate = pages / elapsed if elapsed > 0 else 0.0
    parts = [f"{name}", f"{pages} pages ({rate:.1f}/s)", f"{records} records"]
    if stats.get("filmagg/not_modified"):
        parts.append(f"{stats['filmagg/not_modified']} not modified")
    if quarantined:
        parts.append(f"{quarantined} quarantined")
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    return "  ".join(parts)


class ProgressLine:
    """Rewrites one terminal line with ``progress_text`` while the spider runs."""

    def __init__(self, stats: StatsCollector, interval: float = 1.0,
                 stream: TextIO | None = None) -> None:  # fmt: skip
        self.stats = stats
        self.interval = interval
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.name = "crawl"
        self._loop: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("FILMAGG_PROGRESS"):
            raise NotConfigured
        assert crawler.stats is not None
        ext = cls(crawler.stats, crawler.settings.getfloat("FILMAGG_PROGRESS_INTERVAL", 1.0))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        from twisted.internet import task

        self.name, self.started = spider.name, time.monotonic()
        self._loop = task.LoopingCall(self.show)
        self._loop.start(self.interval, now=True)

    def spider_closed(self, spider: Any) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self.stream.write("\r\x1b[K")  # the summary follows on a clean line
        self.stream.flush()

    def show(self) -> None:
        width = shutil.get_terminal_size((100, 20)).columns - 1
        text = progress_text(self.name, self.stats.get_stats(), time.monotonic() - self.started)
        self.stream.write("\r" + text[:width] + "\x1b[K")
        self.stream.flush()
