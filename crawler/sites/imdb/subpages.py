"""IMDb title sub-pages: /reference, /releaseinfo, /criticreviews, /reviews and /episodes."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy.http import TextResponse

from crawler.extract.text import element_text, squash
from crawler.sites.base import NoFilmData, not_film
from crawler.sites.imdb.page import (
    _KIND_LABEL,
    _RUNTIME_TEXT,
    _TYPE_LABELS,
    _cls,
    _date,
    _dedupe_credits,
    _eblock,
    _first,
    _ftext,
    _get,
    _imdb_rating,
    _kind_from_label,
    _label_and_years,
    _metascore,
    _own,
    _Page,
    _str,
    _text_of,
    _texts,
    _xp,
)
from crawler.sites.imdb.paths import _TT, _TT_IN_PATH, BASE, SITE
from crawler.sites.imdb.titles import _next_film, _next_review, _no_film
from pipelines.normalize import country_code, language_code
from pipelines.records import (
    FilmRef,
    ScrapedCredit,
    ScrapedFilm,
    ScrapedRating,
    ScrapedRecord,
    ScrapedReview,
    ScrapedTitle,
)

# ------------------------------------------------------------------------------ sub-pages


def _subpage_heading(page: _Page, root: Any) -> tuple[str | None, str | None, str | None]:
    """(title, years, kind label) of a sub-page: its "Title (Year)" heading block, else the
    page title "Title (TV Series 2005–2022) - Release Info - IMDb"."""
    h3 = _first(
        root,
        f"descendant::div[{_cls('subpage_title_block')}]//h3 | descendant::h3[@itemprop='name']",
    )
    title = (_ftext(h3, ".//a") or _own(h3)) if h3 is not None else None
    label, years = _label_and_years(element_text(h3))
    if not title or not years:
        tag_label, tag_years = _label_and_years(page.title_tag)
        if page.title_tag and tag_years and not title:
            title = squash(page.title_tag[: page.title_tag.rfind("(")])
        label, years = label or tag_label, years or tag_years
    return title, years, _kind_from_label(label, years)


def _subpage_film(page: _Page, root: Any, **fields: Any) -> ScrapedFilm:
    """The film a sub-page is about, from its heading; NoFilmData without one."""
    title, years, kind = _subpage_heading(page, root)
    values: dict[str, Any] = {"title": title, "year": years, "kind": kind}
    values.update({k: v for k, v in fields.items() if v})
    if not values.get("title"):
        raise _no_film(page, "sub-page")
    ids = {"imdb": page.tconst} if page.tconst else {}
    return ScrapedFilm(site=SITE, url=page.url, external_ids=ids, **values)


def _zebra_rows(root: Any) -> dict[str, Any]:
    """Label -> value cell of ``ipl-zebra-list`` tables ("Runtime", "Also Known As", ...)."""
    rows: dict[str, Any] = {}
    for row in _xp(f"descendant::tr[{_cls('ipl-zebra-list__item')}]")(root):
        label = _ftext(row, f"./td[{_cls('ipl-zebra-list__label')}]")
        cell = _first(row, f"./td[not({_cls('ipl-zebra-list__label')})]")
        if label and cell is not None and label not in rows:
            rows[label] = cell
    return rows


_AKA_NOTE = re.compile(r"^(?P<title>.+?)\s*\((?P<note>[^()]*)\)\s*$")


def _region_language(note: str, codes: dict[str, str]) -> tuple[str | None, str | None, bool]:
    """("JP", "en", False) from "Japan, English title" or "Japan (English title)"; the flag
    says the row is the original title."""
    region = language = None
    original = False
    for part in (p.strip() for p in re.split(r"[(),]", note)):
        low = part.lower()
        if not low:
            continue
        if low == "original title":
            original = True
        elif low.endswith(" title") and language is None:
            language = language_code(low.removesuffix(" title").strip())
        elif region is None and (code := codes.get(low) or country_code(low)):
            region = code
    return region, language, original


_CREW_ROLES = {
    "directors": "director", "writers": "writer", "creators": "creator",
    "producers": "producer", "composers": "composer",
}  # fmt: skip
_CHARACTER_NOTES = re.compile(r"\s*\((?:uncredited|voice|as [^)]*|\d+ episodes?[^)]*)\)", re.I)


def _reference_header(header: Any) -> dict[str, Any]:
    """The /reference header list: certificate, runtime, genres, release date, kind label."""
    facts: dict[str, Any] = {"genres": []}
    for item in header.xpath(f"(.//ul[{_cls('ipl-inline-list')}])[1]/li"):
        text = element_text(item) or ""
        if item.xpath(".//a[contains(@href, '/genre/')]"):
            facts["genres"] = _texts(item, ".//a[contains(@href, '/genre/')]")
        elif item.xpath(".//a[contains(@href, 'releaseinfo')]"):
            facts["release"] = text
        elif _RUNTIME_TEXT.match(text):
            facts["runtime"] = text
        elif _KIND_LABEL.match(text):
            facts["kind"] = text
    widget = _first(
        header, f"descendant::div[{_cls('ipl-rating-widget')}]/div[{_cls('ipl-rating-star')}]"
    )
    if widget is not None:
        facts["rating"] = _ftext(widget, f".//*[{_cls('ipl-rating-star__rating')}]")
        facts["votes"] = (
            _ftext(widget, f".//*[{_cls('ipl-rating-star__total-votes')}]") or ""
        ).strip("()")
    for text in _xp("descendant::*[contains(@class, 'metascore')]//text()")(header):
        if text.strip().isdigit():
            facts["metascore"] = text.strip()
            break
    return facts


def _reference_credits(root: Any) -> list[ScrapedCredit]:
    """The cast table (actor, character) and the director/writer/producer/composer tables."""
    credits: list[ScrapedCredit] = []
    for row in _xp(f"descendant::table[{_cls('cast_list')}]//tr[td[@itemprop='actor']]")(root):
        name = _ftext(row, "./td[@itemprop='actor']//*[@itemprop='name']") or _ftext(
            row, "./td[@itemprop='actor']//a"
        )
        if name:
            character = squash(
                _CHARACTER_NOTES.sub("", _ftext(row, f"./td[{_cls('character')}]") or "")
            )
            credits.append(ScrapedCredit(name=name, character=character or None))
    for heading in _xp("descendant::h4[@name]")(root):
        role = _CREW_ROLES.get(heading.get("name", ""))
        if role:
            table = _first(heading, "following::table[1]")
            credits += [
                ScrapedCredit(name=n, role=role) for n in _texts(table, f".//td[{_cls('name')}]/a")
            ]
    return _dedupe_credits(credits)


def parse_reference(response: TextResponse) -> list[ScrapedRecord]:
    """The /reference view: header list, rating widget, credits tables, details tables."""
    page = _Page(response)
    root = page.content_root()
    header = _first(root, f"descendant::div[{_cls('titlereference-header')}]")
    if header is None:
        header = root
    h3 = _first(header, ".//h3")
    title = _own(h3)
    if not title:
        raise _no_film(page, "reference view")
    label, years = _label_and_years(
        _ftext(h3, f".//*[{_cls('titlereference-title-year')}]") or element_text(h3)
    )
    facts = _reference_header(header)
    rows = _zebra_rows(root)
    runtime = _ftext(rows.get("Runtime"), ".//li") or facts.get("runtime")
    genres = facts["genres"] or (_texts(rows["Genres"], ".//a") if "Genres" in rows else [])
    titles: list[ScrapedTitle] = []
    original = element_text(rows.get("Original Title"))
    for item in rows["Also Known As"].xpath(".//li[not(.//a)]") if "Also Known As" in rows else []:
        if m := _AKA_NOTE.match(element_text(item) or ""):
            region, language, is_original = _region_language(m.group("note"), {})
            if is_original:
                original = original or m.group("title")
            else:
                titles.append(
                    ScrapedTitle(title=m.group("title"), region=region, language=language)
                )
    ratings = [r for r in (_imdb_rating(facts.get("rating"), facts.get("votes")),
                           _metascore(facts.get("metascore"))) if r]  # fmt: skip
    poster = _first(header, f".//img[{_cls('titlereference-primary-image')}]/@src")
    synopsis = _ftext(
        root, f"descendant::section[{_cls('titlereference-section-overview')}]/div[1]"
    )
    return [
        ScrapedFilm(
            site=SITE, url=page.url, title=title, original_title=original, titles=titles,
            year=years, release_date=facts.get("release"),
            kind=facts.get("kind") or _kind_from_label(label, years), runtime=runtime,
            credits=_reference_credits(root), genres=genres,
            external_ids={"imdb": page.tconst} if page.tconst else {}, ratings=ratings,
            synopsis=synopsis, poster_url=urljoin(page.url, str(poster)) if poster else None,
        )
    ]  # fmt: skip


def parse_releaseinfo(response: TextResponse) -> list[ScrapedRecord]:
    """/releaseinfo: the first (earliest) release date and the AKA titles with regions."""
    page = _Page(response)
    root = page.content_root()
    codes: dict[str, str] = {}
    dates: list[tuple[str, str]] = []
    for row in _xp(f"descendant::tr[{_cls('release-date-item')}]")(root):
        country = _ftext(row, f"./td[{_cls('release-date-item__country-name')}]")
        date = _ftext(row, f"./td[{_cls('release-date-item__date')}]")
        href = _first(row, ".//a/@href") or ""
        if country and (m := re.search(r"[?&]region=([a-z]{2})\b", str(href), re.I)):
            codes[country.lower()] = m.group(1).upper()
        if country and date:
            dates.append((date, country))
    # 2023+ layout: labelled items in the "releases"/"akas" sections.
    label_xp = f".//*[{_cls('ipc-metadata-list-item__label')}]"
    value_xp = f".//*[{_cls('ipc-metadata-list-item__list-content-item')}]"
    for item in _xp("descendant::div[@data-testid='sub-section-releases']//li[@data-testid]")(root):
        country, date = _ftext(item, label_xp), _ftext(item, value_xp)
        if country and date:
            dates.append((date, country))
    rows = [(_ftext(r, f"./td[{_cls('aka-item__name')}]") or "", _ftext(r, f"./td[{_cls('aka-item__title')}]"))
            for r in _xp(f"descendant::tr[{_cls('aka-item')}]")(root)]  # fmt: skip
    rows += [(_ftext(i, label_xp) or "", _ftext(i, value_xp))
             for i in _xp("descendant::div[@data-testid='sub-section-akas']//li[@data-testid]")(root)]  # fmt: skip
    titles: list[ScrapedTitle] = []
    original = None
    seen: set[tuple[str, str | None, str | None]] = set()
    for note, aka in rows:
        if not aka:
            continue
        region, language, is_original = _region_language(note, codes)
        if is_original:
            original = original or aka
        elif (aka, region, language) not in seen:
            seen.add((aka, region, language))
            titles.append(ScrapedTitle(title=aka, region=region, language=language))
    release = f"{dates[0][0]} ({dates[0][1]})" if dates else None
    film = _subpage_film(page, root, original_title=original, titles=titles, release_date=release)
    return [film]


def _critic_review(
    outlet: str | None,
    author: str | None,
    body: str | None,
    score: str | None,
    page: _Page,
    ref: FilmRef,
) -> ScrapedReview | None:
    """A Metacritic critic quote: the outlet rates (scale 100), the critic signs it."""
    if not body:
        return None
    rating = (ScrapedRating(source=outlet or "metacritic", value=score, scale_max="100",
                            kind="critic_average") if score else None)  # fmt: skip
    return ScrapedReview(site=SITE, url=page.url, film=ref, author=author, body=body,
                         rating=rating, critic=True)  # fmt: skip


def _critic_reviews(page: _Page, root: Any, ref: FilmRef) -> list[ScrapedReview]:
    """Legacy ``table.crits_results`` rows (microdata ``Review``s), else critic-shaped nodes
    of the page data (2023+: reviewer, site, score, quote)."""
    out: list[ScrapedReview] = []
    rows = _xp(f"descendant::table[{_cls('crits_results')}]//tr")(root) or root.xpath(
        "//*[contains(@itemtype, 'schema.org/Review')]"
    )
    for row in rows:
        outlet = _ftext(row, ".//*[@itemprop='publisher']//*[@itemprop='name']") or _ftext(
            row, ".//*[@itemprop='publisher']"
        )
        review = _critic_review(
            outlet,
            _ftext(row, ".//*[@itemprop='author']//*[@itemprop='name']"),
            _ftext(row, f".//*[{_cls('summary')} or @itemprop='reviewbody' or @itemprop='reviewBody']"),
            _ftext(row, f".//*[@itemprop='reviewRating']//*[@itemprop='ratingValue'] | .//*[{_cls('critscore')}]"),
            page, ref,
        )  # fmt: skip
        if review:
            out.append(review)
    if not out:
        for node in _find_nodes(page.page_props.get("contentData"), _is_critic_node):
            review = _critic_review(
                _text_of(node.get("site")) or _text_of(node.get("publisher")),
                _text_of(node.get("reviewer")),
                _text_of(node.get("quote")) or _text_of(node.get("excerpt")),
                _str(node.get("score")), page, ref,
            )  # fmt: skip
            if review:
                out.append(review)
    return out


def _is_critic_node(node: dict[str, Any]) -> bool:
    return (
        "score" in node
        and ("quote" in node or "excerpt" in node)
        and ("site" in node or "reviewer" in node)
    )


def _is_review_node(node: dict[str, Any]) -> bool:
    rid = node.get("id") or node.get("reviewId")
    return (
        isinstance(rid, str)
        and rid.startswith("rw")
        and bool(node.get("text") or node.get("reviewText"))
    )


def _find_nodes(data: Any, test: Any, depth: int = 0) -> list[dict[str, Any]]:
    """Dicts passing ``test`` anywhere in a page's data (not looking inside a match)."""
    if depth > 10:
        return []
    if isinstance(data, dict):
        if test(data):
            return [data]
        return [n for value in data.values() for n in _find_nodes(value, test, depth + 1)]
    if isinstance(data, list):
        return [n for value in data for n in _find_nodes(value, test, depth + 1)]
    return []


