"""Catalog pipeline throughput: scraped film records through normalize -> validate -> resolve
-> store into a file SQLite catalog (or --db URL), then the same records again (a re-crawl
that changes nothing).

    python bench/pipeline.py [--records 3000] [--db URL]

Records come from bench/identity.py's synthetic generator (three sources, realistic variation).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from identity import synthetic_records  # noqa: E402
from scrapy.utils.test import get_crawler  # noqa: E402

from pipelines.records import ScrapedCredit, ScrapedFilm  # noqa: E402
from pipelines.stages import CatalogPipeline  # noqa: E402


def scraped(n: int) -> list[ScrapedFilm]:
    out = []
    for prof, _ in synthetic_records(n):
        source = prof.id.split("-")[0]
        out.append(ScrapedFilm(
            site=f"source{source}", url=f"https://source{source}.example/film/{prof.id}", title=prof.titles[0],
            year=str(prof.year) if prof.year else None, runtime=str(prof.runtime) if prof.runtime else None,
            credits=[ScrapedCredit(name=d, role="director") for d in prof.directors]
            + [ScrapedCredit(name=c) for c in prof.cast],
            external_ids=prof.external_ids,
        ))  # fmt: skip
    return out


def run(items: list[ScrapedFilm], db: str) -> float:
    crawler = get_crawler(settings_dict={"FILMAGG_DB": db})
    crawler.stats.open_spider()
    pipeline = CatalogPipeline.from_crawler(crawler)
    t0 = time.perf_counter()
    pipeline.open_run()
    pipeline.ingest(items)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--records", type=int, default=3000)
    ap.add_argument("--db", help="SQLAlchemy URL (default: a temporary SQLite file)")
    args = ap.parse_args()
    items = scraped(args.records)
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        first = run(items, db)
        again = run(items, db)
    n = len(items)
    print(f"new records:       {n:,} in {first:.1f}s = {n / first:,.0f} records/s")
    print(f"re-crawl, unchanged: {n:,} in {again:.1f}s = {n / again:,.0f} records/s")


if __name__ == "__main__":
    main()
