"""The generic schema_org spider on a site it has never seen: start URLs or a sitemap, links
followed on the start hosts only, walls quarantined, ordinary pages counted."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

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
