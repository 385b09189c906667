"""Kinopoisk (kinopoisk.ru): the Russian film database.

Layouts handled:

* Film and series pages (``/film/<id>/``, ``/series/<id>/``), the Next.js layout: no JSON-LD,
  hashed CSS class names (``styles_originalTitle__JaNKM``), so elements are found by the stable
  part of their class (``styles_originalTitle``), by ``itemprop`` and ``data-test-id``, and by
  row labels of the "О фильме" table ("Год производства", "Режиссер", "Время"...). The ``<h1>``
  holds "Title (1994)" or "Title (сериал 2011 – 2019)"; the original title sits under it. Saved
  pages are often DOM fragments without ``<head>``; nothing here needs one.
* Review pages: the legacy table layout of one user review (``/user/<id>/comment/<id>/``) and
  review lists (``/film/<id>/reviews/``): schema.org ``Review`` microdata; one ScrapedReview
  per review, naming its film by title, year and Kinopoisk URL/id.
* Lists and charts (``/lists/...``, top 250): ``listing``; search: ``search_results``;
  people (``/name/<id>/``): ``person_page``.

Russian dates ("10 сентября 1994", "9 апреля 2012 | 22:49") are given to the pipeline in ISO
form: ``pipelines.normalize`` knows no Russian month names.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from parsel import Selector, SelectorList
from scrapy.http import TextResponse

from crawler.extract.pagecheck import why_not_film
from crawler.extract.text import squash, text_of
from crawler.sites.base import NoFilmData, Route, SiteRules, not_film
from pipelines.records import (
    FilmRef,
    ScrapedCredit,
    ScrapedFilm,
    ScrapedRating,
    ScrapedRecord,
    ScrapedReview,
    ScrapedTitle,
)

SITE = "kinopoisk"

_FILM_PATH = r"^/(?:film|series)/\d+/?$"
_REVIEW_PATH = r"^/(?:user/\d+/comment/\d+|film/\d+/reviews?|reviews?/\d+)/?"
_ID = re.compile(r"/(film|series)/(\d+)")
_H1 = re.compile(
    r"^(?P<title>.*?)\s*\((?P<label>[^()]*?)[,\s]*(?P<years>\d{4}(?:\s*[–—-]\s*(?:\d{4}|\.\.\.)?)?)\s*\)\s*$"
)
_YEAR_IN_PARENS = re.compile(r"^(.*?)\s*\((\d{4})\)\s*$")
_IMDB = re.compile(r"IMDb\s*:?\s*(\d+(?:[.,]\d+)?)", re.I)
_COUNT = re.compile(r"\(?\s*(\d[\d\s\u00a0]*)\s*\)?")
_RU_DATE = re.compile(r"(\d{1,2})\s+([а-яё]+)\s+(\d{4})(?:\s*[|,]?\s*(\d{1,2}):(\d{2}))?", re.I)
_RU_MONTHS = {
    "января": 1, "февраля": 2, "марта": 3, "апреля": 4, "мая": 5, "июня": 6, "июля": 7,
    "августа": 8, "сентября": 9, "октября": 10, "ноября": 11, "декабря": 12,
}  # fmt: skip
_HAS_CLASS = "contains(@class, '{}')"
# Row labels of the "О фильме" table -> credit roles.
_ROLES = {
    "режиссер": "director", "режиссёр": "director", "сценарий": "writer",
    "продюсер": "producer", "оператор": "cinematographer", "композитор": "composer",
    "художник": "production_designer", "монтаж": "editor", "создатели": "creator",
}  # fmt: skip
# Labels in the <h1> parentheses and genres -> kind hints for pipelines.normalize.
_LABEL_KINDS = (
    ("мини-сериал", "TV Mini Series"), ("мини–сериал", "TV Mini Series"),
    ("сериал", "TV Series"), ("тв", "TV Movie"), ("видео", "Video"),
)  # fmt: skip
_GENRE_KINDS = {"короткометражка": "Short", "документальный": "Documentary",
                "концерт": "Concert"}  # fmt: skip


# ------------------------------------------------------------------------------ helpers


def ru_date(raw: str | None) -> str | None:
    """ "10 сентября 1994" -> "1994-09-10"; "9 апреля 2012 | 22:49" -> "2012-04-09T22:49:00";
    the raw text when it is no Russian date."""
    if not raw:
        return None
    m = _RU_DATE.search(raw)
    if not m or m.group(2).lower() not in _RU_MONTHS:
        return squash(raw)
    day, month, year = int(m.group(1)), _RU_MONTHS[m.group(2).lower()], int(m.group(3))
    date = f"{year:04d}-{month:02d}-{day:02d}"
    if m.group(4):
        date += f"T{int(m.group(4)):02d}:{m.group(5)}:00"
    return date


def _by_class(sel: Selector | SelectorList, stem: str) -> SelectorList:
    """Elements whose (hashed) class contains ``stem``: "styles_originalTitle"."""
    return sel.xpath(f".//*[{_HAS_CLASS.format(stem)}]")


def _rows(sel: Selector) -> dict[str, Selector]:
    """The "О фильме" table: {label (lower-case): value node}."""
    rows: dict[str, Selector] = {}
    for row in sel.xpath("//*[@data-test-id='encyclopedic-table']/div"):
        cells = row.xpath("./div")
        if len(cells) >= 2:
            label = (squash(cells[0].xpath("string()").get()) or "").lower()
            if label and label not in rows:
                rows[label] = cells[1]
    return rows


def _links(value: Selector | None, href_part: str = "") -> list[str]:
    """Link texts of a row value, without "..." and keyword links."""
    if value is None:
        return []
    out = []
    for a in value.xpath(".//a"):
        href = a.attrib.get("href", "")
        name = squash(a.xpath("string()").get())
        if not name or name in ("...", "…") or "/keywords/" in href or href_part not in href:
            continue
        if name not in out:
            out.append(name)
    return out


def _ratings(sel: Selector) -> list[ScrapedRating]:
    """Kinopoisk's users' rating (/10) and IMDb's, when the page shows it."""
    ratings: list[ScrapedRating] = []
    value = squash(sel.css(".film-rating-value").xpath("string()").get())
    if value and re.match(r"^\d+(?:[.,]\d+)?$", value):
        block = sel.xpath("//*[contains(@class, 'film-rating-value')]/ancestor::*"
                          f"[.//*[{_HAS_CLASS.format('styles_count')}]][1]")  # fmt: skip
        count = squash(_by_class(block, "styles_count").xpath("string()").get()) if block else None
        ratings.append(ScrapedRating(source=SITE, value=value, scale_max="10", count=count,
                                     kind="user_average"))  # fmt: skip
    for node in sel.xpath("//*[starts-with(normalize-space(text()), 'IMDb')]"):
        text = squash(node.xpath("string()").get()) or ""
        if m := _IMDB.search(text):
            rest = text[m.end() :]
            count = None
            if not rest.strip():
                sibling = node.xpath("following-sibling::*[1]").xpath("string()").get()
                rest = sibling or ""
            if (c := _COUNT.match(rest.strip())) and c.group(1).strip():
                count = squash(c.group(1))
            ratings.append(ScrapedRating(source="imdb", value=m.group(1), scale_max="10",
                                         count=count, kind="user_average"))  # fmt: skip
            break
    return ratings


