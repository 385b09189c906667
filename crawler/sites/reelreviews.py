"""ReelReviews: a demo user-review site (the look of seed 002).

Each review page has a title, a byline (author profile link and a printed timestamp), an
optional "Rating: 4/5", the body paragraphs, a "View more about <Film> reviews" link to the
film's hub page, and an "Extended Reading" block of "<Film> quotes" exchanges. The site never
states a film's year or director: a review names its film by title only, so the reference we
emit carries the title, the hub URL and the quote speakers (character names) as evidence.

Hub pages (``film/<slug>.html``) only list links to reviews; they are followed, not parsed.
"""

from __future__ import annotations

import re

from parsel import Selector
from scrapy.http import TextResponse

from crawler.extract.text import paragraphs, squash, text_of
from crawler.sites.base import NoFilmData, Route, SiteRules
from pipelines.records import (
    FilmRef,
    QuoteLine,
    ScrapedQuote,
    ScrapedRating,
    ScrapedRecord,
    ScrapedReview,
)

SITE = "reelreviews"

_VIEW_MORE = re.compile(r"^View more about (?P<title>.+?) reviews$", re.IGNORECASE)
_QUOTES_HEADING = re.compile(r"^(?P<title>.+?) quotes$", re.IGNORECASE)
_RATING = re.compile(r"Rating:\s*(?P<value>[^/\s]+)\s*(?:/\s*(?P<scale>\S+))?", re.IGNORECASE)
# "Ben Sanderson: Why am I ..." when the speaker is not marked up: a short name-like prefix.
_SPEAKER_PREFIX = re.compile(r"^(?P<speaker>[A-Z][\w.'’\- ]{0,40}?)\s*:\s+(?P<text>.+)$", re.S)


def _film_title_and_url(response: TextResponse) -> tuple[str | None, str | None]:
    """The film title and absolute hub URL from the "View more about X reviews" link."""
    link = response.xpath("//a[starts-with(normalize-space(.), 'View more about')]")[:1]
    url = link.attrib.get("href") if link else None
    match = _VIEW_MORE.match(text_of(link) or "")
    title = squash(match.group("title")) if match else None
    if title is None:
        heading = text_of(response.css(".film-quotes h3, .film-quotes h2")[:1])
        match = _QUOTES_HEADING.match(heading or "")
        title = squash(match.group("title")) if match else None
    return title, response.urljoin(url) if url else None


def _quote_line(node: Selector) -> QuoteLine | None:
    """One "<Speaker>: <text>" line; speaker None when the line names nobody."""
    full = squash("".join(node.xpath(".//text()").getall()))
    if full is None:
        return None
    speaker = text_of(node.css(".speaker")[:1])
    if speaker and full.startswith(speaker):
        text = squash(full[len(speaker) :].lstrip().removeprefix(":"))
        return QuoteLine(speaker=speaker, text=text) if text else None
    match = _SPEAKER_PREFIX.match(full)
    if match:
        return QuoteLine(speaker=squash(match.group("speaker")), text=match.group("text"))
    return QuoteLine(text=full)


def _quote_exchanges(response: TextResponse) -> list[list[QuoteLine]]:
    """Each <li> of the quotes list as its lines, in page order (empty items dropped)."""
    exchanges = []
    for item in response.css(".film-quotes ul > li"):
        nodes = item.xpath("./p | ./div[contains(@class, 'line')]") or [item]
        lines = [line for line in map(_quote_line, nodes) if line is not None]
        if lines:
            exchanges.append(lines)
    return exchanges


def _rating(response: TextResponse) -> ScrapedRating | None:
    """The reviewer's own "Rating: 4/5", raw, when the page shows one."""
    match = _RATING.search(text_of(response.css(".review-rating")[:1]) or "")
    if not match:
        return None
    return ScrapedRating(source=SITE, value=match.group("value"), scale_max=match.group("scale"))


def parse_review(response: TextResponse) -> list[ScrapedRecord]:
    """A review page: the review, then one quote record per quoted exchange."""
    article = response.css("article.review")[:1]
    if not article:
        raise NoFilmData("no_review", f"{response.url}: no review article on the page")
    title, hub_url = _film_title_and_url(response)
    if title is None and hub_url is None:
        raise NoFilmData("no_film_title", f"{response.url}: the review names no film")
    exchanges = _quote_exchanges(response)
    speakers = [line.speaker for lines in exchanges for line in lines if line.speaker]
    film = FilmRef(title=title, url=hub_url, characters=list(dict.fromkeys(speakers)))
    review = ScrapedReview(
        site=SITE,
        url=response.url,
        film=film,
        author=text_of(article.css(".byline .author")[:1]),
        published_at=text_of(article.css(".byline time")[:1]),
        title=text_of(article.css("h1")[:1]),
        body=paragraphs(article.css(".review-body > p:not(.notice)")),
        rating=_rating(response),
    )
    quotes = [ScrapedQuote(site=SITE, url=response.url, film=film, lines=ls) for ls in exchanges]
    return [review, *quotes]


RULES = SiteRules(
    name=SITE,
    start_path=f"/{SITE}/index.html",
    follow=(rf"^/{SITE}/(index|review/[\w-]+|film/[\w-]+)\.html$",),
    routes=(Route(rf"^/{SITE}/review/[\w-]+\.html$", parse_review),),
)
