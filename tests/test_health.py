"""Run health checks over fake stats (issue 8): the assertions are data, tested as data."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.catalog.db import get_engine
from pipelines.catalog.health import health_report
from pipelines.catalog.runs import close_run, start_run


def run(films: int = 100, pages: int = 120, **extra: Any) -> dict[str, Any]:
    """Stats of a healthy crawl: every film has every field."""
    stats: dict[str, Any] = {"response_received_count": pages, "filmagg/valid/film": films,
                             "downloader/response_status_count/200": pages,
                             "filmagg/valid/review": 40, "finish_reason": "finished"}  # fmt: skip
    for field in ("year", "directors", "runtime_minutes", "cast", "synopsis", "external_ids"):
        stats[f"filmagg/coverage/film/{field}"] = films
    stats.update(extra)
    return stats


@pytest.mark.parametrize(
    ("now", "before", "problem"),
    [
        (run(), None, None),
        (run(), run(), None),
        (run(**{"filmagg/failed/http_500": 60}), None, "error rate 33% > 25%"),
        (run(**{"filmagg/stored/quarantined": 60}), None, "quarantine rate 30% > 25%"),
        (run(**{"filmagg/coverage/film/directors": 10}), run(), "films with directors: 10%, down from 100%"),
        (run(**{"filmagg/coverage/film/directors": 10}), None, None),  # nothing to compare with
        (run(films=10, **{"filmagg/coverage/film/year": 1}), run(), "film items: 10 from 120 pages"),
        (run(films=30), run(), "film items: 30 from 120 pages, against 100 from 120"),
        (run(**{"filmagg/valid/review": 5}), run(), "review items: 5 from 120 pages"),
        (run(films=60), run(), None),  # within min_items_ratio
        (run(films=0, pages=2), run(), None),  # an incremental run: nothing due, nothing to say
    ],
)  # fmt: skip
def test_checks(now: dict[str, Any], before: dict[str, Any] | None, problem: str | None) -> None:
    report = health_report(now, before)
    if problem is None:
        assert report["problems"] == []
    else:
        assert any(problem in p for p in report["problems"]), report["problems"]


def test_limits_are_settings() -> None:
    noisy = run(**{"filmagg/failed/http_500": 60})
    assert health_report(noisy, None, {"max_error_rate": 0.5})["problems"] == []


def test_a_site_that_lost_a_field_degrades_the_run_against_the_last_good_one(
    sqlite_url: str,
) -> None:
    engine = get_engine(sqlite_url)
    first = start_run(engine, "films", {"start_urls": "x"})
    assert close_run(engine, first, "finished", run())[0] == "finished"
    second = start_run(engine, "films", {"start_urls": "x"})
    status, health = close_run(engine, second, "finished",
                               run(**{"filmagg/coverage/film/runtime_minutes": 0}))  # fmt: skip
    assert status == "degraded" and health is not None
    assert health["compared_with_run"] == first
    assert health["problems"] == [
        "films with runtime_minutes: 0%, down from 100% in the last good run"
    ]
    other = start_run(engine, "films", {"start_urls": "elsewhere"})  # other arguments: no baseline
    assert close_run(engine, other, "finished", run(films=3))[0] == "finished"


def test_a_distributed_worker_is_held_to_the_rates_only(sqlite_url: str) -> None:
    """A worker's pages are a timing-dependent share of its job's: fewer films, other fields
    than a whole crawl, and no sign of a broken site; its error rate still counts."""
    engine = get_engine(sqlite_url)
    whole = start_run(engine, "films", {"start_urls": "x"})
    assert close_run(engine, whole, "finished", run())[0] == "finished"
    share = run(films=30, **{"filmagg/coverage/film/runtime_minutes": 3, "filmagg/redis/job": "j"})
    worker = start_run(engine, "films", {"start_urls": "x"})
    status, health = close_run(engine, worker, "finished", share)
    assert status == "finished" and health is not None and health["compared_with_run"] is None
    failing = start_run(engine, "films", {"start_urls": "x"})
    assert close_run(engine, failing, "finished",
                     {**share, "filmagg/failed/http_500": 60})[0] == "degraded"  # fmt: skip
