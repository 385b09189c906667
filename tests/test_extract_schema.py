"""Unit tests of the schema.org extraction layer: JSON-LD repair, types, microdata, Open Graph,
page checks, and the schema.org -> record mapping's traps. Whole pages are covered by the
parser cases under fixtures/cases/schema_org/."""

from __future__ import annotations

import pytest
from parsel import Selector
from scrapy.http import HtmlResponse

from crawler.extract.jsonld import jsonld_objects, parse_block, types_of
from crawler.extract.microdata import microdata_items
from crawler.extract.opengraph import opengraph
from crawler.extract.pagecheck import first_document, is_concatenated, why_not_film
from crawler.extract.schema_org import external_ids, film_records, is_film_object
from pipelines.records import ScrapedFilm, ScrapedReview


def _page(body: str, url: str = "https://www.example.org/film/x") -> HtmlResponse:
    return HtmlResponse(url=url, body=body.encode("utf-8"), encoding="utf-8")


def _ld(*blocks: str) -> str:
    scripts = "".join(f'<script type="application/ld+json">{b}</script>' for b in blocks)
    return f"<html><head>{scripts}</head><body></body></html>"


# ------------------------------------------------------------------------------ JSON-LD


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"@type": "Movie", "name": "A"}', [{"@type": "Movie", "name": "A"}]),
        ('/* <![CDATA[ */ {"name": "A"} /* ]]> */', [{"name": "A"}]),
        ('//<![CDATA[\n{"name": "A"}\n//]]>', [{"name": "A"}]),
        ('<!-- {"name": "A"} -->', [{"name": "A"}]),
        ('<![CDATA[{"name": "A"}]]>', [{"name": "A"}]),
        ('\ufeff{"name": "A"}', [{"name": "A"}]),
        ('{"name": "A",}', [{"name": "A"}]),
        ('{"a": [1, 2, ], "b": {"c": 1 ,} , }', [{"a": [1, 2], "b": {"c": 1}}]),
        ('{"name": "a, }", "x": 1,}', [{"name": "a, }", "x": 1}]),  # a comma in a string stays
        ('{"d": "line one\nline two\ttab"}', [{"d": "line one\nline two\ttab"}]),
        ('{"a": 1}{"b": 2}', [{"a": 1}, {"b": 2}]),
        ('{"a": 1}\n\n{"b": 2,}', [{"a": 1}, {"b": 2}]),
        ('{"a": 1};', [{"a": 1}]),
        ('{"@type": "Movie", "name": "Cut off', []),
        ('{"a": 1} {"b": ', [{"a": 1}]),  # the complete value before a truncated one is kept
        ("{&quot;@type&quot;: &quot;Movie&quot;}", [{"@type": "Movie"}]),
        (
            '{"name": "Tom &amp; Jerry"}',
            [{"name": "Tom &amp; Jerry"}],
        ),  # entities: the mapper's job
        ("", []),
        ("   ", []),
        ("not json at all", []),
    ],
)
def test_parse_block_repairs(raw: str, expected: list[object]) -> None:
    assert parse_block(raw) == expected


def test_jsonld_objects_flattens_graph_and_arrays() -> None:
    html = _ld(
        '{"@context": "https://schema.org", "@graph": [{"@type": "WebPage"},'
        ' {"@type": "Movie", "director": {"@type": "Person", "name": "D"}}]}',
        '[{"@type": "BreadcrumbList"}, {"@type": "Organization"}]',
        '{"@type": "ItemList", "@graph": [{"@type": "Movie", "name": "M"}]}',
    )
    objects = jsonld_objects(html)
    assert [sorted(types_of(o)) for o in objects] == [
        ["WebPage"], ["Movie"], ["BreadcrumbList"], ["Organization"], ["ItemList"], ["Movie"],
    ]  # fmt: skip
    assert objects[1]["director"] == {"@type": "Person", "name": "D"}  # nesting kept


