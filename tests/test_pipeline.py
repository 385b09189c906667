"""The item pipeline over a file SQLite catalog (and PostgreSQL): the seed case, the traps,
idempotency, order independence and quarantine."""

from __future__ import annotations

import random
from typing import Any

import pytest
from scrapy.http import HtmlResponse
from sqlmodel import Session, func, select

from crawler.sites import all_sites
from crawler.spiders.base import page_records
from pipelines.catalog.db import get_engine
from pipelines.catalog.models import Flag, Quarantine, SourceRecord, Work
from pipelines.catalog.queries import iter_works, summary, work_detail
from pipelines.catalog.store import Catalog
from tests.conftest import run_pipeline


def works_by_title(db_url: str) -> dict[tuple[str, int | None], dict[str, Any]]:
    with Session(get_engine(db_url)) as s:
        return {(w["title"], w["year"]): w for w in iter_works(s)}


def partition(db_url: str) -> set[frozenset[str]]:
    """Works as sets of their records' (url, type, item_key): comparable across runs."""
    with Session(get_engine(db_url)) as s:
        groups: dict[int | None, set[str]] = {}
        for sr in s.exec(select(SourceRecord)).all():
            key = sr.work_id if sr.work_id is not None else -sr.id
            groups.setdefault(key, set()).add(f"{sr.url}|{sr.type}|{sr.item_key}")
        return {frozenset(g) for g in groups.values()}


def flags(db_url: str) -> set[tuple[str, str]]:
    with Session(get_engine(db_url)) as s:
        rows = s.exec(
            select(Flag.kind, SourceRecord.url).join(
                SourceRecord, SourceRecord.id == Flag.source_record_id
            )
        ).all()
        return {(kind, url) for kind, url in rows}


@pytest.fixture
def demo_db(scraped_demo: list[Any], sqlite_url: str) -> str:
    run_pipeline(scraped_demo, sqlite_url)
    return sqlite_url


def test_seed_case_two_works_apart(demo_db: str) -> None:
    works = works_by_title(demo_db)
    drama = works[("Leaving Las Vegas", 1995)]
    concert = works[("The Killers - Leaving Las Vegas", 2007)]
    assert drama["kind"] == "feature" and drama["runtime_minutes"] == 111
    assert drama["directors"] == ["Mike Figgis"]
    assert {"name": "Nicolas Cage", "character": "Ben Sanderson"} in drama["cast"]
    assert {"name": "Elisabeth Shue", "character": "Sera"} in drama["cast"]
    assert set(drama["genres"]) >= {"Drama", "Romance"}
    assert concert["kind"] == "concert" and concert["runtime_minutes"] == 61
    assert concert["genres"] == ["Concerts", "Music", "Documentary"]
    assert concert["directors"] == [] and concert["cast"] == []
    assert {s["site"] for s in drama["sources"]} == {"cinepedia", "streamfinder", "reelreviews"}


def test_borrowed_synopsis_is_flagged_and_not_used(demo_db: str) -> None:
    works = works_by_title(demo_db)
    concert = works[("The Killers - Leaving Las Vegas", 2007)]
    drama = works[("Leaving Las Vegas", 1995)]
    assert concert["synopsis"] is None
    (flag,) = [f for f in concert["flags"] if f["kind"] == "synopsis_conflict"]
    assert "Leaving Las Vegas" in flag["detail"] and "(1995)" in flag["detail"]
    for name in ("Mike Figgis", "Nicolas Cage", "Elisabeth Shue", "Ben Sanderson", "Sera"):
        assert name in flag["detail"]
    with Session(get_engine(demo_db)) as s:
        evidence = s.exec(select(Flag.evidence).where(Flag.kind == "synopsis_conflict",
                                                      Flag.work_id == concert["id"])).one()  # fmt: skip
    assert evidence["other_work_id"] == drama["id"] and evidence["other_year"] == 1995
    assert drama["synopsis"] and "Ben Sanderson" in drama["synopsis"]
    assert not [f for f in drama["flags"] if f["kind"] == "synopsis_conflict"]


