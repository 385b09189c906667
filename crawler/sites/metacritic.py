"""Metacritic (www.metacritic.com): the Metascore (a weighted average of critics' scores) and
the user score.

Film (``/movie/<slug>``) and TV (``/tv/<slug>[/season-N]``) pages in two layouts:

* legacy (to 2023): ``.product_page_title h1`` + ``.release_year``, ``span.metascore_w``
  score badges (``.user`` for the user score; "tbd" when too few reviews), "based on N"
  counts, labelled ``.details_section`` rows (``.director``, ``.genres``, ``.runtime``,
  ``.release_date``), critic reviews ``.critic_reviews .review``;
* 2023+ (Nuxt): ``.c-productHero_title``, ``.c-heroMetadata`` items (year, rating, "2 h 22 m"),
  ``.c-siteReviewScore`` badges titled "Metascore 82 out of 100" / "User score 8.9 out of 10",
  ``.c-productDetails`` rows, ``.c-globalPersonCard`` cast cards, ``.c-siteReview`` reviews.

Both carry a JSON-LD ``Movie``/``TVSeries`` (whose ``aggregateRating`` is the Metascore, named
or not). The Metascore is ``weighted_critic`` /100, the user score ``user_average`` /10.
Search pages are ``search_results``; rows of the legacy search that name one film with its
year and a score ("Dune, Movie, 1984, 41") become rating records, and the page is refused only
when none does. Browse pages are ``listing``, person pages ``person_page``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector
from scrapy.http import TextResponse

from crawler.extract.jsonld import jsonld_objects
from crawler.extract.pagecheck import why_not_film
from crawler.extract.schema_org import film_objects, film_records
from crawler.extract.text import squash, text_of, texts_of
from crawler.sites.base import NoFilmData, Route, SiteRules
from pipelines.records import (
    FilmRef,
    ScrapedCredit,
    ScrapedFilm,
    ScrapedRating,
    ScrapedRatingRecord,
    ScrapedRecord,
    ScrapedReview,
)

SITE = "metacritic"

_FILM_PATH = r"^/(?:movie/[^/]+|tv/[^/]+(?:/season-\d+)?)/?$"
_SEARCH_PATH = r"^/search(?:/|$)"
_MC_ID = re.compile(r"^/((?:movie|tv)/[^/?#]+(?:/season-\d+)?)")
_SCORE_TITLE = re.compile(r"(metascore|user score)\s+([\d.]+)\s+out of\s+(\d+)", re.I)
_COUNT = re.compile(r"(\d[\d,]*)\s+(critic|user)?\s*(?:reviews?|ratings?)", re.I)
_YEAR = re.compile(r"^\s*(\d{4})\s*$")
_ROW_KIND = re.compile(r"^\s*(movie|tv show|tv|tv series)\s*,\s*(\d{4})\s*$", re.I)
_HAS_CLASS = "contains(concat(' ', normalize-space(@class), ' '), ' {} ')"


def _canonical(response: TextResponse) -> str:
    for xpath in ("//link[@rel='canonical']/@href", "//meta[@property='og:url']/@content"):
        value = (response.xpath(xpath).get() or "").strip()
        if value and (urlsplit(value).hostname or "").endswith("metacritic.com"):
            return value
    return response.url


def _mc_id(url: str) -> str | None:
    m = _MC_ID.match(urlsplit(url).path)
    return m.group(1) if m else None


def _score(text: str | None) -> str | None:
    """A score as printed, or None for "tbd"/empty."""
    text = squash(text)
    return text if text and re.fullmatch(r"\d+(?:\.\d+)?", text) else None


# ------------------------------------------------------------------------------ film pages


def _ratings(response: TextResponse, film: ScrapedFilm) -> list[ScrapedRating]:
    """Metascore (weighted_critic /100) and user score (user_average /10), either layout."""
    meta = user = None
    meta_count = user_count = None
    for node in response.xpath("//*[@title][contains(@class, 'c-siteReviewScore')]"):
        if node.xpath(f"ancestor::*[{_HAS_CLASS.format('c-siteReview')}]"):
            continue  # a single review's score
        m = _SCORE_TITLE.search(node.attrib.get("title", ""))
        if not m:
            continue
        if m.group(1).lower() == "metascore":
            meta = meta or _score(m.group(2))
        else:
            user = user or _score(m.group(2))
    if meta is None:
        meta = _score(text_of(response.css(
            ".ms_wrapper .metascore_w:not(.user), .metascore_summary .metascore_w:not(.user), "
            ".product_scores .metascore_w.larger:not(.user)")[:1]))  # fmt: skip
    if user is None:
        user = _score(text_of(response.css(
            ".userscore_wrap .metascore_w.user, .product_scores .metascore_w.user")[:1]))  # fmt: skip
    for text in texts_of(response.css(
        ".c-productScoreInfo_reviewsTotal, .based_on, .count a, .summary .count, "
        ".c-productScoreInfo_text a")):  # fmt: skip
        m = _COUNT.search(text)
        if not m:
            continue
        if (m.group(2) or "").lower() == "user" or "rating" in text.lower():
            user_count = user_count or m.group(1)
        else:
            meta_count = meta_count or m.group(1)
    if meta is None:  # the JSON-LD aggregateRating is the Metascore, named or not
        for r in film.ratings:
            if r.value and (r.scale_max in (None, "100") or r.kind == "weighted_critic"):
                meta, meta_count = _score(r.value), meta_count or r.count
    ratings: list[ScrapedRating] = []
    if meta:
        ratings.append(ScrapedRating(source=SITE, value=meta, scale_max="100", count=meta_count,
                                     kind="weighted_critic"))  # fmt: skip
    if user:
        ratings.append(ScrapedRating(source=SITE, value=user, scale_max="10", count=user_count,
                                     kind="user_average"))  # fmt: skip
    return ratings


def _detail_rows(response: TextResponse) -> dict[str, Selector]:
    """Labelled detail rows (2023+: ``.c-movieDetails_sectionContainer`` and the like;
    legacy: ``.details_section > div`` with ``span.label``) by lower-cased label."""
    rows: dict[str, Selector] = {}
    for row in response.css(".c-movieDetails_sectionContainer, .c-productDetails_section, "
                            ".details_section > div, .summary_details li"):  # fmt: skip
        label = text_of(row.css(".g-text-bold, .label, span:first-child")[:1]) or ""
        label = label.rstrip(": ").lower()
        if label and label not in rows:
            rows[label] = row
    return rows


def _row_values(row: Selector | None) -> list[str]:
    if row is None:
        return []
    links = row.css("a")
    if links:
        return texts_of(links)
    values = texts_of(row.xpath("./*[position() > 1]"))
    return [v for v in values if v.rstrip(":").lower() not in ("", "genre(s)", "genres")]


def _row(rows: dict[str, Selector], *labels: str) -> Selector | None:
    for label in labels:
        if label in rows:
            return rows[label]
    return None


def _credits(
    response: TextResponse, film: ScrapedFilm, rows: dict[str, Selector]
) -> list[ScrapedCredit]:
    credits = [c for c in film.credits]
    if not any(c.role == "director" for c in credits):
        names = texts_of(response.css(".c-productDetails_staff_directors a, .director a"))
        names = names or _row_values(_row(rows, "director", "directed by", "directors"))
        credits.extend(ScrapedCredit(name=n, role="director") for n in names)
    if not any(c.role == "writer" for c in credits):
        names = texts_of(response.css(".c-productDetails_staff_writers a"))
        names = names or _row_values(_row(rows, "writer", "written by", "writers"))
        credits.extend(ScrapedCredit(name=n, role="writer") for n in names)
    roles: dict[str, str] = {}
    for card in response.css(".c-globalPersonCard"):
        name = text_of(card.css(".c-globalPersonCard_name")[:1])
        role = text_of(card.css(".c-globalPersonCard_role")[:1])
        if name:
            roles.setdefault(name, role or "")
    if any(c.role == "cast" for c in credits):
        credits = [
            c.model_copy(update={"character": roles.get(c.name) or c.character})
            if c.role == "cast"
            else c
            for c in credits
        ]
    else:
        credits.extend(ScrapedCredit(name=n, character=r or None) for n, r in roles.items())
        if not roles:
            names = texts_of(response.css(".summary_cast a, .cast a"))
            credits.extend(ScrapedCredit(name=n) for n in names)
    return credits


def _hero_year(response: TextResponse) -> str | None:
    for text in texts_of(response.css(".c-heroMetadata_item, .release_year, .product_year")):
        if m := _YEAR.match(text):
            return m.group(1)
    return None


def _runtime(response: TextResponse, rows: dict[str, Selector]) -> str | None:
    row = _row(rows, "duration", "runtime")
    values = _row_values(row)
    if values:
        return values[-1]
    for text in texts_of(response.css(".c-heroMetadata_item")):
        if re.fullmatch(r"(?:\d+\s*h)?\s*(?:\d+\s*m(?:in)?)?", text) and text.strip():
            return text
    return None


def _reviews(response: TextResponse, page: str, ref: FilmRef) -> list[ScrapedReview]:
    """Critic reviews (outlet, critic, score /100) and user reviews (score /10) shown on the
    page, each under its own URL (the outlet's link, else the page + an anchor)."""
    out: list[ScrapedReview] = []
    seen: set[str] = set()
    for node in response.css(".c-siteReview, .critic_reviews .review, .user_reviews .review"):
        username = text_of(node.css(".c-siteReviewHeader_username, .author a, .name a")[:1])
        outlet = text_of(node.css(".c-siteReviewHeader_publicationName, .source a, .source")[:1])
        is_user = bool(node.css(".c-siteReviewHeader_username")) or bool(node.xpath(
            f"ancestor-or-self::*[{_HAS_CLASS.format('user_reviews')}]"))  # fmt: skip
        critic_name = squash(re.sub(r"^By\s+", "", text_of(node.css(
            ".c-siteReview_criticName, .author")[:1]) or "")) if not is_user else None  # fmt: skip
        score = _score(text_of(node.css(".c-siteReviewScore span, .metascore_w")[:1]))
        body = text_of(
            node.css(".c-siteReview_quote, .review_body, .summary .no_hover, .summary")[:1]
        )
        if not body:
            continue
        link = node.css("a.c-siteReview_externalLink::attr(href), .full_review a::attr(href), "
                        ".summary a.no_hover::attr(href)").get()  # fmt: skip
        author = username if is_user else critic_name
        anchor = re.sub(r"\W+", "-", (author or outlet or str(len(out))).lower()).strip("-")
        url = urljoin(page, link) if link else f"{page}#{'user' if is_user else 'critic'}-{anchor}"
        if url in seen:
            continue
        seen.add(url)
        rating = None
        if score:
            rating = ScrapedRating(
                source=SITE if is_user else (outlet or SITE),
                value=score,
                scale_max="10" if is_user else "100",
                kind="user_average" if is_user else "critic_average",
            )
        out.append(
            ScrapedReview(
                site=SITE,
                url=url,
                film=ref,
                author=author,
                published_at=text_of(node.css(".c-siteReviewHeader_reviewDate, .date")[:1]),
                body=body,
                rating=rating,
                critic=not is_user,
            )
        )
    return out


def _markup_film(response: TextResponse, page: str) -> ScrapedFilm | None:
    """A film from the page markup alone (no JSON-LD film)."""
    title = text_of(response.css(
        ".c-productHero_title, [data-testid=hero-title], .product_page_title h1, "
        ".product_title h1")[:1])  # fmt: skip
    if not title:
        return None
    kind = "TVSeries" if urlsplit(page).path.startswith("/tv/") else "Movie"
    return ScrapedFilm(site=SITE, url=page, title=title, kind=kind)


def parse_film(response: TextResponse) -> list[ScrapedRecord]:
    """A movie/TV page of either layout: JSON-LD (or markup) base, the two scores, details,
    credits with characters, and the reviews shown."""
    text = response.text
    page = _canonical(response)
    objects = jsonld_objects(text)
    records = film_records(objects, SITE, page, text)
    film = (
        records[0]
        if records and isinstance(records[0], ScrapedFilm)
        else _markup_film(response, page)
    )
    if film is None:
        raise NoFilmData(why_not_film(response) or "not_a_film_page", "no film on the page")
    main: dict[str, Any] = next(iter(film_objects(objects)), {})
    rows = _detail_rows(response)
    release = _row_values(_row(rows, "release date", "initial release date"))
    release_date = film.release_date or (release[-1] if release else None)
    year = _hero_year(response) or film.year
    if not year and release_date and (m := re.search(r"\b(\d{4})\b", release_date)):
        year = m.group(1)
    genres = film.genres or texts_of(response.css(
        ".c-genreList_item .c-globalButton_label, .genres span:not(.label)"))  # fmt: skip
    ids = dict(film.external_ids)
    if mc_id := _mc_id(page) or _mc_id(response.url):
        ids[SITE] = mc_id
    synopsis = film.synopsis or text_of(response.css(
        ".c-productDetails_description, [data-testid=product-description], "
        ".summary_deck .blurb_expanded, .summary_deck span:not(.label)")[:1])  # fmt: skip
    film = film.model_copy(
        update={
            "url": page,
            "year": year,
            "release_date": release_date,
            "runtime": film.runtime or _runtime(response, rows),
            "credits": _credits(response, film, rows),
            "genres": genres,
            "external_ids": ids,
            "ratings": _ratings(response, film),
            "synopsis": synopsis,
            "kind": film.kind or ("TVSeries" if main.get("@type") == "TVSeries" else None),
        }
    )
    ref = FilmRef(
        title=film.title,
        year=film.year,
        url=page,
        external_ids=dict(ids),
        directors=[c.name for c in film.credits if c.role == "director"],
    )
    return [film, *_reviews(response, page, ref)]


# ------------------------------------------------------------------------------ other pages


def parse_search(response: TextResponse) -> list[ScrapedRecord]:
    """A search page: a rating record for each row naming one movie/show with its year and
    a Metascore; NoFilmData("search_results") when no row does."""
    records: list[ScrapedRecord] = []
    for row in response.css("li.result, .c-pageSiteSearch-results-item"):
        link = row.css("h3.product_title a, .product_title a, a[href*='/movie/'], a[href*='/tv/']")
        href = link.attrib.get("href") if link else None
        title = text_of(link[:1])
        facts = " ".join(texts_of(row.css(".main_stats p, .c-pageSiteSearch-results-item_meta")))
        m = _ROW_KIND.match(facts)
        score = _score(text_of(row.css(".metascore_w, .c-siteReviewScore span")[:1]))
        if not (href and title and m and score):
            continue
        url = urljoin(response.url, href)
        film = FilmRef(title=title, year=m.group(2), url=url,
                       external_ids={SITE: i} if (i := _mc_id(url)) else {})  # fmt: skip
        records.append(
            ScrapedRatingRecord(
                site=SITE,
                url=url,
                film=film,
                rating=ScrapedRating(
                    source=SITE, value=score, scale_max="100", kind="weighted_critic"
                ),
            )
        )
    if not records:
        raise NoFilmData("search_results", "a Metacritic search page with no dated, scored row")
    return records


def parse_page(response: TextResponse) -> list[ScrapedRecord]:
    """Any other page: browse listings, person pages, else the page check's word."""
    path = urlsplit(response.url).path
    if path.startswith("/person/"):
        raise NoFilmData("person_page", f"{path}: a person page")
    if path.startswith("/browse/"):
        raise NoFilmData("listing", f"{path}: a browse listing")
    reason = why_not_film(response)
    raise NoFilmData(reason or "not_a_film_page", f"{path}: no film on the page")


RULES = SiteRules(
    name=SITE,
    hosts=("metacritic.com",),
    routes=(
        Route(_FILM_PATH, parse_film),
        Route(_SEARCH_PATH, parse_search),
        Route(r".*", parse_page),
    ),
    follow=(
        r"^/movie/[^/]+/?$",
        r"^/tv/[^/]+/?$",
        r"^/browse/movie/?",
        r"^/browse/movies/",
    ),
    settings={
        "DOWNLOAD_DELAY": 2.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "AUTOTHROTTLE_ENABLED": True,
    },
)
