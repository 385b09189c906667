"""Cinepedia: a demo film-encyclopedia site (the look of seed 000).

Each article page (``/cinepedia/film/<slug>.html``) has an ``<h1>`` "Title (Year)" with the year
in ``span.year``, a facts line (release date, optional "TV Series" label, genres, runtime), a
poster, an overview paragraph (the synopsis), long prose sections, a "Top Cast" list of
actor/character cards, and a sidebar with the crew ("Director: ...") and an IMDb link.

The demo site also serves bad pages on purpose (an empty ``<h1>``, cp1252 bytes under a utf-8
declaration, a document truncated mid-cast-list, an empty file); the parser returns what is
there and leaves judging it to the pipeline.
"""

from __future__ import annotations

import re

from parsel import Selector
from scrapy.http import TextResponse

from crawler.extract.text import squash, text_of, texts_of
from crawler.sites.base import NoFilmData, Route, SiteRules
from pipelines.records import ScrapedCredit, ScrapedFilm, ScrapedRecord

SITE = "cinepedia"

_FILM_PATH = r"^/cinepedia/film/[^/]+\.html$"
_IMDB_ID = re.compile(r"/title/(tt\d+)")
_EMPTY_PARENS = re.compile(r"\(\s*\)\s*$")
_HAS_CLASS = "contains(concat(' ', normalize-space(@class), ' '), ' {} ')"

# Crew job labels as printed -> credit roles; other jobs keep their lower-cased label.
_JOB_ROLES = {
    "director": "director",
    "directors": "director",
    "writer": "writer",
    "writers": "writer",
    "screenplay": "writer",
    "novel": "writer",
    "story": "writer",
    "creator": "creator",
    "creators": "creator",
}


def _slug(url: str) -> str:
    """The page slug (file name without ``.html``) for NoFilmData messages."""
    return url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".html")


def _title(h1: Selector | None) -> str | None:
    """The ``<h1>`` text without the year span and its now-empty parentheses."""
    if h1 is None:
        return None
    not_year = f"not(ancestor::*[{_HAS_CLASS.format('year')}])"
    text = squash(" ".join(h1.xpath(f".//text()[{not_year}]").getall()))
    return squash(_EMPTY_PARENS.sub("", text)) if text else None


def _credits(response: TextResponse) -> list[ScrapedCredit]:
    """Crew rows ("Director: Mike Figgis") first, then the Top Cast cards."""
    credits: list[ScrapedCredit] = []
    for row in response.css(".crew-box .crew-member"):
        job = squash((text_of(row.css(".job")) or "").rstrip(":"))
        if not job:
            continue
        role = _JOB_ROLES.get(job.lower(), job.lower())
        credits.extend(ScrapedCredit(name=n, role=role) for n in texts_of(row.css(".name")))
    for card in response.css(".top-cast .cast-card"):
        name = text_of(card.css(".actor"))
        if name:
            credits.append(ScrapedCredit(name=name, character=text_of(card.css(".character"))))
    return credits


def _imdb_ids(response: TextResponse) -> dict[str, str]:
    """``{"imdb": "tt..."}`` from the links box, or ``{}``."""
    for href in response.css(".external-links a::attr(href)").getall():
        if "imdb.com" in href and (m := _IMDB_ID.search(href)):
            return {"imdb": m.group(1)}
    return {}


def _poster_url(response: TextResponse) -> str | None:
    """The poster image, absolute; lazy ``data-src`` wins over a placeholder ``src``."""
    img = response.css(".film-hero .poster img")
    for src in (img.attrib.get("data-src"), img.attrib.get("src")):
        src = squash(src)
        if src and not src.startswith("data:"):
            return response.urljoin(src)
    return None


def parse_film(response: TextResponse) -> list[ScrapedRecord]:
    """One ScrapedFilm from an article page; NoFilmData if the article is missing."""
    article = response.css("article.film-article")
    if not article:
        raise NoFilmData("no_article", f"{_slug(response.url)}: no film article on the page")
    h1 = article.css("h1.film-title")
    facts = article.css(".film-header .facts")
    film = ScrapedFilm(
        site=SITE,
        url=response.url,
        title=_title(h1[0] if h1 else None),
        year=text_of(h1.css(".year")),
        release_date=text_of(facts.css(".release")),
        kind=text_of(facts.css(".kind")),
        runtime=text_of(facts.css(".runtime")),
        credits=_credits(response),
        genres=texts_of(facts.css(".genres .genre")),
        external_ids=_imdb_ids(response),
        synopsis=text_of(article.css(".overview p")[:1]),
        poster_url=_poster_url(response),
    )
    return [film]


RULES = SiteRules(
    name=SITE,
    start_path="/cinepedia/index.html",
    follow=(r"^/cinepedia/index\.html$", _FILM_PATH),
    routes=(Route(_FILM_PATH, parse_film),),
)
