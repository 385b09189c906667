"""TMDB API (api.themoviedb.org/3/...): JSON responses, not HTML pages.

Handled responses (the body is read as JSON from ``response.text``):

* watch providers ``/3/movie/<id>/watch/providers`` (and ``/3/tv/<id>/watch/providers``):
  ``{"id": 603, "results": {"<CC>": {"link": ..., "flatrate"|"rent"|"buy"|"free"|"ads":
  [{"provider_name": ...}, ...]}}}`` (JustWatch data) -> one ScrapedOffer per (country,
  provider, monetization), naming the film by its TMDB id only (``{"tmdb": "movie/603"}``),
  ``offer_url`` the country's TMDB "link". No film record: the response has no title.
* movie details ``/3/movie/<id>`` (title, original_title + original_language, release_date,
  runtime in minutes, genres, imdb_id, overview, vote_average/vote_count, poster_path), with
  whatever ``append_to_response`` added: ``credits`` (cast with characters, crew jobs),
  ``external_ids`` (imdb, wikidata), ``alternative_titles``, ``watch/providers`` (offers).
* TV details ``/3/tv/<id>`` (name, original_name, first_air_date, episode_run_time,
  created_by, ...) -> a series record.

Any other JSON (errors ``{"status_code": 34, ...}``, search or list results, unknown shapes)
raises ``NoFilmData("not_a_film_page")``; a body that is not JSON at all too.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from scrapy.http import TextResponse

from crawler.sites.base import NoFilmData, Route, SiteRules
from pipelines.records import (
    FilmRef,
    ScrapedCredit,
    ScrapedFilm,
    ScrapedOffer,
    ScrapedRating,
    ScrapedRecord,
    ScrapedTitle,
)

SITE = "tmdb"
IMAGE_BASE = "https://image.tmdb.org/t/p/original"

_PATH = re.compile(r"^/3/(movie|tv)/(\d+)(/watch/providers)?/?$")
_MONETIZATIONS = ("flatrate", "free", "ads", "rent", "buy")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
# Crew jobs -> credit roles; other jobs are left out.
_JOBS = {
    "director": "director",
    "screenplay": "writer",
    "writer": "writer",
    "story": "writer",
    "novel": "writer",
    "teleplay": "writer",
    "producer": "producer",
    "original music composer": "composer",
    "director of photography": "cinematographer",
    "editor": "editor",
}


def _load(response: TextResponse) -> Any:
    try:
        return json.loads(response.text)
    except ValueError:
        raise NoFilmData("not_a_film_page", "the response is not JSON") from None


def _str(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def _clean_url(url: str) -> str:
    """The request URL without credentials (``api_key``, ``session_id``) in its query."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in ("api_key", "session_id", "guest_session_id")]  # fmt: skip
    return parts._replace(query=urlencode(query, safe=",/")).geturl()


def _film_page(results: dict[str, Any]) -> str | None:
    """The film's TMDB page from a country's "link" (".../movie/603-the-matrix/watch?...")."""
    for entry in results.values():
        link = _str(entry.get("link")) if isinstance(entry, dict) else None
        if link and (m := re.match(r"^(https?://[^?#]+?)/watch\b", link)):
            return m.group(1)
    return None


def _route(url: str) -> tuple[str, str, bool] | None:
    """("movie" | "tv", id, is_providers) from the API path."""
    m = _PATH.match(urlsplit(url).path)
    return (m.group(1), m.group(2), bool(m.group(3))) if m else None


def _is_providers(data: dict[str, Any]) -> bool:
    results = data.get("results")
    return isinstance(results, dict) and all(
        isinstance(k, str) and _COUNTRY.match(k) and isinstance(v, dict) for k, v in results.items()
    )


def _offers(results: dict[str, Any], site_url: str, ref: FilmRef) -> list[ScrapedOffer]:
    """One offer per (country, provider, monetization) of a ``results`` object."""
    offers: list[ScrapedOffer] = []
    for country, entry in results.items():
        if not isinstance(entry, dict):
            continue
        link = _str(entry.get("link"))
        for monetization in _MONETIZATIONS:
            providers = entry.get(monetization)
            if not isinstance(providers, list):
                continue
            for provider in providers:
                name = _str(provider.get("provider_name")) if isinstance(provider, dict) else None
                if not name:
                    continue
                offers.append(
                    ScrapedOffer(
                        site=SITE,
                        url=site_url,
                        film=ref,
                        provider=name,
                        country=country,
                        monetization=monetization,
                        offer_url=link,
                    )
                )
    return offers


def _titles(data: dict[str, Any], title: str | None, original: str | None) -> list[ScrapedTitle]:
    titles: list[ScrapedTitle] = []
    language = _str(data.get("original_language"))
    if original:
        titles.append(ScrapedTitle(title=original, language=language, type="original"))
    alternative = data.get("alternative_titles")
    items = (
        alternative.get("titles") or alternative.get("results")
        if isinstance(alternative, dict)
        else None
    )
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        aka = _str(item.get("title"))
        if aka and aka not in (title, original) and not any(t.title == aka for t in titles):
            region = _str(item.get("iso_3166_1"))
            titles.append(ScrapedTitle(title=aka, region=region, type="aka"))
    return titles


