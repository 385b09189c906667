"""StreamFinder: a where-to-watch listing site of the demo web (``/streamfinder/``).

A listing page (``movie/<slug>.html``) shows the title in an ``<h1>``, a "Where to Watch
<Title>" section with one block per region (``div.wtw-region[data-country]``) of offer rows
(provider, "Stream"/"Rent"/"Buy"/"Free"/"Free with ads", quality, price), the description
paragraphs, and a templated facts line::

    <Title> is a <Genres> movie released in <Year>. It has a runtime of <N> Critics and viewers
    have rated it <no reviews|NN% positive>, with an IMDb score of <undefined|7.5>..

The template is broken (no "minutes" after the runtime, a double full stop) and its slots may
hold "undefined"; every value is kept raw for the normalizer. The description is whatever the
site stored for the title and is sometimes borrowed from another film (the 2007 concert film
"The Killers - Leaving Las Vegas" carries the 1995 drama's synopsis): it is returned as printed.
"""

from __future__ import annotations

import re

from parsel import Selector
from scrapy.http import TextResponse

from crawler.extract.text import paragraphs, text_of
from crawler.sites.base import NoFilmData, Route, SiteRules
from pipelines.records import (
    FilmRef,
    ScrapedFilm,
    ScrapedOffer,
    ScrapedRating,
    ScrapedRecord,
)

SITE = "streamfinder"

# The facts line, in the site's broken template or a proper one. Each slot is captured raw.
_FACTS = re.compile(
    r"""
    ^(?:.*\s)?is\s+an?\s+               # "<Title> is a ": greedy, as a title may hold " is a ";
                                        # the title may also be empty ("is a Drama movie ...")
    (?P<kind>.+?)\s+released\s+in\s+    # "Concerts, Music, Documentary movie" / "... TV series"
    (?P<year>\S+?)\.\s*                 # "2007." / "undefined."
    It\s+has\s+a\s+runtime\s+of\s+
    (?P<runtime>\S+?)                   # "61" / "111" / "undefined"
    (?:\s+min(?:ute)?s?)?\.?\s*         # proper template: " minutes."; broken one: nothing
    Critics\s+and\s+viewers\s+have\s+rated\s+it\s+
    (?P<share>.+?)(?:\s+positive)?,\s*  # "74% positive" -> "74%"; "no reviews" kept whole
    with\s+an\s+IMDb\s+score\s+of\s+
    (?P<imdb>.+?)\.*$                   # "7.5.." / "undefined.." / "7.5." (stops dropped)
    """,
    re.VERBOSE,
)

# The type noun closing the kind phrase ("... movie", "... TV series"); what precedes is genres.
_TYPE_NOUN = re.compile(
    r"(?:^|\s+)(?:movie|film|TV\s+(?:mini-?)?series|TV\s+show|series|show)$", re.IGNORECASE
)


def _title(response: TextResponse) -> str | None:
    """The listing's display title: the ``<h1>`` of the title header (not any page's h1)."""
    return text_of(response.css("h1.title-name, .title-hero h1")[:1])


def _facts(response: TextResponse) -> re.Match[str] | None:
    """The facts line's match: the ``p.title-facts`` paragraph first, then any paragraph."""
    for node in [*response.css("p.title-facts"), *response.css("main p, article p")]:
        text = text_of(node)
        match = _FACTS.search(text) if text else None
        if match:
            return match
    return None


def _genres(kind: str) -> list[str]:
    """Genres from the kind phrase: "Crime, Drama TV series" -> ["Crime", "Drama"]."""
    phrase = _TYPE_NOUN.sub("", kind)
    return [g.strip() for g in phrase.split(",") if g.strip()]


def _ratings(facts: re.Match[str]) -> list[ScrapedRating]:
    """The site's critic share (out of 100) and the IMDb score (out of 10), raw."""
    return [
        ScrapedRating(
            source=SITE, value=facts["share"].strip(), scale_max="100", kind="critic_share"
        ),
        ScrapedRating(source="imdb", value=facts["imdb"].strip(), scale_max="10"),
    ]


def _film(response: TextResponse, title: str | None, facts: re.Match[str] | None) -> ScrapedFilm:
    """The listing's film record."""
    film = ScrapedFilm(
        site=SITE,
        url=response.url,
        title=title,
        synopsis=paragraphs(response.css(".title-description p")),
    )
    if facts:
        film.year = facts["year"]
        film.kind = facts["kind"]
        film.runtime = facts["runtime"]
        film.genres = _genres(facts["kind"])
        film.ratings = _ratings(facts)
    return film


def _offer(response: TextResponse, row: Selector, region: Selector, ref: FilmRef) -> ScrapedOffer:
    """One offer row of a region block."""
    price = text_of(row.css(".offer-price"))
    href = row.css("a.offer-link::attr(href)").get() or row.css("a::attr(href)").get()
    return ScrapedOffer(
        site=SITE,
        url=response.url,
        film=ref,
        provider=text_of(row.css(".provider-name")),
        country=region.attrib.get("data-country"),
        monetization=text_of(row.css(".offer-type")),
        quality=text_of(row.css(".offer-quality")),
        price=price,
        currency=region.attrib.get("data-currency") if price else None,
        offer_url=response.urljoin(href.strip()) if href and href.strip() else None,
    )


def _offers(response: TextResponse, ref: FilmRef) -> list[ScrapedOffer]:
    """Every offer row of every region block (none when the region has no offers)."""
    return [
        _offer(response, row, region, ref)
        for region in response.css(".wtw-region")
        for row in region.css(".offer-row")
    ]


def parse_listing(response: TextResponse) -> list[ScrapedRecord]:
    """A title's listing page: one ScrapedFilm, then one ScrapedOffer per offer row."""
    title = _title(response)
    facts = _facts(response)
    film = _film(response, title, facts)
    ref = FilmRef(title=title, year=film.year, url=response.url)
    offers = _offers(response, ref)
    if not (title or facts or film.synopsis or offers):
        slug = response.url.rstrip("/").rsplit("/", 1)[-1]
        raise NoFilmData("no_listing", f"{slug}: no title, facts line, description or offers")
    return [film, *offers]


RULES = SiteRules(
    name=SITE,
    start_path="/streamfinder/index.html",
    follow=(r"^/streamfinder/(?:index\.html)?$", r"^/streamfinder/movie/[^/]+\.html$"),
    routes=(Route(r"^/streamfinder/movie/[^/]+\.html$", parse_listing),),
)
