"""Douban Movie (movie.douban.com): the Chinese film and TV database.

Layouts handled:

* Subject pages (``/subject/<id>/``): a film, a series, or one *season* of a series (Douban
  makes each season its own subject: "神秘博士 第四季" is Doctor Who season 4). The JSON-LD
  ``Movie``/``TVSeries`` object is the base, but its ``name`` glues the Chinese title and the
  original title together ("盗梦空间 Inception"), and so do its people ("克里斯托弗·诺兰
  Christopher Nolan"). The page's own markup splits them: ``<title>`` holds the Chinese title
  alone ("盗梦空间 (豆瓣)"), ``<span property="v:itemreviewed">`` both, and the ``#info`` block
  holds labelled rows (导演 directors, 编剧 writers, 主演 cast, 类型 genres, 制片国家/地区,
  语言, 上映日期/首播 release dates, 片长/单集片长 runtime, 季数 season, 又名 other titles,
  IMDb id). The rating is the users' average on /10 (``#interest_sectl``).
* Person pages (``/celebrity/<id>/``, ``www.douban.com/personage/<id>/``): ``person_page``.
* Search and chart/list pages: ``search_results`` / ``listing``.

People are reported by their original (usually Latin) name when the JSON-LD gives one: that
is the form other sites print.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from scrapy.http import TextResponse

from crawler.extract.jsonld import jsonld_objects, script_blocks, types_of
from crawler.extract.pagecheck import why_not_film
from crawler.extract.schema_org import film_records
from crawler.extract.text import squash
from crawler.sites.base import NoFilmData, Route, SiteRules, not_film
from pipelines.records import (
    ScrapedCredit,
    ScrapedFilm,
    ScrapedRating,
    ScrapedRecord,
    ScrapedTitle,
)

SITE = "douban"

_SUBJECT_PATH = r"^/subject/\d+/?$"
_SUBJECT_ID = re.compile(r"/subject/(\d+)")
_CJK = re.compile(
    r"[\u2e80-\u2fdf\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
_TITLE_SUFFIX = re.compile(r"\s*\(\s*豆瓣\s*\)\s*$")
_IMDB = re.compile(r"\btt\d{7,}\b")
_YEAR = re.compile(r"\d{4}")
_DATE_KEY = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})")  # a bare "1987(中国大陆)" dates nothing
_SEASON_CN = re.compile(r"\s*第\s*([零〇一二两三四五六七八九十百\d]+)\s*季\s*")
_SEASON_EN = re.compile(r"\bseason\s+(\d+)\b", re.I)
_AKA_REGION = re.compile(r"\s*[(（]\s*(港|台|大陆|香港|台湾|新加坡|澳门)\s*[)）]\s*$")
_REGIONS = {"港": "HK", "香港": "HK", "台": "TW", "台湾": "TW", "大陆": "CN", "新加坡": "SG",
            "澳门": "MO"}  # fmt: skip
# 语言 row -> ISO 639-1 (the language of the original title).
_LANGUAGES = {
    "英语": "en", "汉语普通话": "zh", "普通话": "zh", "粤语": "zh", "日语": "ja", "韩语": "ko",
    "法语": "fr", "德语": "de", "西班牙语": "es", "意大利语": "it", "俄语": "ru",
    "葡萄牙语": "pt", "瑞典语": "sv", "丹麦语": "da", "挪威语": "no", "芬兰语": "fi",
    "荷兰语": "nl", "波兰语": "pl", "捷克语": "cs", "匈牙利语": "hu", "土耳其语": "tr",
    "希腊语": "el", "印地语": "hi", "泰语": "th", "波斯语": "fa", "阿拉伯语": "ar",
    "希伯来语": "he", "冰岛语": "is", "罗马尼亚语": "ro",
}  # fmt: skip
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}  # fmt: skip
# #info labels of credits -> roles.
_CREDIT_ROWS = {"导演": "director", "编剧": "writer", "主演": "cast"}
# JSON-LD properties holding the same people.
_JSONLD_ROLES = (("director", "director"), ("author", "writer"), ("actor", "cast"))


# ------------------------------------------------------------------------------ text helpers


def _has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


def split_name(raw: str) -> tuple[str, str | None]:
    """ "克里斯托弗·诺兰 Christopher Nolan" -> ("克里斯托弗·诺兰", "Christopher Nolan");
    "Lee Knight Lee Knight" (no Chinese name: Douban repeats it) -> ("Lee Knight", None)."""
    tokens = raw.split()
    half = len(tokens) // 2
    if len(tokens) % 2 == 0 and tokens[:half] == tokens[half:]:
        tokens = tokens[:half]
    n = 0
    while n < len(tokens) and _has_cjk(tokens[n]):
        n += 1
    if 0 < n < len(tokens):
        return " ".join(tokens[:n]), " ".join(tokens[n:])
    return " ".join(tokens), None


def split_title(full: str, short: str | None) -> tuple[str, str | None]:
    """(Chinese title, original title) from the glued "盗梦空间 Inception", using the page's
    ``<title>`` ("盗梦空间") when it is a prefix, else the leading run of CJK words."""
    if short and full.startswith(short):
        rest = full[len(short) :].strip()
        return short, (rest or None)
    chinese, original = split_name(full)
    return chinese, original


def _cn_number(text: str) -> int | None:
    """ "四" -> 4, "十二" -> 12, "二十" -> 20, "13" -> 13."""
    if text.isdigit():
        return int(text)
    if "百" in text:
        return None
    if "十" in text:
        tens, _, units = text.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (
            _CN_DIGITS.get(units, 0) if units else 0
        )
    if len(text) == 1 and text in _CN_DIGITS:
        return _CN_DIGITS[text]
    return None


# ------------------------------------------------------------------------------ #info rows


def _el_text(node: Any) -> str:
    if isinstance(node, str):
        return node
    if node.tag == "select":  # the 季数 row: only the selected season counts
        picked = node.xpath("./option[@selected]")
        return "".join(picked[0].itertext()) if picked else ""
    return "".join(node.itertext())


def info_rows(info: etree._Element) -> dict[str, list[Any]]:
    """The ``#info`` block as {label: [nodes and text of the row after the label]}; rows end
    at ``<br>``; a label is a ``span.pl`` either alone ("类型:") or wrapped with its value."""
    lines: list[list[Any]] = [[]]
    if info.text:
        lines[-1].append(info.text)
    for child in info:
        if not isinstance(child.tag, str):
            pass
        elif child.tag == "br":
            lines.append([])
        else:
            lines[-1].append(child)
        if child.tail:
            lines[-1].append(child.tail)
    rows: dict[str, list[Any]] = {}
    for line in lines:
        parts: list[Any] = []
        for node in line:
            # <span><span class="pl">导演</span>: <span class="attrs">...</span></span>
            if (
                not isinstance(node, str)
                and node.tag == "span"
                and node.xpath("./span[@class='pl']")
            ):
                if node.text:
                    parts.append(node.text)
                for sub in node:
                    parts.append(sub)
                    if sub.tail:
                        parts.append(sub.tail)
            else:
                parts.append(node)
        label = None
        values: list[Any] = []
        for node in parts:
            if label is None:
                if not isinstance(node, str) and "pl" in (node.get("class") or "").split():
                    label = squash(_el_text(node).replace("：", ":").rstrip(": ")) or ""
                continue
            values.append(node)
        if label:
            rows.setdefault(label, values)
    return rows


def _row_text(values: list[Any]) -> str:
    return squash("".join(_el_text(v) for v in values).lstrip(":：")) or ""


def _row_items(values: list[Any]) -> list[str]:
    """A row's " / "-separated values."""
    return [s for s in (squash(p) for p in _row_text(values).split(" / ")) if s]


