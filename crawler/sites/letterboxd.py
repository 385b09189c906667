"""Letterboxd (letterboxd.com, short links on boxd.it): a social film diary.

Pages handled:

* Film pages ``/film/<slug>/`` (and their ``crew/``, ``details/``, ``genres/``, ``releases/``
  tabs, which render the same page): JSON-LD ``Movie`` (wrapped in ``/* <![CDATA[ */``) with
  directors, actors, genres and an ``aggregateRating`` on a 0-5 scale; the header prints the
  display title, the year and the original title (``h2.originalname`` with its ``lang``; older
  pages an ``<em>`` in the header); the cast tab gives characters (``title`` or, in browser-saved
  pages, ``data-original-title``), the crew tab labelled roles, the details tab the alternative
  titles, the releases tab dated releases; the footer "97 mins  More at IMDb TMDB" gives the
  runtime and the external ids. Popular reviews on the page become reviews.
  ``dateCreated`` in the JSON-LD is when Letterboxd added the film, never a release date.
* Review pages ``/<member>/film/<slug>/`` (JSON-LD ``Review`` naming the film; stars
  ★★★½ = 3.5/5): one member review.
* Review lists (``/<member>/films/reviews/``, ``/film/<slug>/reviews/...``): one review each.
* Lists, browse pages, member pages: ``listing``; actor/director/... filmographies:
  ``person_page``. A ``boxd.it`` short link is read as the page its ``og:url`` names.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml.html import HtmlElement
from scrapy.http import TextResponse

from crawler.extract.html import page_root
from crawler.extract.jsonld import jsonld_objects, types_of
from crawler.extract.pagecheck import LISTING_MIN_LINKS, why_not_film
from crawler.extract.schema_org import external_ids, film_records
from crawler.extract.text import element_text, squash
from crawler.sites.base import NoFilmData, Route, SiteRules
from pipelines.records import (
    FilmRef,
    ScrapedCredit,
    ScrapedFilm,
    ScrapedRating,
    ScrapedRecord,
    ScrapedReview,
    ScrapedTitle,
)

SITE = "letterboxd"

_FILM_PATH = r"^/film/[^/]+/?(?:(?:crew|details|genres|releases|cast)/?)?$"
_REVIEW_PATH = r"^/(?!film/|films/)[^/]+/film/[^/]+/(?:\d+/?)?$"
_REVIEW_LIST_PATH = r"^/(?:[^/]+/films/reviews|film/[^/]+/reviews)(?:/|$)"
_PERSON_PATH = re.compile(
    r"^/(?:actor|director|co-director|writer|producer|executive-producer|composer|"
    r"cinematography|editor|casting|crew|original-writer|story|novel|screenplay|"
    r"additional-directing|songs|sound|costume-design|art-direction|production-design|"
    r"visual-effects|makeup|hairstyling|stunts|choreography|lighting|camera-operator|"
    r"set-decoration|title-design|assistant-director|executive-producers|producers)/"
)
_FILM_LINKS = re.compile(
    r"""(?:href|data-item-link|data-film-slug|data-target-link)=["'](?:https?://letterboxd\.com)?"""
    r"""(/film/[^/"'?#]+)/?["']"""
)
_SLUG = re.compile(r"/film/([^/?#]+)")
_RUNTIME = re.compile(r"(\d[\d,]*)\s*mins?\b")
_RATED = re.compile(r"\brated-(?:large-)?(\d+)\b")
_QUOTES = "‘’“”'\""

# Crew headings as printed -> credit roles; other jobs keep their lower-cased singular label.
_SINGULARS = frozenset(
    {"director", "producer", "writer", "editor", "operator", "composer", "designer",
     "artist", "coordinator", "supervisor", "manager", "assistant", "photographer"}
)  # fmt: skip
_CREW_ROLES = {
    "director": "director",
    "directors": "director",
    "co-director": "director",
    "co-directors": "director",
    "writer": "writer",
    "writers": "writer",
    "screenplay": "writer",
    "original writer": "writer",
    "original writers": "writer",
    "story": "writer",
    "producer": "producer",
    "producers": "producer",
    "composer": "composer",
    "composers": "composer",
}