@pytest.mark.parametrize(
    "script_tag",
    [
        '<script type="application/ld+json">',
        "<script type='application/ld+json'>",
        '<script type="Application/LD+JSON">',
        '<script TYPE = " application/ld+json " id="x">',
        "<script type=application/ld+json>",
        '<script data-x="1" type="application/ld+json" nonce="abc">',
    ],
)
def test_jsonld_script_type_spellings(script_tag: str) -> None:
    html = f'<html><head>{script_tag}{{"@type": "Movie"}}</script></head></html>'
    assert jsonld_objects(html) == [{"@type": "Movie"}]


def test_jsonld_ignores_other_scripts_and_bad_blocks() -> None:
    html = (
        '<script>var x = {"@type": "Movie"};</script>'
        '<script type="application/ld+json">{"@type": "Movie", "name": "tru</script>'
        '<script type="application/ld+json">{"@type": "TVSeries"}</script>'
    )
    assert jsonld_objects(html) == [{"@type": "TVSeries"}]


def test_jsonld_same_from_text_response_and_selector() -> None:
    html = _ld('{"@type": "Movie", "name": "A"}', '[{"@type": "Person"}]')
    response = _page(html)
    expected = [{"@type": "Movie", "name": "A"}, {"@type": "Person"}]
    assert jsonld_objects(html) == expected
    assert jsonld_objects(response) == expected
    assert jsonld_objects(Selector(text=html)) == expected


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"@type": "Movie"}, {"Movie"}),
        ({"@type": ["Movie", "CreativeWork"]}, {"Movie", "CreativeWork"}),
        ({"@type": "schema:Movie"}, {"Movie"}),
        ({"@type": "http://schema.org/Movie"}, {"Movie"}),
        ({"@type": "https://schema.org/TVSeries/"}, {"TVSeries"}),
        ({"@type": " Movie "}, {"Movie"}),
        ({"@type": ["", None, "VideoGame"]}, {"VideoGame"}),
        ({"@type": 5}, set()),
        ({"name": "no type"}, set()),
        ("Movie", set()),
    ],
)
def test_types_of(obj: object, expected: set[str]) -> None:
    assert types_of(obj) == expected


# ------------------------------------------------------------------------------ microdata


def test_microdata_nested_items_and_value_attributes() -> None:
    html = """<html><body>
    <div itemscope itemtype="http://schema.org/Movie" itemid="urn:x">
      <h1 itemprop="name"> The  Film </h1>
      <time itemprop="datePublished" datetime="1957-03-30">March 1957</time>
      <meta itemprop="duration" content="PT98M">
      <img itemprop="image" src="/p.jpg">
      <a itemprop="sameAs" href="https://www.imdb.com/title/tt0000001/">IMDb</a>
      <span itemprop="genre">Drama</span><span itemprop="genre">Romance</span>
      <div itemprop="director" itemscope itemtype="https://schema.org/Person">
        <span itemprop="name">Vera</span><a itemprop="url" href="/p/1">page</a>
      </div>
      <span itemprop="keywords about">orchard<script>ignored()</script></span>
    </div>
    <div itemscope itemtype="http://schema.org/Organization"><span itemprop="name">Org</span></div>
    </body></html>"""
    items = microdata_items(_page(html, "https://site.example/m/1"))
    assert items == [
        {
            "@type": "Movie",
            "@id": "urn:x",
            "name": "The Film",
            "datePublished": "1957-03-30",
            "duration": "PT98M",
            "image": "https://site.example/p.jpg",
            "sameAs": "https://www.imdb.com/title/tt0000001/",
            "genre": ["Drama", "Romance"],
            "director": {"@type": "Person", "name": "Vera", "url": "https://site.example/p/1"},
            "keywords": "orchard",
            "about": "orchard",
        },
        {"@type": "Organization", "name": "Org"},
    ]


def test_microdata_nested_props_do_not_leak_into_parent() -> None:
    html = """<div itemscope itemtype="http://schema.org/Movie"><span itemprop="name">M</span>
      <div itemprop="actor" itemscope itemtype="http://schema.org/Person">
        <span itemprop="name">A</span></div></div>"""
    (item,) = microdata_items(html)
    assert item == {"@type": "Movie", "name": "M", "actor": {"@type": "Person", "name": "A"}}


