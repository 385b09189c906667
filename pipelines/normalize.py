"""Normalization: pure functions from what a page says to values the catalog can compare.

Each ``parse_*`` takes a raw string and returns the parsed value or ``None``. ``normalize``
turns a scraped record into a plain dict for ``pipelines.validate``, and lists the raw values
it could not read (``Normalized.unreadable``) so they are counted, not silently lost; the raw
payload itself is always stored beside the record.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import ftfy

from pipelines.records import (
    FilmRef,
    Kind,
    Monetization,
    ScrapedFilm,
    ScrapedOffer,
    ScrapedQuote,
    ScrapedRating,
    ScrapedRatingRecord,
    ScrapedRecord,
    ScrapedReview,
)

# Values that templated pages print where they have nothing: they mean "no value".
NULL_WORDS = frozenset(
    {
        "undefined", "null", "none", "nan", "n/a", "n.a.", "na", "-", "--", "—", "–", "?",
        "no reviews", "no rating", "no ratings", "not rated yet", "no score", "tba", "tbd",
        "not available", "unknown", "0 reviews", "no votes",
    }
)  # fmt: skip

_WS = re.compile(r"\s+")
# Printable ASCII and whitespace, no "&": text ftfy returns unchanged, so it is not asked
# (most of what pages print; ftfy is the costliest step of normalizing a record).
_PLAIN_ASCII = re.compile(r"[\t\n\r -%'-~]*")


# ------------------------------------------------------------------------------ text


def clean_text(raw: str | None) -> str | None:
    """Entities decoded, mojibake repaired, whitespace collapsed; null-words become None."""
    if raw is None:
        return None
    text = html.unescape(raw)
    if not _PLAIN_ASCII.fullmatch(text):
        text = ftfy.fix_text(text, normalization="NFC")
    text = _WS.sub(" ", text).strip()
    if not text or text.lower().rstrip(".") in NULL_WORDS:
        return None
    return text


def clean_block(raw: str | None) -> str | None:
    """Like ``clean_text`` but keeps paragraph breaks (synopses, review bodies)."""
    if raw is None:
        return None
    paras = [clean_text(p) for p in re.split(r"\n\s*\n", raw)]
    text = "\n\n".join(p for p in paras if p)
    return text or None


def fold(text: str) -> str:
    """Accents stripped, case folded: "Drácula" -> "dracula". For comparison only."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold().replace("ß", "ss").replace("ø", "o").replace("ł", "l")


def has_undecodable(text: str | None) -> bool:
    """True when text holds U+FFFD: bytes were decoded with the wrong charset."""
    return text is not None and "\ufffd" in text


# ------------------------------------------------------------------------------ numbers


_YEAR = re.compile(r"(?<!\d)(18[89]\d|19\d\d|20\d\d|2100)(?!\d)")


def parse_year(raw: str | int | None) -> int | None:
    """The first plausible year in the text: "(1995)" -> 1995, "2014–2024" -> 2014."""
    if raw is None:
        return None
    if isinstance(raw, int):
        return raw if 1870 <= raw <= 2100 else None
    m = _YEAR.search(raw)
    return int(m.group(1)) if m else None


_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?T?(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+)S)?$",
    re.I,
)
_HOURS = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:h|hr|hrs|hours?|std|ч|小时|heures?)\b\.?", re.I)
_MINUTES = re.compile(r"(\d+)\s*(?:m|min|mins|minutes?|minut|мин|分钟|分)\b\.?", re.I)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2})?$")


