"""schema.org objects (from JSON-LD or microdata) mapped to scraped records.

One mapping for every site that publishes schema.org: a ``Movie``/``TVSeries``/``TVSeason``/
``TVEpisode``/``VideoGame`` becomes a ``ScrapedFilm`` (with credits, ratings, ids), its nested
reviews ``ScrapedReview``s, its offers and ``WatchAction``s ``ScrapedOffer``s; a standalone
``Review`` is read with the film it names. Values stay raw strings as the page prints them
(``pipelines.normalize`` reads them), except that HTML entities are decoded.

When the HTML is at hand, the page around the reviews fills two gaps (``ReviewPage``; the tree
is built only then): a review without ``reviewBody`` takes the text of its own box on the page
(found by its ``@id`` fragment, else as the one review box showing its author), and a review
naming no film takes the one film the page's ``<h1>`` link, breadcrumb and canonical film URL
agree on. Precision first: a doubt leaves the body null (a rating-only review is still kept) or
the review refused.

Traps this module knows about:

* ``dateCreated`` is often the site's record date (Rotten Tomatoes: 2005 for a 1994 film;
  Letterboxd: when the entry was added). Release dates come from ``datePublished``,
  ``releasedEvent`` or ``startDate``; ``dateCreated`` only when nothing else exists and it looks
  like the film's (a plain date, not a timestamp, and no ``dateModified`` beside it).
* An ``Article`` (Wikipedia) is never a film, even with a ``datePublished``; a ``VideoObject``
  is usually a trailer, and counts as a film only with film credits and no trailer-ish name.
* A ``Review``'s fresh/rotten rating (``worstRating`` -1) is no score and is left out.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from functools import cached_property
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector
from scrapy.http import TextResponse

from crawler.extract.jsonld import jsonld_objects, type_name, types_of
from crawler.extract.microdata import microdata_items
from crawler.extract.opengraph import og_first, opengraph
from crawler.extract.text import close_gaps, element_text, squash
from pipelines.records import (
    FilmRef,
    ScrapedCredit,
    ScrapedFilm,
    ScrapedOffer,
    ScrapedRating,
    ScrapedRecord,
    ScrapedReview,
    ScrapedTitle,
)

FILM_TYPES = frozenset({"Movie", "TVSeries", "TVSeason", "TVEpisode", "VideoGame"})
# Types that describe a film only when the object clearly is one (see ``is_film_object``).
GENERIC_TYPES = frozenset({"CreativeWork", "VideoObject"})
# Never a film, whatever else the object says.
NOT_FILM_TYPES = frozenset(
    {
        "Article", "NewsArticle", "BlogPosting", "Report", "ScholarlyArticle", "WebPage",
        "WebSite", "Review", "CriticReview", "UserReview", "Clip", "Person", "Organization",
        "ItemList", "BreadcrumbList", "SearchResultsPage", "CollectionPage", "ProfilePage",
    }
)  # fmt: skip
SERIES_TYPES = frozenset({"TVSeries", "TVSeason"})
# More top-level film objects than this (none of them the page's own) make a listing.
MAX_FILMS_ON_A_FILM_PAGE = 3

_TRAILERISH = re.compile(
    r"\b(?:trailer|teaser|clip|featurette|promo|behind the scenes|making of|"
    r"bande[- ]annonce|extrait|tráiler|upoutávka|预告)\b",
    re.I,
)
_YEAR_IN_DATE = re.compile(r"^\s*(\d{4})(?!\d)")
_BARE_YEAR = re.compile(r"^\s*\d{4}\s*$")
_TIMESTAMP = re.compile(r"\dT\d|\d:\d")  # a time of day: a record's timestamp, not a release
_NAME_WITH_YEAR = re.compile(r"^(.+?)\s*\((\d{4})\)$")
_IMDB_ID = re.compile(r"imdb\.com/.*?\b(tt\d{7,})")
_WIKIDATA_ID = re.compile(r"wikidata\.org/(?:wiki|entity)/(Q\d+)")
_TMDB_ID = re.compile(r"themoviedb\.org/(movie|tv)/(\d+)")
_PAREN_YEAR = re.compile(r"^\s*\(([^()\d]*?)\s*(\d{4}(?:\s*[–-]\s*(?:\d{4})?)?)\s*\)")
_TITLE_TAG = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.I | re.S)
_OG_TITLE = re.compile(
    r"""<meta\b[^>]*?(?:property|name)\s*=\s*["']og:title["'][^>]*?>""", re.I | re.S
)
_CONTENT_ATTR = re.compile(r"""content\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
# Sub-pages and listings that still carry the film's og:type ("Doctor Who - Episode list").
SUBPAGE_TITLE = re.compile(
    r"\b(?:episode list|episodes|episode guide|full cast|filmography|list of|top \d+|"
    r"search results?|browse)\b",
    re.I,
)

# Film properties holding people, and the credit role each gives.
_CREDIT_PROPS: tuple[tuple[str, str], ...] = (
    ("director", "director"),
    ("directors", "director"),
    ("author", "writer"),
    ("creator", "writer"),  # "creator" on a series: see _credits
    ("actor", "cast"),
    ("actors", "cast"),
    ("producer", "producer"),
    ("musicBy", "composer"),
)
_OG_TYPES = {"video.movie": "Movie", "video.tv_show": "TVSeries", "video.episode": "TVEpisode"}

# ------------------------------------------------------------------------------ values


def _get(obj: dict[str, Any], key: str) -> Any:
    """``obj[key]``, tolerating microdata's case slips ("reviewbody")."""
    value = obj.get(key)
    if value is None:
        low = key.lower()
        for k, v in obj.items():
            if k.lower() == low:
                return v
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str | None:
    """A display string from a JSON-LD value: strings (entities decoded), numbers, a
    ``{"@value": ...}``, a thing's ``name``, or the first usable list member."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return squash(html.unescape(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        for key in ("@value", "name"):
            if key in value:
                return _text(value[key])
        return None
    if isinstance(value, list):
        for item in value:
            text = _text(item)
            if text:
                return text
    return None


def _block(value: Any) -> str | None:
    """Like ``_text`` for long text (synopses, review bodies): paragraph breaks are kept."""
    if not isinstance(value, str):
        return _text(value)
    paras = (squash(p) for p in re.split(r"\n\s*\n", html.unescape(value)))
    return "\n\n".join(p for p in paras if p) or None


def _texts(value: Any) -> list[str]:
    out: list[str] = []
    for item in _list(value):
        text = _text(item)
        if text and text not in out:
            out.append(text)
    return out


def _number(value: Any) -> str | None:
    """A rating/count value as printed: 8.6 -> "8.6", "8,6" stays "8,6"."""
    if isinstance(value, dict):
        value = value.get("@value")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _text(value)


def _url(value: Any, base: str) -> str | None:
    """An absolute URL from a string, an ``ImageObject``/``EntryPoint`` or a list of them."""
    for item in _list(value):
        if isinstance(item, dict):
            item = (
                item.get("url")
                or item.get("contentUrl")
                or item.get("urlTemplate")
                or item.get("@id")
            )
        if isinstance(item, str) and item.strip():
            return urljoin(base, html.unescape(item.strip()))
    return None


def host_name(url: str) -> str:
    """The URL's host without ``www.``: the site name of a generic page."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


# ------------------------------------------------------------------------------ films


def is_film_object(obj: dict[str, Any]) -> bool:
    """A film/series/episode/game object; a ``CreativeWork``/``VideoObject`` only when it
    clearly is a film (credits, a running time or date, no trailer/clip name)."""
    types = types_of(obj)
    if types & NOT_FILM_TYPES:
        return False
    if types & FILM_TYPES:
        return True
    if not types & GENERIC_TYPES:
        return False
    name = _text(obj.get("name")) or ""
    if not name or _TRAILERISH.search(name):
        return False
    has_people = any(_people(_get(obj, p)) for p in ("director", "actor", "actors"))
    has_facts = any(_get(obj, p) for p in ("duration", "datePublished", "genre", "releasedEvent"))
    return has_people and has_facts


def _film_type(obj: dict[str, Any]) -> str | None:
    """The raw @type to report as the kind hint: the film type when several are given."""
    types = types_of(obj)
    for t in ("TVEpisode", "TVSeason", "TVSeries", "VideoGame", "Movie"):
        if t in types:
            return t
    return next(iter(sorted(types)), None)


def _release(obj: dict[str, Any]) -> str | None:
    """The release date as printed, from the fields that mean it (see module docstring)."""
    for key in ("datePublished", "releaseDate", "startDate", "copyrightYear"):
        text = _text(_get(obj, key))
        if text:
            return text
    for event in _list(_get(obj, "releasedEvent")):
        text = _text(event.get("startDate")) if isinstance(event, dict) else _text(event)
        if text:
            return text
    created = _text(_get(obj, "dateCreated"))
    if created and not _TIMESTAMP.search(created) and not _get(obj, "dateModified"):
        return created
    return None


def _year_and_date(raw: str | None) -> tuple[str | None, str | None]:
    """("1971", None) for a bare year; ("1977", "1977-05-25") for a date."""
    if not raw:
        return None, None
    if _BARE_YEAR.match(raw):
        return raw.strip(), None
    m = _YEAR_IN_DATE.match(raw)
    return (m.group(1) if m else None), raw


def _people(value: Any) -> list[tuple[str, str | None]]:
    """(name, character) of each person in a credit value: names, ``Person``s, or
    ``PerformanceRole``s wrapping a person; organisations (studios) are left out."""
    out: list[tuple[str, str | None]] = []
    for item in _list(value):
        if isinstance(item, str):
            name = _text(item)
            if name and not name.startswith(("http://", "https://", "/")):
                out.append((name, None))
            continue
        if not isinstance(item, dict):
            continue
        types = types_of(item)
        if types & {"PerformanceRole", "Role", "OrganizationRole"}:
            character = _text(item.get("characterName"))
            inner = next(
                (item[k] for k in ("actor", "director", "author", "creator", "member")
                 if isinstance(item.get(k), dict | list | str)),
                None,
            )  # fmt: skip
            out.extend((n, character or c) for n, c in _people(inner))
            continue
        if types and "Person" not in types:
            continue  # Organization, Corporation, ...
        name = _text(item.get("name"))
        if name:
            out.append((name, _text(item.get("characterName"))))
    return out


def _credits(obj: dict[str, Any], film_type: str | None) -> list[ScrapedCredit]:
    credits: list[ScrapedCredit] = []
    for prop, role in _CREDIT_PROPS:
        if prop == "creator" and film_type in SERIES_TYPES:
            role = "creator"  # a series' creators; on a film IMDb lists the writers here
        for name, character in _people(_get(obj, prop)):
            credits.append(ScrapedCredit(name=name, role=role, character=character))
    return credits


def _titles(obj: dict[str, Any]) -> list[ScrapedTitle]:
    """``alternateName``s as aka titles (a ``{"@value", "@language"}`` keeps its language)."""
    name = _text(obj.get("name"))
    titles: list[ScrapedTitle] = []
    for item in _list(_get(obj, "alternateName")):
        title = _text(item)
        if not title or title == name or any(t.title == title for t in titles):
            continue
        language = item.get("@language") if isinstance(item, dict) else None
        titles.append(ScrapedTitle(title=title, language=language, type="aka"))
    return titles


def _genres(obj: dict[str, Any]) -> list[str]:
    """``genre`` as a list: a string may hold several ("Crime, Drama")."""
    out: list[str] = []
    for text in _texts(_get(obj, "genre")):
        for part in text.split(","):
            part = part.strip()
            if part and not part.startswith(("http://", "https://")) and part not in out:
                out.append(part)
    return out


def external_ids(urls: Iterable[str]) -> dict[str, str]:
    """imdb tt-ids, wikidata Q-ids and tmdb ids ("movie/603") found in URLs."""
    ids: dict[str, str] = {}
    for url in urls:
        if m := _IMDB_ID.search(url):
            ids.setdefault("imdb", m.group(1))
        if m := _WIKIDATA_ID.search(url):
            ids.setdefault("wikidata", m.group(1))
        if m := _TMDB_ID.search(url):
            ids.setdefault("tmdb", f"{m.group(1)}/{m.group(2)}")
    return ids


def _object_ids(obj: dict[str, Any], base: str) -> dict[str, str]:
    urls = [
        urljoin(base, u.strip())
        for key in ("url", "@id", "sameAs", "mainEntityOfPage")
        for u in _list(_get(obj, key))
        if isinstance(u, str) and u.strip()
    ]
    return external_ids(urls)


def _rating_kind(rating: dict[str, Any]) -> str:
    """What an aggregate rating measures, from its own name/description."""
    about = " ".join(
        t for t in (_text(rating.get("name")), _text(rating.get("description"))) if t
    ).lower()
    if "tomatometer" in about or ("critic" in about and ("positive" in about or "%" in about)):
        return "critic_share"
    if "metascore" in about or ("critic" in about and "weighted" in about):
        return "weighted_critic"
    if "critic" in about:
        return "critic_average"
    return "user_average"


def _rating(value: Any, site: str, kind: str | None = None) -> ScrapedRating | None:
    """A ``Rating``/``AggregateRating`` as printed; None when it has no value or is a
    fresh/rotten flag (negative ``worstRating``)."""
    rating = next((r for r in _list(value) if isinstance(r, dict)), None)
    if rating is None:
        return None
    raw_value = _number(_get(rating, "ratingValue"))
    if raw_value is None:
        return None
    worst = _number(_get(rating, "worstRating"))
    if worst and worst.lstrip().startswith("-"):
        return None
    count = _number(_get(rating, "ratingCount")) or _number(_get(rating, "reviewCount"))
    return ScrapedRating(
        source=site,
        value=raw_value,
        scale_max=_number(_get(rating, "bestRating")),
        count=count,
        kind=kind or _rating_kind(rating),  # type: ignore[arg-type]
    )


def _page_title_year(page_text: str | None, name: str | None) -> str | None:
    """The year (or years) a page's ``og:title``/``<title>`` prints after the film's name:
    "The Shawshank Redemption (1994) - Rotten Tomatoes" -> "1994", "Futurama (TV Series
    1999–2013) - IMDb" -> "1999–2013"."""
    if not page_text or not name:
        return None
    head = page_text[:200_000]
    candidates: list[str] = []
    if m := _OG_TITLE.search(head):
        c = _CONTENT_ATTR.search(m.group(0))
        if c:
            candidates.append(c.group(1) or c.group(2) or "")
    if m := _TITLE_TAG.search(head):
        candidates.append(m.group(1))
    for candidate in candidates:
        text = squash(html.unescape(candidate)) or ""
        if text[: len(name)].casefold() == name.casefold() and (
            m := _PAREN_YEAR.match(text[len(name) :])
        ):
            return squash(m.group(2))
    return None


def _film(obj: dict[str, Any], site: str, url: str, page_text: str | None = None) -> ScrapedFilm:
    film_type = _film_type(obj)
    title = _text(obj.get("name")) or _text(_get(obj, "headline"))
    year, release_date = _year_and_date(_release(obj))
    if year is None and title and (m := _NAME_WITH_YEAR.match(title)):
        title, year = m.group(1), m.group(2)  # microdata names: "A remény rabjai (1994)"
    # The year the page's own title prints after the name is the site's display year; a
    # series' JSON-LD date may be a later, local premiere (IMDb Doctor Who: 2006 for 2005).
    year = _page_title_year(page_text, title) or year
    ratings = [r for r in (_rating(a, site) for a in _list(_get(obj, "aggregateRating"))) if r]
    return ScrapedFilm(
        site=site,
        url=url,
        title=title,
        titles=_titles(obj),
        year=year,
        release_date=release_date,
        kind=film_type,
        runtime=_text(_get(obj, "duration")),
        credits=_credits(obj, film_type),
        genres=_genres(obj),
        external_ids=_object_ids(obj, url),
        ratings=ratings,
        synopsis=_block(_get(obj, "description")),
        poster_url=_url(_get(obj, "image"), url),
    )


def _ref_from_film(film: ScrapedFilm) -> FilmRef:
    return FilmRef(
        title=film.title,
        year=film.year,
        url=film.url,
        external_ids=dict(film.external_ids),
        directors=[c.name for c in film.credits if c.role == "director"],
    )


def _ref_from_object(obj: Any, base: str) -> FilmRef:
    """How a standalone review names its film (``itemReviewed``)."""
    if isinstance(obj, str):
        return FilmRef(title=_text(obj))
    if not isinstance(obj, dict):
        return FilmRef()
    year, _ = _year_and_date(_release(obj))
    link = _url(_get(obj, "url"), base) or _url(_get(obj, "sameAs"), base)
    return FilmRef(
        title=_text(obj.get("name")),
        year=year,
        url=link,
        external_ids=_object_ids(obj, base),
        directors=[n for n, _ in _people(_get(obj, "director"))],
    )


# ------------------------------------------------------------------------------ reviews


def _is_critic(review: dict[str, Any], site: str) -> bool:
    """A review published by an outlet other than the site itself is a critic's."""
    if types_of(review) & {"CriticReview"}:
        return True
    publisher = _get(review, "publisher")
    if not publisher:
        return False
    if isinstance(publisher, dict):
        links = [
            u for k in ("url", "sameAs") for u in _list(publisher.get(k)) if isinstance(u, str)
        ]
        if links:
            return not any(host_name(urljoin(f"https://{site}/", u)) == site for u in links)
    name = re.sub(r"\W+", "", (_text(publisher) or "").lower())
    labels = [p for p in site.split(".")[:-1] if len(p) > 2 and p != "www"]
    return bool(name) and not any(label in name for label in labels)


def _review_title(review: dict[str, Any]) -> str | None:
    return _text(review.get("name")) or _text(_get(review, "headline"))


def _review(
    review: dict[str, Any], site: str, url: str, film: FilmRef, page: ReviewPage | None = None
) -> ScrapedReview | None:
    """A review as printed; its text from the HTML around it when the object leaves it out
    (``page``). A review with neither text nor score is none."""
    body = _block(_get(review, "reviewBody")) or _block(_get(review, "description"))
    if body is None and page is not None:
        body = page.body(review)
    critic = _is_critic(review, site)
    kind = "critic_average" if critic else "user_average"
    # Who rated: a critic's outlet ("Rolling Stone" quoted on IMDb), else the site's user.
    source = (_text(_get(review, "publisher")) if critic else None) or site
    rating = _rating(_get(review, "reviewRating"), source, kind)
    if body is None and rating is None:
        return None
    return ScrapedReview(
        site=site,
        url=url,
        film=film,
        author=_text(_get(review, "author")),
        published_at=_text(_get(review, "datePublished")) or _text(_get(review, "dateCreated")),
        title=_review_title(review),
        body=body,
        rating=rating,
        critic=critic,
    )


def _reviewed_item(review: dict[str, Any]) -> Any:
    """``itemReviewed``; microdata sometimes nests it one item too deep (in the author)."""
    item = _get(review, "itemReviewed")
    if item is None:
        for value in review.values():
            if isinstance(value, dict) and "itemReviewed" in value:
                return value["itemReviewed"]
    return item


# ------------------------------------------------------------------------------ offers


_BUSINESS_FUNCTIONS = {"leaseout": "rent", "sell": "buy"}


def _monetization(offer: dict[str, Any], fallback: str | None = None) -> str | None:
    text = _text(_get(offer, "category"))
    if text:
        return text
    function = _text(_get(offer, "businessFunction"))
    if function:
        key = re.split(r"[#/]", function)[-1].lower()
        return _BUSINESS_FUNCTIONS.get(key, function)
    return fallback


def _regions(offer: dict[str, Any]) -> list[str | None]:
    regions = _texts(_get(offer, "eligibleRegion")) or _texts(_get(offer, "areaServed"))
    return list(regions) or [None]


def _offers_of(
    offer: dict[str, Any],
    site: str,
    url: str,
    film: FilmRef,
    provider: str | None,
    link: str | None,
    monetization: str | None = None,
) -> list[ScrapedOffer]:
    """One ``ScrapedOffer`` per region of an ``Offer`` (an ``AggregateOffer`` unrolled)."""
    if "offers" in offer and types_of(offer) & {"AggregateOffer"}:
        out: list[ScrapedOffer] = []
        for inner in _list(offer["offers"]):
            if isinstance(inner, dict):
                out.extend(_offers_of(inner, site, url, film, provider, link, monetization))
        return out
    seller = _text(_get(offer, "seller")) or _text(_get(offer, "offeredBy")) or provider
    offer_url = _url(_get(offer, "url"), url) or link
    if seller is None and offer_url:
        seller = host_name(offer_url) or None
    item = _get(offer, "itemOffered")
    quality = _text(_get(offer, "videoFormat")) or (
        _text(_get(item, "videoFormat")) if isinstance(item, dict) else None
    )
    price = _number(_get(offer, "price"))
    return [
        ScrapedOffer(
            site=site,
            url=url,
            film=film,
            provider=seller,
            country=region,
            monetization=_monetization(offer, monetization),
            quality=quality,
            price=price,
            currency=_text(_get(offer, "priceCurrency")),
            offer_url=offer_url,
        )
        for region in _regions(offer)
    ]


def _watch_actions(obj: dict[str, Any], site: str, url: str, film: FilmRef) -> list[ScrapedOffer]:
    """``potentialAction: WatchAction`` -> offers: the target URL, the access category
    ("subscription", "free", ...) and any ``expectsAcceptanceOf`` offers."""
    out: list[ScrapedOffer] = []
    for action in _list(_get(obj, "potentialAction")):
        if not isinstance(action, dict) or "WatchAction" not in types_of(action):
            continue
        link = _url(_get(action, "target"), url)
        provider = _text(_get(action, "provider")) or _text(_get(action, "agent"))
        requirements = [r for r in _list(_get(action, "actionAccessibilityRequirement"))
                        if isinstance(r, dict)] or [action]  # fmt: skip
        for req in requirements:
            category = _text(_get(req, "category"))
            offers = [o for o in _list(_get(req, "expectsAcceptanceOf")) if isinstance(o, dict)]
            if not offers:
                offers = [{k: v for k, v in req.items() if k in ("eligibleRegion", "areaServed")}]
            for offer in offers:
                out.extend(_offers_of(offer, site, url, film, provider, link, category))
    return out


# ------------------------------------------------------------------------------ the page around


_REVIEW_TYPES = frozenset({"Review", "CriticReview", "UserReview"})
# A review's own box on a list: class/id "review", "user-review", "review-card", "c-review__item"
# (not "reviews", "review-list", "review-body": a list, or a part of one review).
_REVIEW_BOX = re.compile(
    r"^(?:[a-z]+[-_]{1,2})?review(?:[-_]{1,2}(?:item|card|entry|box|block|container|wrap|"
    r"wrapper|row))?$"
)
# The text inside a review's box: "review-body", "review__text", "body", "text", "content".
_BODY_MARK = re.compile(r"^(?:(?:[a-z]+[-_]{1,2})?review[-_]{0,2})?(?:body|text|content|excerpt)$")
# Parts of a review that are not its text: byline, date, score, actions, notices, headings.
_META_MARK = re.compile(
    r"byline|meta|author|user|avatar|date|time|rating|score|star|vote|helpful|action|share|"
    r"footer|header|notice|alert|warning|spoiler|report|reply|more|title|heading|tags?$"
)
_META_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "header", "footer", "nav", "aside", "form",
        "button", "select", "svg", "time", "figcaption", "h1", "h2", "h3", "h4", "h5", "h6",
    }
)  # fmt: skip
_META_PROPS = frozenset(
    {
        "author", "name", "headline", "datepublished", "datecreated", "reviewrating",
        "ratingvalue", "bestrating", "worstrating", "itemreviewed", "publisher", "url",
    }
)  # fmt: skip
_BLOCK_TAGS = frozenset({"p", "div", "blockquote", "li", "br", "section", "article", "pre"})
_NO_LETTERS = re.compile(r"^[\W\d_]*$")  # "4/5", "★★★★☆", "12 | 3"
_SCORE_LINE = re.compile(r"^\W*\d+(?:[.,]\d+)?\s*(?:/|out of)\s*\d+(?:[.,]\d+)?\W*$", re.I)
# Breadcrumb and heading names that are sections of a site, never a film.
_SECTION_NAMES = frozenset(
    {
        "home", "homepage", "start", "index", "film", "films", "movie", "movies", "tv", "series",
        "tv series", "tv shows", "shows", "browse", "catalog", "catalogue", "discover", "explore",
        "top", "popular", "latest", "new", "recent", "search", "news", "blog", "community",
        "users", "members", "critics", "all", "back", "more", "accueil", "startseite", "filme",
        "filmy", "películas", "peliculas",
    }
)  # fmt: skip
_SECTION_WORDS = re.compile(
    r"\b(?:reviews?|critics?|kritik\w*|recenz\w*|critiques?|críticas?)\b", re.I
)
# Path segments of pages that are no film's: people's (users, critics, cast) and reviews'.
_NOT_FILM_SEGMENTS = frozenset(
    {
        "user", "users", "u", "profile", "profiles", "member", "members", "people", "person",
        "name", "critic", "critics", "author", "authors", "reviewer", "reviewers", "celebrity",
        "actor", "actors", "director", "directors", "cast", "review", "reviews", "rating",
        "ratings", "comment", "comments",
    }
)  # fmt: skip
_SLUG_GAPS = re.compile(r"[\W_]+")