def test_microdata_none() -> None:
    assert microdata_items("<html><body><p>plain</p></body></html>") == []


# ------------------------------------------------------------------------------ Open Graph


def test_opengraph_property_and_name_first_wins_repeats_listed() -> None:
    html = """<html><head>
    <meta property="og:title" content="First (2001)">
    <meta name="og:title" content="Second">
    <meta property="OG:Type" content="video.movie">
    <meta property="og:image" content="a.jpg"><meta property="og:image" content="b.jpg">
    <meta property="video:actor" content="X"><meta property="video:actor" content="Y">
    <meta name="twitter:card" content="summary">
    <meta property="og:description" content="">
    <meta name="description" content="not og">
    </head></html>"""
    assert opengraph(_page(html)) == {
        "og:title": "First (2001)",
        "og:type": "video.movie",
        "og:image": ["a.jpg", "b.jpg"],
        "video:actor": ["X", "Y"],
        "twitter:card": "summary",
    }


# ------------------------------------------------------------------------------ page checks

_DOC_A = "<!DOCTYPE html><html><head><title>A</title></head><body>a</body></html>"
_DOC_B = "<!doctype html>\n<html><head><title>B</title></head><body>b</body></html>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_DOC_A, _DOC_A),
        (_DOC_A + "\n" + _DOC_B, _DOC_A),
        (_DOC_A + _DOC_B + _DOC_B, _DOC_A),
        (_DOC_A + "\n<html><body>b</body></html>", _DOC_A),
        (_DOC_A + "\n\n", _DOC_A + "\n\n"),  # nothing after: one document
        (_DOC_A + "<!-- saved -->", _DOC_A + "<!-- saved -->"),
        # a doctype inside a script (ad iframes) is not a second document
        ('<html><body><script>f("<!DOCTYPE html><html>")</script></body></html>',
         '<html><body><script>f("<!DOCTYPE html><html>")</script></body></html>'),
    ],
)  # fmt: skip
def test_first_document(text: str, expected: str) -> None:
    assert first_document(text) == expected
    assert is_concatenated(text) == (expected != text)


_FILM_LD = _ld('{"@type": "Movie", "name": "Real Film", "datePublished": "2001-01-01"}')
_LONG_TEXT = "<p>" + "A long paragraph about the film and its making. " * 60 + "</p>"


