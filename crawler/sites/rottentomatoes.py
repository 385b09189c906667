"""Rotten Tomatoes (www.rottentomatoes.com): critics' Tomatometer and the audience score.

Layouts handled on film (``/m/<slug>``) and TV (``/tv/<slug>[/s01[/e01]]``) pages:

* 2020 (``mop-ratings-wrap`` score panel, "Movie Info" ``li.meta-row`` label/value rows,
  ``.cast-item`` cards, critic ``quote_bubble``s with "Original Score: 3/4", audience review
  items with star glyphs);
* 2021-2023 (``<score-board tomatometerscore=.. audiencescore=..>`` with its data in
  attributes, ``li.info-item`` rows);
* 2024+ (``<media-scorecard>`` with ``rt-text``/``rt-link`` slots — ``criticsScore``,
  ``audienceScore``, ``criticsReviews`` ... — a ``media-scorecard-json`` script with the
  average ratings, ``dl`` "category-wrap" rows of ``rt-text``/``rt-link`` values, cast cards
  ``[data-qa=person-item]``).

All of them carry a JSON-LD ``Movie``/``TVSeries``/``TVSeason``/``TVEpisode``: its
``dateCreated`` (and often ``dateModified``) is when RT made the record — 2005 for a 1994 film —
so release dates come only from ``datePublished`` or the page's "In Theaters" / "Release Date
(Theaters)" row. Its ``character`` list runs parallel to ``actors``. The Tomatometer is a share
of positive critics (``critic_share`` /100), the audience score a share of positive users
(``user_share`` /100); averages, when shown, are ``critic_average`` /10 and ``user_average``
/5. Critic reviews become reviews (their fresh/rotten flag is no score; an "Original Score"
is), each with its own URL. Search pages are ``search_results``; browse/list pages
``listing``; celebrity pages ``person_page``.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import urlsplit

from parsel import Selector, SelectorList
from scrapy.http import TextResponse

from crawler.extract.html import page_root
from crawler.extract.jsonld import parse_block, script_blocks
from crawler.extract.pagecheck import why_not_film
from crawler.extract.schema_org import film_objects, film_records
from crawler.extract.text import squash, text_of, texts_of
from crawler.sites.base import NoFilmData, Route, SiteRules
from pipelines.records import (
    FilmRef,
    ScrapedCredit,
    ScrapedFilm,
    ScrapedRating,
    ScrapedRecord,
    ScrapedReview,
)

SITE = "rottentomatoes"

_FILM_PATH = r"^/(?:m/[^/]+|tv/[^/]+(?:/s\d+(?:/e\d+)?)?)/?$"
_SEARCH_PATH = r"^/(?:search|napi/search)(?:/|$)"
_RT_ID = re.compile(r"^/((?:m|tv)/[^/?#]+(?:/s\d+(?:/e\d+)?)?)")
_SEASON_EPISODE = re.compile(r"^/tv/[^/]+/s(\d+)(?:/e(\d+))?")
_PERCENT = re.compile(r"(\d{1,3})\s*%")
_NUMBER = re.compile(r"\d[\d,]*")
_DATE = re.compile(r"[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4}")
_ORIGINAL_SCORE = re.compile(
    r"(?:Original Score|Rating):\s*([\d.]+(?:\s*/\s*[\d.]+)?|[A-F][+-]?)", re.I
)
_CREW_JOBS = re.compile(
    r"\b(?:director|producer|writer|screenwriter|composer|creator|cinematograph|editor|"
    r"casting|executive|music|novel|author)\b",
    re.I,
)

# Info labels as printed (2020: "Directed By:", 2023: "Director:", 2024: "Director") -> keys.
_LABELS = {
    "directed by": "director",
    "director": "director",
    "written by": "writer",
    "writer": "writer",
    "screenwriter": "writer",
    "in theaters": "release",
    "release date (theaters)": "release",
    "release date (streaming)": "streaming",
    "on disc/streaming": "streaming",
    "runtime": "runtime",
    "genre": "genre",
}


# ------------------------------------------------------------------------------ helpers
#
# A film page holds ~3,000 elements and each document-wide CSS query walks them all (~0.6 ms):
# the tree is walked once, over the tag names the page's layout uses, to collect the blocks
# read below (``_Page``); the rest is read with queries scoped to those blocks, and the
# canonical URL, title and score-card JSON with regexes over the text.

_CANONICAL = re.compile(
    r"""<link\b[^>]*rel=["']canonical["'][^>]*href=["']([^"']+)|"""
    r"""<meta\b[^>]*property=["']og:url["'][^>]*content=["']([^"']+)""",
    re.I,
)
_OG_TITLE = re.compile(r"""<meta\b[^>]*property=["']og:title["'][^>]*content=["']([^"']*)""", re.I)
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title", re.I | re.S)
_HERO_YEAR = re.compile(r"""heroImageNoMovie-year["'][^>]*>\s*([^<]+?)\s*<""")
_SCORECARD_JSON = re.compile(
    r"""<script\b[^>]*(?:id=["']media-scorecard-json["']|data-json=["']mediaScorecard["'])[^>]*>(.*?)</script""",
    re.S,
)
_CRITIC_TAGS = ("review-card-critic", "media-review-card-critic")
# Blocks are ``li``/``div`` in every layout; other tags are walked only when the text shows
# the markup that uses them (a missing needle costs one fast substring scan).
_OPTIONAL_TAGS = (
    ("<score-board", ("score-board", "score-board-deprecated")),
    ("<media-scorecard", ("media-scorecard",)),
    ("review-card-critic", _CRITIC_TAGS),
    ("data-qa=", ("a", "p", "rt-text")),
    ('slot="', ("p", "rt-text")),
    ("review_table_row", ("tr",)),
)
_CLASS_KEYS = {
    "meta-row": "row",  # 2020 info rows
    "info-item": "row",  # 2021-2023
    "category-wrap": "row",  # 2024
    "cast-item": "cast",
    "mop-ratings-wrap__half": "mop",
    "scoreboard__info": "info",
    "mop-audience-reviews__review-item": "audience",
    "audience-reviews__item": "audience",
    "quote_bubble": "critic",
    "review_table_row": "critic",
    "review-row": "critic",
}


def page_objects(text: str) -> list[dict[str, Any]]:
    """The page's JSON-LD objects: each block read with ``json`` directly (RT's blocks are
    clean, and ``jsonld.parse_block``'s unwrapping regex costs ~1.5 ms on a 60 kB block), the
    shared forgiving reader for a block that fails."""
    values: list[Any] = []
    for raw in script_blocks(text):
        try:
            values.append(json.loads(raw))
        except ValueError:
            values.extend(parse_block(raw))
    out: list[dict[str, Any]] = []
    stack = list(reversed(values))
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(reversed(value))
        elif isinstance(value, dict):
            graph = value.get("@graph")
            if graph is None:
                out.append(value)
                continue
            if "@type" in value:
                out.append({k: v for k, v in value.items() if k != "@graph"})
            stack.extend(reversed(graph if isinstance(graph, list) else [graph]))
    return out


_CLASS_RE = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, _CLASS_KEYS)) + r")(?![\w-])")