def _fold(text: str | None) -> str:
    return " ".join((text or "").casefold().split())


def _slug(text: str | None) -> str:
    return _SLUG_GAPS.sub("", _fold(text))


def _doc_key(url: str) -> tuple[str, str]:
    """A URL as a document: host and path, no query, fragment or trailing slash."""
    parts = urlsplit(url)
    return (parts.hostname or "").lower().removeprefix("www."), parts.path.rstrip("/")


def _tokens(el: Any) -> list[str]:
    """An element's class and id words, lower case."""
    return f"{el.get('class') or ''} {el.get('id') or ''}".lower().split()


def _is_review_box(el: Any) -> bool:
    """A microdata ``Review`` item, or an element named as one review ("review-card")."""
    if not isinstance(el.tag, str):
        return False
    types = {type_name(t) for t in (el.get("itemtype") or "").split()}
    if el.get("itemscope") is not None and types & _REVIEW_TYPES:
        return True
    return any(_REVIEW_BOX.match(t) for t in _tokens(el))


def review_boxes(root: Any) -> list[Any]:
    """The innermost review boxes of a page: a box holding other boxes is a list of them."""
    boxes = [el for el in root.iter() if _is_review_box(el)]
    members = set(boxes)
    outer = {a for el in boxes for a in el.iterancestors() if a in members}
    return [b for b in boxes if b not in outer]