def test_second_borrowed_synopsis_room_237(demo_db: str) -> None:
    room = works_by_title(demo_db)[("Room 237", 2012)]
    assert room["kind"] == "documentary" and room["synopsis"] is None
    (flag,) = [f for f in room["flags"] if f["kind"] == "synopsis_conflict"]
    assert "The Shining" in flag["detail"] and "Jack Nicholson" in flag["detail"]


def test_blake_review_attaches_to_the_drama_with_reasons(demo_db: str) -> None:
    drama = works_by_title(demo_db)[("Leaving Las Vegas", 1995)]
    with Session(get_engine(demo_db)) as s:
        detail = work_detail(s, drama["id"])
    assert detail is not None
    (review,) = [r for r in detail["reviews"] if r["author"] == "Blake"]
    assert review["published_at"] == "2022-08-19T13:55:03"
    assert review["title"] == "True Love, Heavy Reality: Film Review"
    assert len(detail["quotes"]) == 2
    (decision,) = [d for d in detail["decisions"] if d["type"] == "review"]
    text = " ".join(decision["reasons"])
    assert "exact title 'Leaving Las Vegas'" in text
    assert "Sera" in text and "Ben Sanderson" in text
    assert decision["outcome"] == "matched"


@pytest.mark.parametrize(
    ("title", "year", "kind", "director"),
    [("Psycho", 1960, "feature", "Alfred Hitchcock"), ("Psycho", 1998, "feature", "Gus Van Sant"),
     ("Fargo", 1996, "feature", "Joel Coen"), ("Fargo", 2014, "tv_series", None),
     ("Dracula", 1931, "feature", "Tod Browning"), ("Drácula", 1931, "feature", None),
     ("Ocean's Eleven", 2001, "feature", "Steven Soderbergh"), ("Ocean's 11", 1960, "feature", None)],
)  # fmt: skip
def test_same_title_traps_stay_apart(
    demo_db: str, title: str, year: int, kind: str, director: str | None
) -> None:
    work = works_by_title(demo_db)[(title, year)]
    assert work["kind"] == kind
    assert work["directors"] == ([director] if director else [])


def test_cross_site_merges(demo_db: str) -> None:
    works = works_by_title(demo_db)
    seven = works[("Seven", 1995)]  # "Se7en" on the listing site
    assert {t["title"] for t in seven["titles"]} >= {"Seven", "Se7en"}
    assert {s["site"] for s in seven["sources"]} == {"cinepedia", "streamfinder", "reelreviews"}
    fargo_tv = works[("Fargo", 2014)]
    assert {s["site"] for s in fargo_tv["sources"]} == {"cinepedia", "streamfinder", "reelreviews"}
    assert len([w for w in works if w[0] == "Psycho"]) == 2


def test_ambiguous_review_is_not_guessed(demo_db: str) -> None:
    with Session(get_engine(demo_db)) as s:
        rows = s.exec(select(SourceRecord).where(SourceRecord.url.contains("twelve-cabins"))).all()
        assert rows and all(r.work_id is None for r in rows)
        flags = s.exec(select(Flag).where(Flag.kind == "ambiguous_reference",
                                          Flag.source_record_id == rows[0].id)).all()  # fmt: skip
        (flag,) = flags
        assert sorted(c["year"] for c in flag.evidence["candidates"]) == [1960, 1998]
        perkins = s.exec(select(SourceRecord).where(SourceRecord.url.contains("perkins"))).all()
        years = {s.get(Work, r.work_id).year for r in perkins}  # type: ignore[union-attr]
        assert years == {1960}


def test_offers_attach_through_their_page(demo_db: str) -> None:
    drama = works_by_title(demo_db)[("Leaving Las Vegas", 1995)]
    with Session(get_engine(demo_db)) as s:
        detail = work_detail(s, drama["id"])
    assert detail and len(detail["offers"]) == 4
    assert all(o["country"] == "US" for o in detail["offers"])