_TAG_KEYS = {"score-board": "board", "score-board-deprecated": "board", "media-scorecard": "card"}
_TAG_KEYS.update(dict.fromkeys(_CRITIC_TAGS, "critic"))
_QA_KEYS = {"person-item": "person", "cast-crew-item": "person", "critic-review-card": "critic",
            "synopsis-value": "synopsis", "movie-info-synopsis": "synopsis"}  # fmt: skip


class _Page:
    """The blocks of a Rotten Tomatoes page (any layout), found in one walk."""

    def __init__(self, response: TextResponse) -> None:
        text = response.text
        self.response = response
        self.text = text
        self.blocks: dict[str, list[Any]] = {}
        tags = ["li", "div"]
        for needle, names in _OPTIONAL_TAGS:
            if needle in text:
                tags.extend(names)
        for el in page_root(response, b"<body", b"<footer").iter(*tags):  # no blocks in head/footer
            key = self._key(el)
            if key:
                self.blocks.setdefault(key, []).append(el)

    @staticmethod
    def _key(el: Any) -> str | None:
        """The block an element is, by custom tag, data-qa, id or class (in that order);
        laid out so that the common case, no block, costs the fewest attribute reads."""
        key = _TAG_KEYS.get(el.tag)
        if key:
            return key
        get = el.get
        qa = get("data-qa")
        if qa is not None and (key := _QA_KEYS.get(qa)):
            return key
        if get("id") == "movieSynopsis":
            return "synopsis"
        cls = get("class")
        if not cls:
            return "info" if get("slot") == "info" else None
        m = _CLASS_RE.search(cls)  # one C-level scan instead of a loop over the classes
        if m is None:
            return None
        key = _CLASS_KEYS[m.group(1)]
        if key == "mop":
            return "mop-audience" if "audience-score" in cls else "mop-critic"
        return key

    def get(self, key: str) -> SelectorList:
        return SelectorList(Selector(root=el) for el in self.blocks.get(key, []))