def _row_links(values: list[Any]) -> list[tuple[str, str]]:
    """(name, href) of each link in a credits row."""
    out: list[tuple[str, str]] = []
    for node in values:
        if isinstance(node, str):
            continue
        links = [node] if node.tag == "a" else node.xpath(".//a")
        for a in links:
            name = squash("".join(a.itertext()))
            if name:
                out.append((name, a.get("href") or ""))
    return out


# ------------------------------------------------------------------------------ pieces


def _people_names(base: dict[str, Any] | None) -> dict[str, list[tuple[str, str | None, str]]]:
    """JSON-LD people by role: (Chinese-or-only name, original name, url)."""
    out: dict[str, list[tuple[str, str | None, str]]] = {}
    if not base:
        return out
    for prop, role in _JSONLD_ROLES:
        value = base.get(prop)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                name = squash(item["name"].replace("&#39;", "'"))
                if name:
                    chinese, original = split_name(name)
                    out.setdefault(role, []).append((chinese, original, item.get("url") or ""))
    return out


def _credits(rows: dict[str, list[Any]], people: dict[str, list[tuple[str, str | None, str]]],
             fallback: list[ScrapedCredit]) -> list[ScrapedCredit]:  # fmt: skip
    """#info credits in page order, each under its original name when the JSON-LD gives it,
    then the JSON-LD people the #info block left out."""
    credits: list[ScrapedCredit] = []
    seen: set[tuple[str, str]] = set()

    def add(name: str, role: str) -> None:
        if (name, role) not in seen:
            seen.add((name, role))
            credits.append(ScrapedCredit(name=name, role=role))

    for label, role in _CREDIT_ROWS.items():
        known = people.get(role, [])
        lookup: dict[str, str] = {}
        for chinese, original, _url in known:
            shown = original or chinese
            lookup.setdefault(chinese, shown)
            if original:
                lookup.setdefault(original, shown)
        for name, _href in _row_links(rows.get(label, [])):
            add(lookup.get(name, name), role)
        for chinese, original, _url in known:
            add(original or chinese, role)
    if not credits:
        return fallback
    return credits