def parse_runtime(raw: str | int | None) -> int | None:
    """Minutes from "61", "1h 51m", "PT1H51M", "2 hr. 11 min.", "111 min", "1:51"."""
    if raw is None:
        return None
    if isinstance(raw, int):
        return raw if raw > 0 else None
    text = raw.strip()
    if not text:
        return None
    m = _ISO_DURATION.match(text)
    if m and any(m.group(g) for g in "dhms"):
        total = (
            int(m.group("d") or 0) * 1440
            + float(m.group("h") or 0) * 60
            + float(m.group("m") or 0)
            + int(m.group("s") or 0) / 60
        )
        return round(total) or None
    m = _CLOCK.match(text)
    if m:
        return int(m.group(1)) * 60 + int(m.group(2)) or None
    hours = _HOURS.search(text)
    minutes = _MINUTES.search(text)
    if hours or minutes:
        total = float(hours.group(1).replace(",", ".")) * 60 if hours else 0.0
        if minutes:
            total += int(minutes.group(1))
        elif hours:  # "1 h 30", "1h30": the bare number after the hours is minutes
            rest = re.match(r"\s*(\d{1,2})\b", text[hours.end() :])
            total += int(rest.group(1)) if rest else 0
        return round(total) or None
    m = re.match(r"^(\d{1,4})\b", text)
    if m:
        return int(m.group(1)) or None
    return None


def parse_number(raw: str | None) -> float | None:
    """A decimal number, with a decimal comma or point: "8,6" -> 8.6, "94%" -> 94."""
    if raw is None:
        return None
    m = re.search(r"\d+(?:[.,]\d+)?", raw.replace("\u00a0", " "))
    if not m:
        return None
    return float(m.group(0).replace(",", "."))


def parse_count(raw: str | int | None) -> int | None:
    """A count with thousands separators: "1,234", "1 234", "1.234", "12K" -> int."""
    if raw is None:
        return None
    if isinstance(raw, int):
        return raw
    text = raw.strip().replace("\u00a0", " ")
    m = re.search(r"(\d+(?:[.,]\d+)?)\s*([KkMm])\b", text)
    if m:
        factor = 1000 if m.group(2).lower() == "k" else 1_000_000
        return round(float(m.group(1).replace(",", ".")) * factor)
    m = re.search(r"\d[\d\s.,']*", text)
    if not m:
        return None
    digits = re.sub(r"\D", "", m.group(0))
    return int(digits) if digits else None


# ------------------------------------------------------------------------------ ratings


def parse_rating(raw: ScrapedRating) -> dict[str, Any] | None:
    """A rating on its own scale and on 0-100; None when the page shows no value."""
    text = clean_text(raw.value)
    if text is None:
        return None
    value = parse_number(text)
    if value is None:
        return None
    if raw.scale_max is not None:
        scale = parse_number(raw.scale_max)
    elif "%" in text:
        scale = 100.0
    else:
        m = re.search(r"/\s*(\d+)", text)
        scale = float(m.group(1)) if m else (10.0 if value <= 10 else 100.0)
    if not scale or value > scale:
        return None
    return {
        "source": raw.source,
        "raw": text,
        "scale_max": scale,
        "value_100": round(value * 100 / scale, 2),
        "count": parse_count(clean_text(raw.count)),
        "kind": raw.kind,
    }


# ------------------------------------------------------------------------------ dates

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "jan", "janvier", "januar", "enero", "leden", "ledna", "января", "январь"),
            (
                "february",
                "feb",
                "février",
                "fevrier",
                "februar",
                "febrero",
                "únor",
                "února",
                "февраля",
                "февраль",
            ),
            ("march", "mar", "mars", "märz", "marzo", "březen", "března", "марта", "март"),
            ("april", "apr", "avril", "abril", "duben", "dubna", "апреля", "апрель"),
            ("may", "mai", "mayo", "květen", "května", "мая", "май"),
            ("june", "jun", "juin", "juni", "junio", "červen", "června", "июня", "июнь"),
            ("july", "jul", "juillet", "juli", "julio", "červenec", "července", "июля", "июль"),
            ("august", "aug", "août", "aout", "agosto", "srpen", "srpna", "августа", "август"),
            ("september", "sep", "sept", "septembre", "septiembre", "září", "сентября", "сентябрь"),
            (
                "october",
                "oct",
                "octobre",
                "oktober",
                "octubre",
                "říjen",
                "října",
                "октября",
                "октябрь",
            ),
            (
                "november",
                "nov",
                "novembre",
                "noviembre",
                "listopad",
                "listopadu",
                "ноября",
                "ноябрь",
            ),
            (
                "december",
                "dec",
                "décembre",
                "decembre",
                "dezember",
                "diciembre",
                "prosinec",
                "prosince",
                "декабря",
                "декабрь",
            ),
        ]
    )
    for m in names
}