# ------------------------------------------------------------------------------ helpers
#
# Film pages are large (a browser-saved one holds ~4,000 elements): the tree is walked once,
# over a few tag names, to collect the blocks read below (``_Page``); everything else is read
# inside those blocks with lxml directly. Document-wide CSS queries cost ~1 ms each here.

_OG_URL = re.compile(r"""<meta\b[^>]*property=["']og:url["'][^>]*content=["']([^"']+)""", re.I)


def _classes(el: HtmlElement) -> list[str]:
    return (el.get("class") or "").split()


def _first(el: HtmlElement | None, tag: str, cls: str | None = None) -> HtmlElement | None:
    """The first descendant ``tag`` (with class ``cls``) of ``el``."""
    if el is None:
        return None
    for child in el.iter(tag):
        if cls is None or cls in _classes(child):
            return child
    return None


def _all(el: HtmlElement | None, tag: str, cls: str | None = None) -> list[HtmlElement]:
    if el is None:
        return []
    return [c for c in el.iter(tag) if cls is None or cls in _classes(c)]


class _Page:
    """The blocks of a Letterboxd page, found in one walk over a few tag names."""

    def __init__(self, response: TextResponse) -> None:
        self.response = response
        self.tabs: dict[str, HtmlElement] = {}
        self.meta: dict[str, str] = {}
        self.header: HtmlElement | None = None
        self.heading: HtmlElement | None = None
        self.original: HtmlElement | None = None
        self.footer: HtmlElement | None = None
        self.synopsis: HtmlElement | None = None
        self.ratings: HtmlElement | None = None
        self.masthead: HtmlElement | None = None
        self.reviews: list[HtmlElement] = []
        root = page_root(response)
        self.root = root
        for el in root.iter("meta", "div", "section", "header", "h1", "h2", "p", "article", "li"):
            tag = el.tag
            if tag == "meta":
                prop = el.get("property")
                if prop and prop.startswith("og:"):
                    self.meta.setdefault(prop, el.get("content") or "")
                continue
            cls = _classes(el)
            if tag == "div":
                ident = el.get("id") or ""
                if ident.startswith("tab-"):
                    self.tabs.setdefault(ident[4:], el)
                elif "-hero" in cls and "review" in cls and self.synopsis is None:
                    self.synopsis = el
            elif tag == "section":
                if el.get("id") == "featured-film-header" or "production-masthead" in cls:
                    self.header = self.header if self.header is not None else el
                elif "production-synopsis" in cls:
                    self.synopsis = el
                elif "ratings-histogram-chart" in cls:
                    self.ratings = el
            elif tag == "header":
                if "inline-production-masthead" in cls and self.masthead is None:
                    self.masthead = el
            elif tag == "h1":
                if "headline-1" in cls and self.heading is None:
                    self.heading = el
            elif tag == "h2":
                if "originalname" in cls:
                    self.original = el
            elif tag == "p":
                if "text-footer" in cls:
                    self.footer = el
            elif tag == "article":
                if "production-viewing" in cls:
                    self.reviews.append(el)
            elif tag == "li" and "film-detail" in cls:
                self.reviews.append(el)
        og = self.meta.get("og:url", "").strip()
        letterboxd = og and (urlsplit(og).hostname or "").endswith("letterboxd.com")
        self.url = og if letterboxd else response.url


def _canonical(response: TextResponse) -> str:
    """The page's own URL: ``og:url`` when it is a letterboxd.com URL (a boxd.it short link
    or a mirror), else the response URL (read from the text: no tree needed)."""
    m = _OG_URL.search(response.text[:100_000])
    og = m.group(1).strip() if m else ""
    if og and (urlsplit(og).hostname or "").endswith("letterboxd.com"):
        return og
    return response.url


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def _slug(url: str | None) -> str | None:
    m = _SLUG.search(url or "")
    return m.group(1) if m else None


