"""AlloCiné (allocine.fr): the French film site.

Layouts handled:

* Film pages (``/film/fichefilm_gen_cfilm=<id>.html``) and series pages
  (``/series/ficheserie_gen_cserie=<id>.html``). Feature pages carry a JSON-LD ``Movie``
  (``TVSeries``), used as the base; short films and older pages have none, and everything
  comes from the DOM and Open Graph: the title bar, the ``entity-card`` (a date with what it
  dates: "17 août 2016 en DVD" or "en salle", the running time "0h 25min", genres, "De"
  directors, "Par" writers, "Avec" cast, "Titre original"), the ratings box (Presse = the
  press average, Spectateurs = the users' average, both on /5 with decimal commas), the
  synopsis and the technical box ("Année de production", "Type de film", "Langues").
  The film's year is its production year: the date in the header may be a DVD release
  years later. Many links are obfuscated (a ``span`` whose class is the base64 of the URL
  with "ACr" inserted); ids are read from the page URL.
* Person pages (``/personne/``): ``person_page``; search (``/rechercher/``):
  ``search_results``; film lists (``/films/``, box office, charts): ``listing``.

Numeric dates ("17/08/2016", day first) are handed on in ISO form: ``pipelines.normalize``
reads slashed dates in US order.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from parsel import Selector, SelectorList
from scrapy.http import TextResponse

from crawler.extract.jsonld import jsonld_objects
from crawler.extract.pagecheck import why_not_film
from crawler.extract.schema_org import film_records
from crawler.extract.text import squash
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

SITE = "allocine"

_FILM_PATH = r"^/(?:film/fichefilm_gen_cfilm=\d+\.html|series/ficheserie_gen_cserie=\d+\.html)$"
_FILM_ID = re.compile(r"(?:cfilm=|fichefilm-)(\d+)")
_SERIES_ID = re.compile(r"(?:cserie=|ficheserie-)(\d+)")
_RUNTIME = re.compile(r"\b\d+\s*h\s*\d*\s*(?:min)?\b|\b\d+\s*min\b")
_YEAR = re.compile(r"\b(18[89]\d|19\d\d|20\d\d)\b")
_YEARS = re.compile(r"\b(\d{4})\s*(?:-|–|à)\s*(\d{4})\b|\bdepuis\s+(\d{4})\b", re.I)
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")
_COUNT = re.compile(r"(\d[\d\s\u00a0.]*)\s*(?:notes?|critiques?)", re.I)
_SITE_SUFFIX = re.compile(r"\s+-\s+(?:[^-]+\s+-\s+)?AlloCiné\s*$", re.I)
# What the page calls the work -> kind hints pipelines.normalize understands.
_TYPE_KINDS = (
    ("court", "Short"), ("téléfilm", "TV Movie"), ("telefilm", "TV Movie"),
    ("mini-série", "TV Mini Series"), ("série", "TV Series"), ("serie", "TV Series"),
    ("documentaire", "Documentary"), ("spectacle", "Video"), ("concert", "Concert"),
    ("long", "Movie"), ("moyen", "Movie"),
)  # fmt: skip
_CREDIT_LABELS = {"de": "director", "par": "writer", "avec": "cast", "créée par": "creator",
                  "créé par": "creator", "réalisé par": "director"}  # fmt: skip
_RATING_KINDS = {"presse": "critic_average", "spectateurs": "user_average"}
_LANGUAGES = {"anglais": "en", "français": "fr", "allemand": "de", "espagnol": "es",
              "italien": "it", "japonais": "ja", "coréen": "ko", "russe": "ru",
              "mandarin": "zh", "portugais": "pt", "danois": "da", "suédois": "sv"}  # fmt: skip


# ------------------------------------------------------------------------------ helpers


def _iso(raw: str | None) -> str | None:
    """ "17/08/2016" (day first) -> "2016-08-17"; other text as printed."""
    text = squash(raw)
    if text and (m := _NUMERIC_DATE.match(text)):
        return f"{m.group(3)}-{int(m.group(2)):02d}-{int(m.group(1)):02d}"
    return text if text and text != "-" else None


# The page's landmarks, found in one pass (class tests on two tags only).
_ANCHORS = (
    "//div[contains(@class, 'entity-card') or contains(@class, 'titlebar-page')"
    " or contains(@class, 'breadcrumb')] | //section[contains(@class, 'ovw')]"
)


_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.I | re.S)


def _content(text: str) -> Selector | None:
    """A tree of the page's ``<main>`` alone: a film page is ~450 kB, ~400 of them inline
    CSS and scripts in the head and footer; building the tree of ``<main>`` is 4x faster."""
    start = text.find("<main")
    end = text.rfind("</main>")
    if start < 0 or end < start:
        return None
    return Selector(text=text[start : end + len("</main>")])


def _anchors(sel: Selector) -> dict[str, SelectorList]:
    """{"card": the film's entity card, "titlebar", "breadcrumb", "title", "sections": the
    overview sections (synopsis, cast, reviews, technical box)}; lists may be empty."""
    out = {k: SelectorList() for k in ("card", "titlebar", "breadcrumb", "title", "sections")}
    for node in sel.xpath(_ANCHORS):
        classes = node.attrib.get("class", "").split()
        tag = node.root.tag
        if tag == "title":
            key = "title"
        elif tag == "section":
            key = "sections" if "ovw" in classes else ""
        elif "entity-card" in classes:
            key = "card"
        elif "titlebar-page" in classes:
            key = "titlebar"
        elif "breadcrumb" in classes:
            key = "breadcrumb"
        else:
            key = ""
        if key and (key == "sections" or not out[key]):
            out[key].append(node)
    return out


def _classes(el: Any) -> list[str]:
    return (el.get("class") or "").split()


_CLASSED = etree.XPath("descendant-or-self::*[@class]")


# Person and review cards of the overview sections.
_CARDS = etree.XPath(
    "descendant::div[contains(@class, 'person-card') or contains(@class, 'review-card')]"
)


def _all(roots: Any, cls: str, tag: str | None = None) -> list[Any]:
    """Elements (the roots included) whose class list holds ``cls``, by a compiled XPath
    over each small subtree (no Selector objects)."""
    out: list[Any] = []
    for root in roots if isinstance(roots, list) else [roots]:
        out.extend(
            el
            for el in _CLASSED(root)
            if cls in el.get("class", "").split() and (tag is None or el.tag == tag)
        )
    return out


def _first(roots: Any, cls: str, tag: str | None = None) -> Any:
    found = _all(roots, cls, tag)
    return found[0] if found else None


def _txt(el: Any) -> str | None:
    """The element's text as the page spaces it (inline markup carries its own spaces)."""
    return squash("".join(el.itertext())) if el is not None else None


