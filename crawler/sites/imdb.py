"""IMDb (www.imdb.com, m.imdb.com): title pages and the sub-pages worth reading.

Layouts handled:

* **Next.js title pages (2022+, desktop and m.imdb.com)**: a JSON-LD ``Movie``/``TVSeries``/
  ``TVEpisode`` plus ``<script id="__NEXT_DATA__">``, whose title data (``aboveTheFoldData``/
  ``mainColumnData``, or ``urqlState`` entries in 2022 builds) holds what the page shows:
  ``titleText`` (the display title, localized), ``originalTitleText``, ``titleType`` ("TV Mini
  Series", "Video", ...), ``releaseYear`` (a range for series), ``releaseDate``, ``runtime``,
  ``ratingsSummary``, the Metascore, principal credits, the cast with characters, AKAs,
  featured user reviews and, for episodes, the series title and season/episode numbers.
* **Hero-block pages without title data (2021)** and **legacy pages (to 2021)**: JSON-LD for
  the facts, the DOM for what JSON-LD lacks: the display title (``<h1>``, localized by the
  visitor's locale while the JSON-LD ``name`` is the original title), the "(original title)"
  line, the kind label ("TV Series (1999–2013)"), the Metascore box, series/episode numbers.
* **/reference**: server-rendered tables, no JSON-LD (header list, rating widget, credits
  tables, "Additional Details" with AKAs and runtime).
* **/releaseinfo**: per-country release dates and the AKA table -> titles with region and
  language; the "(original title)" row is the original title.
* **/episodes**: the season listing -> one film record per episode (series, season, episode,
  air date, rating), each under its own title URL; ``NoFilmData("listing")`` when the episodes
  cannot be told apart.
* **/criticreviews** (Metacritic critics) and **/reviews** (user reviews): the film named by
  the page (title, year, imdb id, Metascore) and its reviews.
* **/find**: search results, ``NoFilmData("search_results")``; other title sub-pages and name
  pages are ordinary non-film pages.

Saved files that glue several documents together are read from their first document only.
Every film carries ``{"imdb": "tt..."}`` from the URL (else the canonical link). IMDb's user
rating is source "imdb" (user_average, scale 10, with its vote count); a Metascore shown on
the page is source "metacritic" (weighted_critic, scale 100).

For speed the page is read from its bytes: ``__NEXT_DATA__`` and JSON-LD are cut out by
``bytes.find``/regex and decoded alone, and an HTML tree is built only where the DOM is
needed (legacy pages, sub-pages), over the slice of the page that holds the facts.
"""

from __future__ import annotations

import html
import json
import re
from functools import cached_property, lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from scrapy.http import TextResponse

from crawler.extract.jsonld import jsonld_objects
from crawler.extract.pagecheck import why_not_film
from crawler.extract.schema_org import film_records
from crawler.extract.text import element_text, squash
from crawler.sites.base import NoFilmData, Route, SiteRules, not_film
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

SITE = "imdb"
BASE = "https://www.imdb.com"

# Paths may carry a language prefix ("/de/title/tt0111161/", IMDb's 2024 localized URLs).
_LOCALE = r"^(?:/[a-z]{2}(?:-[a-z]{2})?)?"
_TITLE_PATH = _LOCALE + r"/title/tt\d{7,}"
_TT_IN_PATH = re.compile(r"/title/(tt\d{7,})")
_TT = re.compile(r"^tt\d{7,}$")

# ------------------------------------------------------------------------------ raw page

_NEXT_DATA_OPEN = re.compile(rb"""<script\b[^>]*\bid\s*=\s*["']?__NEXT_DATA__["']?[^>]*>""", re.I)
_LD_TAG = re.compile(
    rb"""<script\b[^>]*?application/ld\+json[^>]*>(.*?)</script\s*>""", re.I | re.S
)
_TITLE_TAG = re.compile(rb"<title\b[^>]*>(.*?)</title\s*>", re.I | re.S)
_LINK_CANONICAL = re.compile(
    rb"""<(?:link|meta)\b[^>]*(?:rel\s*=\s*["']canonical["']|property\s*=\s*["']og:url["'])[^>]*>""",
    re.I,
)
_HREF_OR_CONTENT = re.compile(rb"""(?:href|content)\s*=\s*["']([^"']+)["']""", re.I)
_META_CHARSET = re.compile(rb"""<meta\b[^>]*charset\s*=\s*["']?([\w-]+)""", re.I)
_NEXT_DOCUMENT = re.compile(rb"\s*(?:<!doctype\s+html|<html[\s>])", re.I)