@pytest.mark.parametrize(
    ("html", "url", "expected"),
    [
        ("", "https://x.example/film/1", "empty_body"),
        ("   \n ", "https://x.example/film/1", "empty_body"),
        ("<html><head><title></title></head><body></body></html>", "https://x.example/f", "empty_body"),
        ('<html><body><div id="root"></div><script src="/app.js"></script></body></html>',
         "https://x.example/f", "js_shell"),
        ('<html><body><div id="__next"></div><script>boot()</script>'
         "<noscript>Please enable JavaScript.</noscript></body></html>", "https://x.example/f", "js_shell"),
        ("<html><head><title>Just a moment...</title></head><body>Checking</body></html>",
         "https://x.example/f", "anti_bot"),
        ("<html><head><title>Access Denied</title></head><body>Ref #18</body></html>",
         "https://x.example/f", "anti_bot"),
        ("<html><body><h1>Please verify you are human</h1><div class='g-recaptcha'></div>"
         "</body></html>", "https://x.example/f", "anti_bot"),
        ("<html><head><title>Before you continue</title></head><body><p>We use cookies and data"
         " to deliver services.</p><button>Accept all</button><button>Reject all</button>"
         "</body></html>", "https://x.example/f", "consent_wall"),
        ("<html><head><title>Search - Films</title></head><body>"
         + "".join(f'<a href="/film/f-{i}">F{i}</a>' for i in range(4)) + "</body></html>",
         "https://x.example/search?q=f", "search_results"),
        ("<html><head><title>Top films</title></head><body>"
         + "".join(f'<a href="/film/f-{i}">F{i}</a>' for i in range(12)) + "</body></html>",
         "https://x.example/lists/top", "listing"),
        ("<html><head><title>Lazy posters</title></head><body>"
         + "".join(f'<div data-target-link="/film/f-{i}/"></div>' for i in range(12))
         + "</body></html>", "https://x.example/actor/a", "listing"),
        # off-site film links do not make a listing (an article's references)
        ("<html><head><title>Article</title></head><body>" + _LONG_TEXT
         + "".join(f'<a href="https://imdb.example/title/tt{i:07d}/">r</a>' for i in range(20))
         + "</body></html>", "https://wiki.example/wiki/A", None),
        (_DOC_A + _DOC_B, "https://x.example/f", "concatenated"),
        # a film page is never refused, whatever else it carries
        (_FILM_LD.replace("<body>", "<body><div class='g-recaptcha'></div>Access denied"),
         "https://x.example/f", None),
        (_FILM_LD.replace("<body>", "<body>We use cookies. <button>Accept all</button>"),
         "https://x.example/search?q=x", None),
        ('<html><head><meta property="og:type" content="video.movie">'
         '<meta property="og:title" content="Film (1999)"><title>Search</title></head><body>'
         + "".join(f'<a href="/film/f-{i}">F{i}</a>' for i in range(30)) + "</body></html>",
         "https://x.example/film/1", None),
        # ... but an og:type on a listing's title does not make it a film page
        ('<html><head><meta property="og:type" content="video.tv_show">'
         '<meta property="og:title" content="Show (2005) - Episode list"></head><body>'
         + "".join(f'<a href="/title/tt{i:07d}/">E{i}</a>' for i in range(12)) + "</body></html>",
         "https://x.example/title/tt1/episodes", "listing"),
        ("<html><head><title>A page</title></head><body>" + _LONG_TEXT + "</body></html>",
         "https://x.example/about", None),
    ],
)  # fmt: skip
def test_why_not_film(html: str, url: str, expected: str | None) -> None:
    assert why_not_film(_page(html, url)) == expected


# ------------------------------------------------------------------------------ mapping traps


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"@type": "Movie", "name": "M"}, True),
        ({"@type": ["TVEpisode"], "name": "E"}, True),
        ({"@type": "Article", "name": "Film (1997 film)", "datePublished": "2001-08-12"}, False),
        ({"@type": ["Movie", "Article"], "name": "M"}, False),
        ({"@type": "VideoObject", "name": "Official Trailer", "duration": "PT2M",
          "director": {"@type": "Person", "name": "D"}}, False),
        ({"@type": "VideoObject", "name": "Full Film", "duration": "PT1H30M",
          "director": {"@type": "Person", "name": "D"}}, True),
        ({"@type": "CreativeWork", "name": "Something", "url": "/x"}, False),
        ({"@type": "Person", "name": "P"}, False),
    ],
)  # fmt: skip
def test_is_film_object(obj: dict[str, object], expected: bool) -> None:
    assert is_film_object(obj) is expected


@pytest.mark.parametrize(
    ("extra", "year", "release_date"),
    [
        ({"datePublished": "1977-05-25", "dateCreated": "2005-01-01"}, "1977", "1977-05-25"),
        ({"releasedEvent": [{"@type": "PublicationEvent", "startDate": "1971"}],
          "dateCreated": "2011-06-22", "dateModified": "2022-04-18"}, "1971", None),
        ({"startDate": "2014-04-15"}, "2014", "2014-04-15"),
        ({"dateCreated": "1913"}, "1913", None),  # the film's own date: nothing else is given
        ({"dateCreated": "2005-11-20T14:50:02-08:00", "datePublished": None}, None, None),
        ({"dateCreated": "2011-06-22", "dateModified": "2022-04-18"}, None, None),
    ],
)  # fmt: skip
def test_release_year_avoids_record_dates(
    extra: dict[str, object], year: str | None, release_date: str | None
) -> None:
    (film,) = film_records(
        [{"@type": "Movie", "name": "M", **extra}], "s.example", "https://s.example/m"
    )
    assert isinstance(film, ScrapedFilm)
    assert (film.year, film.release_date) == (year, release_date)