def _entity_film(page: _Page) -> ScrapedFilm | None:
    """The title a 2023+ sub-page is about, from its ``contentData.entityMetadata``."""
    meta = _get(page.page_props, "contentData", "entityMetadata")
    if isinstance(meta, dict) and _text_of(meta.get("titleText")):
        return _next_film(meta, page)
    return None


def parse_critic_reviews(response: TextResponse) -> list[ScrapedRecord]:
    """/criticreviews: the film (title, year, Metascore) and each critic's review."""
    page = _Page(response)
    root = page.content_root()
    block = _first(root, f"descendant::div[{_cls('metascore_block')}]")
    score = _ftext(block, ".//*[@itemprop='ratingValue']") or _ftext(
        root, "//*[contains(@class, 'metacritic-score-box')]"
    )
    count = _ftext(block, ".//*[@itemprop='ratingCount']")
    ratings = [r for r in (_metascore(score, count),) if r]
    film = _entity_film(page)
    if film is None:
        film = _subpage_film(page, root, ratings=ratings)
    elif ratings and not any(r.source == "metacritic" for r in film.ratings):
        film = film.model_copy(update={"ratings": [*film.ratings, *ratings]})
    ref = FilmRef(
        title=film.title, year=film.year, url=page.film_url, external_ids=dict(film.external_ids)
    )
    return [film, *_critic_reviews(page, root, ref)]


