"""Why a page that should describe a film does not: bot walls, consent walls, JS shells,
search and listing pages, several documents glued together, JSON-LD too broken to read.

``why_not_film`` answers with a short slug (counted in crawl stats) or None when the page may
hold a film. Precision comes first: any structured film on the page (a JSON-LD or microdata
film object, or an Open Graph ``video.*`` type on a page whose title is not a listing's) makes
the answer None, and the phrase checks (bot and consent walls) only look at pages with little
visible text, so a real film page that merely loads a captcha script is never refused.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from scrapy.http import TextResponse

from crawler.extract.jsonld import jsonld_objects, unreadable_blocks
from crawler.extract.microdata import microdata_items
from crawler.extract.opengraph import og_first, opengraph
from crawler.extract.schema_org import film_objects, is_subpage_title
from crawler.extract.text import squash

# A document ends and another begins: "</html>" then "<!DOCTYPE" or "<html".
_NEXT_DOCUMENT = re.compile(r"(</html\s*>)\s*(?=<!doctype\s+html|<html[\s>])", re.I)
# parent:: rather than ancestor:: (several times faster); script/style text is a direct child.
_VISIBLE_TEXT = (
    "//body//text()[not(parent::script or parent::style or parent::noscript or parent::template)]"
)
WALL_TEXT = 600  # characters of visible text below which a page may be a bot wall
CONSENT_TEXT = 1500  # ... a consent wall (its text is a cookie notice)
SHELL_TEXT = 150  # ... below which a page with scripts is a JS shell
SEARCH_MIN_LINKS = 3  # distinct film links on a search page
LISTING_MIN_LINKS = 10  # distinct film links on a listing with no film object

_ANTI_BOT = re.compile(
    r"just a moment|attention required|checking your browser|verify (?:that )?you are (?:a )?"
    r"human|are you a robot|are you human|access denied|access to this page has been denied|"
    r"pardon our interruption|unusual traffic|captcha|ddos protection|request blocked|"
    r"bot detection|security check",
    re.I,
)
_ANTI_BOT_MARKUP = re.compile(
    r"cf-browser-verification|cf-challenge|challenge-platform|_cf_chl_opt|"
    r"challenges\.cloudflare\.com|g-recaptcha|h-captcha|hcaptcha\.com|perimeterx|px-captcha|"
    r"datadome|distil_r_captcha",
    re.I,
)
_CONSENT = re.compile(r"cookie|consent|gdpr|privacy|datenschutz|souhlas|confidentialit", re.I)
_CONSENT_ACTION = re.compile(
    r"\b(?:accept all|accept cookies|accept and (?:continue|close)|i accept|i agree|"
    r"agree and (?:continue|close)|reject all|allow all|manage (?:options|preferences|cookies)|"
    r"cookie settings|alle akzeptieren|tout accepter|přijmout vše|souhlasím)\b",
    re.I,
)
_CONSENT_MARKUP = re.compile(
    r"onetrust|cookiebot|didomi|quantcast|qc-cmp|sp_message|fc-consent|consent-banner|"
    r"cookie-consent|cmp-container|truste",
    re.I,
)
_SHELL_ROOT = re.compile(
    r"""<div\b[^>]*\bid\s*=\s*["'](?:root|app|__next|__nuxt|svelte|main-app|application)["']""",
    re.I,
)
_ENABLE_JS = re.compile(r"enable javascript|javascript (?:is )?(?:required|disabled)", re.I)
_SEARCH_URL = re.compile(
    r"/(?:search|find|results?|hledat|vyhledavani|suche|recherche|buscar|poisk)(?:[/?.]|$)|"
    r"[?&](?:q|query|search|s|term|keyword)=",
    re.I,
)
_SEARCH_TITLE = re.compile(
    r"\b(?:search|find|results?|suchergebnisse|recherche|поиск)\b|výsledky vyhledávání|搜索",
    re.I,
)
# Paths of film pages on film sites (IMDb, Letterboxd, ČSFD, Douban, RT, Metacritic, TMDB...).
_FILM_LINK = re.compile(
    r"/(?:title/tt\d+|film/[^/?#]+|films?/\d+|movies?/[^/?#]+|m/[^/?#]+|tv/[^/?#]+|"
    r"subject/\d+|series/[^/?#]+)",
    re.I,
)
_LINKS = "//a/@href | //@data-target-link | //@data-film-link"


