"""One lxml tree per page, built straight from the body: cheaper than parsel's selector tree
on large pages, for parsers that walk the tree once and collect what they need."""

from __future__ import annotations

from typing import Any

from lxml import etree
from scrapy.http import TextResponse

_PARSERS: dict[str, etree.HTMLParser] = {}


def page_root(response: TextResponse, start: bytes | None = None, end: bytes | None = None) -> Any:
    """The page's lxml tree, parsed from the body with the response's encoding; parsel's tree
    when lxml cannot read the body. ``start``/``end`` markers limit the parse to the part of a
    large page that holds what the parser reads (from the first ``start`` up to the last
    ``end``); a missing marker means the page's own start or end."""
    encoding = response.encoding or "utf-8"
    body = response.body
    lo = body.find(start) if start else -1
    hi = body.rfind(end) if end else -1
    if lo > 0 or hi > 0:
        body = body[max(lo, 0) : hi if hi > lo else None]
    try:
        parser = _PARSERS.get(encoding)
        if parser is None:
            parser = _PARSERS.setdefault(
                encoding, etree.HTMLParser(recover=True, encoding=encoding)
            )
        root = etree.fromstring(body, parser=parser)
    except (ValueError, LookupError, etree.LxmlError):
        root = None
    return root if root is not None else response.selector.root