def _legacy_user_reviews(root: Any, page: _Page, ref: FilmRef) -> list[ScrapedRecord]:
    """The pre-2024 review lister: ``.imdb-user-review`` items."""
    out: list[ScrapedRecord] = []
    for item in _xp(f"descendant::div[{_cls('imdb-user-review')}]")(root):
        body = _eblock(_first(item, f"descendant::div[{_cls('text')}]"))
        if not body:
            continue
        rid = item.get("data-review-id") or ""
        link = _first(item, f".//a[{_cls('title')}]/@href")
        url = (
            f"{BASE}/review/{rid}/"
            if rid.startswith("rw")
            else (urljoin(page.url, str(link)) if link else page.url)
        )
        score = _ftext(item, f".//*[{_cls('rating-other-user-rating')}]/span[1]")
        scale = (_ftext(item, f".//*[{_cls('point-scale')}]") or "/10").strip("/ ") or "10"
        out.append(ScrapedReview(
            site=SITE, url=url, film=ref, author=_ftext(item, f".//*[{_cls('display-name-link')}]"),
            published_at=_ftext(item, f".//*[{_cls('review-date')}]"),
            title=_ftext(item, f".//a[{_cls('title')}]"), body=body,
            rating=ScrapedRating(source="imdb", value=score, scale_max=scale) if score else None,
        ))  # fmt: skip
    return out