def _canonical(response: TextResponse) -> str:
    text = response.text
    head_end = text.find("</head>", 0, 200_000)
    for m in _CANONICAL.finditer(text, 0, head_end if head_end > 0 else 200_000):
        value = (m.group(1) or m.group(2) or "").strip()
        if value and (urlsplit(value).hostname or "").endswith("rottentomatoes.com"):
            return value
    return response.url


def _rt_id(url: str) -> str | None:
    m = _RT_ID.match(urlsplit(url).path)
    return m.group(1).rstrip("/") if m else None


def _info_rows(page: _Page) -> dict[str, Selector]:
    """Labelled info rows of every layout, by normalized label: the value node of each."""
    rows: dict[str, Selector] = {}
    for row in page.get("row"):
        label_node = row.css(".meta-label, .info-item-label, dt")
        value_node = row.css(".meta-value, .info-item-value, dd")
        label = (text_of(label_node[:1]) or "").rstrip(": ").lower()
        if label and value_node and label not in rows:
            rows[label] = value_node[0]
    return rows


def _labelled(rows: dict[str, Selector], key: str) -> Selector | None:
    for label, node in rows.items():
        if _LABELS.get(label) == key or _LABELS.get(label.removesuffix("s")) == key:
            return node
    return None


def _names(node: Selector | None) -> list[str]:
    if node is None:
        return []
    links = node.css("a, rt-link")
    return (
        texts_of(links)
        if links
        else [n.strip() for n in (text_of(node) or "").split(",") if n.strip()]
    )


def _release(node: Selector | None) -> str | None:
    """ "Sep 10, 1994 wide" / "Mar 1, 2024, Wide" -> the date as printed."""
    text = text_of(node) if node is not None else None
    if not text:
        return None
    m = _DATE.search(text)
    return m.group(0) if m else text


def _scorecard_json(text: str) -> dict[str, Any]:
    """The 2024 ``media-scorecard-json`` data (scores, averages, counts), or ``{}``."""
    m = _SCORECARD_JSON.search(text)
    raw = m.group(1) if m else None
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _pct(text: str | None) -> str | None:
    if not text:
        return None
    m = _PERCENT.search(text) or re.fullmatch(r"\s*(\d{1,3})\s*", text)
    return f"{m.group(1)}%" if m else None


def _count(text: str | None) -> str | None:
    m = _NUMBER.search(text or "")
    return m.group(0) if m else None


# ------------------------------------------------------------------------------ ratings