def test_bad_pages_are_quarantined_with_reasons(demo_db: str) -> None:
    with Session(get_engine(demo_db)) as s:
        rows = {(q.url.rsplit("/", 1)[-1], q.reason) for q in s.exec(select(Quarantine)).all()}
    assert rows >= {
        ("coming-soon.html", "empty_body"),
        ("amelie-2001.html", "encoding_title"),
        ("untitled-draft.html", "missing_title"),
        ("removed.html", "missing_body"),
    }


def test_stats_count_outcomes(scraped_demo: list[Any], sqlite_url: str) -> None:
    stats = run_pipeline(scraped_demo, sqlite_url)
    assert stats["filmagg/invalid/missing_title"] == 1
    assert stats["filmagg/invalid/encoding_title"] == 1
    assert stats["filmagg/rejected/empty_body"] == 1
    assert stats["filmagg/valid/film"] >= 20
    assert stats["filmagg/stored/new"] == sum(
        v for k, v in stats.items() if k.startswith("filmagg/valid/")
    )


def test_running_twice_changes_nothing_but_last_seen(
    scraped_demo: list[Any], sqlite_url: str
) -> None:
    run_pipeline(scraped_demo, sqlite_url)
    with Session(get_engine(sqlite_url)) as s:
        before = summary(s)
    stats = run_pipeline(scraped_demo, sqlite_url)
    with Session(get_engine(sqlite_url)) as s:
        assert summary(s) == before
    assert "filmagg/stored/new" not in stats and stats["filmagg/stored/unchanged"] > 0


def test_changed_page_updates_record_and_keeps_what_changed(
    scraped_demo: list[Any], sqlite_url: str
) -> None:
    run_pipeline(scraped_demo, sqlite_url)
    changed = [i.model_copy(update={"runtime": "2h 51m"}) if getattr(i, "url", "").endswith("heat-1995.html")
               and i.type == "film" and i.site == "cinepedia" else i for i in scraped_demo]  # fmt: skip
    stats = run_pipeline(changed, sqlite_url)
    assert stats["filmagg/stored/updated"] == 1
    with Session(get_engine(sqlite_url)) as s:
        sr = s.exec(
            select(SourceRecord).where(SourceRecord.url.endswith("cinepedia/film/heat-1995.html"))
        ).one()
        assert sr.changes and sr.changes[-1]["fields"] == ["runtime_minutes"]
        assert s.exec(select(func.count()).select_from(Work).where(Work.title == "Heat")).one() == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_order_gives_the_same_works(scraped_demo: list[Any], tmp_path: Any, seed: int) -> None:
    reference = f"sqlite:///{tmp_path / 'ref.db'}"
    run_pipeline(scraped_demo, reference)
    shuffled = list(scraped_demo)
    random.Random(seed).shuffle(shuffled)
    other = f"sqlite:///{tmp_path / f'shuffled{seed}.db'}"
    run_pipeline(shuffled, other, batch_size=3)
    assert partition(other) == partition(reference)


def test_site_by_site_in_any_order(tmp_path: Any) -> None:
    """Sites crawled one after another (separate runs), reviews first: same works."""
    from tests.conftest import demo_items

    reference = f"sqlite:///{tmp_path / 'ref.db'}"
    run_pipeline(demo_items(), reference)
    other = f"sqlite:///{tmp_path / 'bysite.db'}"
    for site in ("reelreviews", "streamfinder", "cinepedia"):
        run_pipeline(demo_items((site,)), other)
    assert partition(other) == partition(reference)
    # the borrowed synopses are flagged even though the listings came before the films they
    # describe (the reverse lookup through the mention index)
    assert flags(other) == flags(reference)
    assert {u.rsplit("/", 1)[-1] for k, u in flags(other) if k == "synopsis_conflict"} == {
        "room-237.html",
        "the-killers-leaving-las-vegas.html",
    }