def _first_document(body: bytes) -> bytes:
    """The first HTML document of a body holding several glued together (saved page sets);
    the rule of ``pagecheck.first_document`` ("</html>" then a doctype or "<html"), over
    bytes with ``find`` (fast; IMDb writes its tags in lower case)."""
    start = 0
    while (i := body.find(b"</html", start)) >= 0:
        end = body.find(b">", i)
        if end < 0:
            break
        if _NEXT_DOCUMENT.match(body, end + 1):
            return body[: end + 1]
        start = end + 1
    return body


def _encoding(response: TextResponse) -> str:
    """The declared charset (header, else ``<meta charset>``), else utf-8 (IMDb's)."""
    header = response.headers.get(b"Content-Type") or b""
    m = re.search(rb"charset=([\w-]+)", header, re.I) or _META_CHARSET.search(response.body[:4096])
    return m.group(1).decode("ascii").lower() if m else "utf-8"


# ``pageProps`` keys that may follow ``translationContext`` (IMDb's UI strings, most of the
# ``__NEXT_DATA__`` bytes and nothing about the title): it is cut out before parsing.
_AFTER_TRANSLATIONS = re.compile(
    rb'\},"(?:urqlState|cmsContext|requestContext|fetchState|fetchCacheItems|tconst|'
    rb'aboveTheFoldData|mainColumnData|contentData|titleCallToAction|referrer)":'
)


def _next_json(raw: bytes) -> dict[str, Any]:
    """``__NEXT_DATA__`` parsed without its ``translationContext`` when that can be cut out
    exactly (the result still parses), else whole."""
    a = raw.find(b'"translationContext":')
    if a > 0:
        end = _AFTER_TRANSLATIONS.search(raw, a)
        if end:
            try:
                data = json.loads(raw[:a] + b'"translationContext":{}' + raw[end.start() + 1 :])
                return data if isinstance(data, dict) else {}
            except ValueError:
                pass
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class _Page:
    """One IMDb page: its first document's bytes, with lazily decoded parts."""

    def __init__(self, response: TextResponse) -> None:
        self.response = response
        self.url = response.url
        self.body = _first_document(response.body)
        self.encoding = _encoding(response)

    def decode(self, raw: bytes) -> str:
        return raw.decode(self.encoding, "replace")

    @cached_property
    def text(self) -> str:
        return self.decode(self.body)

    def _tree(self, chunk: bytes) -> etree._Element:
        parser = etree.HTMLParser(encoding=self.encoding, recover=True)
        root = etree.fromstring(chunk, parser) if chunk.strip() else None
        return root if root is not None else etree.fromstring(b"<html></html>", parser)

    @cached_property
    def root(self) -> etree._Element:
        """The whole first document as an lxml tree (fallbacks)."""
        return self._tree(self.body)

    def _cut(self, start: int, end: int) -> etree._Element:
        """A tree over ``body[start:end]``, both ends moved back to a tag's ``<``; lxml closes
        the cut-off elements."""
        body = self.body
        start = max(0, body.rfind(b"<", 0, start + 1)) if start > 0 else 0
        end = body.rfind(b"<", start, end) if end < len(body) else len(body)
        return self._tree(body[start : end if end > start else len(body)])

    def hero_root(self) -> etree._Element:
        """The title block of a title page (title, labels, rating bar, Metascore), else the
        whole page."""
        for marker in _HERO_MARKERS:
            i = self.body.find(marker)
            if i >= 0:
                return self._cut(max(0, i - 12_000), i + 70_000)
        return self.root

    def content_root(self) -> etree._Element:
        """A sub-page's main column (heading, tables), without navigation, sidebar, footer."""
        start = self.body.find(b'<div id="main"')
        if start < 0:
            return self.root
        ends = [i for m in (b'id="sidebar"', b"<footer") if (i := self.body.find(m, start)) > 0]
        return self._cut(start, min(ends) if ends else len(self.body))

    @cached_property
    def next_data(self) -> dict[str, Any]:
        """``__NEXT_DATA__`` as a dict ({} when absent or unreadable)."""
        i = self.body.find(b"__NEXT_DATA__")
        m = _NEXT_DATA_OPEN.match(self.body, self.body.rfind(b"<script", 0, i)) if i > 0 else None
        if m is None:
            return {}
        end = self.body.find(b"</script", m.end())
        return _next_json(self.body[m.end() : end if end >= 0 else None])

    @cached_property
    def page_props(self) -> dict[str, Any]:
        props = _get(self.next_data, "props", "pageProps")
        return props if isinstance(props, dict) else {}

    @cached_property
    def jsonld(self) -> list[dict[str, Any]]:
        """The page's JSON-LD objects: each block read with ``json`` directly (IMDb's are
        clean), through the forgiving ``jsonld_objects`` when that fails."""
        out: list[dict[str, Any]] = []
        for m in _LD_TAG.finditer(self.body):
            try:
                value = json.loads(m.group(1))
            except ValueError:
                out += jsonld_objects(self.decode(m.group(0)))
                continue
            values = value if isinstance(value, list) else [value]
            if all(isinstance(v, dict) and "@graph" not in v for v in values):
                out += values
            else:
                out += jsonld_objects(self.decode(m.group(0)))
        return out

    @cached_property
    def title_tag(self) -> str | None:
        m = _TITLE_TAG.search(self.body)
        return squash(html.unescape(self.decode(m.group(1)))) if m else None

    @cached_property
    def head_text(self) -> str:
        """The ``<title>`` and ``og:title`` tags only: what ``film_records`` reads a year from."""
        parts = [f"<title>{html.escape(self.title_tag)}</title>"] if self.title_tag else []
        m = re.search(rb"""<meta\b[^>]*property\s*=\s*["']og:title["'][^>]*>""", self.body, re.I)
        if m:
            parts.append(self.decode(m.group(0)))
        return "".join(parts)

    @cached_property
    def tconst(self) -> str | None:
        """The title's imdb id: from the URL, else the canonical link / og:url, else the data."""
        if m := _TT_IN_PATH.search(urlsplit(self.url).path):
            return m.group(1)
        for tag in _LINK_CANONICAL.findall(self.body[:600_000]):
            url = _HREF_OR_CONTENT.search(tag)
            if url and (m := _TT_IN_PATH.search(self.decode(url.group(1)))):
                return m.group(1)
        value = self.page_props.get("tconst")
        return value if isinstance(value, str) and _TT.match(value) else None

    @property
    def film_url(self) -> str:
        """The title's own page (what reviews and listings point to)."""
        return f"{BASE}/title/{self.tconst}/" if self.tconst else self.url