def _is_meta(el: Any) -> bool:
    """A part of a review that is not its text (byline, date, score, a nested item, ...)."""
    if not isinstance(el.tag, str):
        return True
    if el.tag in _META_TAGS or el.get("itemscope") is not None:
        return True
    if set((el.get("itemprop") or "").lower().split()) & _META_PROPS:
        return True
    return any(_META_MARK.search(t) for t in _tokens(el))


def _prose(el: Any) -> str:
    """The text of ``el`` without its meta parts, a blank line at each block boundary."""
    parts = [el.text or ""]
    for child in el:
        if not _is_meta(child):
            inner = _prose(child)
            parts.append(f"\n\n{inner}\n\n" if child.tag in _BLOCK_TAGS else inner)
        parts.append(child.tail or "")
    return " ".join(parts)


def _paragraphs(raw: str) -> str | None:
    paras = (close_gaps(p) for p in (squash(p) for p in re.split(r"\n\s*\n", raw)) if p)
    return "\n\n".join(p for p in paras if p) or None


def _between(el: Any, box: Any) -> list[Any]:
    """The ancestors of ``el`` below ``box``."""
    out = []
    for a in el.iterancestors():
        if a is box:
            break
        out.append(a)
    return out


def _mentions(text: str, name: str) -> bool:
    """``name`` as whole words in ``text`` (both folded): "ann" is not in "joanna"."""
    return bool(name) and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) is not None