def parse_user_reviews(response: TextResponse) -> list[ScrapedRecord]:
    """/reviews: the film named by the page and each user review (page data or lister)."""
    page = _Page(response)
    film = _entity_film(page)
    root = None
    if film is None:
        root = page.content_root()
        film = _subpage_film(page, root)
    film = film.model_copy(update={"external_ids": {"imdb": page.tconst} if page.tconst else {}})
    ref = FilmRef(
        title=film.title, year=film.year, url=page.film_url, external_ids=dict(film.external_ids)
    )
    reviews: list[ScrapedRecord] = [
        r for node in _find_nodes(page.page_props.get("contentData"), _is_review_node)
        if (r := _next_review(node, page, ref))
    ]  # fmt: skip
    if not reviews:
        reviews = _legacy_user_reviews(root if root is not None else page.content_root(), page, ref)
    return [film, *reviews]


_EPISODE_PREFIX = re.compile(r"^S\d+\s*\.\s*E\d+\s*[∙·:|-]\s*")


def parse_episodes(response: TextResponse) -> list[ScrapedRecord]:
    """/episodes: one film per listed episode (series, season, episode, air date, rating)."""
    page = _Page(response)
    content = page.page_props.get("contentData")
    films: list[ScrapedRecord] = []
    if isinstance(content, dict):
        series = _text_of(content.get("parentDisplayText")) or _text_of(
            _get(content, "entityMetadata", "titleText")
        )
        for item in _get(content, "section", "episodes", "items") or []:
            if film := _listed_episode(item, series):
                films.append(film)
    if not films:
        films = _legacy_episodes(page)
    if not films:
        raise NoFilmData("listing", "an episode list whose episodes cannot be told apart")
    return films


