"""The Scrapy item pipeline: a thin adapter over normalize -> validate -> store/resolve.

Items are the scraped-record models of ``pipelines.records``; ``PageRejected`` items (empty,
huge, undecodable or non-film pages, download errors) go straight to quarantine. Records are
buffered and stored in batches of ``FILMAGG_BATCH_SIZE``, one transaction each; at close the
run is settled (pending references resolved, text checks run) and recorded in ``crawl_run``.
"""

from __future__ import annotations

import logging
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from pipelines.catalog.db import get_engine
from pipelines.catalog.store import Accepted, Catalog, Rejected
from pipelines.normalize import normalize
from pipelines.records import PageRejected
from pipelines.validate import Invalid, validate

logger = logging.getLogger(__name__)


def to_storable(item: Any, stats: StatsCollector | None = None) -> Accepted | Rejected | None:
    """One scraped item to what the store takes, counting outcomes under ``filmagg/``;
    ``None`` for an ordinary non-film page (a listing, a search page), which is only counted."""
    if isinstance(item, PageRejected):
        if item.reason.startswith("no_film_data/"):
            _inc(stats, f"filmagg/{item.reason}")
            if not item.quarantine:
                logger.debug("no film data on %s: %s", item.url, item.detail)
                return None
        else:
            _inc(stats, f"filmagg/rejected/{item.reason}")
        return Rejected(site=item.site, url=item.url, record_type="page", reason=item.reason,
                        errors=[{"field": "", "error": item.reason, "message": item.detail}],
                        raw={"excerpt": item.raw} if item.raw else None)  # fmt: skip
    raw = item.model_dump(mode="json")
    normalized = normalize(item)
    for problem in normalized.unreadable:
        _inc(stats, f"filmagg/unreadable/{problem.split(':', 1)[0]}")
    try:
        record = validate(normalized.data)
    except Invalid as exc:
        _inc(stats, f"filmagg/invalid/{exc.reason}")
        return Rejected(site=item.site, url=item.url, record_type=item.type, reason=exc.reason,
                        errors=[p.as_dict() for p in exc.problems], raw=raw)  # fmt: skip
    _inc(stats, f"filmagg/valid/{record.type}")
    return Accepted(record=record, raw=raw)


def _inc(stats: StatsCollector | None, key: str) -> None:
    if stats is not None:
        stats.inc_value(key)


class CatalogPipeline:
    """Stores every scraped record in the catalog named by ``FILMAGG_DB``."""

    def __init__(
        self, db_url: str | None, batch_size: int = 200, crawler: Crawler | None = None
    ) -> None:
        self.db_url = db_url
        self.batch_size = max(1, batch_size)
        self.crawler = crawler
        self.buffer: list[Accepted | Rejected] = []
        self.catalog: Catalog | None = None
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        return cls(db_url=s.get("FILMAGG_DB"), batch_size=s.getint("FILMAGG_BATCH_SIZE", 200),
                   crawler=crawler)  # fmt: skip

    @property
    def stats(self) -> StatsCollector | None:
        return self.crawler.stats if self.crawler else None

    def open_spider(self) -> None:
        self.catalog = Catalog(get_engine(self.db_url))
        spider = self.crawler.spider if self.crawler else None
        args = (
            {k: v for k, v in vars(spider).items() if isinstance(v, str | int | float | list)}
            if spider
            else {}
        )
        self.run_id = self.catalog.start_run(getattr(spider, "name", "?"), args)

    def process_item(self, item: Any) -> Any:
        storable = to_storable(item, self.stats)
        if storable is not None:
            self.buffer.append(storable)
        if len(self.buffer) >= self.batch_size:
            self.flush()
        return item

    def flush(self) -> None:
        if not self.buffer or self.catalog is None:
            return
        batch, self.buffer = self.buffer, []
        result = self.catalog.store(batch, self.run_id)
        for outcome, n in result.counts.items():
            _inc_by(self.stats, f"filmagg/stored/{outcome}", n)
        logger.info("stored a batch of %d records: %s", len(batch), dict(result.counts))

    def close_spider(self) -> None:
        if self.catalog is None:
            return
        self.flush()
        counts = self.catalog.settle()
        for key, n in counts.items():
            _inc_by(self.stats, f"filmagg/settle/{key}", n)
        stats = self.stats.get_stats() if self.stats else {}
        reason = stats.get("finish_reason", "finished")
        self.catalog.finish_run(self.run_id, str(reason), stats)  # type: ignore[arg-type]


def _inc_by(stats: StatsCollector | None, key: str, n: int) -> None:
    if stats is not None:
        stats.inc_value(key, n)