_ISO_DT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?"
    r"(Z|[+-]\d{2}:?\d{2})?)?$"
)


def parse_datetime(raw: str | None) -> str | None:
    """ISO 8601 (UTC when the page gives an offset, as printed when it gives none).

    "2022-08-19 13:55:03" -> "2022-08-19T13:55:03"; "8 September 1960 (USA)" -> "1960-09-08";
    "Oct 12, 1934 Wide" -> "1934-10-12"; "12/22/1995 (US)" -> "1995-12-22" (US order).
    """
    text = clean_text(raw)
    if text is None:
        return None
    text = re.sub(r"\s*\(.*?\)\s*", " ", text).strip()
    m = _ISO_DT.match(text)
    if m:
        y, mo, d, hh, mm, ss, tz = m.groups()
        if hh is None:
            return _date(int(y), int(mo), int(d))
        try:
            dt = datetime(int(y), int(mo), int(d), int(hh), int(mm), int(ss or 0))
        except ValueError:
            return None
        if tz:
            offset = datetime.strptime(tz.replace(":", "").replace("Z", "+0000"), "%z").tzinfo
            dt = dt.replace(tzinfo=offset).astimezone(UTC).replace(tzinfo=None)
        return dt.strftime("%Y-%m-%dT%H:%M:%S")
    m = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})\b", text)
    if m:  # US month/day order unless the first number cannot be a month (17/08/2016)
        first, second = int(m.group(1)), int(m.group(2))
        month, day = (second, first) if first > 12 else (first, second)
        return _date(int(m.group(3)), month, day)
    m = re.match(r"^(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{4})\b", text)
    if m:  # European 19.08.2022
        return _date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    words = re.findall(r"[^\W\d_]+\.?|\d+", fold(text))
    month_names = _month_names()
    day = month = year = None
    for w in words:
        w = w.rstrip(".")
        if w.isdigit():
            n = int(w)
            if len(w) == 4 and year is None:
                year = n
            elif n <= 31 and day is None:
                day = n
        elif month is None and w in month_names:
            month = month_names[w]
    if year and month:
        return _date(year, month, day or 1) if day else f"{year:04d}-{month:02d}-01"
    return None


@cache
def _month_names() -> dict[str, int]:
    return {fold(k): v for k, v in _MONTHS.items()}


def _date(y: int, m: int, d: int) -> str | None:
    try:
        return datetime(y, m, d).strftime("%Y-%m-%d")
    except ValueError:
        return None


# ------------------------------------------------------------------------------ kinds

# Ordered: the first rule whose words occur in the hint wins.
_KIND_RULES: list[tuple[Kind, tuple[str, ...]]] = [
    (Kind.video_game, ("videogame", "video game", "videogame")),
    (Kind.tv_episode, ("tvepisode", "tv episode", "episode")),
    (Kind.tv_season, ("tvseason", "tv season", "season")),
    (Kind.tv_miniseries, ("mini series", "mini-series", "miniseries", "tv mini")),
    (Kind.tv_series, ("tvseries", "tv series", "tv show", "series", "seriál", "série", "电视剧")),
    (Kind.tv_special, ("tv special",)),
    (Kind.tv_movie, ("tv movie", "tv film", "made for tv", "téléfilm", "telefilm")),
    (Kind.concert, ("concert",)),
    (Kind.documentary, ("documentary", "documentaire", "dokument", "纪录片", "docu")),
    (Kind.short, ("short", "court métrage", "court-métrage", "krátkometrážní", "短片")),
    (Kind.video, ("video",)),
    (Kind.feature, ("movie", "film", "feature", "motion picture")),
]


def parse_kind(hint: str | None, genres: list[str] | None = None) -> Kind:
    """The kind of work from a page's label ("TV Series", "Concerts, Music, Documentary movie")
    and genres. A concert film listed under Documentary is a concert; a plain film a feature."""
    text = " " + fold(" ".join([hint or "", *(genres or [])])) + " "
    text = text.replace("_", " ")
    for kind, words in _KIND_RULES:
        if any(_word_in(w, text) for w in words):
            return kind
    return Kind.feature if hint or genres else Kind.unknown


