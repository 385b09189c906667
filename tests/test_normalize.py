"""Normalizers: pure functions, checked case by case."""

from __future__ import annotations

import html

import ftfy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.normalize import (
    NULL_WORDS,
    clean_block,
    clean_text,
    country_code,
    fold,
    parse_count,
    parse_datetime,
    parse_kind,
    parse_monetization,
    parse_price,
    parse_rating,
    parse_runtime,
    parse_year,
    person_name,
)
from pipelines.records import Kind, Monetization, ScrapedRating


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Leaving\u00a0Las   Vegas ", "Leaving Las Vegas"),
        ("undefined", None),
        ("N/A", None),
        ("no reviews", None),
        ("Undefined.", None),
        ("", None),
        (None, None),
        ("Am&eacute;lie", "Amélie"),
        ("AmÃ©lie", "Amélie"),  # mojibake repaired
        ("Ocean&#39;s 11", "Ocean's 11"),
    ],
)
def test_clean_text(raw: str | None, expected: str | None) -> None:
    assert clean_text(raw) == expected


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_clean_text_skips_ftfy_only_where_it_changes_nothing(raw: str) -> None:
    """ASCII text ftfy is not asked about (for speed) is exactly what ftfy would return."""
    repaired = ftfy.fix_text(html.unescape(raw), normalization="NFC")
    expected = " ".join(repaired.split())
    if not expected or expected.lower().rstrip(".") in NULL_WORDS:
        assert clean_text(raw) is None
    else:
        assert clean_text(raw) == expected


def test_clean_block_keeps_paragraphs() -> None:
    assert clean_block("One  line.\n\n  Two\nlines. \n\n\n") == "One line.\n\nTwo lines."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1995", 1995), ("(1995)", 1995), ("2014–2024", 2014), ("undefined", None), ("19", None),
     (None, None), ("Released 12/22/1995", 1995), (1931, 1931), (3000, None)],
)  # fmt: skip
def test_parse_year(raw: str | int | None, expected: int | None) -> None:
    assert parse_year(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("61", 61), ("1h 51m", 111), ("PT1H51M", 111), ("PT111M", 111), ("2 hr. 11 min.", 131),
     ("111 min", 111), ("111 minutes", 111), ("1:51", 111), ("2h", 120), ("45m", 45),
     ("undefined", None), (None, None), ("", None), ("P0D", None), ("1 h 30", 90)],
)  # fmt: skip
def test_parse_runtime(raw: str | None, expected: int | None) -> None:
    assert parse_runtime(raw) == expected


@pytest.mark.parametrize(
    ("hint", "genres", "expected"),
    [
        ("Concerts, Music, Documentary movie", ["Concerts", "Music", "Documentary"], Kind.concert),
        ("Documentary movie", ["Documentary"], Kind.documentary),
        ("Crime, Drama, Thriller TV series", [], Kind.tv_series),
        ("TV Series", [], Kind.tv_series),
        ("TVSeries", [], Kind.tv_series),
        ("TVEpisode", [], Kind.tv_episode),
        ("TV Mini Series", [], Kind.tv_miniseries),
        ("VideoGame", [], Kind.video_game),
        ("TV Movie", [], Kind.tv_movie),
        ("Movie", ["Drama"], Kind.feature),
        (None, ["Drama", "Romance"], Kind.feature),
        (None, [], Kind.unknown),
        ("Short", [], Kind.short),
    ],
)
def test_parse_kind(hint: str | None, genres: list[str], expected: Kind) -> None:
    assert parse_kind(hint, genres) == expected


@pytest.mark.parametrize(
    ("value", "scale", "value_100", "scale_max"),
    [("7.5", "10", 75.0, 10.0), ("8,6", "10", 86.0, 10.0), ("94%", None, 94.0, 100.0),
     ("3.5", "5", 70.0, 5.0), ("4/5", None, 80.0, 5.0), ("74", "100", 74.0, 100.0)],
)  # fmt: skip
def test_parse_rating(value: str, scale: str | None, value_100: float, scale_max: float) -> None:
    got = parse_rating(ScrapedRating(source="x", value=value, scale_max=scale))
    assert got is not None
    assert (got["value_100"], got["scale_max"]) == (value_100, scale_max)


@pytest.mark.parametrize("value", ["undefined", "no reviews", None, "N/A", "11", "abc"])
def test_parse_rating_without_a_value(value: str | None) -> None:
    assert parse_rating(ScrapedRating(source="imdb", value=value, scale_max="10")) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1,234", 1234), ("1 234", 1234), ("1.234", 1234), ("12K", 12000), ("no votes", None)],
)
def test_parse_count(raw: str, expected: int | None) -> None:
    assert parse_count(clean_text(raw)) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2022-08-19 13:55:03", "2022-08-19T13:55:03"),
        ("2022-08-19T13:55:03+02:00", "2022-08-19T11:55:03"),
        ("2022-08-19T13:55:03Z", "2022-08-19T13:55:03"),
        ("8 September 1960 (USA)", "1960-09-08"),
        ("Oct 12, 1934 Wide", "1934-10-12"),
        ("10/27/1995 (US)", "1995-10-27"),
        ("19.08.2022", "2022-08-19"),
        ("1995-10-27", "1995-10-27"),
        ("août 2001", "2001-08-01"),
        ("undefined", None),
        ("2022-02-30", None),
    ],
)
def test_parse_datetime(raw: str, expected: str | None) -> None:
    assert parse_datetime(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Cage, Nicolas (I)", "Nicolas Cage"), ("Nicolas  Cage", "Nicolas Cage"),
     ("Davis, Sammy Jr.", "Sammy Jr. Davis"), ("Sammy Davis Jr.", "Sammy Davis Jr."), ("N/A", None)],
)  # fmt: skip
def test_person_name(raw: str, expected: str | None) -> None:
    assert person_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "currency", "expected"),
    [("$3.99", None, (3.99, "USD")), ("3,99 €", None, (3.99, "EUR")), ("£5", None, (5.0, "GBP")),
     ("9.99", "usd", (9.99, "USD")), (None, None, (None, None))],
)  # fmt: skip
def test_parse_price(raw: str | None, currency: str | None, expected: tuple) -> None:
    assert parse_price(raw, currency) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Stream", Monetization.flatrate), ("flatrate", Monetization.flatrate), ("Rent", Monetization.rent),
     ("Buy", Monetization.buy), ("Free", Monetization.free), ("Free with ads", Monetization.ads), ("", None)],
)  # fmt: skip
def test_parse_monetization(raw: str, expected: Monetization | None) -> None:
    assert parse_monetization(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("US", "US"), ("United States", "US"), ("gb", "GB"), ("Narnia", None)]
)
def test_country_code(raw: str, expected: str | None) -> None:
    assert country_code(raw) == expected


def test_fold() -> None:
    assert fold("Drácula") == fold("DRACULA") == "dracula"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("17/08/2016", "2016-08-17"), ("9 апреля 2012", "2012-04-09"), ("12. března 2019", "2019-03-12"),
     ("03/04/2001", "2001-03-04")],
)  # fmt: skip
def test_parse_datetime_other_languages(raw: str, expected: str) -> None:
    assert parse_datetime(raw) == expected


@pytest.mark.parametrize(
    ("hint", "expected"),
    [("Court métrage", Kind.short), ("seriál", Kind.tv_series), ("Téléfilm", Kind.tv_movie)],
)
def test_parse_kind_accented_labels(hint: str, expected: Kind) -> None:
    assert parse_kind(hint) == expected
