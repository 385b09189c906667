"""IMDb (www.imdb.com, m.imdb.com): title pages and the sub-pages worth reading.

Layouts handled:

* **Next.js title pages (2022+, desktop and m.imdb.com)**: a JSON-LD ``Movie``/``TVSeries``/
  ``TVEpisode`` plus ``<script id="__NEXT_DATA__">``, whose title data (``aboveTheFoldData``/
  ``mainColumnData``, or ``urqlState`` entries in 2022 builds) holds what the page shows:
  ``titleText`` (the display title, localized), ``originalTitleText``, ``titleType`` ("TV Mini
  Series", "Video", ...), ``releaseYear`` (a range for series), ``releaseDate``, ``runtime``,
  ``ratingsSummary``, the Metascore, principal credits, the cast with characters, AKAs,
  featured user reviews and, for episodes, the series title and season/episode numbers.
* **Hero-block pages without title data (2021)** and **legacy pages (to 2021)**: JSON-LD for
  the facts, the DOM for what JSON-LD lacks: the display title (``<h1>``, localized by the
  visitor's locale while the JSON-LD ``name`` is the original title), the "(original title)"
  line, the kind label ("TV Series (1999–2013)"), the Metascore box, series/episode numbers.
* **/reference**: server-rendered tables, no JSON-LD (header list, rating widget, credits
  tables, "Additional Details" with AKAs and runtime).
* **/releaseinfo**: per-country release dates and the AKA table -> titles with region and
  language; the "(original title)" row is the original title.
* **/episodes**: the season listing -> one film record per episode (series, season, episode,
  air date, rating), each under its own title URL; ``NoFilmData("listing")`` when the episodes
  cannot be told apart.
* **/criticreviews** (Metacritic critics) and **/reviews** (user reviews): the film named by
  the page (title, year, imdb id, Metascore) and its reviews.
* **/find**: search results, ``NoFilmData("search_results")``; other title sub-pages and name
  pages are ordinary non-film pages.

Saved files that glue several documents together are read from their first document only.
Every film carries ``{"imdb": "tt..."}`` from the URL (else the canonical link). IMDb's user
rating is source "imdb" (user_average, scale 10, with its vote count); a Metascore shown on
the page is source "metacritic" (weighted_critic, scale 100).

For speed the page is read from its bytes: ``__NEXT_DATA__`` and JSON-LD are cut out by
``bytes.find``/regex and decoded alone, and an HTML tree is built only where the DOM is
needed (legacy pages, sub-pages), over the slice of the page that holds the facts.
"""

from __future__ import annotations

from crawler.sites.base import Route, SiteRules
from crawler.sites.imdb.paths import _LOCALE, _TITLE_PATH, SITE
from crawler.sites.imdb.subpages import (
    parse_critic_reviews,
    parse_episodes,
    parse_find,
    parse_name,
    parse_other_subpage,
    parse_reference,
    parse_releaseinfo,
    parse_user_reviews,
)
from crawler.sites.imdb.titles import parse_title

RULES = SiteRules(
    name=SITE,
    hosts=("imdb.com",),
    start_path="/chart/top/",
    routes=(
        Route(_LOCALE + r"/find(?:/|$)", parse_find),
        Route(_TITLE_PATH + r"/reference/?$", parse_reference),
        Route(_TITLE_PATH + r"/releaseinfo/?$", parse_releaseinfo),
        Route(_TITLE_PATH + r"/episodes/?$", parse_episodes),
        Route(_TITLE_PATH + r"/criticreviews/?$", parse_critic_reviews),
        Route(_TITLE_PATH + r"/reviews/?$", parse_user_reviews),
        Route(_TITLE_PATH + r"/?$", parse_title),
        Route(_TITLE_PATH + r"/", parse_other_subpage),
        Route(_LOCALE + r"/name/nm\d+", parse_name),
    ),
    follow=(
        _TITLE_PATH + r"/?$",
        _TITLE_PATH + r"/(?:episodes|criticreviews|reviews|releaseinfo)/?$",
        r"^/chart/(?:top|moviemeter|toptv)/?$",
    ),
    settings={
        "DOWNLOAD_DELAY": 3.0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "AUTOTHROTTLE_ENABLED": True,
    },
)
