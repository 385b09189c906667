"""English Wikipedia (en.wikipedia.org/wiki/<Article>): film and television articles.

Wikipedia publishes no film JSON-LD: its only JSON-LD is an ``Article`` whose
``datePublished`` is when the *article* was created (Titanic: 2001), never a film date, so it
is used for nothing but the Wikidata id and the image. Everything comes from the article's
infobox and lead:

* film articles (``table.infobox`` with "Directed by", "Release date(s)", "Running time" rows):
  title from the infobox caption (else the lead's first bold term, else the page title without
  its "(1997 film)" disambiguation), credits from the labelled rows (Directed by, Written by /
  Screenplay by / Story by, Starring, Produced by, Music by, Cinematography, Edited by), the
  earliest release date (the hidden ISO ``dtstart`` spans) giving the year, the running time,
  native-script title rows (Chinese / Traditional / Simplified / Japanese / Hangul ... with
  their romanizations) or a ``lang`` span in the lead's parenthesis as the original title, a
  kind hint from the short description ("documentary", "short", "television film");
* television articles ("infobox television": No. of seasons / episodes, Original network,
  Original release) -> a series (year range "2008–2014"); episode articles (Episode no.,
  Original air date) -> an episode with its series, season and episode numbers;
* person articles (``infobox biography``/``vcard``, Born/Died rows) -> ``person_page``;
  special/category/search pages, lists and articles without a film infobox -> NoFilmData.

Ids: the Wikidata Q-id ("Wikidata item" link, else JSON-LD ``sameAs``), the IMDb id from the
"External links" section, and the article name under ``wikipedia``. Review-aggregator scores
quoted in the reception prose (Rotten Tomatoes approval and average, Metacritic score) are kept
with their real source (not on series articles, whose scores are per season). Re-serialized (prettified) pages work: only the DOM and whitespace-
collapsed text are read. For speed only the lead (up to the first section heading) is parsed
into a tree; the rest is read with regular expressions.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from lxml import html as lxml_html
from scrapy.http import TextResponse

from crawler.extract.jsonld import jsonld_objects, types_of
from crawler.extract.text import close_gaps, squash
from crawler.sites.base import NoFilmData, Route, SiteRules
from pipelines.records import (
    ScrapedCredit,
    ScrapedFilm,
    ScrapedRating,
    ScrapedRecord,
    ScrapedTitle,
)

SITE = "wikipedia"

_BREAK = "\x00"  # a line break in extracted text (<br>, list items, blocks)
_BLOCKS = frozenset({"li", "p", "div", "ul", "ol", "tr", "table", "dd", "dt", "dl"})
_SKIP = frozenset({"sup", "style", "script", "noscript", "link", "meta"})
_HIDDEN = re.compile(r"display\s*:\s*none", re.I)
_PARENS = re.compile(r"\s*[(\[][^()\[\]]*[)\]]")
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})(?:-(\d{2}))?\s*$")
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")

_PARSER_OUTPUT = re.compile(r"""<div\b[^>]*\bclass\s*=\s*["']mw-parser-output["'][^>]*>""", re.I)
_LEAD_END = re.compile(r"""<h2\b|<div\b[^>]*\bid\s*=\s*["']toc["']""", re.I)
_H1 = re.compile(r"""<h1\b[^>]*\bid\s*=\s*["']firstHeading["'][^>]*>(.*?)</h1\s*>""", re.I | re.S)
_CANONICAL = re.compile(
    r"""<link\b[^>]*\brel\s*=\s*["']canonical["'][^>]*\bhref\s*=\s*["']([^"']+)["']""", re.I
)
_PAGE_NAME = re.compile(r'"wgPageName"\s*:\s*"((?:[^"\\]|\\.)*)"')
_SHORT_DESC = re.compile(
    r"""<div\b[^>]*\bclass\s*=\s*["']shortdescription\b[^>]*>(.*?)</div\s*>""", re.I | re.S
)
_WIKIBASE = re.compile(r"""["']?[^>]*>.*?href\s*=\s*["'][^"']*?(Q\d+)\b""", re.S)
_WIKIBASE_ITEM = re.compile(r'"wgWikibaseItemId"\s*:\s*"(Q\d+)"')
_IMDB_TITLE = re.compile(
    r"""href\s*=\s*["'](?:https?:)?//(?:www\.|m\.)?imdb\.com/title/(tt\d{7,})"""
)
_TAG = re.compile(r"<[^>]+>")
_NAMESPACE = re.compile(
    r"^/wiki/(Special|Category|File|Image|Talk|User|Wikipedia|WP|Template|Help|Portal|Draft|"
    r"Module|MediaWiki|Book|TimedText|Media)(?:_talk)?:",
    re.I,
)

# Infobox row labels (lower-cased, whitespace collapsed) -> credit roles.
_ROLES = {
    "directed by": "director",
    "director": "director",
    "directors": "director",
    "director(s)": "director",
    "written by": "writer",
    "screenplay by": "writer",
    "story by": "writer",
    "teleplay by": "writer",
    "writer": "writer",
    "writers": "writer",
    "writer(s)": "writer",
    "created by": "creator",
    "starring": "cast",
    "voices of": "cast",
    "narrated by": "narrator",
    "presented by": "presenter",
    "produced by": "producer",
    "producer": "producer",
    "producer(s)": "producer",
    "music by": "composer",
    "composer(s)": "composer",
    "cinematography": "cinematographer",
    "edited by": "editor",
    "editor(s)": "editor",
}
_RELEASE_LABELS = (
    "release date",
    "release dates",
    "released",
    "original release",
    "original air date",
    "first aired",
    "release",
)
_TV_LABELS = frozenset(
    {"no. of seasons", "no. of series", "no. of episodes", "original network", "network",
     "original channel", "original release", "first aired"}
)  # fmt: skip
_EPISODE_LABELS = frozenset({"episode no.", "episode no", "original air date"})
_PERSON_LABELS = frozenset(
    {"born", "died", "occupation", "occupations", "years active", "spouse(s)"}
)
# Infobox rows naming the film in other scripts: label -> (language, romanization?).
_NATIVE_TITLES = {
    "chinese": ("zh", False),
    "traditional chinese": ("zh", False),
    "simplified chinese": ("zh", False),
    "traditional": ("zh", False),
    "simplified": ("zh", False),
    "mandarin": ("zh-Latn", True),
    "hanyu pinyin": ("zh-Latn", True),
    "pinyin": ("zh-Latn", True),
    "cantonese": ("yue-Latn", True),
    "jyutping": ("yue-Latn", True),
    "japanese": ("ja", False),
    "kanji": ("ja", False),
    "hepburn": ("ja-Latn", True),
    "romanization": (None, True),
    "korean": ("ko", False),
    "hangul": ("ko", False),
    "hanja": ("ko", False),
    "revised romanization": ("ko-Latn", True),
    "mccune–reischauer": ("ko-Latn", True),
    "mccune-reischauer": ("ko-Latn", True),
    "russian": ("ru", False),
    "hindi": ("hi", False),
    "thai": ("th", False),
    "vietnamese": ("vi", False),
}
# Genre values that name a format, not a genre (they would override the kind).
_FORMAT_GENRES = re.compile(r"^(?:mini-?series|television series|tv series|web series)$", re.I)

_RT_SHARE = re.compile(
    r"(?:approval|rating|score)\s+(?:rating\s+)?of\s+(\d{1,3}(?:\.\d)?)\s*%,?\s*"
    r"(?:based\s+on\s+(?:the\s+)?)?(?:reviews\s+from\s+)?([\d,]+)?\s*(?:critics|reviews)?"
    r"|(\d{1,3})\s*%\s+of\s+([\d,]+)\s+(?:critics|reviewers)",
    re.I,
)
_RT_AVERAGE = re.compile(
    r"(?:average\s+rating|rating\s+average|average\s+score|average)\s+(?:of\s+)?"
    r"(\d{1,2}(?:\.\d+)?)\s*/\s*10\b",
    re.I,
)
_MC_SCORE = re.compile(
    r"(?:score|rating)\s+of\s+(\d{1,3})(?:\s+out\s+of\s+100)?,?\s+based\s+on\s+([\d,]+)\s+"
    r"(?:critics|reviews)|(?:score|rating)\s+of\s+(\d{1,3})\s+out\s+of\s+100",
    re.I,
)


# ------------------------------------------------------------------------------ text


def _walk(el: Any, out: list[str]) -> None:
    """Visible text of an lxml element into ``out``; breaks between blocks and at <br>;
    citations, hidden spans and styles left out."""
    tag = el.tag if isinstance(el.tag, str) else ""
    if not tag or tag in _SKIP or _HIDDEN.search(el.get("style") or ""):
        return
    if tag == "br":
        out.append(_BREAK)
        return
    block = tag in _BLOCKS
    if block:
        out.append(_BREAK)
    if el.text:
        out.append(el.text)
    for child in el:
        _walk(child, out)
        if child.tail:
            out.append(child.tail)
    if block:
        out.append(_BREAK)


def _lines(el: Any) -> list[str]:
    """The element's visible text, one string per line, whitespace collapsed."""
    out: list[str] = []
    _walk(el, out)
    lines = (squash(part) for part in "".join(out).split(_BREAK))
    return [line for line in lines if line]


def _text(el: Any) -> str | None:
    """The element's text on one line; gaps a re-serialized page left before punctuation
    ("Cowell , produced") closed again."""
    text = squash(" ".join(_lines(el)))
    return close_gaps(text) if text else None


def _clean_name(line: str) -> str | None:
    """A person's name from an infobox line: notes in parentheses/brackets dropped."""
    name = squash(_PARENS.sub("", line))
    if not name:
        return None
    name = name.strip(" ,;:·•")
    return name or None


# ------------------------------------------------------------------------------ page parts


def _lead_tree(text: str) -> Any | None:
    """The lead section (infobox and intro paragraphs) as an lxml tree, or None."""
    m = _PARSER_OUTPUT.search(text)
    if m is None:
        return None
    end = _LEAD_END.search(text, m.end())
    fragment = text[m.start() : end.start() if end else m.start() + 400_000]
    try:
        return lxml_html.fragment_fromstring(fragment, create_parent="div")
    except Exception:  # noqa: BLE001 - an unreadable fragment is no film, not a crash
        return None


def _infobox(root: Any) -> Any | None:
    boxes = root.xpath(".//table[contains(concat(' ', normalize-space(@class), ' '), ' infobox ')]")
    return boxes[0] if boxes else None


def _label(th: Any) -> str:
    return (squash(" ".join(th.itertext())) or "").lower()


def _rows(box: Any) -> list[tuple[str, Any]]:
    """(lower-cased label, value cell) of each labelled infobox row (nested boxes too)."""
    rows: list[tuple[str, Any]] = []
    for tr in box.xpath(".//tr[th and td]"):
        ths, tds = tr.xpath("./th"), tr.xpath("./td")
        if ths and tds:
            rows.append((_label(ths[0]), tds[0]))
    return rows


def _caption(box: Any) -> str | None:
    """The infobox caption: its first 'summary'/'infobox-above' cell, else <caption>."""
    cells = box.xpath(
        ".//*[self::th or self::td or self::caption][contains(concat(' ', normalize-space(@class),"
        " ' '), ' summary ') or contains(@class, 'infobox-above') or contains(@class,"
        " 'infobox-title')] | .//caption"
    )
    for cell in cells[:1]:
        text = _text(cell)  # a <br> in a caption only wraps a long title
        if text and len(text) > 2 and text[0] in '"“' and text[-1] in '"”':
            text = text[1:-1].strip() or text  # an episode's name is printed in quotes
        return text
    return None


def _page_name(text: str, url: str) -> str | None:
    """The article name ("Titanic_(1997_film)"): canonical link, wgPageName, else the URL."""
    for pattern in (_CANONICAL, _PAGE_NAME):
        if m := pattern.search(text):
            value = html.unescape(m.group(1))
            if pattern is _CANONICAL:
                value = urlsplit(value).path
                if not value.startswith("/wiki/"):
                    continue
                value = value[len("/wiki/") :]
            return unquote(value).replace(" ", "_") or None
    path = urlsplit(url).path
    return unquote(path[len("/wiki/") :]) if path.startswith("/wiki/") else None


def _heading(text: str, url: str) -> str | None:
    """The article's display heading ("Titanic (1997 film)")."""
    if m := _H1.search(text):
        return squash(html.unescape(_TAG.sub("", m.group(1))))
    name = _page_name(text, url)
    return name.replace("_", " ") if name else None


def _without_disambiguation(title: str | None) -> str | None:
    """ "Titanic (1997 film)" -> "Titanic"."""
    if not title:
        return None
    return squash(re.sub(r"\s*\([^()]*\)\s*$", "", title)) or title


def _lead_paragraphs(root: Any) -> list[Any]:
    return [
        p
        for p in root.xpath("./p | ./div[contains(@class, 'mw-parser-output')]/p")
        if "mw-empty-elt" not in (p.get("class") or "") and _text(p)
    ]


def _bold_term(paragraph: Any | None) -> str | None:
    if paragraph is None:
        return None
    bold = paragraph.xpath(".//b")
    return _text(bold[0]) if bold else None


# ------------------------------------------------------------------------------ values


def _dates(cell: Any) -> list[str]:
    """ISO dates of a date cell's hidden microformat spans (``dtstart``, ``bday``, ...)."""
    out = []
    for span in cell.xpath(
        ".//span[contains(@class, 'dtstart') or contains(@class, 'bday') or"
        " contains(@class, 'published') or contains(@class, 'dtend')]"
    ):
        value = squash(span.text_content())
        if value and _ISO_DATE.match(value) and value not in out:
            out.append(value)
    return out


def _release(cell: Any, tv: bool) -> tuple[str | None, str | None]:
    """(year, release date) from a release cell: the earliest date; a series' run as years
    "2008–2014" (or "2008–" while it airs)."""
    dates = sorted(_dates(cell))
    lines = _lines(cell)
    if dates:
        first = dates[0]
        years = sorted({d[:4] for d in dates})
    else:
        found = sorted({y for line in lines for y in _YEAR.findall(line)})
        if not found:
            return None, None
        years = found
        first = next((line for line in lines if years[0] in line), None)
        if first and not re.search(r"\d{4}\D+\d|\d\D+\d{4}|[^\W\d_]{3}", first):
            first = None  # a bare year is the year, not a release date
    year = years[0]
    if tv:
        joined = " ".join(lines).lower()
        if "present" in joined:
            year = f"{years[0]}–"
        elif len(years) > 1:
            year = f"{years[0]}–{years[-1]}"
    return year, first


def _kind_hint(description: str | None) -> str:
    """A film's kind hint from its short description / lead sentence."""
    text = (description or "").lower()
    if "documentary" in text:
        return "Documentary"
    if "concert film" in text:
        return "Concert"
    if re.search(r"\bshort\b", text):
        return "Short"
    if re.search(r"\b(?:television|tv|made-for-(?:television|tv)) (?:film|movie)\b", text):
        return "TV Movie"
    if "direct-to-video" in text or "video film" in text:
        return "Video"
    return "Movie"


def _native_titles(rows: Iterable[tuple[str, Any]]) -> list[ScrapedTitle]:
    titles: list[ScrapedTitle] = []
    for label, cell in rows:
        if label not in _NATIVE_TITLES:
            continue
        language, romanized = _NATIVE_TITLES[label]
        value = _text(cell)
        if not value or any(t.title == value for t in titles):
            continue
        titles.append(ScrapedTitle(title=value, language=language,
                                   type="aka" if romanized else "original"))  # fmt: skip
    return titles


def _lead_native_title(paragraph: Any | None) -> ScrapedTitle | None:
    """A ``lang``-tagged name in the parenthesis after the lead's bold title:
    "Amélie (French: Le Fabuleux Destin d'Amélie Poulain)"."""
    if paragraph is None:
        return None
    prefix: list[str] = []

    def visit(el: Any) -> ScrapedTitle | None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag and tag not in _SKIP:
            lang = (el.get("lang") or "").strip()
            if lang and not lang.lower().startswith("en") and "IPA" not in (el.get("class") or ""):
                seen = "".join(prefix)
                if seen.count("(") > seen.count(")") and len(seen) < 400:
                    value = squash(el.text_content())
                    if value:
                        primary = lang.split("-")[0].lower()
                        romanized = "latn" in lang.lower()
                        return ScrapedTitle(
                            title=value,
                            language=f"{primary}-Latn" if romanized else primary,
                            type="aka" if romanized else "original",
                        )
            if el.text:
                prefix.append(el.text)
            for child in el:
                found = visit(child)
                if found:
                    return found
                if child.tail:
                    prefix.append(child.tail)
        return None

    return visit(paragraph)


def _credits(rows: Iterable[tuple[str, Any]]) -> list[ScrapedCredit]:
    credits: list[ScrapedCredit] = []
    for label, cell in rows:
        role = _ROLES.get(label)
        if role is None:
            continue
        for line in _lines(cell):
            name = _clean_name(line)
            if name:
                credits.append(ScrapedCredit(name=name, role=role))
    return credits


def _first_line(cell: Any) -> str | None:
    lines = _lines(cell)
    return lines[0] if lines else None


def _episode_numbers(cell: Any) -> tuple[str | None, str | None]:
    text = _text(cell) or ""
    season = re.search(r"season\s+(\d+)", text, re.I)
    episode = re.search(r"episode\s+(\d+)", text, re.I)
    if episode is None and (m := re.match(r"^\s*(\d+)\s*$", text)):
        return (season.group(1) if season else None), m.group(1)
    return (season.group(1) if season else None), (episode.group(1) if episode else None)


def _series_of_episode(box: Any) -> str | None:
    """ "<i>Breaking Bad</i> episode" subheader -> "Breaking Bad"."""
    for cell in box.xpath(".//tr/td[@colspan] | .//tr/th[@colspan]"):
        text = _text(cell) or ""
        if re.search(r"\bepisode\s*$", text, re.I):
            italic = cell.xpath(".//i")
            return _text(italic[0]) if italic else squash(re.sub(r"\s*episode\s*$", "", text))
    return None


# ------------------------------------------------------------------------------ ids & ratings


def _external_ids(text: str, page_name: str | None) -> dict[str, str]:
    ids: dict[str, str] = {}
    # The "Wikidata item" tool link (li#t-wikibase), else the page config's item id.
    at = text.find("t-wikibase")
    if m := (_WIKIBASE.match(text, at + 10, at + 2000) if at >= 0 else None) or (
        _WIKIBASE_ITEM.search(text)
    ):
        ids["wikidata"] = m.group(1)
    else:
        for obj in jsonld_objects(text):
            if "Article" in types_of(obj):
                for key in ("mainEntity", "sameAs"):
                    value = obj.get(key)
                    if isinstance(value, str) and (
                        q := re.search(r"wikidata\.org/\S*?(Q\d+)", value)
                    ):
                        ids["wikidata"] = q.group(1)
                        break
            if "wikidata" in ids:
                break
    # The section heading's id, found as a literal (fast), not the table of contents' link.
    at = max(text.find('id="External_links"'), text.find("id='External_links'"))
    if at >= 0:
        section = text[at : at + 60_000]
        if imdb := _IMDB_TITLE.search(section):
            ids["imdb"] = imdb.group(1)
    if page_name:
        ids[SITE] = page_name
    return ids


def _prose_after(text: str, needle: str, span: int = 1500) -> Iterable[str]:
    """Tag-stripped text following each mention of ``needle`` (article prose)."""
    start = 0
    while (i := text.find(needle, start)) >= 0:
        start = i + len(needle)
        yield squash(html.unescape(_TAG.sub(" ", text[i : i + span]))) or ""


def _ratings(text: str) -> list[ScrapedRating]:
    """Aggregator scores quoted in the reception section, with their real source."""
    ratings: list[ScrapedRating] = []
    for prose in _prose_after(text, "Rotten Tomatoes"):
        sentence = prose[:400]
        m = _RT_SHARE.search(sentence)
        if m is None or m.start() > 200:
            continue
        value, count = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        ratings.append(ScrapedRating(source="rottentomatoes", value=f"{value}%", scale_max="100",
                                     count=count, kind="critic_share"))  # fmt: skip
        if (avg := _RT_AVERAGE.search(sentence, m.end())) and avg.start() - m.end() < 120:
            ratings.append(ScrapedRating(source="rottentomatoes", value=avg.group(1),
                                         scale_max="10", count=count,
                                         kind="critic_average"))  # fmt: skip
        break
    for prose in _prose_after(text, "Metacritic"):
        m = _MC_SCORE.search(prose[:300])
        if m is None:
            continue
        value, count = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), None)
        ratings.append(ScrapedRating(source="metacritic", value=value, scale_max="100",
                                     count=count, kind="weighted_critic"))  # fmt: skip
        break
    return ratings


