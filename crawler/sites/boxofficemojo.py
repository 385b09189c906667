"""Box Office Mojo (boxofficemojo.com, by IMDbPro): box-office pages of theatrical films.

Layouts handled (the 2019+ site; pages carry no JSON-LD):

* title pages ``/title/tt0087332/``: ``<h1>`` "Ghostbusters <span>(1984)</span>" (the year of
  the original release, even when the page also lists 1985 and later re-releases), the
  synopsis under it, the poster, and the "Summary Details" rows (Domestic Distributor,
  Earliest Release Date "June 8, 1984 (Domestic)", Running Time "1 hr 45 min", Genres one per
  line, MPAA). The IMDb id is the URL's (the site is keyed by IMDb title ids).
* release-group pages ``/releasegroup/gr2193641989/`` (and single releases ``/release/rl.../``):
  the ``<h1>`` title without a year, the film's IMDb id from the "Title Summary" link, and the
  release table's dates. The group is named in the release-group picker ("Original Release",
  "1985 Re-release"): only an original release's earliest date is the film's year and release
  date; a re-release's dates are not the film's, so such a page gives no year. A group page
  that names no single film (no title link) is a listing.

Box Office Mojo lists theatrical releases only, so the kind hint is "Movie" (a Documentary
genre still wins in the normalizer). The distributor is kept as a ``distributor`` credit.
Only the ``<main>`` element is parsed into a tree (speed).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from lxml import html as lxml_html
from scrapy.http import TextResponse

from crawler.extract.pagecheck import why_not_film
from crawler.extract.text import squash
from crawler.sites.base import NoFilmData, Route, SiteRules
from pipelines.records import ScrapedCredit, ScrapedFilm, ScrapedRecord

SITE = "boxofficemojo"

_TITLE_PATH = r"^/title/tt\d+/?$"
_GROUP_PATH = r"^/(?:releasegroup/gr\d+|release/rl\d+)/?$"
_IMDB_ID = re.compile(r"/title/(tt\d{7,})")
_MAIN = re.compile(r"<main\b[^>]*>(.*?)</main\s*>", re.I | re.S)
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_LINE_SPLIT = re.compile(r"\s*\n\s*")
_ORIGINAL = re.compile(r"^\s*original\b", re.I)


def _main(response: TextResponse) -> Any | None:
    """The ``<main>`` element as an lxml tree (the page's content without navigation)."""
    m = _MAIN.search(response.text)
    if m is None:
        return None
    try:
        return lxml_html.fragment_fromstring(m.group(1), create_parent="div")
    except Exception:  # noqa: BLE001 - an unreadable fragment is no film, not a crash
        return None


def _text(el: Any) -> str | None:
    return squash(" ".join(el.itertext())) if el is not None else None


def _first(root: Any, xpath: str) -> Any | None:
    found = root.xpath(xpath)
    return found[0] if found else None


def _heading(root: Any) -> tuple[str | None, str | None]:
    """(title, year) from the heading's ``<h1>``: the year is its secondary span "(1984)"."""
    h1 = _first(root, ".//h1")
    if h1 is None:
        return None, None
    year_text = " ".join(t for span in h1.xpath(".//span") for t in span.itertext())
    title = squash(h1.text or "") or squash(
        " ".join(t for t in h1.xpath("./text() | ./*[not(self::span)]//text()"))
    )
    m = _YEAR.search(year_text)
    return title, (m.group(1) if m else None)


def _summary(root: Any) -> dict[str, Any]:
    """The "Summary Details" rows: label -> value element."""
    rows: dict[str, Any] = {}
    for row in root.xpath(".//div[contains(@class, 'mojo-summary-values')]/div"):
        spans = row.xpath("./span")
        if len(spans) >= 2:
            label = (_text(spans[0]) or "").lower()
            if label and label not in rows:
                rows[label] = spans[1]
    return rows


def _lines(el: Any) -> list[str]:
    """The element's own text lines (genres are printed one per line, links left out)."""
    text = "\n".join(el.xpath("./text()"))
    return [line for line in (squash(x) for x in _LINE_SPLIT.split(text)) if line]


def _synopsis(root: Any) -> str | None:
    node = _first(
        root,
        ".//div[contains(@class, 'mojo-heading-summary')]//h1/following-sibling::*"
        "[self::span or self::p][1]",
    )
    return _text(node)


def _poster(root: Any, response: TextResponse) -> str | None:
    img = _first(root, ".//div[contains(@class, 'mojo-heading-summary')]//img")
    if img is None:
        return None
    src = img.get("data-a-hires") or img.get("src")
    return response.urljoin(src) if src else None


def _imdb_id(root: Any, url: str) -> str | None:
    """The film's IMDb id: the URL's, else the "Title Summary" link, else an IMDbPro link."""
    if m := _IMDB_ID.search(urlsplit(url).path):
        return m.group(1)
    for xpath in (
        ".//a[contains(@class, 'mojo-title-link')]/@href",
        ".//div[@id='title-summary-refiner']//a/@href",
        ".//a[contains(@href, 'pro.imdb.com/title/')]/@href",
    ):
        for href in root.xpath(xpath):
            if m := _IMDB_ID.search(href):
                return m.group(1)
    return None


def _film(response: TextResponse, root: Any, title: str | None, imdb: str | None) -> ScrapedFilm:
    ids = {"imdb": imdb, SITE: imdb} if imdb else {}
    return ScrapedFilm(
        site=SITE,
        url=response.url,
        title=title,
        kind="Movie",
        external_ids=ids,
        synopsis=_synopsis(root),
        poster_url=_poster(root, response),
    )


def _root_or_refuse(response: TextResponse) -> Any:
    root = _main(response)
    if root is None:
        reason = why_not_film(response) or "not_a_film_page"
        raise NoFilmData(reason, "no <main> content on the page")
    return root


def parse_title(response: TextResponse) -> list[ScrapedRecord]:
    """A title page: the film with its summary details."""
    root = _root_or_refuse(response)
    title, year = _heading(root)
    if not title:
        raise NoFilmData("not_a_film_page", "a title page without a heading")
    film = _film(response, root, title, _imdb_id(root, response.url))
    rows = _summary(root)
    if "earliest release date" in rows:
        film.release_date = _text(rows["earliest release date"])
    if year is None and film.release_date and (m := _YEAR.search(film.release_date)):
        year = m.group(1)
    film.year = year
    if "running time" in rows:
        film.runtime = _text(rows["running time"])
    if "genres" in rows:
        film.genres = _lines(rows["genres"])
    for label in ("domestic distributor", "distributor"):
        if label in rows and (lines := _lines(rows[label])):
            film.credits = [ScrapedCredit(name=lines[0], role="distributor")]
            break
    return [film]


def _group_label(root: Any, url: str) -> str | None:
    """The release group the page shows, from the picker: the option whose value is the
    page's path (an ``/release/`` page: the last selected group option)."""
    path = urlsplit(url).path.rstrip("/")
    options = root.xpath(".//select[contains(@name, 'releasegroup-picker')]/option")
    for option in options:
        if (option.get("value") or "").rstrip("/") == path:
            return _text(option)
    selected = [o for o in options if o.get("selected") is not None
                and "/releasegroup/" in (o.get("value") or "")]  # fmt: skip
    return _text(selected[-1]) if selected else None


def _release_dates(root: Any) -> list[tuple[str, str]]:
    """(year, date as printed) of each row of the releases table's "Release Date" column."""
    out: list[tuple[str, str]] = []
    for table in root.xpath(".//table"):
        headers = [(_text(th) or "").lower() for th in table.xpath(".//tr[th][last()]/th")]
        if "release date" not in headers:
            continue
        col = headers.index("release date") + 1
        for cell in table.xpath(f".//tr[td]/td[{col}]"):
            text = _text(cell)
            if text and (m := _YEAR.search(text)):
                out.append((m.group(1), text))
    return out


def parse_release_group(response: TextResponse) -> list[ScrapedRecord]:
    """A release group (or release) page: the film it belongs to; its year only when the
    group is the original release."""
    root = _root_or_refuse(response)
    title, year = _heading(root)
    imdb = _imdb_id(root, response.url)
    if not title or not imdb:
        raise NoFilmData("listing", "a release group that names no single film")
    film = _film(response, root, title, imdb)
    label = _group_label(root, response.url)
    if year is None and label and _ORIGINAL.match(label):
        dates = sorted(_release_dates(root), key=lambda d: d[0])
        if dates:
            year, film.release_date = dates[0]
    film.year = year
    return [film]


RULES = SiteRules(
    name=SITE,
    hosts=("boxofficemojo.com",),
    start_path="/year/",
    routes=(Route(_TITLE_PATH, parse_title), Route(_GROUP_PATH, parse_release_group)),
    follow=(
        _TITLE_PATH,
        r"^/releasegroup/gr\d+/?$",
        r"^/year/(?:\d{4}/)?$",
        r"^/weekend/\d{4}W\d{2}/?$",
    ),
    settings={
        "DOWNLOAD_DELAY": 2.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "AUTOTHROTTLE_ENABLED": True,
    },
)