def _film_ids(film_url: str | None) -> dict[str, str]:
    slug = _slug(film_url)
    return {SITE: slug} if slug else {}


def stars_value(el: HtmlElement | None) -> str | None:
    """A member rating as a 0-5 value: class ``rated-7`` (half-stars) -> "3.5", else the
    stars printed: "★★★½" -> "3.5". None when unrated."""
    if el is None:
        return None
    if m := _RATED.search(el.get("class") or ""):
        halves = int(m.group(1))
        return None if halves == 0 else _half_stars(halves)
    text = element_text(el) or ""
    stars = text.count("★")
    half = "½" in text
    if not stars and not half:
        return None
    return _half_stars(stars * 2 + (1 if half else 0))


def _half_stars(halves: int) -> str:
    return str(halves // 2) if halves % 2 == 0 else f"{halves / 2:.1f}"


def _member_rating(value: str | None) -> ScrapedRating | None:
    if value is None:
        return None
    return ScrapedRating(source=SITE, value=value, scale_max="5", kind="user_average")


def _headed_blocks(tab: HtmlElement | None) -> list[tuple[str, HtmlElement]]:
    """(heading label, the block after it) for each ``h3`` of a tab; a crew heading's label is
    its ``crewrole -full`` span when it has one."""
    out: list[tuple[str, HtmlElement]] = []
    if tab is None:
        return out
    children = [c for c in tab if isinstance(c.tag, str)]
    for i, child in enumerate(children):
        if child.tag != "h3" or i + 1 >= len(children):
            continue
        full = next((s for s in child.iter("span") if "-full" in _classes(s)), None)
        label = element_text(full if full is not None else child) or ""
        out.append((label, children[i + 1]))
    return out


# ------------------------------------------------------------------------------ film pages


def _singular(label: str) -> str:
    """ "executive producers" -> "executive producer"; "visual effects" stays."""
    head, _, last = label.rpartition(" ")
    if last.endswith("s") and last[:-1] in _SINGULARS:
        return f"{head} {last[:-1]}".strip()
    return label


def _credits(page: _Page, film: ScrapedFilm) -> list[ScrapedCredit]:
    """Crew tab roles and cast tab characters; the JSON-LD's where a tab is missing."""
    credits: list[ScrapedCredit] = []
    seen: set[tuple[str, str]] = set()
    for label, block in _headed_blocks(page.tabs.get("crew")):
        key = label.lower()
        role = _CREW_ROLES.get(key) or _singular(key)
        for a in _all(block, "a", "text-slug"):
            name = element_text(a)
            if name and (name, role) not in seen:
                seen.add((name, role))
                credits.append(ScrapedCredit(name=name, role=role))
    if not any(c.role == "director" for c in credits):
        credits[:0] = [c for c in film.credits if c.role == "director"]
    cast = page.tabs.get("cast")
    links = (
        [a for a in cast.iter("a") if "/actor/" in (a.get("href") or "")]
        if cast is not None
        else []
    )
    if links:
        for a in links:
            name = element_text(a)
            if name:
                character = squash(a.get("title") or a.get("data-original-title"))
                credits.append(ScrapedCredit(name=name, character=character))
    else:
        credits.extend(c for c in film.credits if c.role == "cast")
    return credits


def _original_title(page: _Page) -> tuple[str | None, str | None]:
    """(original title, its language) from the header: ``h2.originalname`` (2023+) or the
    quoted ``<em>`` of older headers."""
    node = page.original
    if node is None:
        node = _first(page.header, "em")
    if node is None:
        return None, None
    title = squash((element_text(node) or "").strip(_QUOTES + " "))
    return title, squash(node.get("lang"))


def _alternative_titles(page: _Page) -> list[str]:
    out: list[str] = []
    for label, block in _headed_blocks(page.tabs.get("details")):
        if not label.lower().startswith("alternative title"):
            continue
        for part in (element_text(block) or "").split(", "):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def _release_date(page: _Page) -> str | None:
    """The earliest date of the releases tab ("16 Mar 1960"), as printed."""
    best: tuple[datetime, str] | None = None
    for h5 in _all(page.tabs.get("releases"), "h5", "date"):
        raw = element_text(h5)
        if not raw:
            continue
        try:
            when = datetime.strptime(raw, "%d %b %Y")
        except ValueError:
            continue
        if best is None or when < best[0]:
            best = (when, raw)
    return best[1] if best else None


def _page_rating(page: _Page) -> ScrapedRating | None:
    """The weighted average from the ratings histogram ("Weighted average of 3.92 based on
    242,595 ratings") when the JSON-LD has none."""
    node = _first(page.ratings, "a", "display-rating")
    if node is None:
        return None
    tip = node.get("data-original-title") or node.get("title") or ""
    m = re.search(r"average of ([\d.]+)(?: based on ([\d,]+))?", tip)
    value = m.group(1) if m else element_text(node)
    if not value:
        return None
    return ScrapedRating(source=SITE, value=value, scale_max="5", count=m.group(2) if m else None)


def _synopsis(page: _Page) -> str | None:
    block = _first(page.synopsis, "div", "truncate") if page.synopsis is not None else None
    paras = [t for t in (element_text(p) for p in _all(block, "p")) if t]
    if paras:
        return "\n\n".join(paras)
    return squash(page.meta.get("og:description"))


def _review_body(item: HtmlElement) -> str:
    for div in item.iter("div"):
        cls = _classes(div)
        if "js-review-body" in cls or ("body-text" in cls and "collapsible-text" in cls):
            return "\n\n".join(t for t in (element_text(p) for p in div.iter("p")) if t)
    return ""


def _viewing_reviews(page: _Page, ref: FilmRef | None) -> list[ScrapedReview]:
    """Reviews in a viewing list (a film's popular reviews, a member's reviews): each with its
    author, stars, date, body and its own permalink; ``ref`` names the film on a film page,
    else each item names its own."""
    reviews: list[ScrapedReview] = []
    base = page.url
    for item in page.reviews:
        link = next((a.get("href") for a in item.iter("a") if "context" in _classes(a)), None)
        name = next(
            (e for e in item.iter("strong") if {"displayname", "name"} & set(_classes(e))), None
        )
        owner = item.get("data-owner") or item.get("data-person")
        rating = _member_rating(stars_value(_first(item, "span", "rating")))
        body = _review_body(item)
        film = ref or _item_ref(base, item)
        if film is None or not (body or rating):
            continue
        time = _first(item, "time")
        reviews.append(
            ScrapedReview(
                site=SITE,
                url=urljoin(base, link) if link else base,
                film=film,
                author=element_text(name) or owner,
                published_at=time.get("datetime") if time is not None else None,
                body=body or None,
                rating=rating,
            )
        )
    return reviews


def _item_ref(base: str, item: HtmlElement) -> FilmRef | None:
    """How a member's review list item names its film: the poster's data and the header."""
    poster = next((e for e in item.iter("div") if e.get("data-item-link") or e.get("data-film-slug")
                   or e.get("data-target-link")), None)  # fmt: skip
    link = None
    if poster is not None:
        link = (
            poster.get("data-item-link")
            or poster.get("data-film-slug")
            or poster.get("data-target-link")
        )
    masthead = _first(item, "header", "inline-production-masthead")
    title = element_text(_first(masthead, "h2"))
    if not title and poster is not None:
        title = squash(re.sub(r"\s*\(\d{4}\)$", "", poster.get("data-item-name") or ""))
    if not title:
        return None
    year = element_text(_first(_first(masthead, "span", "releasedate"), "a"))
    url = urljoin(base, link) if link else None
    return FilmRef(title=title, year=year, url=url, external_ids=_film_ids(url))


def parse_film(response: TextResponse) -> list[ScrapedRecord]:
    """A film page: the JSON-LD film corrected and enriched from the page, then its popular
    reviews."""
    text = response.text
    objects = jsonld_objects(text)
    canonical = _canonical(response)
    records = film_records(objects, SITE, canonical, text)
    if not records or not isinstance(records[0], ScrapedFilm):
        if any(types_of(o) & {"Review"} for o in objects):
            return parse_review(response)
        raise NoFilmData(
            why_not_film(response) or "not_a_film_page", "no Letterboxd film on the page"
        )
    film = records[0]
    page = _Page(response)
    title = element_text(page.heading) or film.title
    original, language = _original_title(page)
    titles: list[ScrapedTitle] = []
    if original and original != title:
        titles.append(ScrapedTitle(title=original, language=language, type="original"))
    for alt in _alternative_titles(page):
        if alt not in (title, original) and not any(t.title == alt for t in titles):
            titles.append(ScrapedTitle(title=alt))
    year_node = _first(page.header, "span", "releasedate")
    if year_node is None:
        year_node = _first(page.header, "small", "number")
    year = element_text(_first(year_node, "a"))
    runtime = _RUNTIME.search(element_text(page.footer) or "")
    hrefs = [a.get("href") or "" for a in _all(page.footer, "a")]
    ids = {**external_ids(hrefs), **film.external_ids}
    if slug := _slug(canonical) or _slug(_jsonld_url(objects)):
        ids[SITE] = slug
    ratings = film.ratings or [r for r in (_page_rating(page),) if r]
    film = film.model_copy(
        update={
            "title": title,
            "original_title": original if original and original != title else None,
            "titles": titles,
            "year": year or film.year,
            "release_date": _release_date(page),
            "runtime": runtime.group(0) if runtime else film.runtime,
            "credits": _credits(page, film),
            "external_ids": ids,
            "ratings": ratings,
            "synopsis": _synopsis(page) or film.synopsis,
        }
    )
    ref = FilmRef(
        title=film.title,
        year=film.year,
        url=canonical,
        external_ids=dict(film.external_ids),
        directors=[c.name for c in film.credits if c.role == "director"],
    )
    return [film, *records[1:], *_viewing_reviews(page, ref)]


def _jsonld_url(objects: list[dict[str, Any]]) -> str | None:
    for obj in objects:
        url = obj.get("url") or obj.get("@id")
        if isinstance(url, str) and "/film/" in url:
            return url
    return None


# ------------------------------------------------------------------------------ reviews


def _review_ref(page: _Page, review: dict[str, Any] | None) -> FilmRef | None:
    """The reviewed film: the JSON-LD ``itemReviewed`` (its ``dateCreated`` is Letterboxd's
    record date, so the year comes from the page header) and the header's link and year."""
    item = review.get("itemReviewed") if review else None
    item = item if isinstance(item, dict) else {}
    masthead = page.masthead
    title = squash(item.get("name")) if isinstance(item.get("name"), str) else None
    name_link = _first(_first(masthead, "h2"), "a")
    title = title or element_text(name_link)
    link = (
        item.get("sameAs")
        or item.get("url")
        or (name_link.get("href") if name_link is not None else None)
    )
    url = urljoin(page.url, link) if isinstance(link, str) else None
    year = element_text(_first(_first(masthead, "span", "releasedate"), "a"))
    if not year:
        m = re.search(r"\((\d{4})\)\s*$", page.meta.get("og:title", ""))
        year = m.group(1) if m else None
    directors = [
        d["name"].strip()
        for d in (
            item.get("director")
            if isinstance(item.get("director"), list)
            else [item.get("director")]
        )
        if isinstance(d, dict) and isinstance(d.get("name"), str)
    ]
    if not title and not url:
        return None
    return FilmRef(
        title=title, year=year, url=url, external_ids=_film_ids(url), directors=directors
    )


def _name(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name")
    return squash(value) if isinstance(value, str) else None


def parse_review(response: TextResponse) -> list[ScrapedRecord]:
    """A member's review page: one review, the film it names and its stars (0-5)."""
    objects = jsonld_objects(response.text)
    review = next((o for o in objects if types_of(o) & {"Review"}), None)
    page = _Page(response)
    ref = _review_ref(page, review)
    if ref is None:
        if any(types_of(o) & {"Movie"} for o in objects):
            return parse_film(response)
        raise NoFilmData(why_not_film(response) or "not_a_film_page", "no review on the page")
    body_div = next((d for d in page.root.iter("div") if "js-review-body" in _classes(d)), None)
    body = "\n\n".join(t for t in (element_text(p) for p in _all(body_div, "p")) if t)
    if not body and review:
        body = squash(review.get("reviewBody")) or ""
    strip = next(
        (d for d in page.root.iter("div") if "content-reactions-strip" in _classes(d)), None
    )
    value = stars_value(_first(strip, "span", "rating"))
    if value is None and review and isinstance(review.get("reviewRating"), dict):
        raw = review["reviewRating"].get("ratingValue")
        value = None if raw in (None, "", 0) else str(raw)
    author = _name(review.get("author")) if review else None
    published = review.get("datePublished") if review else None
    return [
        ScrapedReview(
            site=SITE,
            url=page.url,
            film=ref,
            author=author,
            published_at=published if isinstance(published, str) else None,
            body=body or None,
            rating=_member_rating(value),
        )
    ]


def parse_review_list(response: TextResponse) -> list[ScrapedRecord]:
    """A list of reviews (a member's, or a film's): one review per item."""
    page = _Page(response)
    ref = None
    if re.search(r"^/film/", _path(page.url)):
        slug = _slug(page.url)
        title = squash(re.sub(r"^Reviews of\s+|\s*[•|].*$", "", page.meta.get("og:title", "")))
        url = urljoin(page.url, f"/film/{slug}/")
        ref = FilmRef(title=title, url=url, external_ids=_film_ids(url)) if title and slug else None
    reviews = _viewing_reviews(page, ref)
    if not reviews:
        reason = "listing" if page.reviews else why_not_film(response) or "listing"
        raise NoFilmData(reason, "a review list with no readable review")
    return list(reviews)


# ------------------------------------------------------------------------------ dispatch


def parse_page(response: TextResponse) -> list[ScrapedRecord]:
    """Any other page (or a boxd.it short link): read as the page its canonical URL names,
    else refused as a listing, a person page or what the page check says."""
    path = _path(_canonical(response))
    if path != _path(response.url):
        for pattern, parser in ((_FILM_PATH, parse_film), (_REVIEW_PATH, parse_review),
                                (_REVIEW_LIST_PATH, parse_review_list)):  # fmt: skip
            if re.search(pattern, path):
                return parser(response)
    if _PERSON_PATH.search(path):
        raise NoFilmData("person_page", f"{path}: a filmography")
    if len(set(_FILM_LINKS.findall(response.text))) >= LISTING_MIN_LINKS:
        raise NoFilmData("listing", f"{path}: a page of film links")  # no tree needed
    reason = why_not_film(response)
    if reason is None and re.search(
        r"^/(?:films?|lists?|[^/]+/(?:list|films|watchlist|likes))(?:/|$)", path
    ):
        reason = "listing"
    raise NoFilmData(reason or "not_a_film_page", f"{path}: no film on the page")


RULES = SiteRules(
    name=SITE,
    hosts=("letterboxd.com", "boxd.it"),
    routes=(
        Route(_FILM_PATH, parse_film),
        Route(_REVIEW_PATH, parse_review),
        Route(_REVIEW_LIST_PATH, parse_review_list),
        Route(r".*", parse_page),
    ),
    follow=(
        r"^/film/[^/]+/$",
        r"^/film/[^/]+/reviews/by/activity/$",
        r"^/films/popular/",
        r"^/[^/]+/list/[^/]+/$",
    ),
    settings={
        "DOWNLOAD_DELAY": 2.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "AUTOTHROTTLE_ENABLED": True,
    },
)
