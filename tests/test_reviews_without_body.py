"""Reviews without text and review pages without a film object (issue 9, item 6).

A rating-only review is a review (stored with ``body`` null); one with neither text nor
rating is not. The generic extractor finds a review's text in the HTML around it when the
schema.org object leaves it out, and the film of a review that names none in the page's
heading link, breadcrumb or canonical film URL. Whole pages: the parser cases under
fixtures/cases/schema_org/ (review-list-without-bodies, rating-only-review, microdata-reviews-*).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from parsel import Selector

from crawler.extract.schema_org import film_records, html_review_bodies, page_film_ref
from pipelines.normalize import normalize
from pipelines.records import FilmRef, ScrapedRating, ScrapedReview
from pipelines.validate import Invalid, validate

URL = "https://films.example.org/film/heat-1995/reviews/"
FILM = FilmRef(title="Heat", year="1995", url="https://films.example.org/film/heat-1995/")


def _review(**extra: Any) -> dict[str, Any]:
    return {"@type": "Review", **extra}


def _by(author: str, **extra: Any) -> dict[str, Any]:
    return _review(author={"@type": "Person", "name": author}, **extra)


# ------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("body", "rating", "reason"),
    [
        ("Tense and long.", ScrapedRating(source="x", value="8", scale_max="10"), None),
        (None, ScrapedRating(source="x", value="8", scale_max="10"), None),
        ("Tense and long.", None, None),
        ("   ", ScrapedRating(source="x", value="8", scale_max="10"), None),  # blank = no text
        (None, None, "missing_body"),
        ("N/A", None, "missing_body"),  # a null-word is no text
        (None, ScrapedRating(source="x", value="undefined"), "missing_body"),  # nor a score
    ],
)
def test_a_review_is_its_text_or_its_rating(
    body: str | None, rating: ScrapedRating | None, reason: str | None
) -> None:
    scraped = ScrapedReview(site="x", url=URL, film=FILM, author="a", body=body, rating=rating)
    data = normalize(scraped).data
    if reason is None:
        record = validate(data)
        assert record.body == (body.strip() or None if body else None)  # type: ignore[union-attr]
        return
    with pytest.raises(Invalid) as info:
        validate(data)
    assert info.value.reason == reason


# ------------------------------------------------------------------------------ text from HTML


def _bodies(html: str, reviews: list[dict[str, Any]]) -> list[str | None]:
    found = html_review_bodies(reviews, Selector(text=html).root, URL)
    return [found.get(id(r)) for r in reviews]


_LIST = """<section class="reviews">
<div class="review-card" id="r1"><p class="byline">anna</p><p>8/10</p>
  <p>Great heist, better diner scene.</p><p><a href="/r/1">Read more</a></p></div>
<div class="review-card" id="r2"><span class="author">bo</span>
  <div class="review-body"><p>Long.</p><p class="notice">Edited by the author.</p></div></div>