def test_rebuild_recomputes_the_same_works(demo_db: str) -> None:
    before = partition(demo_db)
    counts = Catalog(get_engine(demo_db)).rebuild()
    assert counts["film/new"] >= 14
    assert partition(demo_db) == before


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty_body"),
        (b"   \n ", "empty_body"),
        (b"<html>" + b"x" * 2048 + b"</html>", "page_too_large"),
    ],
)
def test_page_adapter_rejects_bad_pages(body: bytes, reason: str) -> None:
    rules = all_sites()["cinepedia"]
    response = HtmlResponse(url="http://127.0.0.1:8157/cinepedia/film/x.html", body=body)
    (item,) = list(page_records(rules, response, max_bytes=1024))
    assert item.type == "rejected" and item.reason == reason


def test_parser_crash_is_quarantined_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    from crawler.sites.base import Route, SiteRules

    def broken(response: Any) -> list[Any]:
        raise RuntimeError("boom")

    rules = SiteRules(name="broken", routes=(Route(r".*", broken),))
    response = HtmlResponse(url="http://127.0.0.1/x.html", body=b"<html><body>hi</body></html>")
    (item,) = list(page_records(rules, response))
    assert item.reason == "parser_error" and "boom" in item.detail


@pytest.mark.postgres
def test_postgres_catalog(scraped_demo: list[Any], postgres_url: str, tmp_path: Any) -> None:
    run_pipeline(scraped_demo, postgres_url)
    reference = f"sqlite:///{tmp_path / 'ref.db'}"
    run_pipeline(scraped_demo, reference)
    assert partition(postgres_url) == partition(reference)
    with Session(get_engine(postgres_url)) as s:
        before = summary(s)
    run_pipeline(scraped_demo, postgres_url)
    with Session(get_engine(postgres_url)) as s:
        assert summary(s) == before


def test_many_reviews_and_films_on_one_page_are_all_kept(sqlite_url: str) -> None:
    """A critic list holds many reviews at one URL; a season page may list several films."""
    from crawler.spiders.base import distinct_film_urls
    from pipelines.records import FilmRef, ScrapedFilm, ScrapedReview

    page = "http://127.0.0.1/criticreviews"
    ref = FilmRef(title="Heat", year="1995")
    reviews = [ScrapedReview(site="x", url=page, film=ref, author=a, body=f"{a} liked it.", critic=True)
               for a in ("Ann Critic", "Bo Critic", "Cy Critic")]  # fmt: skip
    films = distinct_film_urls(
        [ScrapedFilm(site="x", url=page, title=t, year="2008") for t in ("Ep A", "Ep B")]
    )
    assert films[0].url == page and films[1].url == page + "#ep-b-2008"
    run_pipeline([*films, *reviews], sqlite_url)
    run_pipeline([*films, *reviews], sqlite_url)  # and again: nothing churns
    with Session(get_engine(sqlite_url)) as s:
        rows = s.exec(select(SourceRecord)).all()
        assert sorted(r.type for r in rows) == ["film", "film", "review", "review", "review"]
        assert all(len(r.changes or []) == 0 for r in rows)


def test_foreign_title_meets_its_work_through_director_and_year(sqlite_url: str) -> None:
    """A record under another language's title shares no title key: director + year find the
    candidate, and people overlap decides (DESIGN §4, missing or foreign titles)."""
    from pipelines.records import ScrapedCredit, ScrapedFilm

    people = [ScrapedCredit(name="Vittorio De Sica", role="director"),
              ScrapedCredit(name="Lamberto Maggiorani"), ScrapedCredit(name="Enzo Staiola"),
              ScrapedCredit(name="Lianella Carell")]  # fmt: skip
    italian = ScrapedFilm(
        site="a", url="http://a/1", title="Ladri di biciclette", year="1948", credits=people
    )
    english = ScrapedFilm(
        site="b", url="http://b/1", title="Bicycle Thieves", year="1948", credits=people[::-1]
    )
    other = ScrapedFilm(site="b", url="http://b/2", title="Umberto D.", year="1948",
                        credits=[ScrapedCredit(name="Vittorio De Sica", role="director")])  # fmt: skip
    run_pipeline([italian, english, other], sqlite_url)
    groups = {frozenset(u.rsplit("/", 2)[-2] + u[-1] for u in g) for g in partition(sqlite_url)}
    assert len(groups) == 2
    with Session(get_engine(sqlite_url)) as s:
        (work,) = [w for w in iter_works(s) if len(w["sources"]) == 2]
    assert {t["title"] for t in work["titles"]} == {"Ladri di biciclette", "Bicycle Thieves"}