# ------------------------------------------------------------------------------ values


def _get(obj: Any, *path: str | int) -> Any:
    """A nested value, or None when any step is missing."""
    for key in path:
        if isinstance(obj, dict):
            obj = obj.get(key)  # type: ignore[call-overload]
        elif isinstance(obj, list) and isinstance(key, int) and -len(obj) <= key < len(obj):
            obj = obj[key]
        else:
            return None
    return obj


def _str(value: Any) -> str | None:
    """A display string from a JSON value: text (entities decoded) or a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return squash(html.unescape(value))
    return None


def _text_of(value: Any) -> str | None:
    """IMDb's text wrappers: "x", {"text": x}, {"plainText": x}, {"value": x}, ..."""
    if isinstance(value, dict):
        for key in ("text", "plainText", "value", "originalText", "plaidHtml", "markdown"):
            if key in value:
                return _text_of(value[key])
        return None
    return _str(value)


_BR2 = re.compile(r"(?i)<br\s*/?>\s*<br\s*/?>|</p>\s*<p[^>]*>")
_BR = re.compile(r"(?i)<br\s*/?>")
_TAG = re.compile(r"<[^>]+>")


def _html_block(value: Any) -> str | None:
    """Review/plot text with paragraph breaks: HTML ("plaidHtml", a string) loses its tags
    and entities, plain text ("plainText") is kept as written."""
    plain = isinstance(value, dict) and "plaidHtml" not in value and "plainText" in value
    if isinstance(value, dict):
        value = next((v for k in ("plaidHtml", "plainText", "markdown", "text")
                      if isinstance(v := value.get(k), str)), None)  # fmt: skip
    if not isinstance(value, str):
        return None
    if not plain:
        value = html.unescape(_TAG.sub("", _BR.sub("\n", _BR2.sub("\n\n", value))))
    paras = (squash(p) for p in re.split(r"\n\s*\n", value))
    return "\n\n".join(p for p in paras if p) or None


