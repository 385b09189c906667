"""The generic schema_org spider on a site it has never seen: start URLs or a sitemap, links
followed on the start hosts only, walls quarantined, ordinary pages counted."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from crawler.cli import serve_directory
from tests.conftest import SITES
from tests.test_cli_e2e import filmagg


def _site(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    shutil.copytree(SITES / "openfilms", root / "openfilms")
    return root


def _films(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("select title, year from work").fetchall())


def test_crawl_from_start_url(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    with serve_directory(_site(tmp_path)) as base:
        done = filmagg("crawl", "schema_org", "-a", f"start_urls={base}openfilms/index.html",
                       "-s", "DOWNLOAD_DELAY=0", "--db", f"sqlite:///{db}")  # fmt: skip
    assert _films(db) == [("Metropolis", 1927), ("Nosferatu", 1922), ("The General", 1926)]
    with sqlite3.connect(db) as conn:
        assert conn.execute("select reason from quarantine").fetchall() == [
            ("no_film_data/consent_wall",)
        ]
        (stats,) = conn.execute("select stats from crawl_run").fetchone()
    assert '"filmagg/no_film_data/consent_wall": 1' in stats
    assert "3 pages" not in done.stderr  # sanity: the summary line counts every fetched page


def test_crawl_from_sitemap(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    root = _site(tmp_path)
    with serve_directory(root) as base:
        films = sorted(p.name for p in (root / "openfilms" / "film").glob("*.html"))
        locs = "".join(f"<url><loc>{base}openfilms/film/{name}</loc></url>" for name in films)
        (root / "openfilms" / "sitemap.xml").write_text(
            f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}'
            f"<url><loc>http://elsewhere.example/x.html</loc></url></urlset>", encoding="utf-8")  # fmt: skip
        filmagg("crawl", "schema_org", "-a", f"sitemap={base}openfilms/sitemap.xml", "-s", "DOWNLOAD_DELAY=0",
                "--db", f"sqlite:///{db}")  # fmt: skip
    assert [t for t, _ in _films(db)] == ["Metropolis", "Nosferatu", "The General"]
    with sqlite3.connect(db) as conn:
        ids = dict(conn.execute("select namespace, value from external_id").fetchall())
    assert ids == {"imdb": "tt0017136", "wikidata": "Q151599"}


def _stats(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        (stats,) = conn.execute("select stats from crawl_run").fetchone()
    return json.loads(stats)


@pytest.mark.parametrize(
    ("sitemaps_first", "obey"),
    [(True, True), (True, False), (False, True)],
    ids=["robots-read-by-scrapy", "robots-read-by-spider", "off"],
)
def test_robots_sitemaps_first_and_a_missing_one_is_no_fault(
    tmp_path: Path, sitemaps_first: bool, obey: bool
) -> None:
    """robots.txt lists a sitemap and one that is gone: the first is read, the second only
    counted; the about page is never fetched. Switched off, no sitemap is asked for."""
    db = tmp_path / "r.db"
    root = _site(tmp_path)
    with serve_directory(root) as base:
        (root / "robots.txt").write_text(
            f"User-agent: *\nSitemap: {base}openfilms/sitemap.xml\nSitemap: /gone.xml\n"
        )
        locs = "".join(f"<url><loc>{base}openfilms/{p}</loc></url>"
                       for p in ("film/nosferatu-1922.html", "about.html"))  # fmt: skip
        (root / "openfilms" / "sitemap.xml").write_text(
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'
        )
        filmagg("crawl", "schema_org", "-a", f"start_urls={base}openfilms/index.html",
                "-s", "DOWNLOAD_DELAY=0", "-s", f"FILMAGG_SITEMAPS_FIRST={sitemaps_first}",
                "-s", f"ROBOTSTXT_OBEY={obey}", "--db", f"sqlite:///{db}")  # fmt: skip
    assert _films(db) == [("Metropolis", 1927), ("Nosferatu", 1922), ("The General", 1926)]
    with sqlite3.connect(db) as conn:
        assert conn.execute("select reason from quarantine").fetchall() == [
            ("no_film_data/consent_wall",)
        ]
        urls = {url for (url,) in conn.execute("select url from page")}
    stats = _stats(db)
    assert "filmagg/start/failed" not in stats and stats["filmagg/start/fetched"] == 1
    assert stats["filmagg/links/skipped"] >= 1  # about.html, linked from every page
    assert not any(u.endswith("about.html") for u in urls)
    if sitemaps_first:
        assert stats["filmagg/sitemaps/listed"] == 2 and stats["filmagg/sitemaps/missing"] == 1
        assert any(u.endswith("openfilms/sitemap.xml") for u in urls)
    else:
        assert not any(k.startswith("filmagg/sitemaps/") for k in stats)
        assert not any(u.endswith("sitemap.xml") for u in urls)
    # robots.txt is read once: by Scrapy's RobotsTxtMiddleware, else by the spider
    assert any(u.endswith("/robots.txt") for u in urls) is (sitemaps_first and not obey)
    assert ("robotstxt/response_count" in stats) is obey


@pytest.mark.parametrize("obey", [True, False])
def test_no_robots_txt_is_no_fault(tmp_path: Path, obey: bool) -> None:
    db = tmp_path / "n.db"
    with serve_directory(_site(tmp_path)) as base:
        filmagg("crawl", "schema_org", "-a", f"start_urls={base}openfilms/index.html",
                "-s", "DOWNLOAD_DELAY=0", "-s", f"ROBOTSTXT_OBEY={obey}",
                "--db", f"sqlite:///{db}")  # fmt: skip
    stats = _stats(db)
    assert stats.get("filmagg/sitemaps/missing") == (None if obey else 1)  # robots.txt: 404
    assert "filmagg/start/failed" not in stats and "filmagg/not_found" not in stats
    with sqlite3.connect(db) as conn:
        assert conn.execute("select reason from quarantine").fetchall() == [
            ("no_film_data/consent_wall",)
        ]