def _credits(data: dict[str, Any]) -> list[ScrapedCredit]:
    credits: list[ScrapedCredit] = []
    for person in data.get("created_by") or []:
        if isinstance(person, dict) and (name := _str(person.get("name"))):
            credits.append(ScrapedCredit(name=name, role="creator"))
    block = data.get("credits")
    if not isinstance(block, dict):
        return credits
    for person in block.get("crew") or []:
        if not isinstance(person, dict):
            continue
        role = _JOBS.get((_str(person.get("job")) or "").lower())
        if role and (name := _str(person.get("name"))):
            credits.append(ScrapedCredit(name=name, role=role))
    cast = [p for p in block.get("cast") or [] if isinstance(p, dict)]
    cast.sort(key=lambda p: p.get("order") if isinstance(p.get("order"), int) else 10_000)
    for person in cast:
        if name := _str(person.get("name")):
            credits.append(ScrapedCredit(name=name, character=_str(person.get("character"))))
    return credits


def _external_ids(data: dict[str, Any], kind: str, tmdb_id: str) -> dict[str, str]:
    ids = {SITE: f"{kind}/{tmdb_id}"}
    extra = data.get("external_ids") if isinstance(data.get("external_ids"), dict) else {}
    imdb = _str(data.get("imdb_id")) or _str(extra.get("imdb_id"))
    if imdb and imdb.startswith("tt"):
        ids["imdb"] = imdb
    if wikidata := _str(extra.get("wikidata_id")):
        ids["wikidata"] = wikidata
    return ids


def _details(data: dict[str, Any], response: TextResponse, kind: str, tmdb_id: str
             ) -> list[ScrapedRecord]:  # fmt: skip
    """A movie/TV details response -> the film (and offers of an appended watch/providers)."""
    tv = kind == "tv"
    title = _str(data.get("name" if tv else "title"))
    original = _str(data.get("original_name" if tv else "original_title"))
    if original == title:
        original = None  # the original title is shown only when it differs
    release = _str(data.get("first_air_date" if tv else "release_date"))
    year = release[:4] if release and re.match(r"^\d{4}", release) else None
    if tv and year and (last := _str(data.get("last_air_date"))) and last[:4] != year:
        year = f"{year}–" if data.get("in_production") else f"{year}–{last[:4]}"
    runtime = _str(data.get("runtime"))
    if tv and runtime is None:
        runs = [r for r in data.get("episode_run_time") or [] if isinstance(r, int | float)]
        runtime = _str(runs[0]) if runs else None
    if runtime == "0":
        runtime = None
    genres = [g for g in (_str(x.get("name")) for x in data.get("genres") or []
                          if isinstance(x, dict)) if g]  # fmt: skip
    ratings = []
    votes = data.get("vote_count")
    if isinstance(votes, int) and votes > 0 and _str(data.get("vote_average")):
        ratings.append(ScrapedRating(source=SITE, value=_str(data.get("vote_average")),
                                     scale_max="10", count=str(votes)))  # fmt: skip
    poster = _str(data.get("poster_path"))
    url = _clean_url(response.url)
    film = ScrapedFilm(
        site=SITE,
        url=url,
        title=title,
        original_title=original,
        titles=_titles(data, title, original),
        year=year,
        release_date=release,
        kind="TVSeries" if tv else "Movie",
        runtime=runtime,
        credits=_credits(data),
        genres=genres,
        external_ids=_external_ids(data, kind, tmdb_id),
        ratings=ratings,
        synopsis=_str(data.get("overview")),
        poster_url=IMAGE_BASE + poster if poster and poster.startswith("/") else None,
    )
    records: list[ScrapedRecord] = [film]
    providers = data.get("watch/providers")
    if isinstance(providers, dict) and _is_providers(providers):
        ref = FilmRef(title=title, year=year, url=_film_page(providers["results"]) or url,
                      external_ids=dict(film.external_ids))  # fmt: skip
        records.extend(_offers(providers["results"], url, ref))
    return records


def parse_api(response: TextResponse) -> list[ScrapedRecord]:
    """Dispatch on the API path and the JSON's shape (see module docstring)."""
    data = _load(response)
    route = _route(response.url)
    if not isinstance(data, dict) or route is None:
        raise NoFilmData("not_a_film_page", "not a movie/TV details or watch providers response")
    kind, tmdb_id, providers_path = route
    if data.get("success") is False or "status_code" in data:
        raise NoFilmData("not_a_film_page", f"API error: {_str(data.get('status_message'))}")
    if providers_path:
        if not _is_providers(data):
            raise NoFilmData("not_a_film_page", "a watch providers URL without provider results")
        json_id = _str(data.get("id"))
        ref = FilmRef(url=_film_page(data["results"]),
                      external_ids={SITE: f"{kind}/{json_id or tmdb_id}"})  # fmt: skip
        offers = _offers(data["results"], _clean_url(response.url), ref)
        if not offers:
            raise NoFilmData("listing", "no watch providers listed in any country")
        return list(offers)
    if not _str(data.get("name" if kind == "tv" else "title")):
        raise NoFilmData("not_a_film_page", f"a {kind} response without a title")
    return _details(data, response, kind, tmdb_id)


RULES = SiteRules(
    name=SITE,
    hosts=("api.themoviedb.org",),
    start_path="/3/movie/popular",
    routes=(Route(r"^/3/", parse_api),),
    follow=(),  # an API: URLs are built from ids, there are no links to follow
    settings={
        "DOWNLOAD_DELAY": 1.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "AUTOTHROTTLE_ENABLED": True,
    },
)
