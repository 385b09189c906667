"""Run health: is this crawl's output what the site usually gives?

Checks are data (``CHECKS``): each names a measure of a run's stats, and a limit, either
absolute (a rate) or relative to the previous good run of the same plan entry (a drop). A
violated check marks the run ``degraded`` (exit 1), so cron mail and CI notice a site that
changed its layout, started refusing us or lost a field. Limits come from
``FILMAGG_HEALTH`` (a dict; see ``DEFAULT_LIMITS``), settable per site and per plan entry.

The pipeline counts what the checks read: ``filmagg/valid/<type>`` per item type and
``filmagg/coverage/film/<field>`` per film record that has the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Stats = Mapping[str, Any]

COVERAGE_FIELDS = ("year", "directors", "runtime_minutes", "cast", "synopsis", "external_ids")
ITEM_TYPES = ("film", "review", "offer", "quote", "rating")
DEFAULT_LIMITS = {
    "max_error_rate": 0.25,  # failed pages / pages requested
    "max_quarantine_rate": 0.25,  # quarantined / (stored + quarantined)
    "max_coverage_drop": 0.25,  # a film field's share may fall this much below the last good run
    "min_items_ratio": 0.5,  # items of a type, against the last good run
    "min_sample": 20,  # fewer films/items than this (now or then): no comparison
}


def _n(stats: Stats, key: str) -> float:
    value = stats.get(key, 0)
    return float(value) if isinstance(value, int | float) else 0.0


def failed_pages(stats: Stats) -> float:
    return sum(float(v) for k, v in stats.items() if k.startswith("filmagg/failed/"))


def error_rate(stats: Stats) -> float | None:
    requested = _n(stats, "response_received_count") + failed_pages(stats)
    return failed_pages(stats) / requested if requested else None


def quarantine_rate(stats: Stats) -> float | None:
    quarantined = _n(stats, "filmagg/stored/quarantined") + _n(
        stats, "filmagg/stored/quarantined_again"
    )
    stored = sum(_n(stats, f"filmagg/valid/{t}") for t in ITEM_TYPES)
    return quarantined / (stored + quarantined) if stored + quarantined else None


def coverage(stats: Stats, field: str) -> float | None:
    films = _n(stats, "filmagg/valid/film")
    return _n(stats, f"filmagg/coverage/film/{field}") / films if films else None


def not_modified_rate(stats: Stats) -> float | None:
    pages = _n(stats, "response_received_count")
    return _n(stats, "filmagg/not_modified") / pages if pages else None


@dataclass(frozen=True)
class Check:
    """One assertion over a run's stats (and the previous good run's)."""

    name: str
    describe: str
    verdict: Callable[[Stats, Stats | None, Mapping[str, float]], str | None]  # why it failed


def _rate_check(name: str, measure: Callable[[Stats], float | None], limit: str) -> Check:
    def verdict(now: Stats, _before: Stats | None, limits: Mapping[str, float]) -> str | None:
        value = measure(now)
        if value is not None and value > limits[limit]:
            return f"{name} {value:.0%} > {limits[limit]:.0%} ({limit})"
        return None

    return Check(name, f"{name} at most {limit}", verdict)


def _coverage_check(field: str) -> Check:
    def verdict(now: Stats, before: Stats | None, limits: Mapping[str, float]) -> str | None:
        if (
            before is None
            or min(_n(now, "filmagg/valid/film"), _n(before, "filmagg/valid/film"))
            < limits["min_sample"]
        ):
            return None
        was, is_ = coverage(before, field), coverage(now, field)
        if was is not None and is_ is not None and was - is_ > limits["max_coverage_drop"]:
            return f"films with {field}: {is_:.0%}, down from {was:.0%} in the last good run"
        return None

    return Check(f"coverage/{field}", f"share of films with {field} holds", verdict)


def content_pages(stats: Stats) -> float:
    """Pages that came with content (200): an incremental run fetches few, and 304s or pages
    not due yield nothing, so items are compared per such page."""
    return _n(stats, "downloader/response_status_count/200")


def _items_check(item_type: str) -> Check:
    def verdict(now: Stats, before: Stats | None, limits: Mapping[str, float]) -> str | None:
        if before is None:
            return None
        pages_was, pages_now = content_pages(before), content_pages(now)
        was, is_ = _n(before, f"filmagg/valid/{item_type}"), _n(now, f"filmagg/valid/{item_type}")
        if min(pages_was, pages_now) < limits["min_sample"] or was < limits["min_sample"]:
            return None
        if is_ / pages_now < was / pages_was * limits["min_items_ratio"]:
            return (f"{item_type} items: {is_:.0f} from {pages_now:.0f} pages, against "
                    f"{was:.0f} from {pages_was:.0f} in the last good run")  # fmt: skip
        return None

    return Check(f"items/{item_type}", f"{item_type} items per page hold up", verdict)


CHECKS: tuple[Check, ...] = (
    _rate_check("error rate", error_rate, "max_error_rate"),
    _rate_check("quarantine rate", quarantine_rate, "max_quarantine_rate"),
    *(_coverage_check(f) for f in COVERAGE_FIELDS),
    *(_items_check(t) for t in ITEM_TYPES),
)


def share_of_a_job(stats: Stats) -> bool:
    """A worker of a distributed crawl (``crawl --redis``) fetched a share of its job's pages,
    and which share depends on timing (one worker may get most of one host's films): its
    items and field coverage say nothing against an earlier run, so only the rate checks
    apply to it."""
    return bool(stats.get("filmagg/redis/job"))


def health_report(now: Stats, before: Stats | None, limits: Mapping[str, Any] | None = None,
                  previous_run: int | None = None) -> dict[str, Any]:  # fmt: skip
    """The run's measures, and every check that failed (``problems``; empty when healthy)."""
    lim = {**DEFAULT_LIMITS, **{k: float(v) for k, v in (limits or {}).items()}}
    problems = [why for c in CHECKS if (why := c.verdict(now, before, lim))]
    measures = {
        "items": {t: int(_n(now, f"filmagg/valid/{t}")) for t in ITEM_TYPES if _n(now, f"filmagg/valid/{t}")},
        "coverage": {f: round(v, 3) for f in COVERAGE_FIELDS if (v := coverage(now, f)) is not None},
        "error_rate": _round(error_rate(now)),
        "quarantine_rate": _round(quarantine_rate(now)),
        "not_modified_rate": _round(not_modified_rate(now)),
    }  # fmt: skip
    return {"measures": measures, "compared_with_run": previous_run, "problems": problems}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
