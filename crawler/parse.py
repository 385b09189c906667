"""Offline parsing of a saved page: the parser is chosen by the URL, records are normalized
and validated exactly as in a crawl (``filmagg parse``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy.http import HtmlResponse, TextResponse

from crawler.sites import SiteRules, all_sites, site_for_url
from crawler.spiders.base import page_records
from pipelines.catalog.store import Accepted
from pipelines.records import PageRejected
from pipelines.stages import to_storable

GENERIC_SITE = "schema_org"


def choose_site(url: str) -> SiteRules | None:
    """The site whose hosts include the URL's host, else a host-less (demo) site with a
    route for the URL's path, else the generic schema.org reader for any other page."""
    site = site_for_url(url)
    if site is not None:
        return site
    sites = all_sites()
    for name, rules in sites.items():
        if name != GENERIC_SITE and not rules.hosts and rules.parser_for(url) is not None:
            return rules
    return sites.get(GENERIC_SITE)


def response_for(path: Path, url: str, body: bytes | None = None) -> TextResponse:
    """A response for a saved page (JSON bodies as plain text responses)."""
    body = path.read_bytes() if body is None else body
    cls = (
        TextResponse
        if path.suffix == ".json" or body.lstrip()[:1] in (b"{", b"[")
        else HtmlResponse
    )
    return cls(url=url, body=body)


def parse_file(path: Path, url: str) -> tuple[list[dict[str, Any]], list[str], str]:
    """(normalized records as dicts, reasons for what was rejected, site name)."""
    site = choose_site(url)
    if site is None:
        return [], [f"no film data: no parser knows pages like {url}"], "none"
    response = response_for(path, url)
    records: list[dict[str, Any]] = []
    rejected: list[str] = []
    for item in page_records(site, response):
        if isinstance(item, PageRejected):
            rejected.append(
                f"no film data: {item.reason.removeprefix('no_film_data/')}: {item.detail}"
            )
            continue
        stored = to_storable(item)
        if stored is None:
            continue
        if isinstance(stored, Accepted):
            records.append(stored.record.model_dump(mode="json"))
        else:
            rejected.append(
                f"invalid {stored.record_type} record ({stored.reason}): "
                + "; ".join(f"{e['field']}: {e['message']}" for e in stored.errors)
            )
    return records, rejected, site.name