def _own_paragraphs(raw: str, author: str, title: str) -> list[str]:
    """The paragraphs of ``raw`` that are the review's prose: not a byline (its author's
    name), a score, or its title."""
    text = _paragraphs(raw) or ""
    return [
        p
        for p in text.split("\n\n")
        if p
        and not _NO_LETTERS.match(p)
        and not _SCORE_LINE.match(p)
        and not _mentions(_fold(p), author)
        and _fold(p) != title
    ]


def _marked_body(box: Any, author: str, title: str) -> str | None:
    """Text the page marks as the review's (``itemprop="reviewBody"``, class "review-body"),
    outside nested items and meta parts."""
    found: list[Any] = []
    for el in box.iterdescendants():
        if not isinstance(el.tag, str):
            continue
        props = (el.get("itemprop") or "").lower().split()
        if not ("reviewbody" in props or any(_BODY_MARK.match(t) for t in _tokens(el))):
            continue
        if any(a in found or _is_meta(a) for a in _between(el, box)):
            continue
        found.append(el)
    texts = [t for el in found for t in _own_paragraphs(_prose(el), author, title)]
    return "\n\n".join(texts) or None


def _plain_body(box: Any, author: str, title: str) -> str | None:
    """The box's own paragraphs when nothing is marked as the text: only ``<p>`` and
    ``<blockquote>`` outside meta parts, holding prose that is not a byline, a score, a
    link line ("Read more") or the review's title."""
    texts: list[str] = []
    for el in box.iterdescendants("p", "blockquote"):
        if _is_meta(el) or any(
            _is_meta(a) or a.tag in ("p", "blockquote") for a in _between(el, box)
        ):
            continue
        if el.xpath(".//time|.//*[@itemprop or @itemscope]"):
            continue
        own = _own_paragraphs(_prose(el), author, title)
        if own and _fold(" ".join(el.xpath(".//a//text()"))) != _fold(" ".join(own)):
            texts.extend(own)
    return "\n\n".join(texts) or None