def _word_in(word: str, text: str) -> bool:
    """``text`` is folded; so is the word ("téléfilm" finds "telefilm")."""
    return _word_pattern(word).search(text) is not None


@cache
def _word_pattern(word: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z]){re.escape(fold(word))}")


# ------------------------------------------------------------------------------ people


_DISAMBIG = re.compile(r"\s*\((?:[IVX]+|\d+)\)\s*$")


def person_name(raw: str | None) -> str | None:
    """Display form of a person's name: "Cage, Nicolas (I)" -> "Nicolas Cage"."""
    text = clean_text(raw)
    if text is None:
        return None
    text = _DISAMBIG.sub("", text)
    if text.count(",") == 1:
        last, first = (p.strip() for p in text.split(","))
        if first and last and not re.fullmatch(r"(?i)jr\.?|sr\.?|[IVX]+", first):
            text = f"{first} {last}"
    return text or None


# ------------------------------------------------------------------------------ offers

# English country and language names as catalogues print them (sites in other languages
# keep their own tables beside their parsers).
_COUNTRIES = {
    "us": "US", "great britain": "GB", "deutschland": "DE", "česko": "CZ",
    "argentina": "AR", "australia": "AU", "austria": "AT", "azerbaijan": "AZ", "bahrain": "BH",
    "belgium": "BE", "bolivia": "BO", "bosnia and herzegovina": "BA", "brazil": "BR",
    "bulgaria": "BG", "canada": "CA", "chile": "CL", "china": "CN", "colombia": "CO",
    "croatia": "HR", "cyprus": "CY", "czechia": "CZ", "czech republic": "CZ", "denmark": "DK",
    "ecuador": "EC", "egypt": "EG", "estonia": "EE", "finland": "FI", "france": "FR",
    "georgia": "GE", "germany": "DE", "west germany": "DE", "greece": "GR", "hong kong": "HK",
    "hungary": "HU", "iceland": "IS", "india": "IN", "indonesia": "ID", "iran": "IR",
    "iraq": "IQ", "ireland": "IE", "israel": "IL", "italy": "IT", "japan": "JP",
    "jordan": "JO", "kazakhstan": "KZ", "kuwait": "KW", "latvia": "LV", "lebanon": "LB",
    "lithuania": "LT", "luxembourg": "LU", "malaysia": "MY", "mexico": "MX", "monaco": "MC",
    "morocco": "MA", "netherlands": "NL", "new zealand": "NZ", "nigeria": "NG",
    "north macedonia": "MK", "norway": "NO", "oman": "OM", "pakistan": "PK", "panama": "PA",
    "paraguay": "PY", "peru": "PE", "philippines": "PH", "poland": "PL", "portugal": "PT",
    "qatar": "QA", "romania": "RO", "russia": "RU", "saudi arabia": "SA", "serbia": "RS",
    "serbia and montenegro": "CS", "singapore": "SG", "slovakia": "SK", "slovenia": "SI",
    "south africa": "ZA", "south korea": "KR", "korea": "KR", "soviet union": "SU",
    "spain": "ES", "sweden": "SE", "switzerland": "CH", "syria": "SY", "taiwan": "TW",
    "thailand": "TH", "tunisia": "TN", "turkey": "TR", "türkiye": "TR", "ukraine": "UA",
    "united arab emirates": "AE", "united kingdom": "GB", "uk": "GB", "united states": "US",
    "usa": "US", "uruguay": "UY", "venezuela": "VE", "vietnam": "VN",
    "yugoslavia": "YU",
}  # fmt: skip
_LANGUAGES = {
    "arabic": "ar", "bulgarian": "bg", "cantonese": "zh", "catalan": "ca", "chinese": "zh",
    "croatian": "hr", "czech": "cs", "danish": "da", "dutch": "nl", "english": "en",
    "estonian": "et", "finnish": "fi", "flemish": "nl", "french": "fr", "georgian": "ka",
    "german": "de", "greek": "el", "hebrew": "he", "hindi": "hi", "hungarian": "hu",
    "indonesian": "id", "italian": "it", "japanese": "ja", "korean": "ko", "latvian": "lv",
    "lithuanian": "lt", "malay": "ms", "mandarin": "zh", "norwegian": "no", "persian": "fa",
    "polish": "pl", "portuguese": "pt", "romanian": "ro", "russian": "ru", "serbian": "sr",
    "slovak": "sk", "slovenian": "sl", "spanish": "es", "swedish": "sv", "thai": "th",
    "turkish": "tr", "ukrainian": "uk", "vietnamese": "vi",
}  # fmt: skip


