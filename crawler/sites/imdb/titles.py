"""IMDb title pages: ``__NEXT_DATA__`` title data (2022+) and the DOM of hero-block and legacy
pages, over a JSON-LD base."""

from __future__ import annotations

import re
from typing import Any

from scrapy.http import TextResponse

from crawler.extract.pagecheck import why_not_film
from crawler.extract.schema_org import film_records
from crawler.extract.text import element_text, squash
from crawler.sites.base import NoFilmData
from crawler.sites.imdb.page import (
    _KIND_LABEL,
    _RUNTIME_TEXT,
    _SEASON_EPISODE,
    _SEASON_EPISODE_WORDS,
    _TYPE_LABELS,
    _YEARS,
    _cls,
    _date,
    _dedupe_credits,
    _first,
    _ftext,
    _get,
    _html_block,
    _imdb_rating,
    _kind_from_label,
    _label_and_years,
    _merge,
    _metascore,
    _own,
    _Page,
    _ref,
    _runtime,
    _str,
    _text_of,
    _texts,
    _xp,
    _year_span,
)
from crawler.sites.imdb.paths import BASE, SITE
from pipelines.records import (
    FilmRef,
    ScrapedCredit,
    ScrapedFilm,
    ScrapedRecord,
    ScrapedReview,
    ScrapedTitle,
)

# ------------------------------------------------------------------------------ __NEXT_DATA__

_ROLES = {
    "director": "director", "directors": "director", "writer": "writer", "writers": "writer",
    "creator": "creator", "creators": "creator", "cast": "cast", "star": "cast",
    "stars": "cast", "actor": "cast", "actress": "cast",
}  # fmt: skip


def _title_parts(page: _Page) -> list[dict[str, Any]]:
    """The parts of ``__NEXT_DATA__`` that describe the page's own title: the above-the-fold
    and main-column data, or (2022 builds) the ``urqlState`` query results for the title."""
    props = page.page_props
    parts = [
        props[k] for k in ("aboveTheFoldData", "mainColumnData") if isinstance(props.get(k), dict)
    ]
    urql = props.get("urqlState")
    if isinstance(urql, dict):
        own = {page.tconst, props.get("tconst")} - {None}
        for entry in urql.values():
            title = _get(entry, "data", "title")
            if isinstance(title, dict) and title.get("id") in own:
                parts.append(title)
    return parts