def _box_by_fragment(review: dict[str, Any], root: Any, url: str) -> Any:
    """The element a review's ``@id``/``url`` points to on this page ("#review-17")."""
    for key in ("@id", "url"):
        for raw in _list(_get(review, key)):
            if not isinstance(raw, str) or "#" not in raw:
                continue
            link = urljoin(url, raw.strip())
            fragment = urlsplit(link).fragment
            if fragment and _doc_key(link) == _doc_key(url):
                found = root.xpath("//*[@id=$f]", f=fragment)
                if len(found) == 1:
                    return found[0]
    return None


def _box_for(
    review: dict[str, Any], boxes: list[tuple[Any, str]], root: Any, url: str, alone: bool
) -> Any:
    """The one box on the page that holds this review: the element its ``@id`` names, else
    the one box (of (box, folded text) pairs) showing its author, its title breaking a tie,
    else the page's only box when the review is the page's only one and names no author.
    None when in doubt."""
    box = _box_by_fragment(review, root, url)
    if box is not None:
        return box
    author, title = _fold(_text(_get(review, "author"))), _fold(_review_title(review))
    if not author and not title:
        return boxes[0][0] if alone and len(boxes) == 1 else None
    hits = [(b, text) for b, text in boxes if _mentions(text, author or title)]
    if len(hits) > 1 and author and title:
        hits = [(b, text) for b, text in hits if _mentions(text, title)]
    return hits[0][0] if len(hits) == 1 else None


