"""Incremental re-crawls (issue 8): what a re-crawl of an unchanged site costs against the first
crawl, measured in one run on the generated two-host site (``tests/sitegen``).

    python bench/incremental.py [--films 300] [--edits 5]

Four ``filmagg crawl schema_org`` processes into one fresh SQLite catalog, from the two hosts'
index pages:

1. first: every page fetched and stored;
2. unchanged, all due (``FILMAGG_REFRESH_AFTER`` 0 for every kind): every page is asked
   conditionally and answers 304;
3. unchanged, default policy: film and review pages are not due (a week), only the start pages
   are fetched;
4. after editing ``--edits`` film pages (a new synopsis sentence), all due: those pages come
   back 200 and exactly their records change.

Prints per crawl: wall seconds, responses, 304s, pages skipped as not due, bytes received,
records stored by outcome, and source_record rows whose content changed (everything but
``last_seen``), then the re-crawls' wall time as a fraction of the first's.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import sitegen  # noqa: E402

FAST = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "ROBOTSTXT_OBEY": "False",
        "LOG_LEVEL": "WARNING"}  # fmt: skip
ALL_DUE = json.dumps({k: 0 for k in ("film", "review", "listing", "sitemap", "other")})


def crawl(db: str, urls: list[str], **settings: str) -> tuple[float, dict[str, Any]]:
    cmd = sitegen.crawl_command(db, urls, {**FAST, **settings})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    began = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
                          check=False)  # fmt: skip
    wall = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(f"crawl exited {done.returncode}:\n{done.stderr[-3000:]}")
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        (stats,) = conn.execute("SELECT stats FROM crawl_run ORDER BY id DESC LIMIT 1").fetchone()
    return wall, json.loads(stats)


def contents(db: str) -> dict[int, tuple[Any, ...]]:
    """Every record's content and history, but not when it was last seen."""
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        rows = conn.execute("SELECT id, content_hash, changes, gone_at, work_id FROM source_record")
        return {r[0]: r[1:] for r in rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--films", type=int, default=300)
    ap.add_argument("--edits", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="filmagg-bench-inc-") as tmp:
        root = Path(tmp) / "site"
        site = sitegen.generate(root, args.films)
        db = f"sqlite:///{Path(tmp) / 'catalog.db'}"
        with sitegen.serve(root) as server:
            urls = [server.bases[h] + f"{sitegen.HOST_PREFIX[h]}/index.html" for h in sitegen.HOSTS]
            print(f"generated site: {args.films} films, {len(site.pages)} pages on 2 hosts")
            print(f"{'crawl':<28} {'wall s':>7} {'responses':>9} {'304':>5} {'not due':>7} "
                  f"{'KiB in':>8} {'changed rows':>12}  stored")  # fmt: skip
            walls: list[float] = []
            before = contents(db) if Path(db.removeprefix("sqlite:///")).exists() else {}

            def run(label: str, **settings: str) -> None:
                nonlocal before
                wall, stats = crawl(db, urls, **settings)
                after = contents(db)
                changed = sum(1 for k, v in after.items() if before.get(k) != v)
                before = after
                walls.append(wall)
                stored = {k.rsplit("/", 1)[-1]: v for k, v in stats.items()
                          if k.startswith("filmagg/stored/")}  # fmt: skip
                print(f"{label:<28} {wall:>7.1f} {stats.get('response_received_count', 0):>9} "
                      f"{stats.get('filmagg/not_modified', 0):>5} "
                      f"{stats.get('filmagg/skipped/not_due', 0):>7} "
                      f"{stats.get('downloader/response_bytes', 0) / 1024:>8.0f} "
                      f"{changed:>12}  {stored}")  # fmt: skip

            run("1 first")
            run("2 unchanged, all due", FILMAGG_REFRESH_AFTER=ALL_DUE)
            run("3 unchanged, default policy")
            films = [p for p in site.pages if p.kind == "film"][: args.edits]
            time.sleep(1.1)  # Last-Modified has one-second resolution
            for page in films:
                path = root / page.path
                text = path.read_text(encoding="utf-8")
                path.write_text(text.replace('"description": "', '"description": "Restored. ', 1),
                                encoding="utf-8")  # fmt: skip
            run(f"4 {len(films)} pages edited, all due", FILMAGG_REFRESH_AFTER=ALL_DUE)
    first = walls[0]
    print("re-crawl wall time / first crawl: "
          + ", ".join(f"crawl {i + 2}: {w / first:.2f}" for i, w in enumerate(walls[1:])))  # fmt: skip


if __name__ == "__main__":
    main()
