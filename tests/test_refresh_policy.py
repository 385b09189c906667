"""The incremental crawl's decisions as pure functions (crawler/incremental.py): when a known
page is due again, what a sitemap ``lastmod`` says, and which quarantined URLs are sitemaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.incremental import (
    DAY,
    DEFAULT_REFRESH_AFTER,
    PageState,
    is_due,
    is_sitemap,
    parse_lastmod,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def state(kind: str | None, age: timedelta | None) -> PageState:
    return PageState(None, None, None if age is None else NOW - age, kind)


@pytest.mark.parametrize(
    ("page", "lastmod", "due"),
    [
        (None, None, True),  # never fetched
        (state("film", None), None, True),  # known, never fetched with content
        (state("film", timedelta(days=6)), None, False),  # film pages: weekly
        (state("film", timedelta(days=7)), None, True),
        (state("review", timedelta(days=3)), None, False),
        (state("listing", timedelta(hours=23)), None, False),  # listings: daily
        (state("listing", timedelta(hours=25)), None, True),
        (state(None, timedelta(hours=25)), None, True),  # unknown kind: "other", daily
        (state("film", timedelta(days=1)), NOW - timedelta(hours=1), True),  # changed since
        (state("film", timedelta(days=30)), NOW - timedelta(days=40), False),  # lastmod wins
    ],
)  # fmt: skip
def test_is_due(page: PageState | None, lastmod: datetime | None, due: bool) -> None:
    assert is_due(page, NOW, DEFAULT_REFRESH_AFTER, lastmod) is due


def test_refresh_after_is_settable_per_kind() -> None:
    page = state("film", timedelta(hours=2))
    assert not is_due(page, NOW, DEFAULT_REFRESH_AFTER)
    assert is_due(page, NOW, {**DEFAULT_REFRESH_AFTER, "film": 3600})
    assert is_due(state("other", timedelta(hours=2)), NOW, {"other": 0})


@given(
    age=st.floats(min_value=0, max_value=60 * DAY),
    interval=st.floats(min_value=0, max_value=30 * DAY),
)
def test_due_exactly_when_the_interval_has_passed(age: float, interval: float) -> None:
    page = state("listing", timedelta(seconds=age))
    assert is_due(page, NOW, {"listing": interval}) is (
        timedelta(seconds=age) >= timedelta(seconds=interval)
    )


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T10:00:00+02:00", datetime(2024, 5, 1, 8, tzinfo=UTC)),
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_parse_lastmod(value: str | None, parsed: datetime | None) -> None:
    got = parse_lastmod(value)
    assert got == parsed and (got is None or got.tzinfo is not None)


@pytest.mark.parametrize(
    ("url", "reason", "kind", "sitemap"),
    [
        ("http://f.example/sitemap.xml", "timeout", None, True),
        ("http://f.example/sitemaps/films-1.xml.gz", "http_503", None, True),
        ("http://f.example/whatever", "bad_sitemap", None, True),
        ("http://f.example/index-feed", "timeout", "sitemap", True),
        ("http://f.example/film/sitemap-of-the-stars.html", "timeout", None, False),
        ("http://f.example/film/1.html", "http_500", "film", False),
    ],
)
def test_is_sitemap(url: str, reason: str, kind: str | None, sitemap: bool) -> None:
    page = None if kind is None else state(kind, timedelta(days=1))
    assert is_sitemap(url, reason, page) is sitemap