def html_review_bodies(reviews: list[dict[str, Any]], root: Any, url: str) -> dict[int, str]:
    """Review text the HTML gives beside the schema.org reviews that leave it out, by
    ``id()`` of the review object. Precision first: a box claimed by two reviews gives
    neither its text, and only text marked as the review's or the box's own prose counts."""
    boxes = [(b, _fold(element_text(b))) for b in review_boxes(root)]
    if not boxes:
        return {}
    alone = len(reviews) == 1
    found = {id(r): _box_for(r, boxes, root, url, alone) for r in reviews}
    claims: dict[int, int] = {}
    for box in found.values():
        if box is not None:
            claims[id(box)] = claims.get(id(box), 0) + 1
    bodies: dict[int, str] = {}
    for review in reviews:
        box = found[id(review)]
        if box is None or claims[id(box)] > 1:
            continue
        author, title = _fold(_text(_get(review, "author"))), _fold(_review_title(review))
        if body := _marked_body(box, author, title) or _plain_body(box, author, title):
            bodies[id(review)] = body
    return bodies


# Film references from the page itself, for reviews that name no film.


def _is_film_link(link: str, page: str, authors: set[str]) -> bool:
    """A link that may lead to a film page: on the web, not the page itself, not the site's
    root or a section, not a person's or a review's page (``authors``: the slugs of the
    page's review authors)."""
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or _doc_key(link) == _doc_key(page):
        return False
    segments = [s for s in parts.path.lower().split("/") if s]
    if not segments or _fold(segments[-1].replace("-", " ")) in _SECTION_NAMES:
        return False
    return not any(s in _NOT_FILM_SEGMENTS or _slug(s) in authors for s in segments)


def _named(
    name: str | None, link: str | None, authors: set[str], year: str | None = None
) -> FilmRef | None:
    """A film reference from a heading or breadcrumb's name and link; None for a section
    name ("Films", "User reviews") or a review's author."""
    title = squash(name)
    if not title:
        return None
    if m := _NAME_WITH_YEAR.match(title):
        title, year = m.group(1), m.group(2)
    if _fold(title) in _SECTION_NAMES or _SECTION_WORDS.search(title) or _slug(title) in authors:
        return None
    return FilmRef(title=title, year=year, url=link)


def heading_film_refs(root: Any, url: str, authors: set[str]) -> list[FilmRef]:
    """The film an ``<h1>`` links to: "<h1><a href="/film/heat">Heat</a> (1995): reviews</h1>".
    A heading with several links names none (the film, or its director?)."""
    refs: list[FilmRef] = []
    for h1 in root.iter("h1"):
        links = [a for a in h1.iter("a") if (a.get("href") or "").strip()]
        if len(links) != 1:
            continue
        link = urljoin(url, links[0].get("href").strip())
        if not _is_film_link(link, url, authors):
            continue
        year = m.group(1) if (m := re.match(r"\s*\((\d{4})\)", links[0].tail or "")) else None
        if ref := _named(element_text(links[0]), link, authors, year):
            refs.append(ref)
    return refs


def _crumb_lists(
    root: Any, page_text: str | None, url: str
) -> list[list[tuple[str | None, str | None]]]:
    """Each breadcrumb trail of the page as (name, url) pairs, top first: schema.org
    ``BreadcrumbList``s in JSON-LD or microdata, and ``breadcrumb`` navs."""
    lists: list[dict[str, Any]] = []
    for obj in (*jsonld_objects(page_text or ""), *microdata_items(Selector(root=root))):
        for value in (obj, *_list(_get(obj, "breadcrumb"))):
            if types_of(value) & {"BreadcrumbList"} and value not in lists:
                lists.append(value)
    trails = [_schema_crumbs(b, url) for b in lists]
    navs: list[Any] = []
    for el in root.iter():
        if not isinstance(el.tag, str) or el.get("itemscope") is not None:
            continue
        marks = " ".join(_tokens(el)) + " " + (el.get("aria-label") or "").lower()
        if "breadcrumb" in marks and not any(a in navs for a in el.iterancestors()):
            navs.append(el)
    for nav in navs:
        trails.append([
            (element_text(a), urljoin(url, a.get("href").strip()))
            for a in nav.iter("a") if (a.get("href") or "").strip()
        ])  # fmt: skip
    return trails