def _cast(sel: Selector) -> list[ScrapedCredit]:
    """The "В главных ролях" list (not "Роли дублировали": the Russian dub's voices)."""
    heading = sel.xpath(
        "//h3[a[contains(@href, '/cast/') and not(contains(@href, 'who_is'))]]"
        "/following-sibling::ul[1]//a[contains(@href, '/name/')]"
    )
    names = [squash(a.xpath("string()").get()) for a in heading]
    return [ScrapedCredit(name=n, role="cast") for n in dict.fromkeys(n for n in names if n)]


def _kind(label: str, genres: list[str], path: str) -> str:
    low = label.lower()
    for word, kind in _LABEL_KINDS:
        if re.search(rf"(?<![а-яё]){re.escape(word)}(?![а-яё])", low):
            return kind
    if path.startswith("/series/"):
        return "TV Series"
    for genre in genres:
        if genre.lower() in _GENRE_KINDS:
            return _GENRE_KINDS[genre.lower()]
    return "Movie"


# ------------------------------------------------------------------------------ parsers


def parse_film(response: TextResponse) -> list[ScrapedRecord]:
    """One ScrapedFilm from a film/series page (a whole page or a DOM fragment)."""
    sel = response.selector
    h1 = sel.xpath("//h1[@itemprop='name']")[:1]
    heading = squash(h1.xpath("string()").get()) if h1 else None
    rows = _rows(sel)
    if not rows and heading is None:
        # Neither the film's <h1 itemprop="name"> nor its "О фильме" table: not a film page
        raise NoFilmData(why_not_film(response) or "not_a_film_page", "no film title on the page")
    if heading is None:
        h1 = sel.xpath("//h1")[:1]
        heading = squash(h1.xpath("string()").get()) if h1 else None
    if not heading:
        raise NoFilmData("not_a_film_page", "a film table without a title")
    title, label, years = heading, "", None
    if m := _H1.match(heading):
        title, label, years = (
            m.group("title"),
            m.group("label"),
            re.sub(r"\s+", "", m.group("years")),
        )
        years = years.replace("—", "–").replace("-", "–").replace("...", "")
    original = squash(_by_class(sel, "styles_originalTitle").xpath("string()").get())
    genres = _links(rows.get("жанр"))
    path = urlsplit(response.url).path
    if years is None and (year_row := rows.get("год производства")) is not None:
        years = squash(re.sub(r"\(.*?\)", "", year_row.xpath("string()").get() or ""))
    credits: list[ScrapedCredit] = []
    for key, role in _ROLES.items():
        credits.extend(ScrapedCredit(name=n, role=role) for n in _links(rows.get(key), "/name/"))
    credits.extend(_cast(sel))
    premiere = rows.get("премьера в мире") or rows.get("премьера в россии")
    release = None
    if premiere is not None:
        first = _links(premiere) or [squash(premiere.xpath("string()").get()) or ""]
        release = ru_date(first[0]) if first and first[0] else None
    runtime = squash(rows["время"].xpath("string()").get()) if "время" in rows else None
    ids = {SITE: m.group(2)} if (m := _ID.search(path)) else {}
    titles = [ScrapedTitle(title=title, language="ru", type="display")]
    if original and original != title:
        titles.append(ScrapedTitle(title=original, type="original"))
    synopsis = None
    for stem in ("styles_paragraph", "styles_synopsis", "film-synopsys"):
        nodes = _by_class(sel, stem)
        if nodes:
            synopsis = "\n\n".join(t for t in (text_of(n) for n in nodes) if t) or None
            break
    poster = sel.css("img.film-poster::attr(src)").get()
    film = ScrapedFilm(
        site=SITE,
        url=response.url,
        title=title,
        original_title=original or title,
        titles=titles,
        year=years,
        release_date=release,
        kind=_kind(label, genres, path),
        runtime=runtime,
        credits=credits,
        genres=genres,
        external_ids=ids,
        ratings=_ratings(sel),
        synopsis=synopsis,
        poster_url=response.urljoin(poster) if poster else None,
    )
    return [film]


