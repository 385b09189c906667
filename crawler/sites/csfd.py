"""ČSFD (csfd.cz, csfd.sk): the Czech–Slovak film database.

Layouts handled:

* Film, series, season and episode pages (``/film/<id>-<slug>/prehled/``, a season or episode
  nests its own id: ``/film/<series>/<id>-<slug>/``). A JSON-LD ``Movie``/``TVSeries`` is the
  base; the page adds what JSON-LD lacks: the Czech (or Slovak) display title in ``<h1>``
  with a type label beside it ("(seriál)", "(série)", "(epizoda)", "(TV film)"), the other
  countries' titles listed with flags (``ul.film-names``: the flag's title is the country),
  genres, the origin line "USA / Kanada, 2018, 159 min" (a series prints "(1994–2022)" and
  "14 h 20 min (Minutáž: 60–79 min)"), creators by role labels (Režie, Scénář, Hrají, ...),
  the plot, premieres by country, and the users' rating in per cent ("72%", "? %" when too few
  users rated).
* Search pages (``/hledat/``): ``search_results``; user pages (reviews, ratings, lists of
  a user under ``/uzivatel/``) and charts: ``listing`` (they name many films, describe none).
* Creator pages (``/tvurce/``): ``person_page``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from parsel import Selector, SelectorList
from scrapy.http import TextResponse

from crawler.extract.jsonld import jsonld_objects
from crawler.extract.pagecheck import why_not_film
from crawler.extract.schema_org import film_records
from crawler.extract.text import squash, text_of
from crawler.sites.base import NoFilmData, Route, SiteRules, not_film
from pipelines.records import (
    ScrapedCredit,
    ScrapedFilm,
    ScrapedRating,
    ScrapedRecord,
    ScrapedTitle,
)

SITE = "csfd"

_FILM_PATH = r"^/film/\d+[^/]*/(?:\d+[^/]*/)?(?:prehled/)?$"
_FILM_IDS = re.compile(r"/film/(\d+)[^/]*/(?:(\d+)[^/]*/)?")
_YEARS = re.compile(r"\d{4}(?:\s*[–-]\s*(?:\d{4})?)?")
_RUNTIME = re.compile(r"(?:\d+\s*h\s*)?\d+\s*min|\d+\s*h\b")
_EPISODE_RUNTIME = re.compile(r"Minutáž:\s*(\d+)(?:\s*[–-]\s*\d+)?\s*min", re.I)
_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*%")
_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_SEASON = re.compile(r"(?:série|séria|season|řada)\s*(\d+)|(\d+)\.\s*(?:série|séria|řada)", re.I)
_EPISODE = re.compile(r"(?:epizoda|epizóda|díl|episode)\s*(\d+)|\bS\d+E(\d+)\b", re.I)
_SxE = re.compile(r"\(?\s*S(\d+)\s*E(\d+)\s*\)?", re.I)

# Type labels beside the title -> kind hints pipelines.normalize understands.
_TYPES = {
    "seriál": "TV Series", "série": "TV Season", "séria": "TV Season", "epizoda": "TV Episode",
    "epizóda": "TV Episode", "tv film": "TV Movie", "tv pořad": "TV Series", "pořad": "TV Series",
    "minisérie": "TV Mini Series", "minisériál": "TV Mini Series", "video film": "Video",
    "videofilm": "Video", "divadelní záznam": "Video", "koncert": "Concert",
    "studentský film": "Short", "amatérský film": "Movie", "hudební videoklip": "Video",
    "tv speciál": "TV Special", "web seriál": "TV Series", "videohra": "VideoGame",
}  # fmt: skip
# Genres that say the kind (ČSFD lists "Krátkometrážní" among genres).
_GENRE_KINDS = {"krátkometrážní": "Short", "dokumentární": "Documentary",
                "koncert": "Concert"}  # fmt: skip
# Creator labels -> credit roles (others keep the label, lower-cased).
_ROLES = {
    "režie": "director", "scénář": "writer", "předloha": "writer", "námět": "writer",
    "hrají": "cast", "hrajú": "cast", "hudba": "composer", "kamera": "cinematographer",
    "produkce": "producer", "střih": "editor", "strih": "editor", "scénografie": "production_designer",
    "kostýmy": "costume_designer", "masky": "makeup", "zvuk": "sound", "casting": "casting",
    "tvůrci": "creator", "tvorcovia": "creator", "réžia": "director", "scenár": "writer",
    "predloha": "writer",
}  # fmt: skip
# Flag titles (Czech/Slovak country names) -> ISO 3166-1 alpha-2.
COUNTRIES = {
    "usa": "US", "spojené státy": "US", "kanada": "CA", "velká británie": "GB",
    "veľká británia": "GB", "irsko": "IE", "írsko": "IE", "austrálie": "AU", "austrália": "AU",
    "nový zéland": "NZ", "česko": "CZ", "československo": "CZ", "slovensko": "SK",
    "německo": "DE", "nemecko": "DE", "západní německo": "DE", "rakousko": "AT",
    "rakúsko": "AT", "švýcarsko": "CH", "švajčiarsko": "CH", "francie": "FR",
    "francúzsko": "FR", "belgie": "BE", "belgicko": "BE", "nizozemsko": "NL", "holandsko": "NL",
    "lucembursko": "LU", "itálie": "IT", "taliansko": "IT", "španělsko": "ES",
    "španielsko": "ES", "portugalsko": "PT", "dánsko": "DK", "švédsko": "SE", "norsko": "NO",
    "nórsko": "NO", "finsko": "FI", "fínsko": "FI", "island": "IS", "polsko": "PL",
    "poľsko": "PL", "maďarsko": "HU", "rumunsko": "RO", "bulharsko": "BG", "řecko": "GR",
    "grécko": "GR", "turecko": "TR", "rusko": "RU", "sovětský svaz": "SU", "ukrajina": "UA",
    "japonsko": "JP", "čína": "CN", "hongkong": "HK", "tchaj-wan": "TW", "taiwan": "TW",
    "jižní korea": "KR", "južná kórea": "KR", "indie": "IN", "india": "IN", "izrael": "IL",
    "írán": "IR", "irán": "IR", "mexiko": "MX", "brazílie": "BR", "brazília": "BR",
    "argentina": "AR", "chile": "CL", "kolumbie": "CO", "jihoafrická republika": "ZA",
    "egypt": "EG", "thajsko": "TH", "slovinsko": "SI", "chorvatsko": "HR", "srbsko": "RS",
    "estonsko": "EE", "lotyšsko": "LV", "litva": "LT",
}  # fmt: skip
_LANGUAGE = {"www.csfd.cz": "cs", "csfd.cz": "cs", "www.csfd.sk": "sk", "csfd.sk": "sk"}
_LOCAL_COUNTRIES = frozenset({"CZ", "SK"})


# ------------------------------------------------------------------------------ pieces


def _ids(url: str) -> dict[str, str]:
    """{"csfd": "<id>"}: a season's or episode's own id when the path nests one."""
    m = _FILM_IDS.search(urlsplit(url).path)
    return {"csfd": m.group(2) or m.group(1)} if m else {}


_CANONICAL = re.compile(
    r"""<link\b[^>]*\brel=["']canonical["'][^>]*\bhref=["']([^"']+)["']""", re.I
)
# The page's landmarks, found in one pass over the tree (class tests on a few tags only).
_ANCHORS = (
    "//div[contains(@class, 'film-header-name') or contains(@class, 'film-info-content')"
    " or contains(@class, 'body--plots')] | //section[contains(@class, 'box-premieres')]"
    " | //*[@id='creators']"
)


def _anchors(sel: Selector) -> dict[str, SelectorList]:
    """{"header", "info", "plots", "premieres", "creators"}: each a (maybe empty) list."""
    out = {k: SelectorList() for k in ("header", "info", "plots", "premieres", "creators")}
    keys = (("film-header-name", "header"), ("film-info-content", "info"),
            ("body--plots", "plots"), ("box-premieres", "premieres"))  # fmt: skip
    for node in sel.xpath(_ANCHORS):
        if node.attrib.get("id") == "creators":
            out["creators"].append(node)
            continue
        classes = node.attrib.get("class", "").split()
        for cls, key in keys:
            if cls in classes and not out[key]:
                out[key].append(node)
    return out


def _canonical(text: str) -> str | None:
    """The page's own URL (``link rel=canonical``): ids survive redirects."""
    m = _CANONICAL.search(text[:100_000])
    return m.group(1) if m else None


def _country(name: str | None) -> str | None:
    return COUNTRIES.get((name or "").strip().lower()) if name else None


def _names(header: Selector) -> list[tuple[str, str | None, str | None]]:
    """(title, country name, ISO region) of each flagged title, in page order."""
    out: list[tuple[str, str | None, str | None]] = []
    for li in header.css("ul.film-names li"):
        title = squash(" ".join(li.xpath("./text()").getall()))
        if not title:
            continue
        flag = li.css("img.flag")
        country = squash(flag.attrib.get("title") or flag.attrib.get("alt")) if flag else None
        out.append((title, country, _country(country)))
    return out


def _origin(info: SelectorList) -> tuple[list[str], str | None, str | None]:
    """(countries, year or years, runtime) from "USA / Kanada • 2018 • 159 min"."""
    origin = info.css(".origin")
    text = text_of(origin) or ""
    parts = [p.strip() for p in re.split(r"\s*,\s*|\s*•\s*", text) if p.strip()]
    countries: list[str] = []
    first = origin.xpath("./text()").get()
    if first and squash(first) and not re.search(r"\d", first):
        countries = [c.strip() for c in squash(first).split("/") if c.strip()]  # type: ignore[union-attr]
    year = None
    if m := re.search(r"\(?\s*(\d{4}(?:\s*[–-]\s*(?:\d{4})?)?)\s*\)?", text):
        year = re.sub(r"\s+", "", m.group(1))
    runtime = None
    if m := _EPISODE_RUNTIME.search(text):
        runtime = f"{m.group(1)} min"  # a series: one episode's running time
    else:
        for part in parts:
            if m := _RUNTIME.search(part.split("(")[0]):
                runtime = m.group(0)
                break
    return countries, year, runtime


def _credits(creators: SelectorList) -> list[ScrapedCredit]:
    """Creators by role label ("Režie:", "Hrají:"); lxml directly (long cast lists)."""
    credits: list[ScrapedCredit] = []
    for block in creators[0].root.iterchildren("div") if creators else ():
        heads = block.xpath("./h4")
        label = squash("".join(heads[0].itertext()).rstrip(": ").rstrip(":")) if heads else None
        if not label:
            continue
        role = _ROLES.get(label.lower(), label.lower())
        for a in block.iter("a"):
            href = a.get("href") or ""
            if "/tvurce/" in href or "/tvorca/" in href:
                name = squash("".join(a.itertext()))
                if name:
                    credits.append(ScrapedCredit(name=name, role=role))
    return credits


def _rating(info: SelectorList, base: ScrapedFilm | None) -> ScrapedRating | None:
    """The users' rating as printed ("72%"); "? %" (too few users) is no rating."""
    text = squash(info.css(".film-rating-average").xpath("string()").get())
    m = _PERCENT.search(text or "")
    if not m:
        return None
    count = None
    if base is not None and base.ratings:
        count = base.ratings[0].count
    return ScrapedRating(source=SITE, value=f"{m.group(1)}%", scale_max="100", count=count,
                         kind="user_average")  # fmt: skip


def _release_date(premieres: SelectorList, origin_regions: set[str]) -> str | None:
    """The earliest cinema/TV premiere in a country of origin (ČSFD lists premieres by
    country; a Czech DVD date is not the film's release)."""
    best: tuple[tuple[int, int, int], str] | None = None
    for li in premieres[0].root.iter("li") if premieres else ():
        flags = li.xpath(".//img[contains(@class, 'flag')]/@title")
        region = _country(flags[0]) if flags else None
        if region not in origin_regions:
            continue
        labels = li.xpath(".//p")
        label = (squash("".join(labels[0].itertext())) or "").lower() if labels else ""
        if not label.startswith(("v kinech", "v kinách", "v tv")):
            continue
        m = _DATE.search("".join(li.itertext()))
        if m:
            key = (int(m.group(3)), int(m.group(2)), int(m.group(1)))
            if best is None or key < best[0]:
                best = (key, m.group(0))
    return best[1] if best else None


def _synopsis(plots: SelectorList) -> str | None:
    for css in (".plot-full p", ".plot-preview p", "p"):
        nodes = plots.css(css)
        if nodes:
            parts = nodes[0].xpath(".//text()[not(ancestor::em)]").getall()
            text = squash(" ".join(parts))
            if text:
                return re.sub(r"\s+([.,;:!?)])", r"\1", re.sub(r"([(])\s+", r"\1", text))
    return None


def _kind(type_label: str | None, base: ScrapedFilm | None, genres: list[str]) -> str | None:
    label = (type_label or "").strip("() ").lower()
    if label in _TYPES:
        return _TYPES[label]
    for genre in genres:
        if genre.lower() in _GENRE_KINDS:
            return _GENRE_KINDS[genre.lower()]
    return base.kind if base is not None else "Movie"


# ------------------------------------------------------------------------------ parsers


def parse_film(response: TextResponse) -> list[ScrapedRecord]:
    """One ScrapedFilm from a film/series/season/episode page."""
    text = response.text
    records = film_records(jsonld_objects(text), SITE, response.url, text)
    base = next((r for r in records if isinstance(r, ScrapedFilm)), None)
    sel = response.selector
    marks = _anchors(sel)
    header, info = marks["header"], marks["info"]
    title = squash(header.css("h1").xpath("string()").get()) if header else None
    if base is None and not title:
        raise NoFilmData(why_not_film(response) or "not_a_film_page", "no film on the page")
    title = title or (base.title if base else None)
    type_label = squash(header.css(".type::text").get()) if header else None
    names = _names(header) if header else []
    countries, years, runtime = _origin(info)
    origin_regions = {r for c in countries if (r := _country(c))}
    first_region = _country(countries[0]) if countries else None
    original = next((t for t, _c, r in names if r and r == first_region), None)
    if original is None:  # the only title, or a Czech/Slovak film's own, else the first flag's
        local = not names or first_region in _LOCAL_COUNTRIES
        original = title if local else names[0][0]
    language = _LANGUAGE.get(urlsplit(response.url).hostname or "", "cs")
    titles: list[ScrapedTitle] = []
    if title:  # the localized title; a film with no Czech title shows its original
        local = language if original != title else None
        titles.append(ScrapedTitle(title=title, language=local, type="display"))
    if original and original != title:
        titles.append(ScrapedTitle(title=original, region=first_region, type="original"))
    for name, _country_name, region in names:
        if any(t.title == name and t.region == region for t in titles):
            continue
        if name == original and region in origin_regions:
            continue  # the original title again, under a co-producing country's flag
        titles.append(ScrapedTitle(title=name, region=region))
    genres_box = info.css(".genres")
    genres = [g for g in (squash(p) for p in genres_box.xpath(".//text()").getall()) if g]
    kind = _kind(type_label, base, genres)
    series = season = episode = None
    if kind in ("TV Season", "TV Episode"):
        series = squash(header.css("h2 a::text").get())
        label = " ".join(
            filter(None, [title, type_label, header.css("h2").xpath("string()").get()])
        )
        if m := _SxE.search(label):
            season, episode = m.group(1), m.group(2)
        else:
            if m := _SEASON.search(label):
                season = m.group(1) or m.group(2)
            if kind == "TV Episode" and (m := _EPISODE.search(label)):
                episode = m.group(1) or m.group(2)
    credits = _credits(marks["creators"]) or (base.credits if base else [])
    rating = _rating(info, base)
    film = ScrapedFilm(
        site=SITE,
        url=response.url,
        title=title,
        original_title=original,
        titles=titles,
        year=years or (base.year if base else None),
        release_date=_release_date(marks["premieres"], origin_regions),
        kind=kind,
        runtime=runtime or (base.runtime if base else None),
        credits=credits,
        genres=genres or (base.genres if base else []),
        external_ids={
            **(base.external_ids if base else {}),
            **_ids(_canonical(text) or response.url),
        },
        ratings=[rating] if rating else [],
        synopsis=_synopsis(marks["plots"]),
        poster_url=base.poster_url
        if base and "empty-image" not in (base.poster_url or "")
        else None,
        series=series,
        season=season,
        episode=episode,
    )
    return [film, *(r for r in records if not isinstance(r, ScrapedFilm))]


parse_search = not_film("search_results", "a ČSFD search page")


parse_listing = not_film("listing", "a ČSFD user/chart page naming many films")


parse_person = not_film("person_page", "a ČSFD creator page")


RULES = SiteRules(
    name=SITE,
    hosts=("csfd.cz", "csfd.sk"),
    routes=(
        Route(_FILM_PATH, parse_film),
        Route(r"^/(?:hledat|vyhledavani)/", parse_search),
        Route(r"^/(?:uzivatel|zebricky|rebricky)/", parse_listing),
        Route(r"^/(?:tvurce|tvorca)/", parse_person),
    ),
    follow=(_FILM_PATH, r"^/zebricky/"),
    settings={
        "DOWNLOAD_DELAY": 2.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "AUTOTHROTTLE_ENABLED": True,
    },
)