def _schema_crumbs(trail: dict[str, Any], url: str) -> list[tuple[str | None, str | None]]:
    items = [i for i in _list(_get(trail, "itemListElement")) if isinstance(i, dict)]
    positions = [_number(_get(i, "position")) for i in items]
    if all(p and p.isdigit() for p in positions):
        order = {id(i): int(p) for i, p in zip(items, positions, strict=True)}  # type: ignore[arg-type]
        items.sort(key=lambda i: order[id(i)])
    crumbs = []
    for item in items:
        target = _get(item, "item")
        name = _text(_get(item, "name")) or (
            _text(target.get("name")) if isinstance(target, dict) else None
        )
        crumbs.append((name, _url(target, url) if target else _url(_get(item, "url"), url)))
    return crumbs


def breadcrumb_film_refs(
    trails: list[list[tuple[str | None, str | None]]], url: str, authors: set[str]
) -> list[FilmRef]:
    """The film of each breadcrumb trail: walking up from the page, the first linked crumb
    that is neither the page itself nor a section ("User reviews", "Films"). The site's
    root, a person's crumb or a link that is no film page's ends the walk with none."""
    refs: list[FilmRef] = []
    for trail in trails:
        for name, link in reversed(trail):
            if not link or _doc_key(link) == _doc_key(url):
                continue  # the page's own crumb
            if not urlsplit(link).path.strip("/") or _slug(name) in authors:
                break
            ref = _named(name, link, authors)
            if ref is None:
                continue  # a section: look further up
            if _is_film_link(link, url, authors):
                refs.append(ref)
            break
    return refs


def canonical_film_ref(root: Any, url: str, authors: set[str]) -> FilmRef | None:
    """The film page a review page declares canonical: a ``rel=canonical`` URL whose path
    the page's path extends ("/film/heat/" for "/film/heat/reviews?page=2")."""
    hrefs = {
        urljoin(url, (el.get("href") or "").strip())
        for el in root.iter("link")
        if "canonical" in (el.get("rel") or "").lower().split() and (el.get("href") or "").strip()
    }
    if len(hrefs) != 1:
        return None
    link = hrefs.pop()
    (host, path), (page_host, page_path) = _doc_key(link), _doc_key(url)
    inside = host == page_host and path and page_path.startswith(path + "/")
    return FilmRef(url=link) if inside and _is_film_link(link, url, authors) else None


def _agree(a: FilmRef, b: FilmRef) -> bool:
    """Two page references to one film: the same link or title, and no other year."""
    same_url = bool(a.url and b.url and _doc_key(a.url) == _doc_key(b.url))
    same_title = bool(a.title and b.title and _fold(a.title) == _fold(b.title))
    return (same_url or same_title) and not (a.year and b.year and a.year != b.year)


def one_film(refs: list[FilmRef]) -> FilmRef | None:
    """The film the page's references agree on, with what they say of it together; None
    when there is none or they disagree (two films: not guessed). Two links for one title
    leave the link out."""
    if not refs or not all(_agree(a, b) for i, a in enumerate(refs) for b in refs[i + 1 :]):
        return None
    links = {_doc_key(r.url): r.url for r in refs if r.url}
    return FilmRef(
        title=next((r.title for r in refs if r.title), None),
        year=next((r.year for r in refs if r.year), None),
        url=next(iter(links.values())) if len(links) == 1 else None,
    )


def page_film_ref(root: Any, page_text: str | None, url: str, authors: set[str]) -> FilmRef | None:
    """The film a review page names outside its reviews: its heading link, breadcrumb or
    canonical film URL (see ``one_film``)."""
    refs = [
        *heading_film_refs(root, url, authors),
        *breadcrumb_film_refs(_crumb_lists(root, page_text, url), url, authors),
    ]
    if canonical := canonical_film_ref(root, url, authors):
        refs.append(canonical)
    return one_film(refs)


class ReviewPage:
    """The HTML around a page's schema.org reviews, parsed only when a review needs it:
    for the text a review leaves out, and for the film a review that names none is about."""

    def __init__(
        self, text: str | None, url: str, reviews: list[dict[str, Any]], root: Any = None
    ) -> None:
        self.text, self.url, self.reviews, self._root = text, url, reviews, root

    @cached_property
    def root(self) -> Any:
        if self._root is None and self.text:
            self._root = Selector(text=self.text).root
        return self._root

    @cached_property
    def bodies(self) -> dict[int, str]:
        return (
            html_review_bodies(self.reviews, self.root, self.url) if self.root is not None else {}
        )

    @cached_property
    def film(self) -> FilmRef | None:
        if self.root is None:
            return None
        authors = {_slug(_text(_get(r, "author"))) for r in self.reviews} - {""}
        return page_film_ref(self.root, self.text, self.url, authors)

    def body(self, review: dict[str, Any]) -> str | None:
        return self.bodies.get(id(review))


# ------------------------------------------------------------------------------ entry points


def _main_film(films: list[dict[str, Any]], url: str) -> dict[str, Any] | None:
    """The page's own film: the one whose url is the page's, else one no other object points
    to (an episode before its series), else the first; None on a listing of many films."""
    if not films:
        return None
    page = urlsplit(url)._replace(query="", fragment="").geturl().rstrip("/")
    for obj in films:
        link = _url(_get(obj, "url"), url) or _url(obj.get("@id"), url)
        if link and urlsplit(link)._replace(query="", fragment="").geturl().rstrip("/") == page:
            return obj
    if len(films) > MAX_FILMS_ON_A_FILM_PAGE:
        return None
    referenced = set()
    for obj in films:
        for key in ("partOfSeries", "partOfSeason", "isPartOf"):
            for ref in _list(obj.get(key)):
                if isinstance(ref, dict) and ref.get("@id"):
                    referenced.add(ref["@id"])
    for obj in films:
        if obj.get("@id") not in referenced:
            return obj
    return films[0]