_META_TAG = re.compile(r"<meta\b[^>]*>", re.I)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _og(text: str) -> dict[str, str]:
    """``og:*`` tags of the page head by regex (Open Graph is read once per page; the shared
    reader builds a Selector per meta tag)."""
    out: dict[str, str] = {}
    head_end = text.find("</head>")
    for tag in _META_TAG.findall(text[: head_end if head_end > 0 else 200_000]):
        attrs = {k.lower(): html.unescape(a if a else b) for k, a, b in _ATTR.findall(tag)}
        key = (attrs.get("property") or attrs.get("name") or "").lower()
        value = (attrs.get("content") or "").strip()
        if key.startswith("og:") and value:
            out.setdefault(key, value)
    return out


def _technical(sections: list[Any]) -> dict[str, str]:
    """The "Infos techniques" box: {label (lower-case): value}, dashes left out."""
    out: dict[str, str] = {}
    for box in (s for s in sections if "ovw-technical" in _classes(s)):
        for item in box.iter("div"):
            if "item" not in _classes(item):
                continue
            label = value = None
            for span in item.iterchildren("span"):
                classes = _classes(span)
                if "what" in classes:
                    label = (_txt(span) or "").lower()
                elif "that" in classes:
                    value = _txt(span)
            if label and value and value != "-":
                out.setdefault(label, value)
    return out


def _names(item: Any) -> list[str]:
    """Names in a credits line (links or obfuscated spans), the label left out."""
    names = []
    for node in item.iterchildren("a", "span"):
        if {"light", "spacer"} & set(_classes(node)):
            continue
        name = _txt(node)
        if name and name not in names:
            names.append(name)
    return names


def _card(card: Any) -> dict[str, Any]:
    """What the entity card says: dated release, runtime, genres, credits, original title."""
    out: dict[str, Any] = {"credits": []}
    info = _first(card, "meta-body-info")
    if info is not None:
        out["date"] = _txt(_first(info, "date"))
        strong = info.find(".//strong")
        out["date_what"] = (_txt(strong) or "").lower()
        loose = " ".join([info.text or "", *(c.tail or "" for c in info)])
        if m := _RUNTIME.search(loose):
            out["runtime"] = squash(m.group(0))
        out["info_text"] = _txt(info) or ""
        out["genres"] = [
            g for node in info.iterchildren("span", "a")
            if not {"date", "spacer"} & set(_classes(node)) and (g := _txt(node))
        ]  # fmt: skip
    credits: list[ScrapedCredit] = []
    for item in _all(card, "meta-body-item", "div"):
        label = (_txt(_first(item, "light")) or "").lower()
        if label.startswith("titre original"):
            rest = squash(" ".join([item.text or "", *(c.tail or "" for c in item)]))
            if rest:
                out["original"] = rest
            continue
        role = _CREDIT_LABELS.get(label)
        if role:
            credits.extend(ScrapedCredit(name=n, role=role) for n in _names(item))
    out["credits"] = credits
    return out