def _ratings(page: _Page, film: ScrapedFilm) -> list[ScrapedRating]:
    """Tomatometer and audience score (shares /100), and the averages when shown."""
    board = page.get("board")
    card = page.get("card")
    data = _scorecard_json(page.text)
    critics = data.get("criticsScore") if isinstance(data.get("criticsScore"), dict) else {}
    audience = data.get("audienceScore") if isinstance(data.get("audienceScore"), dict) else {}
    mop_critic = page.get("mop-critic")
    mop_audience = page.get("mop-audience")

    tomato = (
        _pct(board.attrib.get("tomatometerscore") if board else None)
        or _pct(text_of(card.css("[slot=criticsScore]")[:1]))
        or _pct(str(critics.get("score") or ""))
        or _pct(text_of(mop_critic[0].css(".mop-ratings-wrap__percentage")) if mop_critic else None)
    )
    tomato_count = (
        _count(text_of(card.css("[slot=criticsReviews]")[:1]))
        or _count(str(critics.get("ratingCount") or critics.get("reviewCount") or ""))
        or _count(text_of(board.css("[slot=critics-count]")[:1]))
        or _count(
            text_of(mop_critic[0].css("small.mop-ratings-wrap__text--small"))
            if mop_critic
            else None
        )
    )
    if tomato is None:  # the JSON-LD Tomatometer (read by the schema.org layer)
        for r in film.ratings:
            if r.kind == "critic_share":
                tomato, tomato_count = f"{r.value}%", r.count
    popcorn = (
        _pct(board.attrib.get("audiencescore") if board else None)
        or _pct(text_of(card.css("[slot=audienceScore]")[:1]))
        or _pct(str(audience.get("score") or ""))
        or _pct(text_of(mop_audience.css(".mop-ratings-wrap__percentage")))
    )
    popcorn_count = (
        _count(text_of(card.css("[slot=audienceReviews]")[:1]))
        or _count(str(audience.get("bandedRatingCount") or audience.get("ratingCount") or ""))
        or _count(text_of(board.css("[slot=audience-count]")[:1]))
        or _count(text_of(mop_audience.css(".mop-ratings-wrap__review-totals strong")))
    )
    ratings: list[ScrapedRating] = []
    if tomato:
        ratings.append(ScrapedRating(source=SITE, value=tomato, scale_max="100", count=tomato_count,
                                     kind="critic_share"))  # fmt: skip
    if popcorn:
        ratings.append(ScrapedRating(source=SITE, value=popcorn, scale_max="100", count=popcorn_count,
                                     kind="user_share"))  # fmt: skip
    if avg := squash(str(critics.get("averageRating") or "")):
        ratings.append(ScrapedRating(source=SITE, value=avg, scale_max="10", kind="critic_average"))
    if avg := squash(str(audience.get("averageRating") or "")):
        ratings.append(ScrapedRating(source=SITE, value=avg, scale_max="5", kind="user_average"))
    return ratings


# ------------------------------------------------------------------------------ credits


def _etext(el: Any) -> str | None:
    return squash(" ".join(el.itertext())) if el is not None else None


def _html_roles(page: _Page) -> dict[str, str]:
    """Actor name -> character from the cast cards of any layout (read with lxml: there may
    be dozens of cards)."""
    roles: dict[str, str] = {}
    for card in page.get("cast") + page.get("person"):
        name = role = None
        for el in card.root.iter():
            if not isinstance(el.tag, str):
                continue
            cls = (el.get("class") or "").split()
            qa = el.get("data-qa")
            if name is None and (
                (
                    el.tag == "span"
                    and el.get("title")
                    and el.getparent() is not None
                    and el.getparent().tag == "a"
                )
                or qa in ("person-name", "cast-crew-item-link")
                or "name" in cls
            ):
                name = squash(el.get("title")) if el.tag == "span" else _etext(el)
            elif role is None and (
                "characters" in cls
                or qa in ("person-role", "cast-crew-item-label")
                or "role" in cls
            ):
                role = squash(el.get("title")) or squash(re.sub(r"^\s*as\s+", "", _etext(el) or ""))
        if name and role:
            roles.setdefault(name, role)
    return roles


def _credits(page: _Page, film: ScrapedFilm, main: dict[str, Any] | None,
             rows: dict[str, Selector]) -> list[ScrapedCredit]:  # fmt: skip
    """JSON-LD credits; characters from the JSON-LD ``character`` list (parallel to the
    actors) or the cast cards; directors/writers from the info rows when the JSON-LD has none."""
    credits = list(film.credits)
    cast = [c for c in credits if c.role == "cast"]
    characters = main.get("character") if main else None
    parallel = (
        isinstance(characters, list)
        and len(characters) == len(cast)
        and len(cast) == len(main.get("actors") or main.get("actor") or [])  # type: ignore[union-attr]
    )
    roles = _html_roles(page)
    out: list[ScrapedCredit] = []
    i = 0
    for credit in credits:
        if credit.role == "cast":
            character = None
            if parallel:
                raw = characters[i]  # type: ignore[index]
                character = squash(html.unescape(raw)) if isinstance(raw, str) else None
            i += 1
            role = roles.get(credit.name)
            if character is None and role and not _CREW_JOBS.search(role):
                character = role
            credit = credit.model_copy(update={"character": character or credit.character})
        out.append(credit)
    if not any(c.role == "cast" for c in out):
        for name, role in roles.items():
            if not _CREW_JOBS.search(role):
                out.append(ScrapedCredit(name=name, character=role))
    for key, role in (("director", "director"), ("writer", "writer")):
        if not any(c.role == role for c in out):
            out.extend(ScrapedCredit(name=n, role=role) for n in _names(_labelled(rows, key)))
    return out


