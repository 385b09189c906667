"""One lxml tree per page, built straight from the body: cheaper than parsel's selector tree
on large pages, for parsers that walk the tree once and collect what they need."""

from __future__ import annotations

from typing import Any

from lxml import etree
from scrapy.http import TextResponse

_PARSERS: dict[str, etree.HTMLParser] = {}


def page_root(response: TextResponse) -> Any:
    """The page's lxml tree, parsed from the body with the response's encoding; parsel's tree
    when lxml cannot read the body."""
    encoding = response.encoding or "utf-8"
    try:
        parser = _PARSERS.get(encoding)
        if parser is None:
            parser = _PARSERS.setdefault(
                encoding, etree.HTMLParser(recover=True, encoding=encoding)
            )
        root = etree.fromstring(response.body, parser=parser)
    except (ValueError, LookupError, etree.LxmlError):
        root = None
    return root if root is not None else response.selector.root