def _merge(into: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Fill ``into``'s missing keys from ``other``, recursing into dicts (IMDb splits one
    title's data over several query results)."""
    for key, value in other.items():
        current = into.get(key)
        if current is None:
            into[key] = value
        elif isinstance(current, dict) and isinstance(value, dict):
            into[key] = _merge(dict(current), value)
    return into


# titleType ids -> the label IMDb prints (what ``normalize.parse_kind`` reads).
_TYPE_LABELS = {
    "movie": "Movie", "tvSeries": "TV Series", "tvMiniSeries": "TV Mini Series",
    "tvEpisode": "TV Episode", "tvMovie": "TV Movie", "tvSpecial": "TV Special",
    "tvShort": "TV Short", "short": "Short", "video": "Video", "videoGame": "Video Game",
    "musicVideo": "Music Video", "podcastSeries": "Podcast Series",
    "podcastEpisode": "Podcast Episode",
}  # fmt: skip
_KIND_LABEL = re.compile(
    r"^(?:TV (?:Mini[- ]?Series|Series|Movie|Episode|Special|Short)|Video Game|Video|Short|"
    r"Movie|Music Video|Podcast (?:Series|Episode)|Episode)\b",
    re.I,
)
# "(TV Series 1999–2013)", "(2006)", "(Video 2013)", "(I) (2019)".
_LABEL_YEARS = re.compile(
    r"\((?P<label>[^()\d]*?)\s*(?P<years>\d{4}(?:\s*[–-]\s*(?:\d{4})?)?)\s*\)"
)
_YEARS = re.compile(r"^\(?\s*(\d{4}(?:\s*[–-]\s*(?:\d{4})?)?)\s*\)?$")
_RUNTIME_TEXT = re.compile(r"^\d+\s*(?:h|hr|min|m)\b|^\d+h\s*\d+m|^\d+\s*min$", re.I)
_SEASON_EPISODE = re.compile(
    r"S(?:eason)?\s*\.?\s*(\d+)\s*[.,|∙·]?\s*E(?:p(?:isode)?)?\s*\.?\s*(\d+)", re.I
)
_SEASON_EPISODE_WORDS = re.compile(r"Season\s*(\d+)\D+?Episode\s*(\d+)", re.I)
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


def _label_and_years(text: str | None) -> tuple[str | None, str | None]:
    """("TV Series", "1999–2013") from a page title like "Futurama (TV Series 1999–2013) -
    IMDb"; the last parenthesised year wins (a title may hold its own "(1)")."""
    if not text:
        return None, None
    found = list(_LABEL_YEARS.finditer(text))
    if not found:
        return None, None
    m = found[-1]
    return squash(m.group("label")), squash(m.group("years").replace(" ", ""))


def _kind_from_label(label: str | None, years: str | None) -> str | None:
    """The kind label, or "Movie" for a bare "(1999)": IMDb labels every other type."""
    if label and _KIND_LABEL.match(label):
        return label
    if years and not label:
        return "Movie"
    return None


def _year_span(data: Any, series_like: bool) -> str | None:
    """``releaseYear`` as IMDb prints it: "1995", "2005–2022", "2021–" for a running series."""
    year = _get(data, "year")
    if not isinstance(year, int):
        return None
    end = _get(data, "endYear")
    if isinstance(end, int) and end != year:
        return f"{year}–{end}"
    if series_like and end is None:
        return f"{year}–"
    return str(year)


def _date(data: Any) -> str | None:
    """``releaseDate`` {day, month, year, country} -> "1995-08-16 (United States)"."""
    year, month, day = (_get(data, k) for k in ("year", "month", "day"))
    if not isinstance(year, int):
        return None
    if isinstance(month, int) and 1 <= month <= 12:
        text = (f"{year:04d}-{month:02d}-{day:02d}" if isinstance(day, int)
                else f"{_MONTHS[month - 1]} {year}")  # fmt: skip
    else:
        return None
    country = _text_of(_get(data, "country"))
    return f"{text} ({country})" if country else text


def _runtime(data: Any) -> str | None:
    shown = _text_of(_get(data, "displayableProperty", "value"))
    if shown:
        return shown
    seconds = _get(data, "seconds")
    return (
        f"{round(seconds / 60)} min" if isinstance(seconds, int | float) and seconds > 0 else None
    )


def _imdb_rating(value: Any, count: Any) -> ScrapedRating | None:
    raw = _str(value) if not isinstance(value, str) else squash(value)
    if not raw:
        return None
    return ScrapedRating(source="imdb", value=raw, scale_max="10",
                         count=_str(count) if count else None, kind="user_average")  # fmt: skip


def _metascore(value: Any, count: Any = None) -> ScrapedRating | None:
    raw = _str(value) if not isinstance(value, str) else squash(value)
    if not raw or not re.fullmatch(r"\d{1,3}", raw):
        return None
    return ScrapedRating(source="metacritic", value=raw, scale_max="100",
                         count=_str(count) if count else None, kind="weighted_critic")  # fmt: skip


def _ref(film: ScrapedFilm) -> FilmRef:
    return FilmRef(
        title=film.title,
        year=film.year,
        url=film.url,
        external_ids=dict(film.external_ids),
        directors=[c.name for c in film.credits if c.role == "director"],
    )


def _dedupe_credits(credits: list[ScrapedCredit]) -> list[ScrapedCredit]:
    seen: set[tuple[str, str, str | None]] = set()
    out = []
    for c in credits:
        key = (c.name, c.role, c.character)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


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


# ------------------------------------------------------------------------------ DOM helpers

_HERO_MARKERS = (
    b'class="title_wrapper"',
    b'data-testid="hero-title-block__title"',
    b'data-testid="hero__pageTitle"',
)


def _cls(name: str) -> str:
    """XPath test: the element has class ``name``."""
    return f"contains(@class, '{name}') and contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


@lru_cache(maxsize=512)
def _xp(expr: str) -> etree.XPath:
    """A compiled XPath (evaluating a compiled expression is several times faster)."""
    return etree.XPath(expr)


def _first(el: Any, xpath: str) -> Any:
    found = _xp(xpath)(el) if el is not None else []
    return found[0] if found else None


def _ftext(el: Any, xpath: str) -> str | None:
    """Text of the first node ``xpath`` finds (an element's text, or an attribute/string)."""
    node = _first(el, xpath)
    return squash(str(node)) if isinstance(node, str) else element_text(node)


def _texts(el: Any, xpath: str) -> list[str]:
    return [t for t in (element_text(n) for n in _xp(xpath)(el)) if t]


def _eblock(el: Any) -> str | None:
    """Text of a block with its paragraph breaks (``<br><br>``, ``<p>``) kept: review bodies."""
    if el is None:
        return None
    return _html_block(etree.tostring(el, encoding="unicode", method="html", with_tail=False))


def _own(el: Any) -> str | None:
    """The direct text of an element (a year span or "(original title)" note left out)."""
    return squash(" ".join(el.xpath("./text()")).replace("\xa0", " ")) if el is not None else None


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


RULES = SiteRules(
    name=SITE,
    hosts=("imdb.com",),
    start_path="/chart/top/",
    routes=(
        Route(_LOCALE + r"/find(?:/|$)", parse_find),
        Route(_TITLE_PATH + r"/reference/?$", parse_reference),
        Route(_TITLE_PATH + r"/releaseinfo/?$", parse_releaseinfo),
        Route(_TITLE_PATH + r"/episodes/?$", parse_episodes),
        Route(_TITLE_PATH + r"/criticreviews/?$", parse_critic_reviews),
        Route(_TITLE_PATH + r"/reviews/?$", parse_user_reviews),
        Route(_TITLE_PATH + r"/?$", parse_title),
        Route(_TITLE_PATH + r"/", parse_other_subpage),
        Route(_LOCALE + r"/name/nm\d+", parse_name),
    ),
    follow=(
        _TITLE_PATH + r"/?$",
        _TITLE_PATH + r"/(?:episodes|criticreviews|reviews|releaseinfo)/?$",
        r"^/chart/(?:top|moviemeter|toptv)/?$",
    ),
    settings={
        "DOWNLOAD_DELAY": 3.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "AUTOTHROTTLE_ENABLED": True,
    },
)
