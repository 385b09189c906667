"""Open Graph (``og:*``, ``video:*``) and Twitter card meta tags of a page.

Pages without JSON-LD often still describe the film for link previews: ``og:type`` says
``video.movie``/``video.tv_show``/``video.episode`` and ``og:title`` holds "Title (Year)". Sites
mix ``property=`` and ``name=``, so both are read.
"""

from __future__ import annotations

from parsel import Selector
from scrapy.http import TextResponse

_PREFIXES = ("og:", "video:", "twitter:")
# Tags the protocol allows more than once (arrays): always returned as lists.
REPEATABLE = frozenset(
    {
        "og:image", "og:video", "og:audio", "og:locale:alternate", "video:actor",
        "video:actor:role", "video:director", "video:writer", "video:tag",
    }
)  # fmt: skip
_META = "//meta[@content][@property or @name]"


def opengraph(source: TextResponse | Selector) -> dict[str, str | list[str]]:
    """``{"og:title": "...", "video:director": ["...", ...]}``: keys lower-cased; for a
    single-valued tag the first value wins, repeatable tags list every value in page order."""
    sel = source.selector if isinstance(source, TextResponse) else source
    out: dict[str, str | list[str]] = {}
    for meta in sel.xpath(_META):
        attrib = meta.attrib
        key = (attrib.get("property") or attrib.get("name") or "").strip().lower()
        if not key.startswith(_PREFIXES):
            continue
        value = attrib.get("content", "").strip()
        if not value:
            continue
        if key in REPEATABLE:
            values = out.setdefault(key, [])
            if isinstance(values, list) and value not in values:
                values.append(value)
        elif key not in out:
            out[key] = value
    return out


def og_first(og: dict[str, str | list[str]], key: str) -> str | None:
    """One value of a tag, whether it was stored single or as a list."""
    value = og.get(key)
    if isinstance(value, list):
        return value[0] if value else None
    return value
