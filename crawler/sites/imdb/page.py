"""What an IMDb page holds and how to read it: the first document of a saved file, the
``__NEXT_DATA__`` and JSON-LD cut from the bytes, IMDb's JSON values, and lxml text helpers."""

from __future__ import annotations

import html
import json
import re
from functools import cached_property, lru_cache
from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from scrapy.http import TextResponse

from crawler.extract.jsonld import jsonld_objects
from crawler.extract.text import element_text, squash
from crawler.sites.imdb.paths import _TT, _TT_IN_PATH, BASE
from pipelines.records import (
    FilmRef,
    ScrapedCredit,
    ScrapedFilm,
    ScrapedRating,
)

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
