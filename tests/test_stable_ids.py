"""Stable work ids (issue 7): the id rule as a pure function, and merges and splits in a
catalog, with the retired id answering ``works show`` and exports."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session, select

from crawler.cli import main
from pipelines.catalog.db import get_engine
from pipelines.catalog.models import SourceRecord, WorkAlias
from pipelines.catalog.store import Catalog
from pipelines.catalog.workids import plan_ids
from pipelines.records import ScrapedCredit, ScrapedFilm
from tests.conftest import run_pipeline

# ------------------------------------------------------------------------------ the rule


@given(
    old=st.lists(st.one_of(st.none(), st.integers(1, 6)), min_size=1, max_size=14),
    data=st.data(),
)
def test_every_old_id_is_kept_once_merged_into_an_older_id_or_dissolved(
    old: list[int | None], data: st.DataObject
) -> None:
    records = list(range(len(old)))
    cluster_of = data.draw(st.lists(st.one_of(st.none(), st.integers(0, 4)),
                                    min_size=len(old), max_size=len(old)))  # fmt: skip
    clusters = [[r for r in records if cluster_of[r] == c] for c in range(5)]
    clusters = [c for c in clusters if c]
    plan = plan_ids(clusters, dict(enumerate(old)), {r: r for r in records})
    kept = [k for k in plan.kept if k is not None]
    assert len(kept) == len(set(kept))
    assert set(kept) | set(plan.merged) | set(plan.dissolved) == {w for w in old if w is not None}
    assert not set(kept) & set(plan.merged) and not set(kept) & set(plan.dissolved)
    for retired, survivor in plan.merged.items():
        assert survivor < retired and survivor in kept
    for cluster, k in zip(clusters, plan.kept, strict=True):
        if k is not None:  # the id goes where its oldest attached record is
            attached = [r for r in records if old[r] == k and cluster_of[r] is not None]
            assert min(attached) in cluster


def test_unchanged_clusters_keep_their_ids() -> None:
    plan = plan_ids([[0, 1], [2], [3]], {0: 7, 1: 7, 2: 3, 3: None}, {r: r for r in range(4)})
    assert plan.kept == [7, 3, None] and not plan.merged and not plan.dissolved


def test_a_split_leaves_the_id_with_the_oldest_evidence() -> None:
    plan = plan_ids([[5], [2, 9]], {2: 4, 5: 4, 9: 4}, {2: 1, 5: 2, 9: 3})
    assert plan.kept == [None, 4]


# ------------------------------------------------------------------------------ in a catalog


def _film(site: str, title: str, ids: dict[str, str] | None = None, runtime: str | None = None,
          year: str = "1948") -> ScrapedFilm:  # fmt: skip
    return ScrapedFilm(site=site, url=f"http://{site}.example/film", title=title, year=year,
                       runtime=runtime, external_ids=ids or {},
                       credits=[ScrapedCredit(name="Vittorio De Sica", role="director")])  # fmt: skip


ITALIAN = _film("a", "Ladri di biciclette", {"imdb": "tt0040522"})
ENGLISH = _film("b", "Bicycle Thieves", runtime="89")
BRIDGE = _film("c", "Bicycle Thieves", {"imdb": "tt0040522"})


def _work_of(db: str, site: str) -> int | None:
    with Session(get_engine(db)) as s:
        return s.exec(select(SourceRecord.work_id).where(SourceRecord.site == site)).one()


def test_merge_keeps_the_older_id_and_the_other_answers_merged_into(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_pipeline([ITALIAN], sqlite_url)
    run_pipeline([ENGLISH], sqlite_url)  # another title, no id: a work of its own, for now
    older, newer = _work_of(sqlite_url, "a"), _work_of(sqlite_url, "b")
    assert older is not None and newer is not None and older < newer
    run_pipeline([BRIDGE], sqlite_url)  # the same id under the English title: one work
    assert _work_of(sqlite_url, "a") == _work_of(sqlite_url, "b") == older
    with Session(get_engine(sqlite_url)) as s:
        alias = s.get(WorkAlias, newer)
        assert alias is not None and alias.work_id == older and alias.reason == "merged"

    assert main(["works", "show", str(newer), "--db", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"#{newer} was merged into #{older}"
    assert main(["works", "show", str(newer), "--json", "--db", sqlite_url]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["merged_into"] == older and shown["id"] == older
    assert main(["export", "works", "--format", "jsonl", "--db", sqlite_url]) == 0
    (work,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert work["id"] == older and work["merged_ids"] == [newer]
    assert main(["export", "aliases", "--format", "json", "--db", sqlite_url]) == 0
    aliases: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    assert [(a["id"], a["merged_into"]) for a in aliases] == [(newer, older)]

    # a rebuild changes no id, and a re-crawl that changes nothing neither
    Catalog(get_engine(sqlite_url)).rebuild()
    run_pipeline([ITALIAN, ENGLISH, BRIDGE], sqlite_url)
    assert {_work_of(sqlite_url, x) for x in "abc"} == {older}


def test_split_leaves_the_id_with_the_oldest_record_and_never_reuses_one(sqlite_url: str) -> None:
    run_pipeline([ITALIAN, BRIDGE, ENGLISH], sqlite_url)
    work = _work_of(sqlite_url, "a")
    assert {_work_of(sqlite_url, x) for x in "abc"} == {work}
    # the bridging page changes: now another film of the director, in another year
    run_pipeline([_film("c", "Umberto D.", year="1952")], sqlite_url)
    assert _work_of(sqlite_url, "a") == work  # the oldest evidence keeps the id
    others = {_work_of(sqlite_url, "b"), _work_of(sqlite_url, "c")}
    assert work not in others and len(others) == 2
    assert all(w is not None and w > work for w in others)