def _titles(display: str, original: str | None, akas: list[str], language: str | None
            ) -> list[ScrapedTitle]:  # fmt: skip
    titles = [ScrapedTitle(title=display, language="zh", type="display")]
    if original:
        titles.append(ScrapedTitle(title=original, language=language, type="original"))
    seen = {display, original}
    for aka in akas:
        region = None
        if m := _AKA_REGION.search(aka):
            region = _REGIONS.get(m.group(1))
            aka = aka[: m.start()].strip()
        if aka and aka not in seen:
            seen.add(aka)
            titles.append(ScrapedTitle(title=aka, language="zh" if _has_cjk(aka) else None,
                                       region=region))  # fmt: skip
    return titles


def _release_date(info: Any) -> str | None:
    """The earliest of the page's release dates ("2010-07-16(美国)"), as printed."""
    if info is None:
        return None
    dates = [squash(d) for d in info.xpath(".//*[@property='v:initialReleaseDate']/@content")]
    dated = [(m.group(1), d) for d in dates if d and (m := _DATE_KEY.match(d))]
    return min(dated)[1] if dated else None


def _rating(box: Any) -> ScrapedRating | None:
    """The users' average (/10) in ``#interest_sectl``; none when too few rated."""
    if box is None:
        return None
    value = squash("".join(box.xpath(".//*[@property='v:average']//text()")))
    if not value:
        return None
    best = box.xpath(".//*[@property='v:best']/@content")
    return ScrapedRating(
        source=SITE,
        value=value,
        scale_max=squash(best[0]) if best else "10",
        count=squash("".join(box.xpath(".//*[@property='v:votes']//text()"))),
        kind="user_average",
    )


def _season(rows: dict[str, list[Any]], display: str, original: str | None) -> str | None:
    if "季数" in rows and (text := _row_text(rows["季数"])):
        return text
    if m := _SEASON_CN.search(display):
        number = _cn_number(m.group(1))
        return str(number) if number is not None else None
    if original and (m := _SEASON_EN.search(original)):
        return m.group(1)
    return None