def first_document(text: str) -> str:
    """The first HTML document of a body that holds several (saved pages glued together)."""
    m = _NEXT_DOCUMENT.search(text)
    return text[: m.end(1)] if m else text


def is_concatenated(text: str) -> bool:
    """Several ``<html>`` documents in one body."""
    return _NEXT_DOCUMENT.search(text) is not None


def _domain(host: str) -> str:
    """The registered domain, roughly: "movie.douban.com" -> "douban.com"."""
    labels = host.lower().split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in {"co", "com", "org", "net"}:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def film_links(response: TextResponse) -> set[str]:
    """Distinct same-site links (and lazy-poster targets) to film-like paths."""
    domain = _domain(urlsplit(response.url).hostname or "")
    keys: set[str] = set()
    for href in response.selector.root.xpath(_LINKS):
        m = _FILM_LINK.search(href)
        if m is None:
            continue
        parts = urlsplit(href.strip())
        if parts.hostname and _domain(parts.hostname) != domain:
            continue
        if m := _FILM_LINK.search(parts.path):
            keys.add(m.group(0).lower().rstrip("/"))
    return keys


def has_film_object(response: TextResponse) -> bool:
    """Structured data names a film: JSON-LD, microdata, or Open Graph ``video.*`` on a page
    whose title is not a listing's."""
    if film_objects(jsonld_objects(response)):
        return True
    og = opengraph(response)
    og_type = (og_first(og, "og:type") or "").lower()
    if og_type.startswith("video.") and og_type != "video.other":
        title = og_first(og, "og:title") or response.xpath("//title/text()").get()
        if not is_subpage_title(title):
            return True
    return "itemscope" in response.text and bool(film_objects(microdata_items(response)))


def _visible_text(response: TextResponse, limit: int) -> str | None:
    """The body's text without script/style content, whitespace collapsed; None when it
    is surely longer than ``limit`` (estimated in C first: text pages are skipped fast)."""
    root = response.selector.root
    body = root.xpath("string-length(normalize-space(//body))")
    hidden = sum(
        el.xpath("string-length(normalize-space(.))") + 1
        for el in root.xpath("//body//script | //body//style")
    )
    if body - hidden > limit * 2:
        return None
    text = squash(" ".join(root.xpath(_VISIBLE_TEXT))) or ""
    return None if len(text) > limit else text


def why_not_film(response: TextResponse) -> str | None:
    """A short slug saying why the page holds no film, or None when it may hold one.

    Cheap checks first: structured film data, the title, the film links; the visible text
    (the costliest part) is only read for pages that are neither listings nor search pages.
    """
    text = response.text
    if not text.strip():
        return "empty_body"
    if response.selector.type == "json":
        return None  # a JSON body: no page to judge (see ``jsonld.jsonld_document``)
    if is_concatenated(text):
        return "concatenated"
    if has_film_object(response):
        return None
    root = response.selector.root  # lxml directly: no Selector object per node
    title = squash(" ".join(root.xpath("//title//text()"))) or ""
    if _ANTI_BOT.search(title):
        return "anti_bot"
    links = film_links(response)
    parts = urlsplit(response.url)
    searchish = _SEARCH_URL.search(f"{parts.path}?{parts.query}") or _SEARCH_TITLE.search(title)
    if searchish and len(links) >= SEARCH_MIN_LINKS:
        return "search_results"
    if len(links) >= LISTING_MIN_LINKS:
        return "listing"
    if unreadable_blocks(text):
        # Structured data was meant to be there: the true reason, before any judgement on the
        # visible text (such a page is often thin and would read as a JS shell).
        return "broken_jsonld"
    visible = _visible_text(response, CONSENT_TEXT)
    if visible is None:
        return None  # a page with real text: not a wall, not a shell
    if len(visible) < WALL_TEXT and (_ANTI_BOT.search(visible) or _ANTI_BOT_MARKUP.search(text)):
        return "anti_bot"
    if len(visible) < CONSENT_TEXT and (
        ((_CONSENT.search(title) or _CONSENT.search(visible)) and _CONSENT_ACTION.search(visible))
        or (_CONSENT_MARKUP.search(text) and len(visible) < WALL_TEXT)
    ):
        return "consent_wall"
    has_scripts = bool(root.xpath("//script[1]"))
    if (
        has_scripts
        and len(visible) < SHELL_TEXT
        and (_SHELL_ROOT.search(text) or _ENABLE_JS.search(text) or len(visible) < SHELL_TEXT // 3)
    ):
        return "js_shell"
    if not visible:
        return "empty_body"
    return None