def _tricky_catalog(seed: int = 11) -> list[Any]:
    """Three sources describing 40 works: same-title remakes, festival years (±1), thin
    records (title + year only), "Last, First" directors, ids on one source only."""
    from pipelines.records import ScrapedCredit, ScrapedFilm

    rng = random.Random(seed)
    titles = ["Night Train", "The Visitor", "Harbour", "Glass Garden", "Red Sky", "Signal"]
    items: list[Any] = []
    for w in range(40):
        title = titles[w % len(titles)]  # every title is shared by several works (remakes)
        year = 1950 + (w * 7) % 60
        director = f"Director{w} Person{w}"
        cast = [f"Actor{w}a Cast", f"Actor{w}b Cast"]
        runtime = 80 + (w * 13) % 70
        for source in range(3):
            credits = [
                ScrapedCredit(
                    name=director if source != 1 else f"Person{w}, Director{w}", role="director"
                )
            ]
            credits += [ScrapedCredit(name=c) for c in cast]
            thin = source == 2 and w % 4 == 0
            items.append(ScrapedFilm(
                site=f"site{source}", url=f"http://site{source}.example/{w}",
                title=title.upper() if source == 1 else title,
                year=str(year + (1 if source == 2 and w % 5 == 0 else 0)),
                runtime=None if thin else str(runtime + rng.randint(-2, 2)),
                credits=[] if thin else credits,
                external_ids={"imdb": f"tt{w:07d}"} if source == 0 else {},
            ))  # fmt: skip
    return items


@pytest.mark.parametrize("seed", range(5))
def test_tricky_catalog_in_any_order_gives_the_same_works(tmp_path: Any, seed: int) -> None:
    items = _tricky_catalog()
    reference = f"sqlite:///{tmp_path / 'ref.db'}"
    run_pipeline(items, reference)
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    run_pipeline(shuffled, other, batch_size=13)
    assert partition(other) == partition(reference)
    with Session(get_engine(reference)) as s:
        assert (
            s.exec(select(func.count()).select_from(Work)).one() == 40
        )  # no split, no wrong merge


def test_a_rival_arriving_later_revisits_a_weak_match(tmp_path: Any) -> None:
    """A record matched on title + year + runtime only because no rival existed is decided
    again when a rival arrives in a later crawl: both crawl orders give the same catalog."""
    from pipelines.records import ScrapedCredit, ScrapedFilm

    def film(site: str, director: str | None) -> ScrapedFilm:
        credits = [ScrapedCredit(name=director, role="director")] if director else []
        return ScrapedFilm(site=site, url=f"http://{site}.example/harbour", title="Harbour", year="1971",
                           runtime="95", credits=credits)  # fmt: skip

    first, rival, thin = film("a", "Ann Director"), film("b", "Bo Director"), film("c", None)
    early = f"sqlite:///{tmp_path / 'early.db'}"
    run_pipeline([first, thin], early)  # the thin record matches "first": no rival yet
    run_pipeline([rival], early)  # a rival with the same title, year and runtime arrives
    late = f"sqlite:///{tmp_path / 'late.db'}"
    run_pipeline([first, rival], late)
    run_pipeline([thin], late)
    assert partition(early) == partition(late)
    with Session(get_engine(early)) as s:
        sr = s.exec(select(SourceRecord).where(SourceRecord.site == "c")).one()
        assert sr.work_id is None
        assert s.exec(select(Flag.kind).where(Flag.source_record_id == sr.id)).all() == [
            "ambiguous_match"
        ]
