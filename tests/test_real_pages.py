"""Parsers over the real saved pages in ../shared/real-pages (never copied into this repo).

Expectations live in tests/real_pages/<site>.json, recorded by reading each page: a list of
{"file": "<path under real-pages>", "url": "<the page's URL>", "expect": {...}} or
{"file": ..., "url": ..., "no_film_data": "<reason>"}. ``expect`` may hold title,
original_title, year, kind, runtime_minutes, directors (the exact set; none when omitted),
external_ids (a subset), ratings (exactly these {source, kind?, scale_max, value_100}; none
when omitted), titles (a subset of
the alternate titles), and counts {record type: minimum number}; ``"film": false`` marks a
page of reviews or ratings that names no film of its own (only counts are checked). Skipped
cleanly when ../shared is absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from crawler.parse import parse_file

ROOT = Path(__file__).resolve().parent.parent
REAL = Path(os.environ.get("FILMAGG_REAL_PAGES", ROOT.parent / "shared" / "real-pages"))
EXPECT = Path(__file__).resolve().parent / "real_pages"

pytestmark = [
    pytest.mark.realpages,
    pytest.mark.skipif(not REAL.is_dir(), reason=f"no real pages at {REAL}"),
]


def _cases() -> list[Any]:
    out = []
    for path in sorted(EXPECT.glob("*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8")):
            out.append(pytest.param(entry, id=entry["file"]))
    return out


@pytest.mark.parametrize("entry", _cases())
def test_real_page(entry: dict[str, Any]) -> None:
    page = REAL / entry["file"]
    assert page.is_file(), f"{page} missing"
    records, rejected, _site = parse_file(page, entry["url"])
    films = [r for r in records if r["type"] == "film"]
    if "no_film_data" in entry:
        assert not films, f"bogus film from a non-film page: {films[0]['title']!r}"
        assert any(entry["no_film_data"] in why for why in rejected), rejected
        return
    expect = entry["expect"]
    if expect.get("film", True) is False:  # a page of reviews/ratings that names no film of its own
        assert not films, f"a film record from a page with none: {films[0]['title']!r}"
        _check_counts(records, expect)
        return
    assert films, f"no film record; rejected: {rejected}"
    film = films[0]
    for key in ("title", "original_title", "year", "kind", "runtime_minutes", "season", "episode"):
        if key in expect:
            assert film[key] == expect[key], f"{key}: {film[key]!r} != {expect[key]!r}"
    # Directors and ratings are checked exactly: an entry that lists none expects none, so a
    # parser inventing a director or a score fails too.
    got = {c["name"] for c in film["credits"] if c["role"] == "director"}
    assert got == set(expect.get("directors", [])), got
    for ns, value in expect.get("external_ids", {}).items():
        assert film["external_ids"].get(ns) == value, film["external_ids"]
    assert len(film["ratings"]) == len(expect.get("ratings", [])), film["ratings"]
    for want in expect.get("ratings", []):
        assert any(
            r["source"] == want["source"] and r["scale_max"] == want["scale_max"]
            and abs(r["value_100"] - want["value_100"]) < 0.01
            and r["kind"] == want.get("kind", r["kind"])
            for r in film["ratings"]
        ), (want, film["ratings"])  # fmt: skip
    titles = {t["title"] for t in film["titles"]}
    assert set(expect.get("titles", [])) <= titles, titles
    _check_counts(records, expect)


def _check_counts(records: list[dict[str, Any]], expect: dict[str, Any]) -> None:
    for rtype, minimum in expect.get("counts", {}).items():
        assert sum(r["type"] == rtype for r in records) >= minimum, rtype
