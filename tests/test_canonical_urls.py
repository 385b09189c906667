"""Canonical URLs (issue 10): one key for every spelling of a page, and item identities."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.catalog.duplicates import identity
from pipelines.urls import TRACKING_PARAMS, UrlCanon, canonical_url, is_tracking, url_aliases

ALIASES = {
    "http://mirror.example.org": "https://www.example.org",
    "https://m.example.org:8443/films": "https://www.example.org/films",
}


@pytest.mark.parametrize(
    ("url", "canon"),
    [
        ("http://example.org/a", "http://example.org/a"),
        ("HTTP://Example.ORG/a", "http://example.org/a"),  # scheme and host in lower case
        ("http://example.org/Path", "http://example.org/Path"),  # the path's case is the page's
        ("http://example.org:80/a", "http://example.org/a"),  # default ports dropped
        ("https://example.org:443/a", "https://example.org/a"),
        ("http://example.org:443/a", "http://example.org:443/a"),  # not http's default
        ("http://127.0.0.1:8157/x.html", "http://127.0.0.1:8157/x.html"),  # other ports kept
        ("http://example.org", "http://example.org/"),
        ("http://example.org/a#reviews", "http://example.org/a"),  # fragments dropped
        ("http://example.org/a?b=2&a=1", "http://example.org/a?a=1&b=2"),  # arguments sorted
        ("http://example.org/a?utm_source=x&utm_Medium=y", "http://example.org/a"),
        ("http://example.org/a?id=3&fbclid=Iw&gclid=C&mc_cid=1&mc_eid=2", "http://example.org/a?id=3"),
        ("http://example.org/a?_ga=2.1&yclid=9&igshid=q&page=2", "http://example.org/a?page=2"),
        ("https://www.imdb.com/title/tt0111161/?ref_=nv_sr_1", "https://www.imdb.com/title/tt0111161/"),
        ("http://example.org/a?ref=home", "http://example.org/a?ref=home"),  # a bare ref is kept
        ("http://example.org/a b", "http://example.org/a%20b"),
        ("http://[::1]:80/p", "http://[::1]/p"),
        ("  http://example.org/a  ", "http://example.org/a"),
        ("mailto:someone@example.org", "mailto:someone@example.org"),  # not http(s): as given
        ("/relative/path", "/relative/path"),
    ],
)  # fmt: skip
def test_canonical_url(url: str, canon: str) -> None:
    assert canonical_url(url) == canon


@pytest.mark.parametrize(
    ("url", "canon"),
    [
        ("http://mirror.example.org/film/1?utm_source=rss", "https://www.example.org/film/1"),
        ("HTTP://MIRROR.example.org:80/film/1", "https://www.example.org/film/1"),
        ("http://mirror.example.org", "https://www.example.org/"),
        ("https://mirror.example.org/film/1", "https://mirror.example.org/film/1"),  # https: not aliased
        ("http://mirror.example.org.evil.net/x", "http://mirror.example.org.evil.net/x"),  # a boundary
        ("https://m.example.org:8443/films/7", "https://www.example.org/films/7"),
        ("https://m.example.org:8443/filmsx", "https://m.example.org:8443/filmsx"),
        ("https://www.example.org/film/1", "https://www.example.org/film/1"),
    ],
)  # fmt: skip
def test_aliases_apply_to_the_start_of_the_url(url: str, canon: str) -> None:
    assert canonical_url(url, ALIASES) == canon


def test_an_alias_whose_target_is_aliased_is_refused() -> None:
    with pytest.raises(ValueError, match="itself aliased"):
        UrlCanon({"http://a.example": "http://b.example", "http://b.example": "http://c.example"})
    with pytest.raises(ValueError, match="http"):
        UrlCanon({"a.example": "http://b.example"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, {}), ("", {}), ({"http://a.org": "https://a.org"}, {"http://a.org": "https://a.org"}),
     ('{"http://a.org": "https://a.org"}', {"http://a.org": "https://a.org"})],
)  # fmt: skip
def test_the_aliases_setting_reads_a_dict_or_its_json(value: object, expected: dict) -> None:
    assert url_aliases(value) == expected


@pytest.mark.parametrize("value", ["{not json", '["http://a.org"]', {"http://a.org": 3}])
def test_a_bad_aliases_setting_is_an_error_not_ignored(value: object) -> None:
    with pytest.raises(ValueError, match="FILMAGG_URL_ALIASES"):
        url_aliases(value)


@pytest.mark.parametrize("name", [*TRACKING_PARAMS, "utm_campaign", "UTM_SOURCE", "utm%5Fterm"])
def test_every_tracking_parameter_is_dropped(name: str) -> None:
    assert is_tracking(name)
    assert canonical_url(f"http://example.org/a?{name}=1&id=7") == "http://example.org/a?id=7"


def test_a_record_url_keeps_the_fragment_that_tells_records_of_one_page_apart() -> None:
    canon = UrlCanon(ALIASES)
    url = "http://mirror.example.org:80/season?utm_source=x#ep-b-2008"
    assert canon.record(url) == "https://www.example.org/season#ep-b-2008"
    assert canon.record("http://example.org/a#") == "http://example.org/a"
    assert canon(url) == "https://www.example.org/season"


# ------------------------------------------------------------------------------ any URL

_hosts = st.sampled_from(["example.org", "Example.ORG", "mirror.example.org", "127.0.0.1",
                          "m.example.org", "www.example.org", "[::1]"])  # fmt: skip
_ports = st.sampled_from(["", ":80", ":443", ":8080", ":8443"])
_segment = st.text(st.characters(codec="utf-8", exclude_characters="/?#\x00"), max_size=8)
_params = st.sampled_from(
    ["id", "page", "utm_source", "UTM_x", "fbclid", "ref", "ref_", "q", "a b"]
)
_query = st.lists(st.tuples(_params, st.text(max_size=5)), max_size=4)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    path = "/".join(draw(st.lists(_segment, max_size=3)))
    query = "&".join(f"{k}={v}" for k, v in draw(_query))
    fragment = draw(st.sampled_from(["", "#top", "#ep-2"]))
    return f"{scheme}://{draw(_hosts)}{draw(_ports)}/{path}{'?' + query if query else ''}{fragment}"


@given(url=urls())
def test_canonical_is_idempotent_for_any_url(url: str) -> None:
    canon = UrlCanon(ALIASES)
    once = canon(url)
    assert canon(once) == once
    assert canon.record(canon.record(url)) == canon.record(url)
    assert "#" not in once and not any(f"{p}=" in once.lower() for p in ("utm_", "fbclid"))


@given(url=urls(), port=st.sampled_from(["80", "443"]))
def test_a_default_port_never_survives(url: str, port: str) -> None:
    canon = canonical_url(url)
    scheme = canon.split(":", 1)[0]
    if (scheme, port) in {("http", "80"), ("https", "443")}:
        assert f":{port}/" not in canon.split("?", 1)[0]


# ------------------------------------------------------------------------------ identities


def _review(**kw: object) -> dict:
    base = {"site": "reelreviews", "url": "http://127.0.0.1:1/r/1.html", "author": "Ann Critic",
            "published_at": "2024-05-01T10:00:00Z", "body": "A quiet, patient film.",
            "rating": {"value_100": 80.0}, "film": {"title": "Heat", "year": 1995}}  # fmt: skip
    return {**base, **kw}


@pytest.mark.parametrize(
    ("other", "same"),
    [
        ({"url": "http://127.0.0.1:2/r/1.html"}, True),  # another port
        ({"site": "syndicator", "url": "https://elsewhere.example/ann"}, True),  # syndicated
        ({"author": "ANN  CRITIC", "body": "A quiet,  patient film. "}, True),  # case, blanks
        ({"published_at": "2024-05-01T22:30:00Z"}, True),  # same day, another time
        ({"rating": {"value_100": 60.0}}, True),  # the text decides when there is one
        ({"body": "Another review that day."}, False),  # same author, same day, other text
        ({"published_at": "2024-05-02T10:00:00Z"}, False),
        ({"author": "Bo Critic"}, False),
    ],
)  # fmt: skip
def test_review_identity(other: dict, same: bool) -> None:
    assert (identity("review", _review(), 7) == identity("review", _review(**other), 7)) is same


def test_identities_are_per_work_and_need_enough_to_go_on() -> None:
    assert identity("review", _review(), 7) != identity("review", _review(), 8)
    rating_only = _review(body=None)
    assert identity("review", rating_only, 7) != identity("review", _review(body=None, rating={"value_100": 60.0}), 7)  # fmt: skip
    assert identity("review", _review(body=None, author=None), 7) is None  # a bare rating
    assert identity("rating", _review(), 7) is None
    # unattached: identified on the film the page names
    assert identity("review", _review(), None) == identity("review", _review(url="http://x/"), None)
    assert identity("review", _review(), None) != identity(
        "review", _review(film={"title": "Heat", "year": 2001}), None
    )


def test_offer_and_quote_identity() -> None:
    offer = {"provider": "Netflix", "country": "US", "monetization": "flatrate", "quality": "HD",
             "price": None, "film": {}}  # fmt: skip
    assert identity("offer", offer, 1) == identity(
        "offer", {**offer, "price": 3.99, "site": "b"}, 1
    )
    assert identity("offer", offer, 1) != identity("offer", {**offer, "quality": "4K"}, 1)
    quote = {"lines": [{"speaker": "Vincent", "text": "Say what again."}]}
    assert identity("quote", quote, 1) == identity(
        "quote", {"lines": [{"speaker": "vincent", "text": "Say  what again."}]}, 1
    )
    assert identity("quote", quote, 1) != identity(
        "quote", {"lines": [{"speaker": "Jules", "text": "Say what again."}]}, 1
    )
