"""End to end: the `filmagg` command in subprocesses (one crawl per process), against the demo
sites served on 127.0.0.1, then the database and exports checked as a user would."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.cli import serve_directory
from tests.conftest import ROOT, SITES


def filmagg(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FILMAGG_DB", None)
    done = subprocess.run([sys.executable, "-m", "crawler.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    if check and done.returncode != 0:
        raise AssertionError(f"filmagg {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    db_path = tmp_path_factory.mktemp("e2e") / "filmagg.db"
    db = f"sqlite:///{db_path}"
    port = str(free_port())
    first = filmagg("demo", "--db", db, "--port", port)
    second = filmagg("demo", "--db", db, "--port", port)
    return db, first.stdout, second.stdout


def test_demo_prints_summary_and_is_idempotent(demo: tuple[str, str, str]) -> None:
    _, first, second = demo
    assert "works:" in first and "quarantined:" in first
    strip = [line for line in first.splitlines() if not line.startswith("catalog")]
    assert strip == [line for line in second.splitlines() if not line.startswith("catalog")]


def test_export_works_json(demo: tuple[str, str, str]) -> None:
    db = demo[0]
    works = json.loads(filmagg("export", "works", "--format", "json", "--db", db).stdout)
    lv = {w["year"]: w for w in works if "Leaving Las Vegas" in w["title"]}
    assert lv[1995]["kind"] == "feature" and lv[1995]["directors"] == ["Mike Figgis"]
    assert {"name": "Nicolas Cage", "character": "Ben Sanderson"} in lv[1995]["cast"]
    assert {"name": "Elisabeth Shue", "character": "Sera"} in lv[1995]["cast"]
    assert lv[2007]["kind"] == "concert" and lv[2007]["runtime_minutes"] == 61
    assert lv[2007]["synopsis"] is None
    assert [f["kind"] for f in lv[2007]["flags"]] == ["synopsis_conflict"]


def test_export_reviews_json(demo: tuple[str, str, str]) -> None:
    db = demo[0]
    reviews = json.loads(filmagg("export", "reviews", "--format", "json", "--db", db).stdout)
    (blake,) = [r for r in reviews if r["author"] == "Blake"]
    assert blake["published_at"] == "2022-08-19T13:55:03"
    assert (blake["work_title"], blake["work_year"]) == ("Leaving Las Vegas", 1995)


@pytest.mark.parametrize("what", ["works", "reviews", "offers", "records", "flags"])
@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_every_export_parses(
    demo: tuple[str, str, str], what: str, fmt: str, tmp_path: Path
) -> None:
    out = tmp_path / f"{what}.{fmt}"
    filmagg("export", what, "--format", fmt, "--out", str(out), "--db", demo[0])
    text = out.read_text(encoding="utf-8")
    if fmt == "json":
        rows = json.loads(text)
    elif fmt == "jsonl":
        rows = [json.loads(line) for line in text.splitlines()]
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and all("id" in r for r in rows)
    assert not list(tmp_path.glob(".*.partial"))


def test_works_show_lists_reasons(demo: tuple[str, str, str]) -> None:
    db = demo[0]
    found = json.loads(
        filmagg(
            "works", "search", "leaving las vegas", "--year", "1995", "--json", "--db", db
        ).stdout
    )
    (work,) = found
    shown = filmagg("works", "show", str(work["id"]), "--db", db).stdout
    assert "Blake" in shown and "decisions:" in shown
    assert "characters Sera and Ben Sanderson match its credits" in shown or \
        "characters Ben Sanderson and Sera match its credits" in shown  # fmt: skip


def test_sql_reads_and_refuses_writes(demo: tuple[str, str, str]) -> None:
    db = demo[0]
    out = filmagg("sql", "SELECT count(*) AS n FROM work", "--format", "json", "--db", db).stdout
    n = json.loads(out)[0]["n"]
    for bad in ("DELETE FROM work", "UPDATE work SET title='x'", "SELECT 1; DROP TABLE work",
                "WITH x AS (SELECT 1) DELETE FROM work", "SELECT * FROM no_such_table"):  # fmt: skip
        done = filmagg("sql", bad, "--db", db, check=False)
        assert done.returncode == 2, bad
        assert done.stderr.startswith("filmagg: error:") and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    out = filmagg("sql", "SELECT count(*) AS n FROM work", "--format", "json", "--db", db).stdout
    assert json.loads(out)[0]["n"] == n


@pytest.mark.parametrize(
    "args",
    [
        ["crawl", "no_such_spider", "--db", "sqlite:///{tmp}/x.db"],
        ["crawl", "cinepedia", "--db", "sqlite:///{tmp}/x.db"],  # no start URL
        ["export", "works", "--db", "notaurl://"],
        ["export", "works", "--db", "postgresql://nobody@127.0.0.1:1/none"],
        ["export", "works", "--db", "sqlite:///{tmp}/missing.db"],
        ["export", "works", "--out", "/proc/forbidden/works.csv", "--db", "{demo}"],
        ["works", "show", "999999", "--db", "{demo}"],
        ["export", "works", "--out", "{tmp}", "--db", "{demo}"],  # a directory
        ["export", "works", "--out", ".", "--db", "{demo}"],
        ["sql", "SELECT 1", "--db", "mysql://someone@127.0.0.1/films"],
        ["sql", "SELEC title FROM work", "--db", "{demo}"],
        ["sql", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                "SELECT count(*) FROM c", "--timeout", "1", "--db", "{demo}"],
        ["match", "{tmp}/binary.csv", "{tmp}/binary.csv", "--out", "{tmp}/pairs.csv"],
        ["match", "{tmp}/ok.csv", "{tmp}/ok.csv", "--out", "{tmp}/pairs.csv", "--sep", ";;"],
        ["crawl", "cinepedia", "-a", "base_url=http://127.0.0.1:9/", "-s", "DOWNLOAD_DELAY=abc",
         "--db", "sqlite:///{tmp}/x.db"],
        ["crawl", "schema_org", "-a", "start_urls=notaurl", "--db", "sqlite:///{tmp}/x.db"],
        ["crawl", "cinepedia", "-a", "base_url=http://127.0.0.1:9/", "-s", "FILMAGG_RESOLVER=threads",
         "--db", "sqlite:///{tmp}/x.db"],
        ["crawl", "cinepedia", "-a", "base_url=http://127.0.0.1:9/",
         "--db", "sqlite:///file:{demo_path}?mode=ro&uri=true"],  # a read-only catalog
    ],
)  # fmt: skip
def test_user_errors_are_one_line_exit_2(
    demo: tuple[str, str, str], tmp_path: Path, args: list[str]
) -> None:
    (tmp_path / "binary.csv").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "ok.csv").write_text("id,title\n1,Heat\n", encoding="utf-8")
    demo_path = demo[0].removeprefix("sqlite:///")
    args = [a.replace("{tmp}", str(tmp_path)).replace("{demo}", demo[0])
            .replace("{demo_path}", demo_path) for a in args]  # fmt: skip
    before = sqlite3.connect(demo_path).execute("SELECT count(*) FROM crawl_run").fetchone()
    done = filmagg(*args, check=False)
    assert done.returncode == 2, done.stderr
    assert sqlite3.connect(demo_path).execute("SELECT count(*) FROM crawl_run").fetchone() == before
    assert not list(tmp_path.glob(".*.partial")) and not Path("/.tmp.partial").exists()
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("filmagg: error:"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_csv_export_neutralizes_formulas(tmp_path: Path) -> None:
    """A review titled like a formula is written with a leading apostrophe."""
    from pipelines.records import FilmRef, ScrapedReview
    from tests.test_pipeline import run_pipeline

    db = f"sqlite:///{tmp_path / 'f.db'}"
    evil = ScrapedReview(site="x", url="http://127.0.0.1/r", film=FilmRef(title="Heat"),
                         title='=HYPERLINK("http://evil","click")', author="@boss", body="-2+3")  # fmt: skip
    run_pipeline([evil], db)
    rows = list(
        csv.DictReader(
            io.StringIO(filmagg("export", "reviews", "--format", "csv", "--db", db).stdout)
        )
    )
    assert (
        rows[0]["title"].startswith("'=")
        and rows[0]["author"] == "'@boss"
        and rows[0]["body"] == "'-2+3"
    )


def test_crawl_one_spider_and_scrapy_crawl(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    with serve_directory(SITES) as base:
        filmagg(
            "crawl", "streamfinder", "-a", f"base_url={base}", "-s", "DOWNLOAD_DELAY=0", "--db", db
        )
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "FILMAGG_DB": f"sqlite:///{tmp_path / 's.db'}",
        }
        done = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "reelreviews", "-a", f"base_url={base}",
                               "-s", "DOWNLOAD_DELAY=0", "-s", "LOG_LEVEL=WARNING"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "c.db") as conn:
        assert conn.execute("select count(*) from offer").fetchone()[0] > 10
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert conn.execute("select count(*) from review").fetchone()[0] == 10


def test_crawl_of_a_dead_server_fails_cleanly(tmp_path: Path) -> None:
    done = filmagg("crawl", "streamfinder", "-a", f"start_urls=http://127.0.0.1:{free_port()}/x.html",
                   "-s", "RETRY_TIMES=0", "--db", f"sqlite:///{tmp_path / 'd.db'}", check=False)  # fmt: skip
    assert done.returncode == 1
    assert "crawl failed" in done.stderr
    with sqlite3.connect(tmp_path / "d.db") as conn:
        assert conn.execute("select reason from quarantine").fetchall() == [("connection_refused",)]


def test_parse_prints_records_as_json_lines() -> None:
    page = SITES / "streamfinder" / "movie" / "the-killers-leaving-las-vegas.html"
    done = filmagg(
        "parse",
        str(page),
        "--url",
        "http://127.0.0.1:8157/streamfinder/movie/the-killers-leaving-las-vegas.html",
    )
    records = [json.loads(line) for line in done.stdout.splitlines()]
    film = records[0]
    assert film["type"] == "film" and film["kind"] == "concert" and film["year"] == 2007
    assert film["runtime_minutes"] == 61 and film["ratings"] == []
    assert {r["type"] for r in records[1:]} == {"offer"}


def test_parse_says_why_when_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    done = filmagg("parse", str(empty), "--url", "http://127.0.0.1:8157/cinepedia/film/x.html")
    assert done.stdout == "" and "no film data" in done.stderr