def _title_data(parts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The title data merged from every part that holds some of it; None when the page
    carries none (legacy pages, 2021 builds)."""
    merged: dict[str, Any] = {}
    for part in parts:
        merged = _merge(merged, part)
    return merged if _text_of(merged.get("titleText")) else None


def _groups(groups: Any, role: str | None) -> list[ScrapedCredit]:
    """Credits from ``[{category: {id, text}, credits: [{name: {nameText}}]}]`` groups; with
    ``role`` None, only groups whose category names a known role."""
    out: list[ScrapedCredit] = []
    for group in groups if isinstance(groups, list) else []:
        category = _get(group, "category") or {}
        key = (_str(category.get("id")) or _text_of(category) or "").lower()
        group_role = _ROLES.get(key) or role
        if group_role is None:
            continue
        for credit in _get(group, "credits") or []:
            name = _text_of(_get(credit, "name", "nameText"))
            if name:
                out.append(ScrapedCredit(name=name, role=group_role))
    return out


def _next_credits(t: dict[str, Any]) -> list[ScrapedCredit]:
    """Directors, writers, creators (the full lists where the page has them, else the
    principal credits), then the cast with characters."""
    principal = _groups(t.get("principalCredits"), None)
    credits: list[ScrapedCredit] = []
    for key, role in (("directors", "director"), ("writers", "writer"), ("creators", "creator")):
        own = _groups(t.get(key), role)
        credits += own or [c for c in principal if c.role == role]
    cast = []
    for edge in _get(t, "cast", "edges") or []:
        node = _get(edge, "node") or {}
        name = _text_of(_get(node, "name", "nameText"))
        if not name:
            continue
        characters = [c for c in (_text_of(ch.get("name")) for ch in node.get("characters") or []
                                  if isinstance(ch, dict)) if c]  # fmt: skip
        cast.append(ScrapedCredit(name=name, character=" / ".join(characters) or None))
    credits += cast or [c for c in principal if c.role == "cast"]
    return _dedupe_credits(credits)


def _genres(t: dict[str, Any]) -> list[str]:
    out = [g for g in (_text_of(x) for x in _get(t, "genres", "genres") or []) if g]
    if not out:
        out = [
            g
            for g in (_text_of(_get(x, "genre")) for x in _get(t, "titleGenres", "genres") or [])
            if g
        ]
    return list(dict.fromkeys(out))


def _next_film(t: dict[str, Any], page: _Page) -> ScrapedFilm:
    """A film from merged ``__NEXT_DATA__`` title data."""
    title_type = t.get("titleType") or {}
    type_id = _str(title_type.get("id"))
    series_like = bool(
        title_type.get("isSeries") or t.get("canHaveEpisodes")
    ) and not title_type.get("isEpisode")
    title = _text_of(t.get("titleText"))
    original = _text_of(t.get("originalTitleText"))
    akas = [a for a in (_text_of(_get(e, "node")) for e in _get(t, "akas", "edges") or []) if a]
    titles = [ScrapedTitle(title=a) for a in dict.fromkeys(akas) if a not in (title, original)]
    ratings = [r for r in (
        _imdb_rating(_get(t, "ratingsSummary", "aggregateRating"), _get(t, "ratingsSummary", "voteCount")),
        _metascore(_get(t, "metacritic", "metascore", "score"), _get(t, "metacritic", "metascore", "reviewCount")),
    ) if r]  # fmt: skip
    episode = _get(t, "series", "episodeNumber") or {}
    ids = {"imdb": page.tconst} if page.tconst else {}
    return ScrapedFilm(
        site=SITE,
        url=page.url,
        title=title,
        original_title=original,
        titles=titles,
        year=_year_span(t.get("releaseYear"), series_like),
        release_date=_date(t.get("releaseDate")),
        kind=_text_of(title_type) or _TYPE_LABELS.get(type_id or "") or type_id,
        runtime=_runtime(t.get("runtime")),
        credits=_next_credits(t),
        genres=_genres(t),
        external_ids=ids,
        ratings=ratings,
        synopsis=_text_of(_get(t, "plot", "plotText")),
        poster_url=_str(_get(t, "primaryImage", "url")),
        series=_text_of(_get(t, "series", "series", "titleText")),
        season=_str(episode.get("seasonNumber")),
        episode=_str(episode.get("episodeNumber")),
    )


def _next_review(node: Any, page: _Page, film: FilmRef) -> ScrapedReview | None:
    """A user review from ``featuredReviews``/review lists (several shapes over the years)."""
    if not isinstance(node, dict):
        return None
    node = node.get("review") if isinstance(node.get("review"), dict) else node
    body = _html_block(_get(node, "text", "originalText")) or _html_block(node.get("reviewText"))
    if not body:
        return None
    author = node.get("author")
    author_name = (
        _text_of(_get(author, "username")) or _text_of(_get(author, "nickName"))
        if isinstance(author, dict)
        else _str(author)
    )
    rid = _str(node.get("id")) or _str(node.get("reviewId"))
    score = node.get("authorRating")
    return ScrapedReview(
        site=SITE,
        url=f"{BASE}/review/{rid}/" if rid and rid.startswith("rw") else page.url,
        film=film,
        author=author_name,
        published_at=_str(node.get("submissionDate")) or _str(node.get("date")),
        title=_text_of(node.get("summary")),
        body=body,
        rating=_imdb_rating(score, None) if isinstance(score, int | float) else None,
    )


def _next_reviews(parts: list[dict[str, Any]], page: _Page, film: FilmRef) -> list[ScrapedReview]:
    """The featured user reviews; one review may appear in several parts, with its id
    (hence its permalink) in only some of them."""
    found: dict[str, ScrapedReview] = {}
    for part in parts:
        for edge in _get(part, "featuredReviews", "edges") or []:
            review = _next_review(_get(edge, "node"), page, film)
            if review is None:
                continue
            key = (review.body or "")[:200]
            if key not in found or (found[key].url == page.url and review.url != page.url):
                found[key] = review
    return list(found.values())


# ------------------------------------------------------------------------------ DOM title pages


def _legacy_facts(block: Any, root: Any) -> dict[str, Any]:
    """The pre-2021 ``.title_wrapper``: ``<h1>`` (localized), "(original title)", subtext
    label ("TV Series (1999–2013)"), parent series and "Season 4 | Episode 13"."""
    facts: dict[str, Any] = {}
    h1 = _first(block, ".//h1")
    facts["title"] = _own(h1)
    facts["years"] = _ftext(h1, ".//*[@id='titleYear']")
    facts["original"] = _own(_first(block, f"descendant::div[{_cls('originalTitle')}]"))
    facts["runtime"] = _ftext(block, f"descendant::div[{_cls('subtext')}]//time/@datetime")
    for label in _texts(block, f"descendant::div[{_cls('subtext')}]//a"):
        if _KIND_LABEL.match(label):
            kind, years = _label_and_years(label)
            facts["kind"] = kind or re.sub(r"\s*\(.*$", "", label)
            facts["years"] = years or facts.get("years")
    parent = _first(root, f"descendant::div[{_cls('titleParent')}]//a")
    if parent is not None:
        facts["series"] = element_text(parent)
        heading = " ".join(_texts(root, f"descendant::div[{_cls('bp_heading')}]"))
        if m := _SEASON_EPISODE.search(heading) or _SEASON_EPISODE_WORDS.search(heading):
            facts["season"], facts["episode"] = m.groups()
    facts["synopsis"] = _ftext(root, f"descendant::div[{_cls('summary_text')}]")
    return facts


def _hero_facts(root: Any) -> dict[str, Any]:
    """The 2021+ hero block: title, "Original title: ...", metadata items (kind label, years,
    runtime), series link and "S4.E13", the rating bar."""
    facts: dict[str, Any] = {}
    h1 = _first(
        root,
        "descendant::h1[@data-testid='hero-title-block__title' or @data-testid='hero__pageTitle']",
    )
    if h1 is None:
        return facts
    facts["title"] = element_text(h1)
    original = _ftext(
        root, "descendant::div[@data-testid='hero-title-block__original-title']"
    ) or _ftext(h1, "following-sibling::*[starts-with(normalize-space(.), 'Original title')][1]")
    if original:
        facts["original"] = squash(re.sub(r"^Original title\s*:?", "", original))
    items = _xp("descendant::ul[@data-testid='hero-title-block__metadata']/li")(root) or _xp(
        "following-sibling::ul[1]/li"
    )(h1)
    for label in (t for t in (element_text(i) for i in items) if t):
        if _KIND_LABEL.match(label):
            facts.setdefault("kind", label)
        elif m := _YEARS.match(label):
            facts.setdefault("years", m.group(1).replace(" ", ""))
        elif _RUNTIME_TEXT.match(label):
            facts.setdefault("runtime", label)
    series = _ftext(root, "descendant::a[@data-testid='hero-title-block__series-link']")
    if series:
        facts["series"] = series
        numbers = _ftext(
            root,
            "descendant::div[starts-with(@data-testid, 'hero-subnav-bar-season-episode-numbers-section')]"
            " | descendant::ul[starts-with(@data-testid, 'hero-subnav-bar-season-episode-numbers-section')]",
        )
        if numbers and (m := _SEASON_EPISODE.search(numbers)):
            facts["season"], facts["episode"] = m.groups()
    score = _first(root, "descendant::div[@data-testid='hero-rating-bar__aggregate-rating__score']")
    if score is not None:
        facts["rating"] = _ftext(score, "./span[1]")
        facts["votes"] = _ftext(score, "following-sibling::div[last()]")
    return facts


def _dom_facts(root: Any) -> dict[str, Any]:
    """What a legacy or hero title block shows beyond JSON-LD, and the Metascore box."""
    block = _first(root, f"descendant::div[{_cls('title_wrapper')}]")
    facts = _legacy_facts(block, root) if block is not None else _hero_facts(root)
    boxes = _xp(
        "descendant::div[contains(@class, 'metacriticScore') or contains(@class, 'metacritic-score-box')]"
        " | descendant::span[contains(@class, 'score-meta') or contains(@class, 'metacritic-score-box')]"
    )(root)
    for box in boxes:
        text = element_text(box)
        if text and re.fullmatch(r"\d{1,3}", text):
            facts["metascore"] = text
            break
    return {k: v for k, v in facts.items() if v}


def _dom_film(page: _Page) -> list[ScrapedRecord]:
    """JSON-LD film and reviews, corrected by what the hero/title block shows."""
    records = film_records(page.jsonld, SITE, page.url, page.head_text)
    film = next((r for r in records if isinstance(r, ScrapedFilm)), None)
    facts = _dom_facts(page.hero_root())
    if film is None and not facts.get("title"):
        return []
    if film is None:
        film = ScrapedFilm(site=SITE, url=page.url)
    label, title_years = _label_and_years(page.title_tag)
    display = facts.get("title") or film.title
    original = facts.get("original") or film.title
    updates: dict[str, Any] = {
        "title": display,
        "original_title": original,
        "kind": facts.get("kind") or _kind_from_label(label, title_years) or film.kind,
        "year": (facts.get("years") or "").strip("()") or title_years or film.year,
        "runtime": film.runtime or facts.get("runtime"),
        "synopsis": facts.get("synopsis") or film.synopsis,
        "series": facts.get("series"),
        "season": facts.get("season"),
        "episode": facts.get("episode"),
        "external_ids": {**film.external_ids, **({"imdb": page.tconst} if page.tconst else {})},
    }
    ratings = list(film.ratings)
    if not any(r.source == "imdb" for r in ratings) and (
        r := _imdb_rating(facts.get("rating"), facts.get("votes"))
    ):
        ratings.append(r)
    if (m := _metascore(facts.get("metascore"))) and not any(
        r.source == "metacritic" for r in ratings
    ):
        ratings.append(m)
    updates["ratings"] = ratings
    film = film.model_copy(update=updates)
    ref = _ref(film)
    reviews = [r.model_copy(update={"film": ref}) for r in records if isinstance(r, ScrapedReview)]
    return [film, *reviews]


# ------------------------------------------------------------------------------ title pages


def _no_film(page: _Page, what: str) -> NoFilmData:
    reason = why_not_film(page.response) or "no_film_data"
    return NoFilmData(reason, f"{what}: no title data on the page ({reason})")


def parse_title(response: TextResponse) -> list[ScrapedRecord]:
    """A title page (film, series, episode, video...): one film, then its featured reviews."""
    page = _Page(response)
    parts = _title_parts(page)
    t = _title_data(parts)
    if t is None:
        records = _dom_film(page)
        if not records:
            raise _no_film(page, "title page")
        return records
    film = _next_film(t, page)
    base = film_records(page.jsonld, SITE, page.url, page.head_text)
    ld = next((r for r in base if isinstance(r, ScrapedFilm)), None)
    if ld is not None:
        film = film.model_copy(update={
            "runtime": film.runtime or ld.runtime,
            "credits": film.credits or ld.credits,
            "genres": film.genres or ld.genres,
            "synopsis": film.synopsis or ld.synopsis,
            "poster_url": film.poster_url or ld.poster_url,
            "release_date": film.release_date or ld.release_date,
            "year": film.year or ld.year,
            "ratings": film.ratings or ld.ratings,
            "titles": film.titles or [x for x in ld.titles if x.title not in (film.title, film.original_title)],
        })  # fmt: skip
    ref = _ref(film)
    ld_reviews = [r.model_copy(update={"film": ref}) for r in base if isinstance(r, ScrapedReview)]
    dates = {r.author: r.published_at for r in ld_reviews if r.author and r.published_at}
    reviews: list[ScrapedRecord] = [
        r if r.published_at or r.author not in dates
        else r.model_copy(update={"published_at": dates[r.author]})
        for r in _next_reviews(parts, page, ref)
    ]  # fmt: skip
    return [film, *(reviews or ld_reviews)]