def test_page_title_year_fills_a_missing_year() -> None:
    page = "<html><head><title>The Film (1994) - Site</title></head></html>"
    (film,) = film_records([{"@type": "Movie", "name": "The Film"}], "s", "https://s/m", page)
    assert film.year == "1994"  # type: ignore[union-attr]


def test_ratings_reviews_and_entities() -> None:
    obj = {
        "@type": "Movie",
        "name": "Tom &amp; Jerry&#39;s",
        "aggregateRating": {"ratingValue": "8,6", "bestRating": 10, "ratingCount": 1234},
        "review": [
            {"@type": "Review", "reviewBody": "Good.", "author": {"name": "u"},
             "reviewRating": {"ratingValue": 9.0, "bestRating": "10"}},
            {"@type": "Review", "reviewBody": "Fresh.", "publisher": {"name": "The Paper"},
             "reviewRating": {"ratingValue": 1, "bestRating": 1, "worstRating": -1}},
        ],
    }  # fmt: skip
    film, user, critic = film_records([obj], "s.example", "https://s.example/m")
    assert isinstance(film, ScrapedFilm) and film.title == "Tom & Jerry's"
    (rating,) = film.ratings
    assert (rating.value, rating.scale_max, rating.count, rating.kind) == (
        "8,6", "10", "1234", "user_average",
    )  # fmt: skip
    assert isinstance(user, ScrapedReview) and user.rating is not None
    assert (user.rating.value, user.critic, user.film.title) == ("9", False, "Tom & Jerry's")
    assert isinstance(critic, ScrapedReview) and critic.critic and critic.rating is None


@pytest.mark.parametrize(
    ("urls", "expected"),
    [
        (["https://www.imdb.com/title/tt0111161/?ref_=x"], {"imdb": "tt0111161"}),
        (["https://m.imdb.com/title/tt10751754/"], {"imdb": "tt10751754"}),
        (["https://www.imdb.com/name/nm0000151/"], {}),
        (["http://www.wikidata.org/entity/Q44578"], {"wikidata": "Q44578"}),
        (["https://www.wikidata.org/wiki/Q44578"], {"wikidata": "Q44578"}),
        (["https://www.themoviedb.org/movie/603-the-matrix"], {"tmdb": "movie/603"}),
        (["https://www.themoviedb.org/tv/1399"], {"tmdb": "tv/1399"}),
        (["https://example.org/title/tt0111161/"], {}),
    ],
)
def test_external_ids(urls: list[str], expected: dict[str, str]) -> None:
    assert external_ids(urls) == expected


# ------------------------------------------------------------------------------ the site module


def test_parse_page_reads_a_json_ld_document_and_refuses_other_json() -> None:
    from scrapy.http import TextResponse

    from crawler.sites.base import NoFilmData
    from crawler.sites.schema_org import parse_page

    doc = TextResponse(
        url="https://www.x.example/f.jsonld", body=b'{"@type": "Movie", "name": "J"}'
    )
    (film,) = parse_page(doc)
    assert isinstance(film, ScrapedFilm) and (film.site, film.title) == ("x.example", "J")
    api = TextResponse(url="https://api.x.example/providers", body=b'{"results": {"US": []}}')
    with pytest.raises(NoFilmData) as info:
        parse_page(api)
    assert info.value.reason == "no_film_data"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Doctor Who (TV Series 2005–2022) - Episode list - IMDb", True),
        ("Episodes (TV Series 2011–2017) - IMDb", False),
        ("The Film (1999) - Full Cast & Crew", True),
        ("The Film (1999)", False),
        ("Top 250 films", True),
        (None, False),
    ],
)
def test_is_subpage_title(title: str | None, expected: bool) -> None:
    from crawler.extract.schema_org import is_subpage_title

    assert is_subpage_title(title) is expected
