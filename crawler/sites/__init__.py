"""Site modules, one per site. Every module here that defines ``RULES`` is a site."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from urllib.parse import urlsplit

from crawler.sites.base import NoFilmData, Parser, Route, SiteRules

__all__ = ["NoFilmData", "Parser", "Route", "SiteRules", "all_sites", "get_site", "site_for_url"]


@cache
def all_sites() -> dict[str, SiteRules]:
    """Every site module's rules, by site name (discovered, so adding a site is one file)."""
    sites: dict[str, SiteRules] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        rules = getattr(module, "RULES", None)
        if isinstance(rules, SiteRules):
            sites[rules.name] = rules
    return sites


def get_site(name: str) -> SiteRules:
    try:
        return all_sites()[name]
    except KeyError:
        known = ", ".join(sorted(all_sites()))
        raise KeyError(f"unknown site {name!r} (known: {known})") from None


def site_for_url(url: str) -> SiteRules | None:
    """The site whose hosts include the URL's host (``www.``/``m.`` prefixes ignored)."""
    host = (urlsplit(url).hostname or "").lower()
    for rules in all_sites().values():
        for h in rules.hosts:
            if host == h or host.endswith("." + h):
                return rules
    return None