# ------------------------------------------------------------------------------ reviews


def _critic_cards(page: _Page) -> list[dict[str, Any]]:
    """Critic review cards of any layout: link, critic, outlet, date, quote, and the
    "Original Score: 3/4" as (value, scale); each card is walked once, with lxml."""
    cards: list[dict[str, Any]] = []
    for card in page.get("critic"):
        found: dict[str, Any] = {}
        titles: list[str] = []
        for el in card.root.iter():
            tag = el.tag
            if not isinstance(tag, str):
                continue
            slot = el.get("slot")
            cls = (el.get("class") or "").split()
            parent = el.getparent()
            if el.get("title"):
                titles.append(el.get("title"))
            if tag == "blockquote" and el.get("cite"):
                found.setdefault("link", el.get("cite"))
            elif slot == "editorialUrl" or "full-url" in cls:
                found.setdefault("link", el.get("href"))
            elif (
                tag == "a"
                and (el.get("href") or "").startswith("http")
                and "rottentomatoes.com" not in el.get("href")
            ):
                found.setdefault("other_link", el.get("href"))
            if slot == "displayName" or {
                "quote_bubble__cite-author",
                "critic-name",
                "display-name",
            } & set(cls):
                found.setdefault("author", el)
            elif (
                slot == "publicationName"
                or {"critic-publication", "publication"} & set(cls)
                or (tag == "a" and "subtle" in cls and parent is not None and parent.tag == "cite")
            ):
                found.setdefault("outlet", el)
            elif slot == "createDate" or "review-date" in cls:
                found.setdefault("date", el)
            elif (
                slot == "content"
                or {"review-text", "the_review"} & set(cls)
                or (tag == "p" and parent is not None and parent.tag == "blockquote")
            ):
                found.setdefault("body", el)
        m = _ORIGINAL_SCORE.search(" ".join(titles) + " " + (_etext(card.root) or ""))
        score = None
        if m:
            value, _, scale = m.group(1).partition("/")
            score = (value.strip(), scale.strip() or None)
        link = found.get("link") or found.get("other_link")
        cards.append(
            {
                "link": link.strip() if link else None,
                "score": score,
                "author": _etext(found.get("author")),
                "outlet": _etext(found.get("outlet")),
                "date": _etext(found.get("date")),
                "body": _etext(found.get("body")),
            }
        )
    return cards


def _critic_reviews(
    reviews: list[ScrapedReview], page: _Page, main: dict[str, Any], ref: FilmRef
) -> list[ScrapedReview]:
    """The JSON-LD critic reviews, each under its own URL and with its original score, then
    the critic cards of the page that the JSON-LD does not hold."""
    cards = _critic_cards(page)
    by_link = {c["link"]: c for c in cards if c["link"]}
    url = ref.url or page.response.url
    raw = [r for r in (main.get("review") or []) if isinstance(r, dict)]
    out: list[ScrapedReview] = []
    used: set[str] = set()
    for i, review in enumerate(reviews):
        obj = raw[i] if i < len(raw) else {}
        link = (
            obj.get("url").strip()
            if isinstance(obj.get("url"), str) and obj["url"].strip()
            else None
        )
        author = review.author if review.author not in ("NA", "N/A") else None
        rating = review.rating
        card = by_link.get(link) if link else None
        if card:
            used.add(link)  # type: ignore[arg-type]
            if card["score"]:
                value, scale = card["score"]
                rating = ScrapedRating(source=_publisher(obj) or SITE, value=value, scale_max=scale,
                                       kind="critic_average")  # fmt: skip
        anchor = re.sub(r"\W+", "-", (author or _publisher(obj) or str(i)).lower()).strip("-")
        out.append(
            review.model_copy(
                update={
                    "film": ref,
                    "url": link or f"{url}#critic-{anchor}",
                    "author": author,
                    "rating": rating,
                    "critic": True,
                }
            )
        )
    for card in cards:
        if card["link"] in used or not card["body"]:
            continue
        rating = None
        if card["score"]:
            value, scale = card["score"]
            rating = ScrapedRating(source=card["outlet"] or SITE, value=value, scale_max=scale,
                                   kind="critic_average")  # fmt: skip
        anchor = re.sub(
            r"\W+", "-", (card["author"] or card["outlet"] or str(len(out))).lower()
        ).strip("-")
        out.append(
            ScrapedReview(
                site=SITE,
                url=card["link"] or f"{url}#critic-{anchor}",
                film=ref,
                author=card["author"],
                published_at=card["date"],
                body=card["body"],
                rating=rating,
                critic=True,
            )
        )
    return out