</section>"""


@pytest.mark.parametrize(
    ("html", "reviews", "expected"),
    [
        pytest.param(_LIST, [_by("anna"), _by("bo")],
                     ["Great heist, better diner scene.", "Long."], id="by-author"),
        pytest.param(_LIST, [_review(**{"@id": f"{URL}#r2"}), _review(url="#r1")],
                     ["Long.", "Great heist, better diner scene."], id="by-fragment"),
        pytest.param(_LIST, [_review(**{"@id": "https://elsewhere.example/x#r2"})], [None],
                     id="fragment-of-another-page"),
        pytest.param(_LIST, [_by("carl")], [None], id="author-not-shown"),
        pytest.param(_LIST, [_by("ann")], [None], id="part-of-a-name-is-no-author"),
        pytest.param(_LIST, [_by("anna"), _by("anna", name="Again")], [None, None],
                     id="one-box-two-reviews"),
        pytest.param(
            '<div class="review">a <p>One.</p></div><div class="review">a <p>Two.</p></div>',
            [_by("a")], [None], id="author-in-two-boxes"),
        pytest.param(
            '<div class="review"><b>a</b><h3>First</h3><p>One.</p></div>'
            '<div class="review"><b>a</b><h3>Second</h3><p>Two.</p></div>',
            [_by("a", name="Second"), _by("a", name="First")], ["Two.", "One."],
            id="title-breaks-a-tie"),
        pytest.param('<article class="review"><p>Only one.</p></article>', [_review()],
                     ["Only one."], id="the-page-only-review-and-box"),
        pytest.param('<div class="review"><p>One.</p></div><div class="review"><p>Two.</p></div>',
                     [_review()], [None], id="anonymous-among-several-boxes"),
        pytest.param("<h1>Heat</h1><p>Great heist, better diner scene.</p>", [_by("anna")],
                     [None], id="no-review-box"),
        pytest.param(
            '<div itemscope itemtype="http://schema.org/Review"><span itemprop="author">anna</span>'
            '<div itemprop="itemReviewed" itemscope itemtype="http://schema.org/Movie">'
            '<p itemprop="description">A crew of thieves.</p></div></div>',
            [_by("anna")], [None], id="film-synopsis-is-not-the-review"),
        pytest.param(
            '<div class="review"><div class="review-meta"><p>anna, 3 May</p></div>'
            '<time>3 May</time><p>★★★★☆</p><p>4 out of 5</p><p>Solid.</p></div>',
            [_by("anna")], ["Solid."], id="meta-left-out"),
    ],
)  # fmt: skip
def test_review_text_from_the_html_around_it(
    html: str, reviews: list[dict[str, Any]], expected: list[str | None]
) -> None:
    assert _bodies(html, reviews) == expected


def test_text_from_html_only_when_the_object_has_none() -> None:
    page = "<html><body><div class='review'><b>anna</b><p>From the page.</p></div></body></html>"
    with_body = _by("anna", reviewBody="From JSON-LD.", itemReviewed={"name": "Heat"})
    without = _by("anna", itemReviewed={"name": "Heat"})
    (kept,) = film_records([with_body], "x", URL, page)
    (found,) = film_records([without], "x", URL, page)
    assert (kept.body, found.body) == ("From JSON-LD.", "From the page.")  # type: ignore[union-attr]


# ------------------------------------------------------------------------------ film from page


def _ld(obj: dict[str, Any]) -> str:
    return f'<script type="application/ld+json">{json.dumps(obj)}</script>'


def _crumbs(*pairs: tuple[str, str | None]) -> str:
    items = [
        {"@type": "ListItem", "position": i, "name": name, **({"item": link} if link else {})}
        for i, (name, link) in enumerate(pairs, 1)
    ]
    return _ld({"@type": "BreadcrumbList", "itemListElement": items})


_HEAT = "https://films.example.org/film/heat-1995/"
_H1 = f'<h1><a href="{_HEAT}">Heat</a> (1995): reviews</h1>'


@pytest.mark.parametrize(
    ("head", "body", "expected"),
    [
        pytest.param("", _H1, FilmRef(title="Heat", year="1995", url=_HEAT), id="heading-link"),
        pytest.param("", '<h1><a href="/film/heat-1995/">Heat (1995)</a></h1>',
                     FilmRef(title="Heat", year="1995", url=_HEAT), id="heading-link-name-year"),
        pytest.param("", '<h1><a href="/film/heat-1995/">Heat</a> by <a href="/name/mann">Mann</a>'
                     "</h1>", None, id="heading-with-two-links"),
        pytest.param("", '<h1>Reviews by <a href="/user/anna">anna</a></h1>', None,
                     id="heading-links-a-user"),
        pytest.param("", '<h1><a href="/reviews/81-great-heist">Great heist</a></h1>', None,
                     id="heading-links-a-review"),
        pytest.param("", '<h1><a href="/film/">All films</a></h1>', None,
                     id="heading-links-a-section"),
        pytest.param("", "<h1>Heat</h1>", None, id="heading-without-link"),
        pytest.param(_crumbs(("Home", "/"), ("Films", "/film/"), ("Heat (1995)", _HEAT),
                             ("User reviews", URL)), "",
                     FilmRef(title="Heat", year="1995", url=_HEAT), id="jsonld-breadcrumb"),
        pytest.param(_crumbs(("Home", "/"), ("Heat", _HEAT), ("Reviews", f"{_HEAT}reviews/all"),
                             ("Page 2", None)), "",
                     FilmRef(title="Heat", url=_HEAT), id="breadcrumb-past-a-section"),
        pytest.param(_crumbs(("Home", "/"), ("Users", "/users/"), ("anna", "/u/anna"),
                             ("Reviews", None)), "", None, id="breadcrumb-of-a-user"),
        pytest.param("", '<ol itemscope itemtype="https://schema.org/BreadcrumbList">'
                     '<li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem">'
                     '<a itemprop="item" href="/"><span itemprop="name">Home</span></a>'
                     '<meta itemprop="position" content="1"></li>'
                     '<li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem">'
                     '<a itemprop="item" href="/film/heat-1995/"><span itemprop="name">Heat</span></a>'
                     '<meta itemprop="position" content="2"></li></ol>',
                     FilmRef(title="Heat", url=_HEAT), id="microdata-breadcrumb"),
        pytest.param("", '<nav aria-label="breadcrumb"><a href="/">Home</a> › '
                     '<a href="/film/heat-1995/">Heat</a> › <span>Reviews</span></nav>',
                     FilmRef(title="Heat", url=_HEAT), id="nav-breadcrumb"),
        pytest.param(f'<link rel="canonical" href="{_HEAT}">', "", FilmRef(url=_HEAT),
                     id="canonical-film-url"),
        pytest.param(f'<link rel="canonical" href="{URL}">', "", None, id="canonical-is-the-page"),
        pytest.param('<link rel="canonical" href="https://films.example.org/film/">', "", None,
                     id="canonical-is-a-section"),
        pytest.param(f'<link rel="canonical" href="{_HEAT}">', _H1,
                     FilmRef(title="Heat", year="1995", url=_HEAT), id="heading-and-canonical-agree"),
        pytest.param(_crumbs(("Heat (1995)", "/film/heat-95")), _H1,
                     FilmRef(title="Heat", year="1995"), id="one-title-two-links"),
        pytest.param(_crumbs(("Ronin", "/film/ronin-1998/")), _H1, None, id="two-films"),
        pytest.param(_crumbs(("Heat (1986)", _HEAT)), _H1, None, id="two-years"),
        pytest.param('<link rel="canonical" href="https://films.example.org/review/81">', "", None,
                     id="canonical-outside-the-page-path"),  # the review's own, not its film
        pytest.param('<link rel="canonical" href="https://films.example.org/review/81">', _H1,
                     FilmRef(title="Heat", year="1995", url=_HEAT), id="such-a-canonical-is-no-vote"),
        pytest.param("", "<p>Nothing names the film.</p>", None, id="nothing"),
    ],
)  # fmt: skip
def test_film_named_by_the_page(head: str, body: str, expected: FilmRef | None) -> None:
    text = f"<html><head>{head}</head><body>{body}</body></html>"
    assert page_film_ref(Selector(text=text).root, text, URL, {"anna"}) == expected


def _review_page(head: str, review: dict[str, Any]) -> str:
    return f"<html><head>{_ld(review)}</head><body>{head}</body></html>"


def test_review_naming_no_film_takes_the_page_film() -> None:
    review = _by("anna", reviewBody="Tense.")
    (record,) = film_records([review], "x", URL, _review_page(_H1, review))
    assert record.film == FilmRef(title="Heat", year="1995", url=_HEAT)  # type: ignore[union-attr]


def test_review_named_after_its_film_takes_the_heading_link() -> None:
    review = _by("anna", name="Heat", reviewRating={"ratingValue": 4, "bestRating": 5})
    (record,) = film_records([review], "x", URL, _review_page(_H1, review))
    assert (record.film, record.body) == (FilmRef(title="Heat", year="1995", url=_HEAT), None)  # type: ignore[union-attr]


def test_item_reviewed_wins_over_the_page() -> None:
    review = _by("anna", reviewBody="Tense.", itemReviewed={"@type": "Movie", "name": "Ronin"})
    (record,) = film_records([review], "x", URL, _review_page(_H1, review))
    assert record.film == FilmRef(title="Ronin")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("review", "page"),
    [
        (_by("anna", reviewBody="Tasty.", itemReviewed={"@type": "Restaurant", "name": "Heat"}),
         _H1),  # a review of something else stays out
        (_by("anna", reviewBody="Tense."), "<h1>User reviews</h1>"),  # the page names no film
    ],
)  # fmt: skip
def test_reviews_of_nothing_we_can_name_are_refused(review: dict[str, Any], page: str) -> None:
    assert film_records([review], "x", URL, _review_page(page, review)) == []


def test_without_html_no_page_film() -> None:
    """A JSON document (no HTML) has no heading or breadcrumb to name the film."""
    assert film_records([_by("anna", reviewBody="Tense.")], "x", URL, None) == []
