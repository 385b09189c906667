"""Any site that publishes schema.org: the fallback parser for hosts no site module knows.

A page is read from its JSON-LD first (the richest and commonest), else its microdata, else its
Open Graph tags. The JSON-LD path needs no HTML tree (script blocks are found in the text), so
the common case is fast; the tree is built once, only when a fallback or a page check needs it.
A page with no film is refused with ``pagecheck``'s reason (``anti_bot``, ``consent_wall``,
``search_results``, ...) or ``no_film_data``. Several saved pages glued into one body are read
from the first document only. The site name in records is the URL's host without ``www.``.
"""

from __future__ import annotations

from scrapy.http import TextResponse

from crawler.extract.jsonld import jsonld_document, jsonld_objects, types_of
from crawler.extract.pagecheck import first_document, is_concatenated, why_not_film
from crawler.extract.schema_org import fallback_film, film_records, host_name
from crawler.sites.base import LinkPolicy, NoFilmData, Route, SiteRules
from pipelines.records import ScrapedRecord

SITE = "schema_org"

_REASONS = {
    "empty_body": "the page has no content",
    "js_shell": "the page is a JavaScript shell with no content of its own",
    "anti_bot": "the page is a bot check / access wall",
    "consent_wall": "the page is a cookie/consent wall",
    "search_results": "the page lists search results",
    "listing": "the page lists many films and describes none",
    "concatenated": "the first of several glued documents holds no film",
}


def _records(response: TextResponse, site: str) -> list[ScrapedRecord]:
    """JSON-LD, else microdata, else Open Graph."""
    text = response.text
    objects = jsonld_objects(text)
    records = film_records(objects, site, response.url, text)
    if records:
        return records
    return fallback_film(response, site)


def _parse_json(response: TextResponse, site: str) -> list[ScrapedRecord]:
    """A JSON body: read as a JSON-LD document (there is no HTML to fall back on)."""
    records = film_records(jsonld_document(response.text), site, response.url)
    if not records:
        raise NoFilmData("no_film_data", "a JSON document with no schema.org film object")
    return records


def parse_page(response: TextResponse) -> list[ScrapedRecord]:
    """The film (and its reviews/offers) a page describes; NoFilmData when it holds none."""
    site = host_name(response.url) or SITE
    if response.text.lstrip()[:1] in ("{", "["):
        return _parse_json(response, site)
    concatenated = is_concatenated(response.text)
    if concatenated:
        first = first_document(response.text)
        response = response.replace(body=first.encode("utf-8"), encoding="utf-8")
    records = _records(response, site)
    if records:
        return records
    reason = why_not_film(response) or ("concatenated" if concatenated else None)
    if reason:
        raise NoFilmData(reason, _REASONS.get(reason, reason))
    kinds = sorted({t for o in jsonld_objects(response.text) for t in types_of(o)})
    detail = f"no film object (JSON-LD types: {', '.join(kinds)})" if kinds else "no film object"
    raise NoFilmData("no_film_data", detail)


# What the generic spider follows on a site it has never seen. A site of 10,667 pages built
# ~197k requests and fetched ~2.9k dead person/genre/about links when it followed everything
# (issue 9): films are reached through film, review and listing pages and sitemaps, so
# person, taxonomy, account, legal and "about" pages, share/print/feed/search links and
# static files are not fetched at all. Patterns match a whole path segment (see LinkPolicy).
GENERIC_LINKS = LinkPolicy(
    skip=(
        (
            "person",
            r"persons?|people|actors?|actress(es)?|directors?|cast|crew|names?"
            r"|celebrit(y|ies)|filmography|biography|(full-?)?credits",
        ),
        ("taxonomy", r"genres?|tags?|categor(y|ies)|keywords?|topics?"),
        (
            "account",
            r"(my-?)?accounts?|log-?(in|out)|sign-?(in|out|up)|register|registration"
            r"|join|cart|basket|checkout|password|profile|settings|wishlist|watchlist"
            r"|subscribe|newsletter|o?auth|sso",
        ),
        (
            "legal",
            r"privacy([-_].*)?|terms([-_].*)?|tos|cookies?([-_].*)?|imprint|impressum"
            r"|legal|disclaimer|dmca|copyright|gdpr",
        ),
        (
            "about",
            r"about([-_]us)?|contact([-_]us)?|help|faqs?|support|press|careers|jobs"
            r"|advertis(e|ing)",
        ),
        ("share", r"share|sharer|print|feeds?|rss|atom|search"),
    ),
    listing=(
        (
            "listing",
            r"index|browse|lists?|catalog(ue)?|archives?|all|page|a-z|az|top|popular"
            r"|latest|new|new-releases|coming-soon|now-playing|sitemap",
        ),
    ),
    content=(
        ("film", r"films?|movies?|titles?|watch|tv|shows?|series|seasons?|episodes?|videos?"),
        ("review", r"reviews?|critics?|critiques?"),
    ),
    skip_extensions=frozenset(
        "jpg jpeg png gif webp avif svg ico bmp tif tiff css js mjs map pdf woff woff2 ttf otf eot"
        " mp4 m4v webm mkv avi mov flv wmv m3u8 mp3 m4a ogg oga wav flac zip rar 7z tar gz tgz"
        " exe dmg apk doc docx xls xlsx ppt pptx odt epub".split()
    ),
    skip_query_keys=frozenset(
        "share print feed rss atom q query search s keyword keywords replytocom".split()
    ),
    paging_query_keys=frozenset("page p pg offset start".split()),
)

RULES = SiteRules(name=SITE, routes=(Route(r".*", parse_page),), follow=(r".*",),
                  links=GENERIC_LINKS)  # fmt: skip