def _publisher(obj: dict[str, Any]) -> str | None:
    pub = obj.get("publisher")
    name = pub.get("name") if isinstance(pub, dict) else pub
    return squash(name) if isinstance(name, str) else None


def _audience_reviews(page: _Page, ref: FilmRef) -> list[ScrapedReview]:
    """2020 audience review items: stars (filled and half glyphs), date, text, user; each
    item walked once with lxml."""
    out: list[ScrapedReview] = []
    url = ref.url or page.response.url
    for item in page.blocks.get("audience", []):
        found: dict[str, Any] = {}
        full = half = 0
        for el in item.iter():
            if not isinstance(el.tag, str):
                continue
            for c in (el.get("class") or "").split():
                if c.startswith("star-display__filled"):
                    full += 1
                elif c.startswith("star-display__half"):
                    half += 1
                elif c.endswith(("__review--comment", "__review")):
                    found.setdefault("body", el)
                elif c.endswith(("__review--name", "__name")):
                    found.setdefault("author", el)
                elif c.endswith(("__review--duration", "__duration")):
                    found.setdefault("date", el)
            if el.tag == "a" and "/user/" in (el.get("href") or ""):
                found.setdefault("user", el.get("href"))
        body = _etext(found.get("body"))
        if not body:
            continue
        value = (str(full) if not half else f"{full + 0.5 * half:g}") if full or half else None
        author = _etext(found.get("author"))
        user = (found.get("user") or "").rstrip("/").rsplit("/", 1)[-1]
        anchor = re.sub(r"\W+", "-", user or author or str(len(out))).strip("-")
        out.append(
            ScrapedReview(
                site=SITE,
                url=f"{url}#audience-{anchor}",
                film=ref,
                author=author,
                published_at=_etext(found.get("date")),
                body=body,
                rating=ScrapedRating(source=SITE, value=value, scale_max="5") if value else None,
            )
        )
    return out


# ------------------------------------------------------------------------------ film pages


def _page_year(page: _Page, release: str | None) -> str | None:
    """The year the page shows: the hero/score-board info ("2024, Sci-Fi/Adventure, 2h 46m"),
    the title "(1994)", else the theatrical release's year; never the JSON-LD record date."""
    head = page.text[:200_000]
    hero = _HERO_YEAR.search(head)
    og = _OG_TITLE.search(head)
    title = _TITLE.search(head)
    for text in (
        hero.group(1) if hero else None,
        text_of(page.get("info")[:1]),
        html.unescape(og.group(1)) if og else None,
        html.unescape(title.group(1)) if title else None,
    ):
        if text and (
            m := re.search(
                r"(?:^|\()\s*(\d{4}(?:\s*[–-]\s*(?:\d{4})?)?)\s*(?:[,)]|$)", text.strip()
            )
        ):
            return squash(m.group(1))
    for prop in page.get("card").css("[slot=metadataProp]"):
        if m := re.search(r"\b(1[89]\d\d|20\d\d)\b", text_of(prop) or ""):
            return m.group(1)
    if release and (m := re.search(r"\b(\d{4})\b", release)):
        return m.group(1)
    return None


