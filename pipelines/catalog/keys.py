"""Blocking keys: which records can meet during resolution.

A film record is found by the works it may belong to under its title variant keys (``t:``),
external ids (``x:``), each director with its year (``d:``) and its page URL (``u:``). Two film
records sharing no key, directly or through other records, can never be candidates for one
another, so the connected components of this graph are independent: the resolver recomputes
whole components and nothing else, which is what makes incremental resolution equal a rebuild.

A reference (review, offer, quote, rating) looks works up by the title it names, its ids and
its film page URL; it is decided again whenever a component holding one of those keys changes.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pipelines.identity import person_key, title_variants

MAX_KEY = 200  # longer keys are shortened with a digest (btree index entries are bounded)


def _bounded(key: str) -> str:
    if len(key) <= MAX_KEY:
        return key
    return key[: MAX_KEY - 41] + "#" + hashlib.sha1(key.encode()).hexdigest()


def film_titles(data: dict[str, Any]) -> list[str]:
    """Every title a film record gives: display, original, then its other titles."""
    out = [data["title"]]
    if data.get("original_title"):
        out.append(data["original_title"])
    return out + [t["title"] for t in data.get("titles") or []]


def title_keys(titles: list[str]) -> set[str]:
    return {f"t:{k}" for t in titles for k in title_variants(t)}


def film_keys(data: dict[str, Any]) -> set[str]:
    """The blocking keys of a normalized film record."""
    keys = title_keys(film_titles(data))
    keys |= {f"x:{ns}:{value}" for ns, value in (data.get("external_ids") or {}).items()}
    if data.get("year"):
        directors = {
            person_key(c["name"]) for c in data.get("credits") or [] if c.get("role") == "director"
        } - {""}
        keys |= {f"d:{d}:{data['year']}" for d in directors}
    keys.add(f"u:{data['url']}")
    return {_bounded(k) for k in keys}


def reference_keys(data: dict[str, Any]) -> set[str]:
    """The keys a reference looks works up by (the film it names)."""
    ref = data.get("film") or {}
    keys = title_keys([ref["title"]]) if ref.get("title") else set()
    keys |= {f"x:{ns}:{value}" for ns, value in (ref.get("external_ids") or {}).items()}
    if ref.get("url"):
        keys.add(f"u:{ref['url']}")
    return {_bounded(k) for k in keys}
