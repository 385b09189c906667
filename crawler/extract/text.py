"""Text helpers for parsers: the visible text of a node, whitespace collapsed.

Parsers keep what the page says; entity/mojibake repair and null-words ("undefined", "N/A")
are the normalizer's job (``pipelines.normalize``), not the parser's.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree
from parsel import Selector, SelectorList

# Text nodes are joined with a space (block elements carry no whitespace of their own), which
# leaves "Sera ." where inline markup met punctuation: close those gaps again.
_GAP_BEFORE = re.compile(r"\s+([.,;:!?)\]}»”’%])")
_GAP_AFTER = re.compile(r"([(\[{«“])\s+")


def squash(text: str | None) -> str | None:
    """Collapse runs of whitespace; ``None`` for empty text."""
    if text is None:
        return None
    text = " ".join(text.split())  # str.split() splits on all Unicode whitespace, as \s does
    return text or None


def text_of(node: Selector | SelectorList | None, sep: str = " ") -> str | None:
    """All descendant text of ``node`` (or of every node in a list), squashed."""
    if node is None:
        return None
    parts = node.xpath(".//text()").getall()
    text = squash(sep.join(parts))
    return close_gaps(text) if text else None


def close_gaps(text: str) -> str:
    """Close the gaps joining text nodes leaves at inline markup: "Sera ." -> "Sera."."""
    return _GAP_AFTER.sub(r"\1", _GAP_BEFORE.sub(r"\1", text))


_VISIBLE = etree.XPath(".//text()[not(parent::script or parent::style)]")


def element_text(el: Any) -> str | None:
    """``text_of`` for a raw lxml element (parsers that walk lxml trees directly): its
    visible text, whitespace collapsed, gaps closed."""
    if el is None:
        return None
    text = squash(" ".join(_VISIBLE(el)))
    return close_gaps(text) if text else None


def texts_of(nodes: SelectorList) -> list[str]:
    """The squashed text of each node, empty ones left out."""
    out = []
    for node in nodes:
        t = text_of(node)
        if t:
            out.append(t)
    return out


def paragraphs(nodes: SelectorList) -> str | None:
    """Text of block nodes joined by blank lines (synopses, review bodies)."""
    parts = texts_of(nodes)
    return "\n\n".join(parts) or None