def country_code(raw: str | None) -> str | None:
    text = clean_text(raw)
    if text is None:
        return None
    if re.fullmatch(r"[A-Za-z]{2}", text):
        return text.upper()
    return _COUNTRY_KEYS.get(fold(text))


_COUNTRY_KEYS = {fold(name): code for name, code in _COUNTRIES.items()}


def language_code(raw: str | None) -> str | None:
    """ISO 639-1 code of a language name ("French" -> "fr") or of a code itself."""
    text = clean_text(raw)
    if text is None:
        return None
    if re.fullmatch(r"[A-Za-z]{2}", text):
        return text.lower()
    return _LANGUAGES.get(fold(text))


def parse_monetization(raw: str | None) -> Monetization | None:
    text = fold(clean_text(raw) or "")
    if not text:
        return None
    if "ads" in text or "ad-supported" in text or "avod" in text:
        return Monetization.ads
    if "free" in text:
        return Monetization.free
    if "rent" in text:
        return Monetization.rent
    if "buy" in text or "purchase" in text:
        return Monetization.buy
    if any(w in text for w in ("stream", "flatrate", "subscription", "svod", "included")):
        return Monetization.flatrate
    return None


_CURRENCY_SIGNS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "kč": "CZK", "₽": "RUB"}


def parse_price(raw: str | None, currency: str | None = None) -> tuple[float | None, str | None]:
    """("$3.99") -> (3.99, "USD"); ("3,99 €") -> (3.99, "EUR")."""
    text = clean_text(raw)
    if text is None:
        return None, (currency.upper() if currency else None)
    value = parse_number(text)
    cur = currency.upper() if currency else None
    if cur is None:
        low = text.lower()
        cur = next((c for s, c in _CURRENCY_SIGNS.items() if s in low), None)
        m = re.search(r"\b([A-Z]{3})\b", text)
        cur = cur or (m.group(1) if m else None)
    return value, cur


# ------------------------------------------------------------------------------ records


@dataclass
class Normalized:
    """A normalized record payload and the raw values that could not be read."""

    data: dict[str, Any]
    unreadable: list[str] = field(default_factory=list)  # "runtime: '1 hour-ish'"


def _read(out: Normalized, name: str, raw: Any, value: Any) -> Any:
    if value is None and clean_text(raw if isinstance(raw, str) else None) is not None:
        out.unreadable.append(f"{name}: {raw!r}")
    return value