# ------------------------------------------------------------------------------ parsers


def _ld_objects(text: str) -> list[dict[str, Any]]:
    """The page's JSON-LD objects: each block read by ``json`` directly (Douban's blocks are
    plain objects, and the shared reader's wrapper regex is slow on their indentation),
    else by the forgiving shared reader."""
    out: list[dict[str, Any]] = []
    for raw in script_blocks(text):
        try:
            value = json.loads(raw, strict=False)
        except ValueError:
            return jsonld_objects(text)
        if isinstance(value, dict) and "@graph" not in value:
            out.append(value)
        else:
            return jsonld_objects(text)
    return out


_IDS = ("info", "interest_sectl", "link-report-intra", "link-report", "mainpic")


def _anchors(root: Any) -> dict[str, Any]:
    """The page's landmarks: {id or tag: element}. ``id()`` is a hash lookup in lxml's HTML
    trees (a ``//*[@id=...]`` scan costs a millisecond on a Douban page)."""
    out: dict[str, Any] = {}
    found = root.xpath(f"id('{' '.join(_IDS)}')") or root.xpath(
        " | ".join(f"//*[@id='{i}']" for i in _IDS)
    )
    for el in found:
        out.setdefault(el.get("id"), el)
    for tag in ("h1", "title"):
        if els := root.xpath(f"//{tag}"):
            out[tag] = els[0]
    return out


def _kind_of(obj: dict[str, Any] | None, rows: dict[str, list[Any]]) -> str:
    types = types_of(obj) if obj else set()
    for t in ("TVSeason", "TVSeries", "Movie"):
        if t in types:
            return t
    return "TVSeries" if ("集数" in rows or "首播" in rows) else "Movie"


