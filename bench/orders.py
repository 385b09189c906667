"""Crawl order, checked the way issue 7 found it: separate `filmagg crawl` processes, one per
site, into fresh catalogs, in every order; then `filmagg resolve --rebuild` on each.

    python bench/orders.py [--films 60] [--db sqlite|postgres]

Prints, per order: works, records, flags, unattached records, whether the catalog equals the
first order's (``tests/catalog_compare``, modulo work ids), and whether the rebuild changed the
catalog or any work id. Covers the three demo sites in all six orders and the generated
two-host site (``tests/sitegen``) in three orders (A then B, B then A, the two interleaved).
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.cli import serve_directory  # noqa: E402
from tests import sitegen  # noqa: E402
from tests.catalog_compare import diff, fresh_catalog, read_tables, snapshot  # noqa: E402

FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "LOG_LEVEL=ERROR"]


def filmagg(*args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "crawler.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(
            f"filmagg {' '.join(args[:3])} … exited {done.returncode}:\n{done.stderr[-2000:]}"
        )


def work_ids(url: str) -> dict[str, object]:
    return {f"{r['site']}|{r['url']}|{r['type']}|{r['item_key']}": r["work_id"]
            for r in read_tables(url)["source_record"]}  # fmt: skip


def figures(snap: dict) -> str:
    flags = len(snap["flags"])
    unattached = sum(1 for r in snap["records"].values() if r["work"] is None)
    return f"{len(snap['works']):>5} {len(snap['records']):>7} {flags:>5} {unattached:>10}"


def check(label: str, url: str, crawls: list[list[str]], first: dict | None) -> dict:
    started = time.monotonic()
    for args in crawls:
        filmagg("crawl", *args, "--db", url, *FAST)
    snap, ids = snapshot(url), work_ids(url)
    filmagg("resolve", "--rebuild", "--db", url)
    rebuilt_same = snapshot(url) == snap and work_ids(url) == ids
    same = first is None or snap == first
    print(f"{label:<44} {figures(snap)} {'yes' if same else 'NO':>6} "
          f"{'none' if rebuilt_same else 'CHANGED':>9} {time.monotonic() - started:6.1f}s")  # fmt: skip
    if not same:
        print(diff(first, snap, ("first order", label)))  # type: ignore[arg-type]
    return snap


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--films", type=int, default=60)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = ap.parse_args()
    print(f"{'order':<44} {'works':>5} {'records':>7} {'flags':>5} {'unattached':>10} "
          f"{'equal':>6} {'rebuild':>9}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with serve_directory(ROOT / "fixtures" / "sites") as base:
            first = None
            for n, order in enumerate(
                itertools.permutations(("cinepedia", "streamfinder", "reelreviews"))
            ):
                with fresh_catalog(args.db, tmp, f"demo{n}") as url:
                    crawls = [[site, "-a", f"base_url={base}"] for site in order]
                    first = check("demo: " + " > ".join(order), url, crawls, first)
        site = sitegen.generate(tmp / "site", args.films, seed=7)
        with sitegen.serve(site.root) as server:
            pages = {h: site.record_pages(hosts=(h,)) for h in sitegen.HOSTS}
            urls = {h: sitegen.start_urls(server.bases, p) for h, p in pages.items()}
            a, b = sitegen.HOSTS
            mixed = [u for pair in itertools.zip_longest(urls[a], urls[b]) for u in pair if u]
            plans = {f"{a} > {b}": [urls[a], urls[b]], f"{b} > {a}": [urls[b], urls[a]],
                     "interleaved halves": [mixed[: len(mixed) // 2], mixed[len(mixed) // 2 :]]}  # fmt: skip
            first = None
            for n, (label, runs) in enumerate(plans.items()):
                with fresh_catalog(args.db, tmp, f"gen{n}") as url:
                    crawls = [["schema_org", "-a", "start_urls=" + ",".join(r),
                               "-s", "ROBOTSTXT_OBEY=False"] for r in runs]  # fmt: skip
                    first = check(f"{args.films}-film site: {label}", url, crawls, first)


if __name__ == "__main__":
    main()