def _names(raw: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for r in raw:
        name = person_name(r)
        if name and fold(name) not in seen:
            seen[fold(name)] = name
    return list(seen.values())


def normalize_ref(ref: FilmRef, out: Normalized) -> dict[str, Any]:
    return {
        "title": clean_text(ref.title),
        "year": _read(out, "film.year", ref.year, parse_year(ref.year)),
        "url": ref.url,
        "external_ids": {k: v.strip() for k, v in ref.external_ids.items() if v and v.strip()},
        "directors": _names(ref.directors),
        "characters": [c for c in (clean_text(c) for c in ref.characters) if c],
        "people": _names(ref.people),
    }


def _rating(raw: ScrapedRating | None, out: Normalized) -> dict[str, Any] | None:
    if raw is None:
        return None
    return _read(out, f"rating[{raw.source}]", raw.value, parse_rating(raw))


def normalize_film(rec: ScrapedFilm) -> Normalized:
    out = Normalized({})
    genres = [g for g in (clean_text(g) for g in rec.genres) if g]
    release = _read(out, "release_date", rec.release_date, parse_datetime(rec.release_date))
    year = parse_year(rec.year) if rec.year else None
    _read(out, "year", rec.year, year)
    if year is None and release:
        year = int(release[:4])
    credits = []
    seen = set()
    for order, c in enumerate(rec.credits):
        name = person_name(c.name)
        if not name:
            continue
        role = (clean_text(c.role) or "cast").lower()
        character = clean_text(c.character)
        key = (fold(name), role, fold(character or ""))
        if key in seen:
            continue
        seen.add(key)
        credits.append({"name": name, "role": role, "character": character, "order": order})
    titles = []
    for t in rec.titles:
        text = clean_text(t.title)
        if text:
            titles.append({"title": text, "language": t.language, "region": t.region,
                           "type": t.type})  # fmt: skip
    out.data = {
        "type": "film",
        "site": rec.site,
        "url": rec.url,
        "title": clean_text(rec.title),
        "original_title": clean_text(rec.original_title),
        "titles": titles,
        "year": year,
        "release_date": release,
        "kind": parse_kind(clean_text(rec.kind), genres).value,
        "runtime_minutes": _read(
            out, "runtime", rec.runtime, parse_runtime(clean_text(rec.runtime))
        ),
        "credits": credits,
        "genres": genres,
        "external_ids": {k: v.strip() for k, v in rec.external_ids.items() if v and v.strip()},
        "ratings": [r for r in (_rating(r, out) for r in rec.ratings) if r],
        "synopsis": clean_block(rec.synopsis),
        "poster_url": rec.poster_url,
        "series_title": clean_text(rec.series),
        "season": _read(out, "season", rec.season, _small_int(rec.season)),
        "episode": _read(out, "episode", rec.episode, _small_int(rec.episode)),
    }
    return out


def _small_int(raw: str | None) -> int | None:
    """ "Season 4" -> 4, "13" -> 13."""
    m = re.search(r"\d{1,4}", raw or "")
    return int(m.group(0)) if m else None


def normalize_review(rec: ScrapedReview) -> Normalized:
    out = Normalized({})
    out.data = {
        "type": "review",
        "site": rec.site,
        "url": rec.url,
        "film": normalize_ref(rec.film, out),
        "author": person_name(rec.author) if rec.author else None,
        "published_at": _read(
            out, "published_at", rec.published_at, parse_datetime(rec.published_at)
        ),  # fmt: skip
        "title": clean_text(rec.title),
        "body": clean_block(rec.body),
        "rating": _rating(rec.rating, out),
        "critic": rec.critic,
    }
    return out


def normalize_offer(rec: ScrapedOffer) -> Normalized:
    out = Normalized({})
    price, currency = parse_price(rec.price, rec.currency)
    out.data = {
        "type": "offer",
        "site": rec.site,
        "url": rec.url,
        "film": normalize_ref(rec.film, out),
        "provider": clean_text(rec.provider),
        "country": _read(out, "country", rec.country, country_code(rec.country)),
        "monetization": _read(
            out, "monetization", rec.monetization, parse_monetization(rec.monetization)
        ),  # fmt: skip
        "quality": clean_text(rec.quality),
        "price": _read(out, "price", rec.price, price),
        "currency": currency,
        "offer_url": rec.offer_url,
    }
    return out


def normalize_quote(rec: ScrapedQuote) -> Normalized:
    out = Normalized({})
    lines = []
    for line in rec.lines:
        text = clean_text(line.text)
        if text:
            lines.append({"speaker": clean_text(line.speaker), "text": text})
    out.data = {
        "type": "quote",
        "site": rec.site,
        "url": rec.url,
        "film": normalize_ref(rec.film, out),
        "lines": lines,
    }
    return out


def normalize_rating_record(rec: ScrapedRatingRecord) -> Normalized:
    out = Normalized({})
    out.data = {
        "type": "rating",
        "site": rec.site,
        "url": rec.url,
        "film": normalize_ref(rec.film, out),
        "rating": _rating(rec.rating, out),
    }
    return out


_NORMALIZERS = {
    "film": normalize_film,
    "review": normalize_review,
    "offer": normalize_offer,
    "quote": normalize_quote,
    "rating": normalize_rating_record,
}


def normalize(rec: ScrapedRecord) -> Normalized:
    """Dispatch on the record's ``type``."""
    return _NORMALIZERS[rec.type](rec)  # type: ignore[operator]