def parse_film(response: TextResponse) -> list[ScrapedRecord]:
    """A movie or TV page of any layout: JSON-LD base, corrected (record dates dropped) and
    enriched with the score panel, info rows, cast characters and reviews."""
    text = response.text
    url = _canonical(response)
    objects = page_objects(text)
    records = film_records(objects, SITE, url, text)
    if not records or not isinstance(records[0], ScrapedFilm):
        raise NoFilmData(why_not_film(response) or "not_a_film_page", "no film object on the page")
    film = records[0]
    main = next((o for o in film_objects(objects) if (o.get("name") or "").strip()), {})
    page = _Page(response)
    rows = _info_rows(page)
    published = main.get("datePublished")
    published = published if isinstance(published, str) and published.strip() else None
    release = _release(_labelled(rows, "release")) or published
    runtime_node = _labelled(rows, "runtime")
    runtime = text_of(runtime_node) if runtime_node is not None else None
    if not runtime:
        runtime = next((t for t in texts_of(page.get("card").css("[slot=metadataProp]"))
                        if re.fullmatch(r"(?:\d+h)?\s*(?:\d+m)?", t) and t.strip()), film.runtime)  # fmt: skip
    genres = film.genres or _names(_labelled(rows, "genre"))
    ids = dict(film.external_ids)
    if rt_id := _rt_id(url) or _rt_id(response.url):
        ids[SITE] = rt_id
    series = season = episode = None
    if m := _SEASON_EPISODE.match(urlsplit(url).path):
        season, episode = m.group(1), m.group(2)
        part = main.get("partOfSeries")
        name = part.get("name") if isinstance(part, dict) else None
        series = squash(name) if isinstance(name, str) else None
    film = film.model_copy(
        update={
            "url": url,
            "year": _page_year(page, release) or (film.year if published else None),
            "release_date": release,
            "runtime": runtime,
            "credits": _credits(page, film, main, rows),
            "genres": genres,
            "external_ids": ids,
            "ratings": _ratings(page, film),
            "synopsis": text_of(page.get("synopsis")[:1]) or film.synopsis,
            "series": series,
            "season": season,
            "episode": episode,
        }
    )
    ref = FilmRef(
        title=film.title,
        year=film.year,
        url=url,
        external_ids=dict(ids),
        directors=[c.name for c in film.credits if c.role == "director"],
    )
    reviews = [r for r in records[1:] if isinstance(r, ScrapedReview)]
    others = [r for r in records[1:] if not isinstance(r, ScrapedReview)]
    return [
        film,
        *_critic_reviews(reviews, page, main, ref),
        *_audience_reviews(page, ref),
        *others,
    ]


# ------------------------------------------------------------------------------ other pages


def parse_search(response: TextResponse) -> list[ScrapedRecord]:
    """A search page: its rows name films, but it describes none."""
    raise NoFilmData("search_results", "a Rotten Tomatoes search page")


def parse_page(response: TextResponse) -> list[ScrapedRecord]:
    """Any other page: celebrity pages, browse pages and lists, else the page check's word."""
    path = urlsplit(response.url).path
    if path.startswith("/celebrity/"):
        raise NoFilmData("person_page", f"{path}: a celebrity page")
    reason = why_not_film(response)
    if reason is None and re.match(
        r"^/(?:browse|top|lists?|guides|dvd|critics|editorial)(?:/|$)", path
    ):
        reason = "listing"
    raise NoFilmData(reason or "not_a_film_page", f"{path}: no film on the page")


RULES = SiteRules(
    name=SITE,
    hosts=("rottentomatoes.com",),
    routes=(
        Route(_FILM_PATH, parse_film),
        Route(_SEARCH_PATH, parse_search),
        Route(r".*", parse_page),
    ),
    follow=(
        r"^/m/[^/]+/?$",
        r"^/tv/[^/]+/?$",
        r"^/tv/[^/]+/s\d+/?$",
        r"^/browse/movies_in_theaters/?",
        r"^/browse/movies_at_home/?",
    ),
    settings={
        "DOWNLOAD_DELAY": 2.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "AUTOTHROTTLE_ENABLED": True,
    },
)