def _ratings(card: Any) -> list[ScrapedRating]:
    """Presse -> critic_average, Spectateurs -> user_average, both /5 ("3,0")."""
    ratings: list[ScrapedRating] = []
    for item in _all(card, "rating-item") if card is not None else []:
        kind = _RATING_KINDS.get((_txt(_first(item, "rating-title")) or "").lower())
        value = _txt(_first(item, "stareval-note"))
        if kind is None or not value or not re.search(r"\d", value):
            continue
        review = _txt(_first(item, "stareval-review")) or ""
        count = squash(m.group(1)) if (m := _COUNT.search(review)) else None
        rating = ScrapedRating(source=SITE, value=value, scale_max="5", count=count, kind=kind)  # type: ignore[arg-type]
        if rating not in ratings:
            ratings.append(rating)
    return ratings


def _kind(labels: list[str], is_series: bool, base: ScrapedFilm | None) -> str:
    for label in labels:
        low = label.lower()
        for word, kind in _TYPE_KINDS:
            if word in low:
                return kind
    if is_series:
        return "TV Series"
    return base.kind if base is not None and base.kind else "Movie"


def _ids(url: str) -> dict[str, str]:
    path = urlsplit(url).path
    if m := _SERIES_ID.search(path):
        return {SITE: f"series/{m.group(1)}"}
    if m := _FILM_ID.search(path):
        return {SITE: m.group(1)}
    return {}


def _cast_cards(cards: list[Any]) -> list[ScrapedCredit]:
    """The "Acteurs et actrices" cards: actor and "Rôle : ..." character."""
    out = []
    for card in (c for c in cards if "person-card" in _classes(c)):
        name = _txt(_first(card, "meta-title"))
        role = _txt(_first(card, "meta-sub")) or ""
        if not name or not role.lower().startswith("rôle"):
            continue  # crew cards say "Réalisateur", "Scénariste"...
        character = squash(role.split(":", 1)[1]) if ":" in role else None
        out.append(ScrapedCredit(name=name, role="cast", character=character))
    return out


def _merge_credits(*sources: list[ScrapedCredit]) -> list[ScrapedCredit]:
    """Credits of the card, the cast cards and the JSON-LD, page order first; a later
    source only adds people, or a character to a cast member who had none."""
    out: list[ScrapedCredit] = []
    index: dict[tuple[str, str], int] = {}
    for source in sources:
        for credit in source:
            key = (credit.name, credit.role)
            if key not in index:
                index[key] = len(out)
                out.append(credit)
            elif credit.character and not out[index[key]].character:
                out[index[key]] = credit
    return out


def _reviews(cards: list[Any], url: str, film: ScrapedFilm) -> list[ScrapedReview]:
    """Users' review cards shown on the film page (rating /5, "Publiée le ...")."""
    ref = FilmRef(title=film.title, year=film.year, url=url, external_ids=dict(film.external_ids),
                  directors=[c.name for c in film.credits if c.role == "director"])  # fmt: skip
    out = []
    for card in (c for c in cards if "review-card" in _classes(c)):
        body = _txt(_first(card, "review-card-content"))
        if not body:
            continue
        meta = _first(card, "review-card-meta")
        note = _txt(_first(meta, "stareval-note")) if meta is not None else None
        rating = None
        if note and re.search(r"\d", note):
            rating = ScrapedRating(source=SITE, value=note, scale_max="5", kind="user_average")
        date = _txt(_first(card, "review-card-meta-date"))
        if date:
            date = re.sub(r"^(?:publiée|publié)\s+le\s+", "", date, flags=re.I)
        aside = _first(card, "review-card-aside")
        out.append(
            ScrapedReview(
                site=SITE,
                url=url,
                film=ref,
                author=_txt(_first(aside, "meta-title")) if aside is not None else None,
                published_at=_iso(date),
                body=body,
                rating=rating,
            )
        )
    return out


# ------------------------------------------------------------------------------ parsers