# ------------------------------------------------------------------------------ parser


def _refuse(response: TextResponse) -> None:
    """NoFilmData for pages that are no article: special, category, search, list pages."""
    parts = urlsplit(response.url)
    path = unquote(parts.path)
    if "search=" in parts.query or path.lower().startswith("/wiki/special:search"):
        raise NoFilmData("search_results", "a Wikipedia search page")
    if m := _NAMESPACE.match(path):
        reason = "listing" if m.group(1).lower() == "category" else "not_a_film_page"
        raise NoFilmData(reason, f"a {m.group(1)} page, not an article")
    if path.startswith("/wiki/List_of_") or path.startswith("/wiki/Lists_of_"):
        raise NoFilmData("listing", "a list article")


def parse_article(response: TextResponse) -> list[ScrapedRecord]:
    """One ScrapedFilm from a film/TV article's infobox and lead; NoFilmData otherwise."""
    _refuse(response)
    text = response.text
    root = _lead_tree(text)
    if root is None:
        raise NoFilmData("not_a_film_page", "no article content")
    box = _infobox(root)
    if box is None:
        raise NoFilmData("not_a_film_page", "an article without an infobox")
    rows = _rows(box)
    labels = {label for label, _ in rows}
    classes = f" {box.get('class') or ''} ".lower()
    is_episode = bool(labels & _EPISODE_LABELS)
    is_tv = is_episode or bool(labels & _TV_LABELS) or " ib-tv " in classes
    is_film = "directed by" in labels and bool(
        labels & {"release date", "release dates", "running time", "starring", "produced by"}
    )
    if not (is_tv or is_film):
        if " vcard " in classes or " biography " in classes or labels & _PERSON_LABELS:
            raise NoFilmData("person_page", "a person's article (infobox person)")
        raise NoFilmData("not_a_film_page", "the article's infobox is no film or TV infobox")
    if is_film and labels & {"release date", "release dates"}:
        is_tv = is_episode  # a film infobox that also names a network (TV films) stays a film

    paragraphs = _lead_paragraphs(root)
    lead = paragraphs[0] if paragraphs else None
    heading = _heading(text, response.url)
    title = _caption(box) or _bold_term(lead) or _without_disambiguation(heading)

    cells = dict(reversed(rows))  # first row of each label wins
    year = release_date = None
    for label in _RELEASE_LABELS:
        if label in cells:
            year, release_date = _release(cells[label], tv=is_tv and not is_episode)
            if year:
                break

    titles = _native_titles(rows)
    if not any(t.type == "original" for t in titles) and (native := _lead_native_title(lead)):
        titles.append(native)
    original = next((t.title for t in titles if t.type == "original"), None)

    if is_episode:
        kind = "TV Episode"
    elif is_tv:
        genre_text = " ".join(_lines(cells["genre"])) if "genre" in cells else ""
        mini = (
            "no. of seasons" not in labels
            and "no. of series" not in labels
            and (
                "miniseries" in genre_text.lower() or "miniseries" in (_caption(box) or "").lower()
            )
        )
        kind = "TV Mini Series" if mini else "TV Series"
        if not labels & {"no. of seasons", "no. of series", "no. of episodes"}:
            kind = "TV Movie"  # a television infobox with no seasons or episodes: a TV film
    else:
        short = _SHORT_DESC.search(text)
        description = squash(html.unescape(_TAG.sub("", short.group(1)))) if short else None
        if not description and lead is not None:
            description = (_text(lead) or "").split(". ")[0]
        kind = _kind_hint(description)

    genres = []
    if is_tv and "genre" in cells:
        genres = [g for g in (_clean_name(x) for x in _lines(cells["genre"]))
                  if g and not _FORMAT_GENRES.match(g)]  # fmt: skip

    season = episode = series = None
    if is_episode:
        series = _series_of_episode(box)
        for label in ("episode no.", "episode no"):
            if label in cells:
                season, episode = _episode_numbers(cells[label])
                break

    runtime = _first_line(cells["running time"]) if "running time" in cells else None
    images = box.xpath(".//img/@src")
    poster = response.urljoin(images[0]) if images else None
    page_name = _page_name(text, response.url)
    film = ScrapedFilm(
        site=SITE,
        url=response.url,
        title=title,
        original_title=original,
        titles=titles,
        year=year,
        release_date=release_date,
        kind=kind,
        runtime=runtime,
        credits=_credits(rows),
        genres=genres,
        external_ids=_external_ids(text, page_name),
        ratings=[] if is_tv and not is_episode else _ratings(text),
        synopsis=_text(lead) if lead is not None else None,
        poster_url=poster,
        series=series,
        season=season,
        episode=episode,
    )
    return [film]


RULES = SiteRules(
    name=SITE,
    hosts=("en.wikipedia.org", "en.m.wikipedia.org"),
    start_path="/wiki/Lists_of_films",
    routes=(Route(r"^/wiki/", parse_article), Route(r"^/w/index\.php$", parse_article)),
    follow=(
        # Disambiguated film / series articles: "Titanic_(1997_film)", "Fargo_(TV_series)".
        r"^/wiki/[^/:]+_\((?:[^()/]*_)?(?:film|TV_series|miniseries|TV_program|web_series)\)$",
        r"^/wiki/List_of_[^/:]*films",
    ),
    settings={
        "DOWNLOAD_DELAY": 2.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "AUTOTHROTTLE_ENABLED": True,
    },
)
