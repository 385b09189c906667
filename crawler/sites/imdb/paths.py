"""IMDb's site name and URL shapes, shared by the page readers and the crawl rules."""

from __future__ import annotations

import re

SITE = "imdb"
BASE = "https://www.imdb.com"

# Paths may carry a language prefix ("/de/title/tt0111161/", IMDb's 2024 localized URLs).
_LOCALE = r"^(?:/[a-z]{2}(?:-[a-z]{2})?)?"
_TITLE_PATH = _LOCALE + r"/title/tt\d{7,}"
_TT_IN_PATH = re.compile(r"/title/(tt\d{7,})")
_TT = re.compile(r"^tt\d{7,}$")