def parse_subject(response: TextResponse) -> list[ScrapedRecord]:
    """One ScrapedFilm from a subject page; NoFilmData for a non-film subject or a wall."""
    text = response.text
    objects = _ld_objects(text)
    base = next((o for o in objects if types_of(o) & {"Movie", "TVSeries", "TVSeason"}), None)
    marks = _anchors(response.selector.root)
    h1 = marks.get("h1")
    reviewed = (
        squash(" ".join(h1.xpath(".//*[@property='v:itemreviewed']//text()")))
        if h1 is not None
        else None
    )
    if base is None:
        host = urlsplit(response.url).hostname or ""
        other_types = sorted({t for o in objects for t in types_of(o)})
        if other_types or host.startswith(("book.", "music.", "read.", "game.")):
            detail = f"a Douban subject that is no film ({', '.join(other_types) or host})"
            raise NoFilmData("not_a_film_page", detail)
        if not reviewed:
            raise NoFilmData(why_not_film(response) or "not_a_film_page", "no film subject")
    # The JSON-LD reading is only needed for what the markup lacks (or as the whole film).
    needs_base = base is not None and (not reviewed or "info" not in marks)
    records = film_records(objects, SITE, response.url, text) if needs_base else []
    base_film = next((r for r in records if isinstance(r, ScrapedFilm)), None)
    full = reviewed or (
        squash(base.get("name")) if base and isinstance(base.get("name"), str) else ""
    )
    title_el = marks.get("title")
    short = (
        _TITLE_SUFFIX.sub("", squash("".join(title_el.itertext())) or "")
        if title_el is not None
        else ""
    )
    display, original = split_title(full or "", short or None)
    info = marks.get("info")
    rows = info_rows(info) if info is not None else {}

    languages = _row_items(rows.get("语言", []))
    language = _LANGUAGES.get(languages[0]) if languages else None
    season = _season(rows, display, original)
    kind = _kind_of(base, rows)
    akas = _row_items(rows.get("又名", []))
    if kind == "TVSeries" and any("迷你剧" in a for a in akas):
        kind = "TV Mini Series"  # "太空堡垒卡拉狄加 电视迷你剧": the page calls it a miniseries
    series = None
    if season is not None:
        kind = "TVSeason"
        series = squash(_SEASON_CN.sub(" ", display)) or display
    year_text = squash("".join(h1.xpath(".//*[@class='year']//text()"))) if h1 is not None else None
    year_m = _YEAR.search(year_text or "")
    runtime_items = _row_items(rows.get("片长") or rows.get("单集片长") or [])
    ids = {"douban": m.group(1)} if (m := _SUBJECT_ID.search(response.url)) else {}
    if "IMDb" in rows and (m := _IMDB.search(_row_text(rows["IMDb"]))):
        ids["imdb"] = m.group(0)
    elif base_film is not None and "imdb" in base_film.external_ids:
        ids["imdb"] = base_film.external_ids["imdb"]
    rating = _rating(marks.get("interest_sectl"))
    genres = info.xpath(".//*[@property='v:genre']/text()") if info is not None else []
    poster = marks["mainpic"].xpath(".//img/@src") if "mainpic" in marks else []
    fallback = base_film or ScrapedFilm(site=SITE, url=response.url)
    if base_film is None and base is not None:
        fallback = ScrapedFilm(
            site=SITE,
            url=response.url,
            runtime=squash(base.get("duration")) if isinstance(base.get("duration"), str) else None,
            synopsis=squash(base.get("description")) if isinstance(base.get("description"), str) else None,
            poster_url=squash(base.get("image")) if isinstance(base.get("image"), str) else None,
            release_date=squash(base.get("datePublished")) if isinstance(base.get("datePublished"), str) else None,
        )  # fmt: skip
    film = ScrapedFilm(
        site=SITE,
        url=response.url,
        title=display,
        original_title=original,
        titles=_titles(display, original, akas, language),
        year=year_m.group(0) if year_m else fallback.year,
        release_date=_release_date(info) or fallback.release_date,
        kind=kind,
        runtime=runtime_items[0] if runtime_items else fallback.runtime,
        credits=_credits(rows, _people_names(base), fallback.credits),
        genres=[g.strip() for g in genres if g.strip()] or fallback.genres,
        external_ids=ids,
        ratings=[rating] if rating else fallback.ratings,
        synopsis=_synopsis(marks) or fallback.synopsis,
        poster_url=fallback.poster_url or (poster[0] if poster else None),
        series=series,
        season=season,
    )
    return [film, *(r for r in records if not isinstance(r, ScrapedFilm))]


def _synopsis(marks: dict[str, Any]) -> str | None:
    """The full summary (``span.all`` when the page folds it, else ``v:summary``)."""
    box = marks.get("link-report-intra")
    if box is None:
        box = marks.get("link-report")
    if box is None:
        return None
    nodes = box.xpath(".//span[contains(concat(' ', @class, ' '), ' all ')]") or box.xpath(
        ".//*[@property='v:summary']"
    )
    parts = [squash(t) for t in nodes[0].itertext()] if nodes else []
    return "\n\n".join(p for p in parts if p) or None


parse_person = not_film("person_page", "a Douban person page")


parse_search = not_film("search_results", "a Douban search page")


parse_listing = not_film("listing", "a Douban chart/list page")


RULES = SiteRules(
    name=SITE,
    hosts=("douban.com",),
    routes=(
        Route(_SUBJECT_PATH, parse_subject),
        Route(r"^/(?:personage|celebrity)/\d+", parse_person),
        Route(r"^/(?:subject_search|search)\b", parse_search),
        Route(r"^/(?:top250|chart|tag|typerank|explore|doulist)\b", parse_listing),
    ),
    follow=(_SUBJECT_PATH, r"^/top250$", r"^/chart$"),
    settings={
        "DOWNLOAD_DELAY": 3.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "AUTOTHROTTLE_ENABLED": True,
    },
)
