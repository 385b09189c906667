"""One review, offer and quote per real-world item (issue 10): the demo crawled at two
addresses, syndicated reviews, offers listed twice. Every catalog test runs on SQLite and
PostgreSQL; every state reached incrementally is compared with a rebuild of it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from pipelines.catalog.db import get_engine
from pipelines.catalog.models import MatchDecision, Offer, Review, SourceRecord, Work
from pipelines.catalog.queries import summary
from pipelines.catalog.resolver import Resolver
from pipelines.records import FilmRef, PageFetched, ScrapedFilm, ScrapedOffer, ScrapedReview
from tests.catalog_compare import assert_same_catalog, snapshot
from tests.conftest import ROOT, demo_items, run_pipeline
from tests.test_resolution_order import (
    PROPERTY,
    TITLES,
    assert_rebuild_changes_nothing,
    film,
    split,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return request.getfixturevalue("postgres_url")


def counts(db: str) -> dict[str, int]:
    with Session(get_engine(db)) as s:
        found = summary(s)
        records = s.exec(select(func.count()).select_from(SourceRecord)).one()
    return {"works": found["works"], "reviews": found["reviews"], "offers": found["offers"],
            "quotes": found["quotes"], "records": records}  # fmt: skip


def rebuild_changes_nothing(db: str) -> None:
    """The catalog as resolved incrementally is the one ``resolve --rebuild`` gives."""
    before = snapshot(db)
    Resolver(get_engine(db)).rebuild()
    assert_same_catalog(before, snapshot(db), ("incremental", "rebuild"))


def decisions(db: str) -> dict[tuple[str, str], tuple[str | None, int | None]]:
    """(site, url) of each review/offer record -> (identity, id of the record it copies)."""
    with Session(get_engine(db)) as s:
        rows = s.exec(
            select(SourceRecord.site, SourceRecord.url, SourceRecord.id, MatchDecision.identity,
                   MatchDecision.duplicate_of)
            .join(MatchDecision, MatchDecision.source_record_id == SourceRecord.id)
            .where(SourceRecord.type != "film")
        ).all()  # fmt: skip
    return {(site, url): (ident, dup) for site, url, _, ident, dup in rows}


# ------------------------------------------------------------------------------ two addresses


def test_the_demo_at_two_addresses_keeps_one_copy_of_each_item(catalog: str) -> None:
    run_pipeline(demo_items(base="http://127.0.0.1:8157/"), catalog)
    once = counts(catalog)
    stats = run_pipeline(demo_items(base="http://127.0.0.1:8158/"), catalog)
    twice = counts(catalog)
    assert once["reviews"] > 0 and once["offers"] > 0 and once["quotes"] > 0
    assert {k: twice[k] for k in ("works", "reviews", "offers", "quotes")} == {
        k: once[k] for k in ("works", "reviews", "offers", "quotes")
    }
    assert twice["records"] == 2 * once["records"]  # every source kept: nothing dropped
    folded = {k: v for k, v in stats.items() if k.startswith("filmagg/resolve/duplicates/")}
    assert folded == {
        "filmagg/resolve/duplicates/review": once["reviews"],
        "filmagg/resolve/duplicates/offer": once["offers"],
        "filmagg/resolve/duplicates/quote": once["quotes"],
    }
    with Session(get_engine(catalog)) as s:  # same dates: the rows are the smaller URLs' (:8157)
        urls = s.exec(select(Review.url)).all() + s.exec(select(SourceRecord.url).join(
            Offer, Offer.source_record_id == SourceRecord.id)).all()  # fmt: skip
        copies = s.exec(select(SourceRecord.url).join(
            MatchDecision, MatchDecision.duplicate_of.is_not(None)  # type: ignore[union-attr]
        ).where(MatchDecision.source_record_id == SourceRecord.id)).all()  # fmt: skip
    assert urls and all(":8157/" in u for u in urls)
    assert len(copies) == sum(once[k] for k in ("reviews", "offers", "quotes"))
    assert all(":8158/" in u for u in copies)
    rebuild_changes_nothing(catalog)


# ------------------------------------------------------------------------------ reviews

HEAT = ScrapedFilm(site="cinepedia", url="http://films.example/heat", title="Heat", year="1995",
                   external_ids={"imdb": "tt0113277"})  # fmt: skip
REF = FilmRef(title="Heat", year="1995", external_ids={"imdb": "tt0113277"})


def review(site: str, url: str, body: str, author: str = "Ann Critic",
           when: str = "2024-05-01 10:00") -> ScrapedReview:  # fmt: skip
    return ScrapedReview(site=site, url=url, film=REF, author=author, published_at=when,
                         body=body, critic=True)  # fmt: skip


def test_a_syndicated_review_is_one_review_and_other_reviews_that_day_stay_apart(
    catalog: str,
) -> None:
    original = review("reelreviews", "http://reel.example/r/1", "Mann's city hums at night.")
    syndicated = review("papers", "https://papers.example/ann/heat?utm_source=rss",
                        "Mann's  city hums at night.", when="2024-05-01 18:30")  # fmt: skip
    other = review("papers", "https://papers.example/ann/heat-2", "A second look, same day.")
    run_pipeline([HEAT, original], catalog)
    run_pipeline([syndicated, other], catalog)
    with Session(get_engine(catalog)) as s:
        rows = s.exec(select(Review.site, Review.url, Review.body).order_by(Review.id)).all()
        (work_id,) = s.exec(select(Work.id)).all()
    assert sorted(rows) == [
        ("papers", "https://papers.example/ann/heat-2", "A second look, same day."),
        ("reelreviews", "http://reel.example/r/1", "Mann's city hums at night."),
    ]
    found = decisions(catalog)
    first = found[("reelreviews", "http://reel.example/r/1")]
    copy = found[("papers", "https://papers.example/ann/heat")]  # tracking parameter dropped
    assert first[1] is None and copy[0] == first[0] and copy[0].startswith(f"review:w{work_id}:")
    assert copy[1] is not None  # it points at the original's record
    assert found[("papers", "https://papers.example/ann/heat-2")][1] is None
    rebuild_changes_nothing(catalog)


def test_when_the_copy_holding_the_row_changes_the_other_takes_its_place(catalog: str) -> None:
    a = review("reelreviews", "http://reel.example/r/1", "Mann's city hums at night.",
               when="2024-05-01 09:00")  # published first: it holds the row  # fmt: skip
    b = review("papers", "https://papers.example/ann/heat", "Mann's city hums at night.")
    run_pipeline([HEAT, b], catalog)
    run_pipeline([a], catalog)  # found later, published earlier: it takes the row
    with Session(get_engine(catalog)) as s:
        assert s.exec(select(Review.site)).all() == ["reelreviews"]
    edited = a.model_copy(update={"body": "Mann's city hums at night. (Updated.)"})
    run_pipeline([edited], catalog)
    with Session(get_engine(catalog)) as s:
        rows = sorted(s.exec(select(Review.site, Review.body)).all())
    assert rows == [("papers", "Mann's city hums at night."),
                    ("reelreviews", "Mann's city hums at night. (Updated.)")]  # fmt: skip
    assert all(dup is None for _, dup in decisions(catalog).values())
    rebuild_changes_nothing(catalog)


# ------------------------------------------------------------------------------ offers


def offer(port: int, price: str | None, listed: bool = True) -> list[Any]:
    """A film page at ``port`` listing (or no longer listing) one Netflix offer of Heat."""
    url = f"http://127.0.0.1:{port}/streamfinder/movie/heat.html"
    items: list[Any] = []
    if listed:
        items.append(ScrapedOffer(site="streamfinder", url=url, film=REF, provider="Netflix",
                                  country="US", monetization="flatrate", quality="HD",
                                  price=price, currency="USD"))  # fmt: skip
    return [*items, PageFetched(site="streamfinder", url=url, status=200, kind="film")]


def offer_row(db: str) -> tuple[float | None, bool]:
    with Session(get_engine(db)) as s:
        (row,) = s.exec(select(Offer)).all()
    return row.price, row.gone_at is not None


def test_one_offer_listed_twice_latest_price_wins_and_gone_only_when_gone_everywhere(
    catalog: str,
) -> None:
    run_pipeline([HEAT, *offer(8001, "$3.99")], catalog)
    time.sleep(0.01)  # the next versions are strictly later
    run_pipeline(offer(8002, "$3.99"), catalog)
    assert offer_row(catalog) == (3.99, False)
    time.sleep(0.01)
    run_pipeline(offer(8001, "$4.99"), catalog)  # the first copy's price moves: it wins
    assert offer_row(catalog) == (4.99, False)
    rebuild_changes_nothing(catalog)
    run_pipeline(offer(8002, None, listed=False), catalog)  # still listed at 8001
    assert offer_row(catalog) == (4.99, False)
    rebuild_changes_nothing(catalog)
    run_pipeline(offer(8001, None, listed=False), catalog)  # gone everywhere
    assert offer_row(catalog) == (4.99, True)
    rebuild_changes_nothing(catalog)
    run_pipeline(offer(8002, "$3.99"), catalog)  # back at one address
    assert offer_row(catalog)[1] is False
    rebuild_changes_nothing(catalog)


# ------------------------------------------------------------------------------ end to end


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _summary_counts(stdout: str) -> str:
    return next(line.strip() for line in stdout.splitlines() if line.strip().startswith("reviews:"))


def demo(db: str, timeout: float) -> str:
    """``filmagg demo`` on a free port, killed (and failed) past ``timeout`` seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FILMAGG_DB", None)
    done = subprocess.run([sys.executable, "-m", "crawler.cli", "demo", "--db", db, "--port",
                           str(_free_port())], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_demo_twice_on_two_ports_leaves_one_copy_of_each(catalog: str) -> None:
    """`filmagg demo` run twice, on two ports, into one catalog: as many reviews, offers and
    quotes as once (each run is bounded; the pair must stay well under a minute)."""
    started = time.monotonic()
    first = demo(catalog, timeout=45)
    second = demo(catalog, timeout=max(5.0, 55 - (time.monotonic() - started)))
    assert _summary_counts(first) == _summary_counts(second)
    assert "reviews: 10  offers: 27  quotes: 22" in second
    assert "records: 162" in second  # both addresses' records kept


# ------------------------------------------------------------------------------ any order

ADDRESSES = ("http://a.example:8001", "http://a.example:8002", "https://b.example")


@st.composite
def copies(draw: st.DrawFn) -> list[Any]:
    """Films, and reviews and offers each reached at one to three addresses (a port, a
    syndicating site), some copies spelled with tracking parameters or another case."""
    n = draw(st.integers(2, 8))
    items: list[Any] = [draw(film(i)) for i in range(n)]
    for i in range(draw(st.integers(1, 5))):
        ref = FilmRef(title=draw(st.sampled_from(TITLES)), year=draw(st.sampled_from((None, "1960", "1998"))))  # fmt: skip
        author = draw(st.sampled_from(("Ann Critic", "Bo Critic")))
        body = draw(st.sampled_from(("Loved it.", "Role of Eli steals it.", "A second look.")))
        for at in draw(st.lists(st.sampled_from(ADDRESSES), min_size=1, max_size=3, unique=True)):
            spelling = draw(st.sampled_from(("", "?utm_source=rss", "#comments")))
            items.append(ScrapedReview(site="r" if "a.example" in at else "syndicated",
                                       url=f"{at}/review/{i}{spelling}", film=ref, author=author,
                                       published_at="2024-05-01", body=body))  # fmt: skip
            items.append(ScrapedOffer(site="s", url=f"{at}/movie/{i}", film=ref, provider="Netflix",
                                      country="US", monetization="flatrate",
                                      price=draw(st.sampled_from(("$3.99", "$4.99")))))  # fmt: skip
    return items


def items_and_rows(db: str) -> tuple[int, int, int, int]:
    """(review items, review rows, offer items, offer rows): items are distinct identities."""
    with Session(get_engine(db)) as s:
        found = s.exec(select(SourceRecord.type, MatchDecision.identity)
                       .join(MatchDecision, MatchDecision.source_record_id == SourceRecord.id)
                       .where(SourceRecord.type.in_(("review", "offer")))).all()  # type: ignore[attr-defined]  # fmt: skip
        reviews = s.exec(select(func.count()).select_from(Review)).one()
        offers = s.exec(select(func.count()).select_from(Offer)).one()
    assert all(ident for _, ident in found)
    kinds = {t: {i for tt, i in found if tt == t} for t in ("review", "offer")}
    return len(kinds["review"]), reviews, len(kinds["offer"]), offers


@PROPERTY
@given(items=copies(), data=st.data())
def test_copies_in_any_order_and_runs_are_stored_once_and_equal_a_rebuild(
    items: list[Any], data: st.DataObject
) -> None:
    order = data.draw(st.permutations(items), label="order")
    cuts = data.draw(st.lists(st.integers(0, len(order)), max_size=3), label="run cuts")
    batch = data.draw(st.integers(1, 6), label="batch size")
    with tempfile.TemporaryDirectory() as tmp:
        one, many = f"sqlite:///{Path(tmp) / 'one.db'}", f"sqlite:///{Path(tmp) / 'many.db'}"
        run_pipeline(items, one, batch_size=1000)
        for run in split(order, cuts):
            run_pipeline(run, many, batch_size=batch)
        review_items, reviews, offer_items, offers = items_and_rows(many)
        assert (reviews, offers) == (review_items, offer_items)  # one row per item
        assert items_and_rows(one) == items_and_rows(many)  # whatever the order
        assert snapshot(one)["reviews"] == snapshot(many)["reviews"]  # the same copy holds each
        assert_rebuild_changes_nothing(many)
        get_engine.cache_clear()


# ------------------------------------------------------------------------------ aliases


def test_aliases_key_a_mirror_under_its_original_and_keep_the_fetched_url(catalog: str) -> None:
    from scrapy.utils.test import get_crawler

    from crawler.incremental import PageStates
    from pipelines.catalog.models import Page
    from pipelines.stages import CatalogPipeline

    aliases = '{"http://mirror.example.org:8080": "https://www.example.org"}'
    crawler = get_crawler(settings_dict={"FILMAGG_DB": catalog, "FILMAGG_RESOLVER": "inline",
                                         "FILMAGG_URL_ALIASES": aliases})  # fmt: skip
    crawler.stats.open_spider()
    pipeline = CatalogPipeline.from_crawler(crawler)
    pipeline.open_run()
    fetched = "http://MIRROR.example.org:8080/film/heat?utm_medium=email&fbclid=x"
    pipeline.ingest([HEAT.model_copy(update={"url": fetched}),
                     PageFetched(site="cinepedia", url=fetched, status=200, kind="film")])  # fmt: skip
    with Session(get_engine(catalog)) as s:
        (record,) = s.exec(select(SourceRecord)).all()
        (page,) = s.exec(select(Page)).all()
    assert record.url == page.url == "https://www.example.org/film/heat"
    assert (record.raw or {})["url"] == fetched  # what was fetched stays in the raw payload
    states = PageStates.of(crawler)
    states.load(catalog, "cinepedia")
    assert states.get("http://mirror.example.org:8080/film/heat#cast") is not None
    assert states.get("http://mirror.example.org:8081/film/heat") is None


def test_a_bad_aliases_setting_stops_the_pipeline() -> None:
    from scrapy.utils.test import get_crawler

    from pipelines.stages import CatalogPipeline

    crawler = get_crawler(settings_dict={"FILMAGG_URL_ALIASES": '{"mirror.example.org": 1}'})
    with pytest.raises(ValueError, match="FILMAGG_URL_ALIASES"):
        CatalogPipeline.from_crawler(crawler)
