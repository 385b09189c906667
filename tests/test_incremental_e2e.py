"""Incremental crawls, end to end (issue 8): a re-crawl of an unchanged site asks only whether
pages changed and writes nothing but ``last_seen``; edited pages show up, exactly, in
``works show --history`` and ``export changes``; pages not yet due are not fetched."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.cli import serve_directory
from tests.conftest import SITES
from tests.test_cli_e2e import filmagg

FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "LOG_LEVEL=WARNING"]
ALL_DUE = ["-s", 'FILMAGG_REFRESH_AFTER={"film": 0, "review": 0, "listing": 0, "sitemap": 0, '
           '"other": 0}']  # fmt: skip
SPIDERS = ("streamfinder", "reelreviews")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A copy of the demo sites we may edit, served on 127.0.0.1 (Last-Modified from mtimes)."""
    root = tmp_path / "sites"
    shutil.copytree(SITES, root)
    with serve_directory(root) as base:
        yield root, base


def crawl(db: str, base: str, *extra: str) -> dict[str, dict[str, Any]]:
    """Each demo spider once; returns each run's stats by spider."""
    for spider in SPIDERS:
        filmagg("crawl", spider, "-a", f"base_url={base}", "--db", db, *FAST, *extra)
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        rows = conn.execute(
            "SELECT spider, stats FROM crawl_run ORDER BY id DESC LIMIT 2"
        ).fetchall()
    return {spider: json.loads(stats) for spider, stats in rows}


def records(db: str) -> list[tuple[Any, ...]]:
    """Every record's content and history, but not when it was last seen."""
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        return conn.execute("SELECT id, site, url, type, item_key, content_hash, changes, first_seen, "
                            "gone_at, work_id FROM source_record ORDER BY id").fetchall()  # fmt: skip


def edit(path: Path, old: str, new: str, flags: int = 0) -> None:
    text = path.read_text(encoding="utf-8")
    changed = re.sub(old, new, text, count=1, flags=flags)
    assert changed != text, f"{old!r} not in {path}"
    path.write_text(changed, encoding="utf-8")
    later = time.time() + 5  # Last-Modified has one-second resolution: be clearly newer
    os.utime(path, (later, later))


def test_unchanged_recrawl_is_conditional_and_edits_show_in_history(
    site: tuple[Path, str], tmp_path: Path
) -> None:
    root, base = site
    db = f"sqlite:///{tmp_path / 'c.db'}"
    crawl(db, base, *ALL_DUE)
    before = records(db)

    second = crawl(db, base, *ALL_DUE)
    for spider, stats in second.items():
        fetched = stats["response_received_count"] - stats.get("robotstxt/response_count", 0)
        assert stats.get("filmagg/not_modified") == fetched, spider  # every page: 304
        assert not any(k.startswith("filmagg/stored/") and k != "filmagg/stored/not_modified"
                       for k in stats), stats  # fmt: skip
    assert records(db) == before  # nothing but last_seen moved
    assert json.loads(filmagg("export", "changes", "--format", "json", "--db", db).stdout) == []

    heat = root / "streamfinder" / "movie" / "heat-1995.html"
    edit(heat, r"\$3\.99", "$2.99")  # an offer's price
    edit(heat, r'<li class="offer-row offer-row--stream" data-provider="max">.*?</li>\s*', "",
         re.S)  # an offer gone  # fmt: skip
    edit(root / "reelreviews" / "review" / "seven-days-seven-sins.html",
         r"Rating: <strong>4</strong>/5", "Rating: <strong>3</strong>/5")  # a rating  # fmt: skip
    crawl(db, base, *ALL_DUE)

    found = json.loads(filmagg("export", "changes", "--format", "json", "--db", db).stdout)
    summary = sorted((c["record_type"], c["field"], c["url"].rsplit("/", 1)[-1]) for c in found)
    assert summary == [("offer", "offer", "heat-1995.html"), ("offer", "price", "heat-1995.html"),
                       ("review", "rating", "seven-days-seven-sins.html")]  # fmt: skip
    price = next(c for c in found if c["field"] == "price")
    assert (price["old"], price["new"]) == (3.99, 2.99)
    gone = next(c for c in found if c["field"] == "offer")
    assert gone["old"]["provider"] == "Max" and gone["new"] is None
    rating = next(c for c in found if c["field"] == "rating")
    assert rating["old"]["value_100"] == 80 and rating["new"]["value_100"] == 60

    work = price["work_id"]
    shown = json.loads(
        filmagg("works", "show", str(work), "--history", "--json", "--db", db).stdout
    )
    assert sorted(c["field"] for c in shown["history"]) == ["offer", "price"]
    (max_offer,) = [o for o in shown["offers"] if o["provider"] == "Max"]
    assert max_offer["gone_at"] is not None
    later = json.loads(filmagg("export", "changes", "--since", "2999-01-01", "--format", "json",
                               "--db", db).stdout)  # fmt: skip
    assert later == []


def test_pages_not_due_are_not_fetched(site: tuple[Path, str], tmp_path: Path) -> None:
    _, base = site
    db = f"sqlite:///{tmp_path / 'c.db'}"
    first = crawl(db, base)
    again = crawl(db, base)  # default policy: film and review pages weekly
    for spider in SPIDERS:
        assert again[spider]["response_received_count"] <= 2, again[spider]  # robots + start page
        assert again[spider]["filmagg/skipped/not_due"] >= 5
        assert first[spider]["response_received_count"] > 10