def _listed_episode(item: Any, series: str | None) -> ScrapedFilm | None:
    if not isinstance(item, dict):
        return None
    tconst = _str(item.get("id"))
    title = _text_of(item.get("titleText"))
    if not tconst or not _TT.match(tconst) or not title:
        return None
    plot = _text_of(item.get("plot"))
    type_id = _str(item.get("type")) or "tvEpisode"
    return ScrapedFilm(
        site=SITE,
        url=f"{BASE}/title/{tconst}/",
        title=_EPISODE_PREFIX.sub("", title),
        year=_str(item.get("releaseYear")) or _str(_get(item, "releaseDate", "year")),
        release_date=_date(item.get("releaseDate")),
        kind=_TYPE_LABELS.get(type_id, type_id),
        external_ids={"imdb": tconst},
        ratings=[
            r for r in (_imdb_rating(item.get("aggregateRating"), item.get("voteCount")),) if r
        ],
        synopsis=None if plot is None or plot.lower().startswith("add a plot") else plot,
        poster_url=_str(_get(item, "image", "url")),
        series=series,
        season=_str(item.get("season")),
        episode=_str(item.get("episode")),
    )


def _legacy_episodes(page: _Page) -> list[ScrapedRecord]:
    """The pre-2023 list: ``.list_item`` rows with "S4, Ep13" badges, air dates, ratings."""
    root = page.content_root()
    rows = _xp(f"descendant::div[{_cls('eplist')}]/div[{_cls('list_item')}]")(root)
    if not rows:
        return []
    series, _, _ = _subpage_heading(page, root)
    season_text = _ftext(root, "descendant::h3[@id='episode_top']") or ""
    films: list[ScrapedRecord] = []
    for row in rows:
        link = _first(row, ".//a[@itemprop='name'] | .//strong/a")
        m = _TT_IN_PATH.search(link.get("href", "")) if link is not None else None
        title = element_text(link)
        if not m or not title:
            continue
        numbers = re.search(
            r"S(\d+),?\s*Ep(\d+)", element_text(_first(row, f".//*[{_cls('image')}]")) or "", re.I
        )
        season = numbers.group(1) if numbers else (re.findall(r"\d+", season_text) or [None])[0]
        episode = (
            numbers.group(2)
            if numbers
            else _first(row, ".//meta[@itemprop='episodeNumber']/@content")
        )
        widget = _first(row, f".//*[{_cls('ipl-rating-star')}]")
        rating = _imdb_rating(
            _ftext(widget, f".//*[{_cls('ipl-rating-star__rating')}]"),
            (_ftext(widget, f".//*[{_cls('ipl-rating-star__total-votes')}]") or "").strip("()"),
        )
        films.append(ScrapedFilm(
            site=SITE, url=f"{BASE}/title/{m.group(1)}/", title=title, kind="TV Episode",
            release_date=_ftext(row, f".//*[{_cls('airdate')}]"), external_ids={"imdb": m.group(1)},
            ratings=[rating] if rating else [], synopsis=_ftext(row, f".//*[{_cls('item_description')}]"),
            series=series, season=season, episode=str(episode) if episode else None,
        ))  # fmt: skip
    return films


parse_find = not_film("search_results", "IMDb search results")


def parse_other_subpage(response: TextResponse) -> list[ScrapedRecord]:
    raise NoFilmData("not_a_film_page", f"IMDb title sub-page {urlsplit(response.url).path}")


parse_name = not_film("person_page", "an IMDb person page")