def parse_film(response: TextResponse) -> list[ScrapedRecord]:
    """One ScrapedFilm from a film or series page, with or without JSON-LD."""
    text = response.text
    records = film_records(jsonld_objects(text), SITE, response.url, text)
    base = next((r for r in records if isinstance(r, ScrapedFilm)), None)
    sel = _content(text) or response.selector
    marks = _anchors(sel)
    if not marks["card"] and sel is not response.selector:
        sel = response.selector  # an unusual layout: read the whole page
        marks = _anchors(sel)
    sections = [n.root for n in marks["sections"]] or [sel.root]
    card_el = marks["card"][0].root if marks["card"] else None
    cards = [c for s in sections for c in _CARDS(s)]
    og = _og(text)
    title = (
        squash(marks["titlebar"].css(".titlebar-title").xpath("string()").get())
        or squash(marks["breadcrumb"].css("h1").xpath("string()").get())
        or (base.title if base else None)
    )
    og_type = (og.get("og:type") or "").lower()
    if not title and og_type.startswith("video."):
        title = squash(og.get("og:title"))
    if not title or (base is None and not marks["card"] and not og_type.startswith("video.")):
        raise NoFilmData(why_not_film(response) or "not_a_film_page", "no film on the page")
    card = _card(card_el) if card_el is not None else {"credits": []}
    tech = _technical(sections)
    is_series = "/series/" in urlsplit(response.url).path or (
        base is not None and base.kind in ("TVSeries", "TVSeason")
    )
    page_title = squash(html.unescape(m.group(1))) if (m := _TITLE.search(text)) else ""
    page_title = page_title or ""
    labels = [tech.get("type de film", ""), *marks["breadcrumb"].css("a.item::text").getall()[2:]]
    if m := re.search(r"\s-\s([^-]+)\s-\sAlloCiné\s*$", page_title, re.I):
        labels.append(m.group(1))
    kind = _kind([label for label in labels if label], is_series, base)

    # The film's year: its production year; a dated "en salle" release; the JSON-LD date.
    # Never the DVD/VOD date the header may show instead.
    date_what = str(card.get("date_what") or "")
    theatrical = "salle" in date_what or "cinéma" in date_what
    release = _iso(str(card["date"])) if theatrical and card.get("date") else None
    release = release or (base.release_date if base else None)
    year = None
    if m := _YEAR.search(tech.get("année de production", "")):
        year = m.group(1)
    elif is_series and (m := _YEARS.search(str(card.get("info_text") or ""))):
        year = f"{m.group(1)}–{m.group(2)}" if m.group(1) else f"{m.group(3)}–"
    elif release and (m := _YEAR.search(release)):
        year = m.group(1)
    elif base is not None:
        year = base.year

    original = card.get("original")
    original = str(original) if original else None
    language = None
    if langs := tech.get("langues"):
        language = _LANGUAGES.get(langs.split(",")[0].strip().lower())
    titles = [ScrapedTitle(title=title, language="fr", type="display")]
    if original and original != title:
        titles.append(ScrapedTitle(title=original, language=language, type="original"))
    ratings = _ratings(card_el) or (base.ratings if base else [])
    synopsis_box = [s for s in sections if "ovw-synopsis" in _classes(s)]
    synopsis = _txt(_first(synopsis_box, "content-txt")) if synopsis_box else None
    synopsis = synopsis or (base.synopsis if base else None)
    synopsis = synopsis or squash(og.get("og:description"))
    genres = list(card.get("genres") or []) or (base.genres if base else [])  # type: ignore[call-overload]
    film = ScrapedFilm(
        site=SITE,
        url=response.url,
        title=title,
        original_title=original,
        titles=titles,
        year=year,
        release_date=release,
        kind=kind,
        runtime=str(card["runtime"]) if card.get("runtime") else (base.runtime if base else None),
        credits=_merge_credits(card["credits"], _cast_cards(cards), base.credits if base else []),  # type: ignore[arg-type]
        genres=genres,
        external_ids={**(base.external_ids if base else {}), **_ids(response.url)},
        ratings=ratings,
        synopsis=synopsis,
        poster_url=(base.poster_url if base else None) or og.get("og:image"),
    )
    others = [r for r in records if not isinstance(r, ScrapedFilm)]
    if not any(isinstance(r, ScrapedReview) for r in others):
        others.extend(_reviews(cards, response.url, film))
    return [film, *others]


parse_person = not_film("person_page", "an AlloCiné person page")


parse_search = not_film("search_results", "an AlloCiné search page")


parse_listing = not_film("listing", "an AlloCiné list of films")


RULES = SiteRules(
    name=SITE,
    hosts=("allocine.fr",),
    routes=(
        Route(_FILM_PATH, parse_film),
        Route(r"^/personne/", parse_person),
        Route(r"^/rechercher/", parse_search),
        Route(
            r"^/(?:films|series|boxoffice|film/(?:aucinema|agenda|meilleurs|court-metrage))/?",
            parse_listing,
        ),
    ),
    follow=(_FILM_PATH, r"^/film/aucinema/$", r"^/films/$"),
    settings={
        "DOWNLOAD_DELAY": 2.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "AUTOTHROTTLE_ENABLED": True,
    },
)
