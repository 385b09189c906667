"""One spider per site module, generated from its ``SiteRules``.

Scrapy's spider loader finds spiders by scanning this module for ``Spider`` subclasses, so the
classes are created here (with this module as their ``__module__``) rather than written by hand.
"""

from __future__ import annotations

from crawler.sites import all_sites
from crawler.spiders.base import SiteSpider


def _spider_class(name: str) -> type[SiteSpider]:
    rules = all_sites()[name]
    cls_name = "".join(part.capitalize() for part in name.split("_")) + "Spider"
    return type(cls_name, (SiteSpider,), {
        "name": rules.name, "rules": rules, "custom_settings": dict(rules.settings),
        "__module__": __name__, "__doc__": f"Crawls the {rules.name} site.",
    })  # fmt: skip


for _name in sorted(all_sites()):
    _cls = _spider_class(_name)
    globals()[_cls.__name__] = _cls

del _name, _cls  # a second module-level name would make Scrapy see the last spider twice