def film_objects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The top-level objects that are films (see ``is_film_object``)."""
    return [o for o in objects if is_film_object(o)]


def film_records(
    objects: list[dict[str, Any]],
    site: str,
    url: str,
    page_text: str | None = None,
    root: Any = None,
) -> list[ScrapedRecord]:
    """Records from a page's schema.org objects: its film (with nested reviews and offers),
    and standalone reviews. ``page_text`` (the HTML; ``root`` its tree when already built)
    lets a missing year be read from the page title, a review's missing text from the HTML
    around it, and the film of a review that names none from the page's heading link,
    breadcrumb or canonical URL; it is optional."""
    records: list[ScrapedRecord] = []
    main = _main_film(film_objects(objects), url)
    nested = [r for key in ("review", "reviews") for r in _list(_get(main or {}, key))
              if isinstance(r, dict)]  # fmt: skip
    standalone = [o for o in objects if o is not main and types_of(o) & _REVIEW_TYPES]
    page = ReviewPage(page_text, url, [*nested, *standalone], root)
    if main is not None:
        film = _film(main, site, url, page_text)
        records.append(film)
        ref = _ref_from_film(film)
        records.extend(r for r in (_review(o, site, url, ref, page) for o in nested) if r)
        for offer in _list(_get(main, "offers")):
            if isinstance(offer, dict):
                records.extend(_offers_of(offer, site, url, ref, None, None))
        records.extend(_watch_actions(main, site, url, ref))
    for obj in standalone:
        item = _reviewed_item(obj)
        if (
            isinstance(item, dict)
            and types_of(item)
            and not (is_film_object(item) or types_of(item) & GENERIC_TYPES)
        ):
            continue  # a review of a book, a restaurant, ...
        ref = _ref_from_object(item, url)
        if ref.title is None and main is not None:
            ref = _ref_from_film(records[0])  # type: ignore[arg-type]  # {"@id": "#film"}
        if not (ref.title or ref.external_ids or ref.url):
            ref = page.film or ref  # named by the page's heading link, breadcrumb, canonical
        if not (ref.title or ref.external_ids or ref.url):
            continue  # a review of nothing we can name
        if review := _review(obj, site, url, ref, page):
            records.append(review)
    return records


def is_subpage_title(title: str | None) -> bool:
    """An ``og:title``/``<title>`` naming a listing or sub-page ("... - Episode list"). Only
    what follows a "(year)" is looked at, so a film called "Episodes (2011)" is not one."""
    if not title:
        return False
    idx = title.find("(")
    while idx >= 0:
        if m := _PAREN_YEAR.match(title[idx:]):
            title = title[idx + m.end() :]
            break
        idx = title.find("(", idx + 1)
    return SUBPAGE_TITLE.search(title) is not None


def _split_og_title(raw: str, site_name: str | None) -> tuple[str, str | None, str | None]:
    """ "Futurama (TV Series 1999–2013) - IMDb" -> ("Futurama", "1999–2013", "TV Series")."""
    text = squash(html.unescape(raw)) or ""
    idx = text.find("(")
    while idx > 0:
        m = _PAREN_YEAR.match(text[idx:])
        if m:
            return text[:idx].strip(), m.group(2), squash(m.group(1))
        idx = text.find("(", idx + 1)
    if site_name:
        text = re.sub(rf"\s*[-|–—•·:]\s*{re.escape(site_name)}\s*$", "", text, flags=re.I)
    return text.strip(), None, None


def og_film(og: dict[str, str | list[str]], site: str, url: str) -> ScrapedFilm | None:
    """A film from Open Graph tags alone: ``og:type`` video.movie/tv_show/episode and a
    title; year and kind label from "Title (TV Series 1999–2013)"."""
    og_type = (og_first(og, "og:type") or "").strip().lower()
    raw_title = og_first(og, "og:title") or og_first(og, "twitter:title")
    if og_type not in _OG_TYPES or not raw_title or is_subpage_title(raw_title):
        return None
    title, year, label = _split_og_title(raw_title, og_first(og, "og:site_name"))
    if not title:
        return None
    credits = [
        ScrapedCredit(name=name, role=role)
        for key, role in (("video:director", "director"), ("video:writer", "writer"),
                          ("video:actor", "cast"))
        for name in _texts(og.get(key))
        if not name.startswith(("http://", "https://", "/"))
    ]  # fmt: skip
    duration = og_first(og, "video:duration")
    if duration and duration.strip().isdigit():
        duration = f"PT{duration.strip()}S"  # Open Graph durations are seconds
    release = og_first(og, "video:release_date")
    r_year, release_date = _year_and_date(release)
    page_url = og_first(og, "og:url")
    return ScrapedFilm(
        site=site,
        url=url,
        title=title,
        year=year or r_year,
        release_date=release_date,
        kind=label or _OG_TYPES[og_type],
        runtime=duration,
        credits=credits,
        external_ids=external_ids([urljoin(url, page_url)] if page_url else []),
        synopsis=_text(og_first(og, "og:description")),
        poster_url=_url(og_first(og, "og:image"), url),
    )


def fallback_film(response: TextResponse, site: str) -> list[ScrapedRecord]:
    """Records for a page without a JSON-LD film: its microdata film (with reviews), else
    an Open Graph film beside any microdata reviews; ``[]`` when neither names a film."""
    records: list[ScrapedRecord] = []
    if "itemscope" in response.text:  # no tree walk for pages without microdata
        records = film_records(
            microdata_items(response), site, response.url, response.text, response.selector.root
        )
        if any(isinstance(r, ScrapedFilm) for r in records):
            return records
    film = og_film(opengraph(response), site, response.url)
    return [film, *records] if film else records
