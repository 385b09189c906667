"""Canonical URLs: one spelling for every URL that names the same page.

Source records, page rows and quarantine entries are keyed by URL, so two spellings of one
page (``HTTP://Example.org:80/a?b=2&a=1#top`` and ``http://example.org/a?a=1&b=2``, a link
carrying ``utm_source``, a mirror host) would make two records of one page. ``canonical_url``
gives the key:

1. w3lib's ``canonicalize_url`` (what Scrapy's request fingerprints use): scheme and host in
   lower case, query arguments sorted, percent-encoding made uniform, the fragment dropped;
2. the scheme's default port dropped (``:80`` for http, ``:443`` for https);
3. tracking parameters dropped (``TRACKING_PARAMS``): they say how a visitor arrived, never
   which page it is;
4. scheme/host aliases applied (``FILMAGG_URL_ALIASES``): a URL starting with an alias's
   source starts with its target instead (``http://mirror.example.org`` ->
   ``https://www.example.org``).

Only http(s) URLs are rewritten: anything else is returned stripped of surrounding blanks.
The result is idempotent: ``canonical(canonical(u)) == canonical(u)``.

A *record's* URL keeps its fragment (``UrlCanon.record``): the spiders give the second and
later films of one page a fragment of their own (``crawler.spiders.base.distinct_film_urls``),
so there the fragment tells records apart; the page part is canonical all the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from urllib.parse import unquote, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# Query parameters that only track the visit. Exact names, plus every ``utm_*`` (Google
# Analytics campaign tags). ``ref_`` is IMDb's click tracking (``/title/tt0111161/?ref_=nv_sr``
# is the same page), ``ref_src`` Twitter's. A bare ``ref`` is kept: sites use it for content
# (a git ref, a referral code that changes the page).
TRACKING_PREFIXES = ("utm_",)
TRACKING_PARAMS = (
    "fbclid",  # Facebook
    "gclid", "gclsrc", "dclid", "gbraid", "wbraid",  # Google Ads
    "msclkid",  # Microsoft Ads
    "yclid",  # Yandex
    "twclid", "ref_src",  # Twitter / X
    "ttclid",  # TikTok
    "li_fat_id",  # LinkedIn
    "igshid", "igsh",  # Instagram
    "mc_cid", "mc_eid",  # Mailchimp
    "_ga", "_gl",  # Google Analytics cross-domain linking
    "_hsenc", "_hsmi",  # HubSpot
    "mkt_tok",  # Marketo
    "oly_anon_id", "oly_enc_id",  # Omeda
    "vero_id", "vero_conv",  # Vero
    "rb_clickid",  # Rakuten
    "s_cid",  # Adobe
    "ref_",  # IMDb navigation tracking
)  # fmt: skip
_TRACKING = frozenset(TRACKING_PARAMS)
DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking(name: str) -> bool:
    """A query parameter that says how the visitor came, not which page this is."""
    name = unquote(name).lower()
    return name in _TRACKING or name.startswith(TRACKING_PREFIXES)


def _drop_default_port(netloc: str, scheme: str) -> str:
    host, sep, port = netloc.rpartition(":")
    if sep and port.isdigit() and "]" not in port and int(port) == DEFAULT_PORTS.get(scheme):
        return host
    return netloc


def _drop_tracking(query: str) -> str:
    return "&".join(p for p in query.split("&") if p and not is_tracking(p.split("=", 1)[0]))


def _basic(url: str) -> str:
    """Steps 1-3 (no aliases) for an http(s) URL; anything else unchanged."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.netloc:
        return url
    try:
        canon = canonicalize_url(url, keep_fragments=False)
    except ValueError:  # a malformed port or host: kept as it came, never dropped
        return url
    scheme, netloc, path, query, _ = urlsplit(canon)
    return urlunsplit((scheme, _drop_default_port(netloc, scheme), path or "/",
                       _drop_tracking(query), ""))  # fmt: skip


def _origin(prefix: str) -> str:
    """An alias's source or target in canonical form, without the trailing "/" of a bare
    host (``http://Mirror.example.org:80/`` -> ``http://mirror.example.org``)."""
    canon = _basic(prefix)
    return canon[:-1] if canon.endswith("/") and urlsplit(canon).path == "/" else canon


def _starts(url: str, prefix: str) -> bool:
    """``url`` starts with ``prefix`` at a boundary (``http://a.org`` is not a prefix of
    ``http://a.org.evil.net/``)."""
    if not url.startswith(prefix):
        return False
    rest = url[len(prefix) :]
    return not rest or prefix.endswith("/") or rest[0] in "/?#"


class UrlCanon:
    """``canonical_url`` with a fixed set of aliases, compiled once (a crawl's setting)."""

    def __init__(self, aliases: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = aliases.items() if isinstance(aliases, Mapping) else aliases
        compiled = {_origin(src): _origin(dst) for src, dst in pairs}
        for src, dst in compiled.items():
            if not src.startswith(("http://", "https://")) or not dst.startswith(("http://", "https://")):  # fmt: skip
                raise ValueError(f"URL alias {src!r} -> {dst!r}: both sides must be http(s) URLs")
            if any(_starts(dst + "/", other) for other in compiled):
                raise ValueError(f"URL alias {src!r} -> {dst!r}: the target is itself aliased "
                                 "(write the chain out: every source to its final target)")  # fmt: skip
        # the longest source first: a more specific alias wins
        self.aliases = sorted(compiled.items(), key=lambda kv: (-len(kv[0]), kv[0]))
        self._cached = lru_cache(maxsize=65536)(self._canonical)

    def __call__(self, url: str) -> str:
        """The page's key: no fragment."""
        return self._cached(url)

    def record(self, url: str) -> str:
        """A record's key: the page's key, with the record's fragment if it has one."""
        page, sep, fragment = url.strip().partition("#")
        canon = self._cached(page)
        return f"{canon}#{fragment}" if sep and fragment and canon.startswith("http") else canon

    def _canonical(self, url: str) -> str:
        canon = _basic(url)
        for src, dst in self.aliases:
            if _starts(canon, src):
                return _basic(dst + canon[len(src) :])
        return canon


_PLAIN = UrlCanon()


def canonical_url(url: str, aliases: Mapping[str, str] | None = None) -> str:
    """The key of the page ``url`` names (see the module docstring)."""
    return (UrlCanon(aliases) if aliases else _PLAIN)(url)


def url_aliases(value: object) -> dict[str, str]:
    """``FILMAGG_URL_ALIASES`` as given (a dict, or its JSON text) to a dict; ValueError on
    anything else, so a typo in a setting stops the crawl instead of being ignored."""
    import json

    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"FILMAGG_URL_ALIASES is not JSON: {exc}") from exc
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError('FILMAGG_URL_ALIASES must map URL prefixes to URL prefixes: '
                         '{"http://mirror.example.org": "https://www.example.org"}')  # fmt: skip
    return dict(value)


__all__ = ["TRACKING_PARAMS", "UrlCanon", "canonical_url", "is_tracking", "url_aliases"]
