"""schema.org microdata (``itemscope``/``itemtype``/``itemprop``) as JSON-LD-shaped dicts.

Older templates (legacy IMDb, Kinopoisk) mark films up in microdata rather than JSON-LD.
Converting each item to the JSON-LD shape (``{"@type": "Movie", "director": {"@type":
"Person", "name": ...}}``) lets one mapping (``crawler.extract.schema_org``) read both.
Values follow the microdata spec: ``content`` first, then the element's URL or date attribute,
else its text. ``itemref`` is not followed (no film site we know uses it).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from lxml import etree
from parsel import Selector
from scrapy.http import TextResponse

from crawler.extract.jsonld import type_name
from crawler.extract.text import squash

# Which attribute holds an element's value, by tag (the microdata spec's table).
_URL_ATTR = {
    "a": "href", "area": "href", "link": "href", "audio": "src", "embed": "src",
    "iframe": "src", "img": "src", "source": "src", "track": "src", "video": "src",
    "object": "data",
}  # fmt: skip
_VALUE_ATTR = {"time": "datetime", "data": "value", "meter": "value"}
_SKIP_TEXT = frozenset({"script", "style", "noscript", "template"})
# Top-level items: itemscope elements that are not themselves a property of another item.
_TOP_ITEMS = "//*[@itemscope][not(@itemprop)]"


def _text(el: etree._Element) -> str:
    """Visible text of an element (no script/style text)."""
    parts: list[str] = []
    if el.text and el.tag not in _SKIP_TEXT:
        parts.append(el.text)
    for child in el:
        if isinstance(child.tag, str) and child.tag not in _SKIP_TEXT:
            parts.append(_text(child))
        if child.tail:
            parts.append(child.tail)
    return " ".join(parts)


def _value(el: etree._Element, base_url: str | None) -> Any:
    """A property's value: a nested item, ``content``, a URL/date attribute, or the text."""
    if el.get("itemscope") is not None:
        return _item(el, base_url)
    if el.get("content") is not None:
        return el.get("content", "").strip()
    tag = el.tag if isinstance(el.tag, str) else ""
    attr = _URL_ATTR.get(tag)
    if attr:
        url = (el.get(attr) or "").strip()
        if url and base_url:
            url = urljoin(base_url, url)
        return url
    attr = _VALUE_ATTR.get(tag)
    if attr and el.get(attr):
        return el.get(attr, "").strip()
    return squash(_text(el)) or ""


def _collect(el: etree._Element, item: dict[str, Any], base_url: str | None) -> None:
    """Properties under ``el`` that belong to the current item (nested items keep theirs)."""
    for child in el:
        if not isinstance(child.tag, str):
            continue
        props = (child.get("itemprop") or "").split()
        if props:
            value = _value(child, base_url)
            for prop in props:
                _add(item, prop, value)
        if child.get("itemscope") is None:
            _collect(child, item, base_url)


def _add(item: dict[str, Any], prop: str, value: Any) -> None:
    """A repeated property becomes a list, as in JSON-LD."""
    if prop not in item:
        item[prop] = value
    elif isinstance(item[prop], list):
        item[prop].append(value)
    else:
        item[prop] = [item[prop], value]


def _item(el: etree._Element, base_url: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {}
    types = [type_name(t) for t in (el.get("itemtype") or "").split()]
    if types:
        item["@type"] = types[0] if len(types) == 1 else types
    if el.get("itemid"):
        item["@id"] = el.get("itemid")
    _collect(el, item, base_url)
    return item


def microdata_items(source: str | TextResponse | Selector) -> list[dict[str, Any]]:
    """Every top-level microdata item of a page, nested items kept nested."""
    if isinstance(source, TextResponse):
        sel, base_url = source.selector, source.url
    elif isinstance(source, Selector):
        sel, base_url = source, None
    else:
        sel, base_url = Selector(text=source), None
    return [_item(node.root, base_url) for node in sel.xpath(_TOP_ITEMS)]
