"""JSON-LD blocks of a page as plain dicts, flattened and forgiving.

Sites publish JSON-LD by hand-rolled templates, so a block may be wrapped in CDATA or HTML
comments, hold raw newlines inside strings, trailing commas, HTML entities, a BOM, several
values back to back, or be cut off. Each block is read with ``json`` first (the fast, common
case) and repaired only when that fails; a block that cannot be read is skipped, never fatal.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from parsel import Selector
from scrapy.http import TextResponse

# <script type="application/ld+json">, whatever the case or spacing of the attribute. Found in
# the text (no HTML tree needed: a script's content is raw text up to "</script").
_LD_SCRIPT = re.compile(
    r"""<script\b[^>]*?\btype\s*=\s*["']?\s*application/ld\+json\s*["']?[^>]*>(.*?)</script\s*>""",
    re.I | re.S,
)
_LD_SCRIPTS = (
    "//script[contains(translate(normalize-space(@type),"
    " 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), 'ld+json')]"
)
# Wrappers templates put around the JSON so old parsers skip it; matched only on a block's
# head and tail (an unanchored "\s*...$" would be quadratic on deeply indented JSON).
_HEAD_WRAPPER = re.compile(r"^\s*(?://|/\*)?\s*(?:<!\[CDATA\[|<!--)\s*(?:\*/)?\s*")
_TAIL_WRAPPER = re.compile(r"\s*(?://|/\*)?\s*(?:\]\]>|-->)\s*(?:\*/)?\s*$")
_EDGE = 64
# A block whose own quotes are entity-escaped: {&quot;@type&quot;: ...}.
_ESCAPED_BLOCK = re.compile(r"^[\[{]\s*&(?:quot|#34|#x22);", re.I)
_SCHEMA_PREFIX = re.compile(r"^(?:https?://(?:www\.)?schema\.org/|schema:)", re.I)
_DECODER = json.JSONDecoder(strict=False)  # strict=False: raw control chars inside strings


def _unwrap(text: str) -> str:
    """The block without BOMs and CDATA/comment wrappers (repeated: ``/* <![CDATA[ */``)."""
    text = text.replace("\ufeff", "").strip()
    previous = None
    while previous != text:
        previous = text
        if text[:1] in "{[" and text[-1:] in "}]":
            break  # already bare JSON: the common case, no regex over the whole block
        head = _HEAD_WRAPPER.sub("", text[:_EDGE], count=1)
        text = head + text[_EDGE:] if len(text) > _EDGE else head
        tail_at = max(0, len(text) - _EDGE)
        text = (text[:tail_at] + _TAIL_WRAPPER.sub("", text[tail_at:], count=1)).strip()
        text = text.removesuffix(";").strip()
    return text


def _strip_trailing_commas(text: str) -> str:
    """Drop commas that close an object or array (``{"a": 1,}``), leaving strings alone."""
    out: list[str] = []
    in_string = escaped = False
    pending_comma = -1  # index in ``out`` of a comma that may be trailing
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            out.append(ch)
            continue
        if ch == '"':
            in_string = True
            pending_comma = -1
        elif ch in "}]" and pending_comma >= 0:
            out[pending_comma] = ""
            pending_comma = -1
        elif ch == ",":
            pending_comma = len(out)
        elif not ch.isspace():
            pending_comma = -1
        out.append(ch)
    return "".join(out)


def _decode_all(text: str) -> list[Any]:
    """Every complete JSON value in ``text`` (concatenated values allowed); a truncated or
    unreadable tail is dropped."""
    values: list[Any] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and (text[i].isspace() or text[i] in ",;"):
            i += 1
        if i >= n:
            break
        try:
            value, i = _DECODER.raw_decode(text, i)
        except json.JSONDecodeError:
            break
        values.append(value)
    return values


def parse_block(raw: str) -> list[Any]:
    """The JSON values of one script block: ``json`` first, repairs only when it fails."""
    text = _unwrap(raw)
    if not text:
        return []
    try:
        return [_DECODER.decode(text)]
    except json.JSONDecodeError:
        pass
    if _ESCAPED_BLOCK.match(text):
        text = html.unescape(text)
    return _decode_all(_strip_trailing_commas(text))


def _flatten(value: Any, out: list[dict[str, Any]]) -> None:
    """Top-level arrays and ``@graph`` members become separate objects; nesting is kept."""
    if isinstance(value, list):
        for item in value:
            _flatten(item, out)
    elif isinstance(value, dict):
        graph = value.get("@graph")
        if graph is not None:
            if "@type" in value:  # a typed container is an object of its own too
                out.append({k: v for k, v in value.items() if k != "@graph"})
            _flatten(graph, out)
        else:
            out.append(value)


def script_blocks(source: str | TextResponse | Selector) -> list[str]:
    """The raw text of each JSON-LD script block: by a regex over the HTML text (fast, no tree),
    or by XPath when given a selector whose tree is already built."""
    if isinstance(source, Selector):
        return source.xpath(_LD_SCRIPTS).xpath("string()").getall()
    text = source.text if isinstance(source, TextResponse) else source
    return _LD_SCRIPT.findall(text)


def jsonld_objects(source: str | TextResponse | Selector) -> list[dict[str, Any]]:
    """Every JSON-LD object of a page (HTML text, response or selector), in page order."""
    out: list[dict[str, Any]] = []
    for raw in script_blocks(source):
        for value in parse_block(raw):
            _flatten(value, out)
    return out


def unreadable_blocks(source: str | TextResponse | Selector) -> list[str]:
    """The JSON-LD script blocks that hold something but yield no value even after every
    repair ``parse_block`` knows: a page that meant to publish structured data and broke it."""
    return [raw for raw in script_blocks(source) if _unwrap(raw) and not parse_block(raw)]


def jsonld_document(text: str) -> list[dict[str, Any]]:
    """The objects of a JSON(-LD) document served on its own (an API or ``.jsonld`` URL)."""
    out: list[dict[str, Any]] = []
    for value in parse_block(text):
        _flatten(value, out)
    return out


def type_name(raw: str) -> str:
    """ "http://schema.org/Movie", "schema:Movie" -> "Movie"."""
    return _SCHEMA_PREFIX.sub("", raw.strip()).strip("/")


def types_of(obj: Any) -> set[str]:
    """The object's ``@type`` names (a string or a list), schema.org prefixes removed."""
    if not isinstance(obj, dict):
        return set()
    raw = obj.get("@type")
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        return set()
    return {type_name(t) for t in raw if isinstance(t, str) and t.strip()}
