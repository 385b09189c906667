"""Parser speed: pages/s for each site's parser over the real pages in ../shared/real-pages.

    python bench/parse.py [--repeat 5]

Pages and their URLs come from tests/real_pages/<site>.json; the parser is chosen from the URL
as `filmagg parse` does. The bytes are read once (a crawl gets them from the network); each
round builds fresh responses (decoding included, as in a crawl) and runs the site's page
adapter and parser; the best of ``repeat`` rounds counts. Target: no parser below 200 pages/s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.parse import choose_site, response_for  # noqa: E402
from crawler.spiders.base import page_records  # noqa: E402

REAL = Path(os.environ.get("FILMAGG_REAL_PAGES", ROOT.parent / "shared" / "real-pages"))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if not REAL.is_dir():
        sys.exit(f"no real pages at {REAL} (set FILMAGG_REAL_PAGES)")
    pages: dict[str, list[tuple[Path, str]]] = defaultdict(list)
    for spec in sorted((ROOT / "tests" / "real_pages").glob("*.json")):
        for entry in json.loads(spec.read_text(encoding="utf-8")):
            site = choose_site(entry["url"])
            pages[site.name if site else "none"].append((REAL / entry["file"], entry["url"]))
    print(f"{'site parser':<16}{'pages':>6}{'MB':>7}{'pages/s':>10}")
    worst = None
    for name, items in sorted(pages.items()):
        bodies = [(p.read_bytes(), p, url) for p, url in items]
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            for body, path, url in bodies:  # bytes in memory, as a crawl gets them
                site = choose_site(url)
                list(page_records(site, response_for(path, url, body)))  # type: ignore[arg-type]
            best = min(best, time.perf_counter() - t0)
        rate = len(bodies) / best
        worst = rate if worst is None else min(worst, rate)
        mb = sum(len(b) for b, _, _ in bodies) / 1e6
        print(f"{name:<16}{len(bodies):>6}{mb:>7.1f}{rate:>10.0f}")
    print(f"slowest parser: {worst:.0f} pages/s (target >= 200)")


if __name__ == "__main__":
    main()
