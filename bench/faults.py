"""A crawl of a hostile site (issue 8): peak memory and time of ``filmagg crawl`` against the
fault server of ``tests/faultserver.py``, with and without its huge pages, in one run.

    python bench/faults.py [--trials 3] [--huge 16] [--cap-mb 10]

Each trial crawls the fault server twice, in separate processes:

* **hostile**: the full fault site: ``--huge`` concurrent 50 MB chunked pages, a 50 MB page
  with a Content-Length, a gzip bomb, redirect loops and chains, resets, truncated bodies, a
  slow page, 500/503/429, robots.txt refusals, broken JSON-LD;
* **control**: the same site without the huge pages and the bomb.

Prints, per trial and crawl: wall seconds, peak RSS of the crawl process (``wait4``), the
quarantine reasons, and the hostile/control RSS ratio. The size cap is
``FILMAGG_MAX_PAGE_BYTES`` (``--cap-mb``): Scrapy cancels a body that passes it while streaming,
so the huge pages should cost about what the control costs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import test_faults_e2e as e2e  # noqa: E402
from tests.faultserver import FaultServer  # noqa: E402


def one(huge: int, bomb: bool, cap_mb: int) -> e2e.Crawl:
    e2e.SETTINGS["FILMAGG_MAX_PAGE_BYTES"] = str(cap_mb * 1024 * 1024)
    e2e.SETTINGS["CONCURRENT_REQUESTS"] = e2e.SETTINGS["CONCURRENT_REQUESTS_PER_DOMAIN"] = str(
        max(16, huge)
    )
    kwargs = {"huge_pages": huge} if bomb else {"huge_pages": 0, "bomb_bytes": 0}
    with tempfile.TemporaryDirectory(prefix="filmagg-bench-faults-") as tmp, \
            FaultServer(**kwargs) as server:  # fmt: skip
        return e2e.crawl(Path(tmp), start_urls=server.url("/index.html"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--huge", type=int, default=16, help="concurrent 50 MB pages (default 16)")
    ap.add_argument("--cap-mb", type=int, default=10, help="FILMAGG_MAX_PAGE_BYTES in MiB")
    args = ap.parse_args()
    print(
        f"{'trial':<6} {'crawl':<8} {'wall s':>7} {'peak RSS MB':>12}  status / quarantine reasons"
    )
    ratios = []
    for trial in range(1, args.trials + 1):
        rss = {}
        for label, huge, bomb in (("hostile", args.huge, True), ("control", 0, False)):
            c = one(huge, bomb, args.cap_mb)
            rss[label] = c.peak_rss_mb
            reasons = Counter(reason for reason, _ in c.quarantine.values())
            print(f"{trial:<6} {label:<8} {c.wall:>7.1f} {c.peak_rss_mb:>12.0f}  {c.status}; "
                  + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))  # fmt: skip
        ratios.append(rss["hostile"] / rss["control"])
    print("hostile / control peak RSS: " + ", ".join(f"{r:.2f}" for r in ratios))


if __name__ == "__main__":
    main()