def _film_ref(node: Selector, response: TextResponse) -> FilmRef:
    """The reviewed film: its name, "Original (2011)" beside it, and its page."""
    item = node.xpath(".//*[@itemprop='itemReviewed']")[:1]
    if not item:
        item = node.css("p.film")[:1]
    title = squash(item.xpath(".//*[@itemprop='name']").xpath("string()").get()) if item else None
    href = item.xpath(".//a/@href").get() if item else None
    url = response.urljoin(href) if href else None
    extra = squash(item.xpath("./b").xpath("string()").get()) if item else None
    year = None
    if extra and (m := _YEAR_IN_PARENS.match(extra)):
        year = m.group(2)
    ids = {SITE: m.group(2)} if url and (m := _ID.search(url)) else {}
    return FilmRef(title=title or extra, year=year, url=url, external_ids=ids)


def parse_review(response: TextResponse) -> list[ScrapedRecord]:
    """A user review page or a film's review list: one ScrapedReview per review."""
    sel = response.selector
    page_author = squash(sel.css(".profile_name a::text").get())
    reviews: list[ScrapedRecord] = []
    for node in sel.xpath("//*[@itemscope][contains(@itemtype, 'schema.org/Review')]"):
        body_node = node.xpath(".//*[@itemprop='reviewBody']")[:1]
        if not body_node:
            continue
        body_html = body_node.get() or ""
        paras = re.split(r"(?:<br\s*/?>\s*){2,}", body_html)
        body = (
            "\n\n".join(t for t in (squash(re.sub(r"<[^>]+>", " ", p)) for p in paras) if t) or None
        )
        author = squash(
            node.xpath(".//*[@itemprop='author']//*[@itemprop='name']"
                       "[not(ancestor::*[@itemprop='itemReviewed'])]").xpath("string()").get()
        )  # fmt: skip
        author = author or squash(node.css(".profile_name a::text").get()) or page_author
        date = squash(node.css(".date::text").get()) or squash(
            node.xpath(".//*[@itemprop='datePublished']/@content").get()
        )
        reviews.append(
            ScrapedReview(
                site=SITE,
                url=response.url,
                film=_film_ref(node, response),
                author=author,
                published_at=ru_date(date),
                title=squash(node.xpath(".//meta[@itemprop='headline']/@content").get())
                or squash(node.css(".sub_title").xpath("string()").get()),
                body=body,
            )
        )
    if not reviews:
        raise NoFilmData(why_not_film(response) or "no_reviews", "no review on the page")
    return reviews


parse_listing = not_film("listing", "a Kinopoisk list of films")


parse_search = not_film("search_results", "a Kinopoisk search page")


parse_person = not_film("person_page", "a Kinopoisk person page")


RULES = SiteRules(
    name=SITE,
    hosts=("kinopoisk.ru",),
    routes=(
        Route(_FILM_PATH, parse_film),
        Route(_REVIEW_PATH, parse_review),
        Route(r"^/(?:lists|top|popular)/", parse_listing),
        Route(r"^/(?:s|index\.php|search)(?:/|$)", parse_search),
        Route(r"^/name/\d+", parse_person),
    ),
    follow=(_FILM_PATH, r"^/film/\d+/reviews/$", r"^/lists/movies/top250/"),
    settings={
        "DOWNLOAD_DELAY": 3.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "AUTOTHROTTLE_ENABLED": True,
    },
)
