"""A deterministic generated film web, for end-to-end crawls (issue 7's concurrency tests).

Why generated: the concurrency and crash guarantees need hundreds of pages whose every record
is known in advance, so a test can count what a crawl must store and check that no film was
split or merged wrongly. ``generate`` writes two "sites" describing the same films:

* site A (crawled as ``http://127.0.0.1:PORT/a/...``): JSON-LD ``Movie`` pages with dated
  releases, ``Person`` directors, cast with characters, ISO-8601 runtimes, an IMDb ``sameAs``
  on two films in three, an aggregate rating on some; ``Review`` pages naming the film by
  title, year, director and link;
* site B (crawled as ``http://localhost:PORT/b/...``, the same server: Scrapy and the
  ``schema_org`` parser see another host): bare years, directors written "Last, First", no
  runtime, no IMDb id, cast without characters, a "The" on some titles, a rental offer on
  some pages; ``Review`` pages naming the film by title and year only.

Every tenth film is a remake: it shares its title with the film five places before it, with
another director and a year at least 12 apart, so title blocking always finds a rival.

``Site`` is the truth: for every page, the records it must yield (type, film id), and for
every film its facts. ``serve`` is a threaded HTTP server that also counts the requests it
answered, so a test can stop a crawl after a chosen number of pages instead of after a
guessed time (``crawler.cli.serve_directory`` has no counter, hence this one).
"""

from __future__ import annotations

import contextlib
import functools
import html
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

HOSTS = ("A", "B")
HOST_PREFIX = {"A": "a", "B": "b"}
SITE_NAME = {"A": "127.0.0.1", "B": "localhost"}  # what the schema_org parser calls each host
INDEX_BLOCK = 50  # films listed per index page
REMAKE_EVERY = 10  # film i with i % 10 == 9 remakes film i - 5
REMAKE_OFFSET = 5

ADJECTIVES = (
    "Silent", "Crimson", "Hollow", "Distant", "Broken", "Golden", "Frozen", "Hidden", "Burning",
    "Quiet", "Savage", "Gentle", "Restless", "Forgotten", "Wandering", "Bitter", "Northern",
    "Scarlet", "Endless", "Lonely", "Electric", "Painted", "Sunken", "Velvet", "Wicked",
)  # fmt: skip
NOUNS = (
    "Harbor", "Garden", "Highway", "Orchard", "Lantern", "Frontier", "Canyon", "Carnival",
    "Meadow", "Station", "Horizon", "Tempest", "Cathedral", "Desert", "Monsoon", "Riverbank",
    "Avalanche", "Boulevard", "Compass", "Ferryman", "Glacier", "Harvest", "Junction", "Orbit",
)  # fmt: skip
FIRST_NAMES = (
    "Agnes", "Bruno", "Clara", "Dmitri", "Elena", "Felix", "Greta", "Hugo", "Ingrid", "Jonas",
    "Katja", "Lukas", "Marta", "Nils", "Olga", "Pavel", "Rosa", "Stefan", "Tilda", "Ulrich",
    "Vera", "Walter", "Yara", "Zoltan", "Beatrix", "Cyril", "Dorota", "Emil", "Flora", "Gustav",
)  # fmt: skip
LAST_NAMES = (
    "Abernathy", "Bergstrom", "Castellano", "Dvorak", "Eriksen", "Fontaine", "Gallagher",
    "Halvorsen", "Ivanova", "Jablonski", "Kowalczyk", "Lindqvist", "Marchetti", "Novak",
    "Okonkwo", "Petrovic", "Quintero", "Rasmussen", "Sorensen", "Takahashi", "Underwood",
    "Valdivia", "Whitlock", "Yamamoto", "Zielinski", "Achterberg", "Brannigan", "Cortazar",
)  # fmt: skip
CHARACTERS = (
    "Anna Keller", "Max Brandt", "Lena Vogel", "Tom Hardwick", "Sophie Marlow", "Jack Dunmore",
    "Iris Calloway", "Victor Lane", "Nora Quill", "Oscar Pell", "Ruth Ashby", "Sam Okafor",
    "Mira Sandoval", "Leo Fairbanks", "Hazel Crane", "Otto Kranz", "Edith Rowe", "Abel Stroud",
)  # fmt: skip
GENRES = ("Drama", "Thriller", "Comedy", "Romance", "Western", "Mystery", "Adventure", "Crime")
REVIEWERS = ("cinephile42", "moviebuff", "reelthoughts", "popcornjane", "nightowl", "filmfan")
PLOTS = (
    "a long journey changes everyone who takes it",
    "old friends meet again and settle a debt",
    "a small town keeps a secret for one summer too long",
    "a family business faces its last winter",
    "strangers share a train and a dangerous plan",
    "a musician returns home to find the house sold",
)  # fmt: skip


@dataclass(frozen=True)
class FilmTruth:
    """What is true of one film, whatever page describes it."""

    id: int
    title: str
    year: int
    director: tuple[str, str]  # (first, last)
    cast: tuple[tuple[str, str | None], ...]  # (name, character)
    runtime: int
    genres: tuple[str, ...]
    imdb: str | None
    remake_of: int | None
    the_on_b: bool  # site B prints "The <title>"

    @property
    def director_name(self) -> str:
        return f"{self.director[0]} {self.director[1]}"

    @property
    def slug(self) -> str:
        return f"{self.id:04d}-{self.title.lower().replace(' ', '-')}"


RecordType = Literal["film", "review", "offer", "rating", "quote"]


@dataclass(frozen=True)
class PageTruth:
    """One generated page and the records the ``schema_org`` spider must get from it."""

    host: str  # "A" or "B"
    path: str  # relative to the served root, e.g. "a/film/0007-silent-harbor.html"
    kind: Literal["film", "review", "index", "root"]
    film: int | None
    records: tuple[tuple[RecordType, int], ...]  # (type, film id); one of each type at most


@dataclass
class Site:
    """A generated site on disk and its truth."""

    root: Path
    films: list[FilmTruth]
    pages: list[PageTruth]
    by_film: dict[int, list[PageTruth]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for page in self.pages:
            if page.film is not None:
                self.by_film.setdefault(page.film, []).append(page)

    def record_pages(
        self, films: Iterable[int] | None = None, hosts: Sequence[str] = HOSTS
    ) -> list[PageTruth]:
        """The film and review pages of ``films`` (all films when None) on ``hosts``."""
        wanted = set(range(len(self.films)) if films is None else films)
        return [p for p in self.pages if p.film in wanted and p.host in hosts and p.records]

    def expected_records(
        self, bases: dict[str, str], pages: Iterable[PageTruth] | None = None
    ) -> dict[tuple[str, str, str], int]:
        """(site, url, type) -> film id of every record ``pages`` (default: all) yield."""
        out: dict[tuple[str, str, str], int] = {}
        for page in self.pages if pages is None else pages:
            url = page_url(bases, page)
            for rtype, film in page.records:
                out[(SITE_NAME[page.host], url, rtype)] = film
        return out

    def expected_works(self) -> int:
        return len(self.films)


def page_url(bases: dict[str, str], page: PageTruth) -> str:
    """The URL the page is crawled under: host A's or host B's base plus its path."""
    return bases[page.host] + page.path


def start_urls(bases: dict[str, str], pages: Iterable[PageTruth]) -> list[str]:
    return [page_url(bases, p) for p in pages]


def film_range(n_films: int, start: int, length: int) -> list[int]:
    """``length`` film ids from ``start``, wrapping around: page ranges for concurrent
    writers overlap across the end of the site too."""
    return [(start + i) % n_films for i in range(min(length, n_films))]


def write_start_list(site: Site, bases: dict[str, str], pages: Iterable[PageTruth], name: str
                     ) -> tuple[str, str]:  # fmt: skip
    """Write the start URLs of a page range twice: ``lists/<name>.txt`` (one URL a line, for
    people and logs) and ``lists/<name>.xml`` (a sitemap, servable, for ``-a sitemap=URL``).
    Returns (the ``-a start_urls=`` value, the sitemap's path relative to the served root).
    Only pages of one host may go in a sitemap the spider follows, so a mixed range is best
    passed as ``start_urls``."""
    urls = start_urls(bases, pages)
    folder = site.root / "lists"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.txt").write_text("".join(u + "\n" for u in urls), encoding="utf-8")
    locs = "".join(f"<url><loc>{escape(u)}</loc></url>" for u in urls)
    (folder / f"{name}.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>\n',
        encoding="utf-8",
    )
    return ",".join(urls), f"lists/{name}.xml"


# ------------------------------------------------------------------------------ films


def make_films(n: int, seed: int = 7) -> list[FilmTruth]:
    """``n`` films; every tenth remakes the one five places before it (same title, another
    director, 12+ years later). Directors are unique; actors come from a shared pool, so
    persons recur across films (the ``person`` rows that concurrent writers race to add)."""
    rng = random.Random(seed)
    titles = [f"{a} {b}" for a in ADJECTIVES for b in NOUNS]
    rng.shuffle(titles)
    people = [(f, last) for f in FIRST_NAMES for last in LAST_NAMES]
    rng.shuffle(people)
    if n > len(titles) or 2 * n > len(people):
        raise ValueError(f"at most {min(len(titles), len(people) // 2)} films")
    directors, actor_pool = people[:n], people[n : n + max(40, n // 2)]
    films: list[FilmTruth] = []
    for i in range(n):
        films.append(next_film(films, i, rng, titles[i], directors[i], actor_pool))
    return films


def next_film(films: list[FilmTruth], i: int, rng: random.Random, title: str,
              director: tuple[str, str], actor_pool: list[tuple[str, str]]) -> FilmTruth:  # fmt: skip
    """Film ``i`` after ``films``: a remake of the film ``REMAKE_OFFSET`` places before when
    ``i`` is the tenth of its ten (then ``title`` is unused), else a new ``title``."""
    remake_of = i - REMAKE_OFFSET if i % REMAKE_EVERY == REMAKE_EVERY - 1 else None
    if remake_of is not None:
        base = films[remake_of]
        title, year = base.title, min(base.year + rng.randint(12, 30), 2023)
        if year - base.year < 12:  # a late original: the remake comes before it instead
            year = base.year - rng.randint(12, 30)
    else:
        year = rng.randint(1950, 2015)
    cast_people = rng.sample(actor_pool, rng.randint(3, 4))
    characters = rng.sample(CHARACTERS, len(cast_people))
    cast = tuple(
        (f"{f} {last}", characters[k] if k < 2 or rng.random() < 0.5 else None)
        for k, (f, last) in enumerate(cast_people)
    )
    return FilmTruth(
        id=i,
        title=title,
        year=year,
        director=director,
        cast=cast,
        runtime=rng.randint(78, 172),
        genres=tuple(rng.sample(GENRES, rng.randint(1, 2))),
        imdb=f"tt{1100000 + 37 * i:07d}" if i % 3 != 0 else None,
        remake_of=remake_of,
        the_on_b=i % 7 == 3,
    )


def _duration(minutes: int) -> str:
    h, m = divmod(minutes, 60)
    return f"PT{h}H{m}M" if h else f"PT{m}M"


def _synopsis(film: FilmTruth) -> str:
    """A plot line naming no person, character or year: the text checks have nothing to say."""
    return f"In this {film.genres[0].lower()}, {PLOTS[film.id % len(PLOTS)]}."


def _has_review(film: FilmTruth, host: str) -> bool:
    return film.id % 2 == 0 if host == "A" else film.id % 3 == 0


def _has_offer(film: FilmTruth) -> bool:
    return film.id % 5 == 0  # site B only


def _has_rating(film: FilmTruth) -> bool:
    return film.id % 4 == 1  # site A only, nested in the film: no record of its own


def film_path(film: FilmTruth, host: str) -> str:
    if host == "A":
        return f"a/film/{film.slug}.html"
    return f"b/movies/{film.slug}-{film.year}.html"


def review_path(film: FilmTruth, host: str) -> str:
    return f"a/review/{film.id:04d}.html" if host == "A" else f"b/reviews/{film.id:04d}.html"


def index_path(block: int, host: str) -> str:
    return f"a/index/{block}.html" if host == "A" else f"b/browse/{block}.html"


def _movie_a(film: FilmTruth) -> dict[str, Any]:
    rng = random.Random(film.id)
    obj: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Movie",
        "name": film.title,
        "datePublished": f"{film.year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "director": {"@type": "Person", "name": film.director_name},
        "actor": [
            {
                "@type": "PerformanceRole",
                "actor": {"@type": "Person", "name": name},
                "characterName": character,
            }
            if character
            else {"@type": "Person", "name": name}
            for name, character in film.cast
        ],  # fmt: skip
        "duration": _duration(film.runtime),
        "genre": list(film.genres),
        "description": _synopsis(film),
    }
    if film.imdb:
        obj["sameAs"] = f"https://www.imdb.com/title/{film.imdb}/"
    if _has_rating(film):
        obj["aggregateRating"] = {
            "@type": "AggregateRating",
            "ratingValue": round(5 + (film.id % 40) / 10, 1),
            "bestRating": 10,
            "ratingCount": 100 + film.id,
        }
    return obj


def _movie_b(film: FilmTruth) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Movie",
        "name": f"The {film.title}" if film.the_on_b else film.title,
        "datePublished": str(film.year),
        "director": f"{film.director[1]}, {film.director[0]}",
        "actor": [name for name, _ in film.cast],
        "genre": ", ".join(film.genres),
        "description": _synopsis(film),
    }
    if _has_offer(film):
        obj["offers"] = {
            "@type": "Offer",
            "seller": {"@type": "Organization", "name": "Streamly"},
            "category": "rent",
            "price": f"{2.99 + film.id % 3:.2f}",
            "priceCurrency": "USD",
            "eligibleRegion": "US",
        }
    return obj


def _review(film: FilmTruth, host: str) -> dict[str, Any]:
    rng = random.Random(10_000 + film.id * 2 + (host == "B"))
    item: dict[str, Any] = {"@type": "Movie", "name": film.title, "datePublished": str(film.year)}
    if host == "A":
        item["director"] = {"@type": "Person", "name": film.director_name}
        item["url"] = "../film/" + film_path(film, "A").rsplit("/", 1)[1]
    return {
        "@context": "https://schema.org",
        "@type": "Review",
        "itemReviewed": item,
        "author": {"@type": "Person", "name": rng.choice(REVIEWERS)},
        "name": f"On {film.title}" if host == "A" else f"{film.title}: a review",
        "reviewBody": f"Worth seeing. The {PLOTS[(film.id + 1) % len(PLOTS)].split()[1]} "
        "scenes stay with you long after the credits.",
        "datePublished": f"20{10 + film.id % 14:02d}-0{1 + film.id % 9}-1{film.id % 10}",
        "reviewRating": {"@type": "Rating", "ratingValue": 1 + film.id % 10, "bestRating": 10},
    }


def html_page(title: str, body: str, jsonld: Any = None) -> str:
    """A minimal HTML page, with ``jsonld`` (when given) in a JSON-LD script block."""
    script = (
        f'<script type="application/ld+json">{json.dumps(jsonld, ensure_ascii=False)}</script>'
        if jsonld
        else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>{script}</head>\n<body>{body}</body></html>\n"
    )


def _film_page(film: FilmTruth, host: str) -> str:
    movie = _movie_a(film) if host == "A" else _movie_b(film)
    name = movie["name"]
    label = "Site A" if host == "A" else "Site B"
    links = ""
    if _has_review(film, host):
        links = (
            f'<p><a href="../{review_path(film, host).split("/", 1)[1]}">Read the review</a></p>'
        )
    body = (
        f"<h1>{html.escape(name)}</h1><p>{film.year} · directed by "
        f"{html.escape(film.director_name)}</p><p>{html.escape(_synopsis(film))}</p>{links}"
    )
    return html_page(f"{name} ({film.year}) - {label}", body, movie)


def _review_page(film: FilmTruth, host: str) -> str:
    review = _review(film, host)
    back = "../" + film_path(film, host).split("/", 1)[1]
    body = (
        f"<h1>{html.escape(review['name'])}</h1><p>{html.escape(review['reviewBody'])}</p>"
        f'<p><a href="{back}">{html.escape(film.title)}</a></p>'
    )
    return html_page(f"Review: {film.title} ({film.year})", body, review)


def _index_page(films: list[FilmTruth], host: str, block: int) -> str:
    items = "".join(
        f'<li><a href="../{film_path(f, host).split("/", 1)[1]}">{html.escape(f.title)}</a> '
        f"({f.year})</li>"
        for f in films
    )
    return html_page(f"All films, page {block + 1}", f"<h1>Films</h1><ul>{items}</ul>")


def generate(root: Path, n_films: int = 300, seed: int = 7) -> Site:
    """Write the two sites under ``root`` (served as is) and return their truth."""
    films = make_films(n_films, seed)
    pages: list[PageTruth] = []

    def write(rel: str, text: str) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    for host in HOSTS:
        for film in films:
            records: list[tuple[RecordType, int]] = [("film", film.id)]
            if host == "B" and _has_offer(film):
                records.append(("offer", film.id))
            write(film_path(film, host), _film_page(film, host))
            pages.append(PageTruth(host, film_path(film, host), "film", film.id, tuple(records)))
            if _has_review(film, host):
                write(review_path(film, host), _review_page(film, host))
                pages.append(PageTruth(host, review_path(film, host), "review", film.id,
                                       (("review", film.id),)))  # fmt: skip
        blocks = range(0, n_films, INDEX_BLOCK)
        for k, start in enumerate(blocks):
            write(index_path(k, host), _index_page(films[start : start + INDEX_BLOCK], host, k))
            pages.append(PageTruth(host, index_path(k, host), "index", None, ()))
        prefix = HOST_PREFIX[host]
        links = "".join(f'<li><a href="{index_path(k, host).split("/", 1)[1]}">Films page '
                        f"{k + 1}</a></li>" for k in range(len(blocks)))  # fmt: skip
        write(f"{prefix}/index.html", html_page("Film index", f"<ul>{links}</ul>"))
        pages.append(PageTruth(host, f"{prefix}/index.html", "root", None, ()))
    return Site(root=root, films=films, pages=pages)


# ------------------------------------------------------------------------------ serving


class RequestCounter:
    """Requests answered so far; a test waits on it to act after the Nth page."""

    def __init__(self) -> None:
        self._n = 0
        self._cond = threading.Condition()

    def hit(self) -> None:
        with self._cond:
            self._n += 1
            self._cond.notify_all()

    @property
    def value(self) -> int:
        with self._cond:
            return self._n

    def wait_for(self, n: int, timeout: float) -> bool:
        """True once ``n`` requests have been answered; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._n >= n, timeout)


@dataclass
class Server:
    port: int
    counter: RequestCounter

    @property
    def bases(self) -> dict[str, str]:
        """Host A and host B: one server, two names (Scrapy and the parser see two sites)."""
        return {"A": f"http://127.0.0.1:{self.port}/", "B": f"http://localhost:{self.port}/"}


@contextlib.contextmanager
def serve(root: Path, port: int = 0) -> Iterator[Server]:
    """Serve ``root`` on 127.0.0.1 in threads (port 0: any free one), counting requests."""
    counter = RequestCounter()

    class Counting(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            try:
                super().do_GET()
            finally:
                counter.hit()

    server = ThreadingHTTPServer(
        ("127.0.0.1", port), functools.partial(Counting, directory=str(root))
    )
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(port=server.server_address[1], counter=counter)
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------------------ crawling it

REPO = Path(__file__).resolve().parent.parent  # the checkout whose ``crawler.cli`` is run
CRAWL_SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "ROBOTSTXT_OBEY": "False",
    "LOG_LEVEL": "WARNING",
}
CRAWL_TIMEOUT = 60.0  # seconds any one crawl process may take before it is killed


def crawl_command(db_url: str, urls: Sequence[str], settings: dict[str, str] | None = None
                  ) -> list[str]:  # fmt: skip
    """``filmagg crawl schema_org -a start_urls=... --db URL -s ...`` as run by the tests:
    ``python -m crawler.cli`` of this checkout, so a copy of the repository tests itself."""
    merged = {**CRAWL_SETTINGS, **(settings or {})}
    flags = [x for k, v in merged.items() for x in ("-s", f"{k}={v}")]
    return [sys.executable, "-m", "crawler.cli", "crawl", "schema_org",
            "-a", "start_urls=" + ",".join(urls), "--db", db_url, "--logfile", "-", *flags]  # fmt: skip


@dataclass
class CrawlProcess:
    """One ``filmagg crawl`` subprocess, its output in a log file (never a pipe: four writers
    filling pipes nobody reads would block)."""

    proc: subprocess.Popen[bytes]
    log: Path
    started: float
    killed_on_timeout: bool = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait(self, timeout: float = CRAWL_TIMEOUT) -> int:
        """The exit code; a process still running after ``timeout`` is killed (code -9)."""
        try:
            return self.proc.wait(timeout=max(0.1, timeout))
        except subprocess.TimeoutExpired:
            self.killed_on_timeout = True
            self.proc.kill()
            return self.proc.wait()

    def tail(self, lines: int = 12) -> str:
        return log_tail(self.log, lines)


def log_tail(log: Path, lines: int = 12) -> str:
    """The last lines of a crawl's log: what a failure message shows."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def start_crawl(db_url: str, urls: Sequence[str], log: Path,
                settings: dict[str, str] | None = None) -> CrawlProcess:  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("FILMAGG_DB", None)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(crawl_command(db_url, urls, settings), cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    return CrawlProcess(proc=proc, log=log, started=time.monotonic())


def writer_plans(site: Site, writers: int, spread: float = 1.5, seed: int = 0,
                 order: Literal["sweep", "meet"] = "sweep") -> list[list[PageTruth]]:  # fmt: skip
    """The pages of each of ``writers`` concurrent crawls: on each host a window of
    ``spread``/``writers`` of the films, windows staggered between hosts, so every page is
    crawled by at least one writer, about half of them by two, and a film's A and B records
    often come from different writers (the cross-process merges that race).

    ``sweep``: every writer takes its pages in film order, a film's A and B pages together,
    so writers sharing films reach them at about the same moment (the same record, person
    or new work stored by two processes at once). ``meet``: host A then host B, odd writers
    in reverse, so writers cross each other in the middle."""
    n = len(site.films)
    span = min(n, -(-int(spread * n) // writers))
    rng = random.Random(seed)
    plans: list[list[PageTruth]] = []
    for k in range(writers):
        a = film_range(n, k * n // writers, span)
        b = film_range(n, k * n // writers + n // (2 * writers) + rng.randint(0, 2), span)
        pages = site.record_pages(a, ("A",)) + site.record_pages(b, ("B",))
        if order == "sweep":
            pages.sort(key=lambda p: (p.film, p.host, p.kind))
        elif k % 2:
            pages.reverse()
        plans.append(pages)
    return plans


@dataclass
class Writers:
    """Concurrent crawls started together, and how they ended."""

    crawls: list[CrawlProcess]
    exit_codes: list[int]
    seconds: float


def run_writers(server: Server, db_url: str, plans: Sequence[Sequence[PageTruth]], logdir: Path,
                settings: dict[str, str] | None = None) -> Writers:  # fmt: skip
    """One crawl per plan, all started at once (on a fresh catalog: they race to create the
    schema too), waited for within one ``CRAWL_TIMEOUT``."""
    started = time.monotonic()
    crawls = [start_crawl(db_url, start_urls(server.bases, plan), logdir / f"writer{k}.log",
                          settings) for k, plan in enumerate(plans)]  # fmt: skip
    deadline = started + CRAWL_TIMEOUT
    codes = [c.wait(deadline - time.monotonic()) for c in crawls]
    return Writers(crawls=crawls, exit_codes=codes, seconds=time.monotonic() - started)


@dataclass
class Interrupted:
    """A crawl stopped by a signal after a chosen number of served pages."""

    pid: int
    signal: int
    at_pages: int  # the moment: pages served (since the crawl started) before the signal
    sent: bool  # False: the crawl ended before the moment came
    exit_code: int
    seconds: float
    log: Path


def interrupt_crawl(server: Server, db_url: str, urls: Sequence[str], at_pages: int, sig: int,
                    log: Path, settings: dict[str, str] | None = None) -> Interrupted:  # fmt: skip
    """Start a crawl, send ``sig`` once the server has answered ``at_pages`` of its requests,
    and wait for the process to end."""
    base = server.counter.value
    crawl = start_crawl(db_url, urls, log, settings)
    deadline = crawl.started + CRAWL_TIMEOUT
    sent = False
    while time.monotonic() < deadline and crawl.proc.poll() is None:
        if server.counter.wait_for(base + at_pages, timeout=0.02):
            crawl.proc.send_signal(sig)
            sent = True
            break
    code = crawl.wait(deadline - time.monotonic())
    return Interrupted(pid=crawl.pid, signal=sig, at_pages=at_pages, sent=sent, exit_code=code,
                       seconds=time.monotonic() - crawl.started, log=log)  # fmt: skip


# ------------------------------------------------------------------------------ the truth check


@dataclass
class TruthReport:
    """A catalog snapshot (``tests.catalog_compare.snapshot``) held against the site's truth."""

    works_expected: int
    works_got: int
    records_expected: int
    records_got: int
    lost: list[str]
    unexpected: list[str]
    unattached: list[str]  # stored, but attached to no work
    split: dict[int, int]  # film id -> number of works its records ended in
    merged: dict[str, list[int]]  # work label -> the films it mixes
    duplicates: int

    def problems(self, limit: int = 5) -> list[str]:
        out: list[str] = []
        if self.records_got != self.records_expected or self.lost or self.unexpected:
            out.append(f"records: expected {self.records_expected}, got {self.records_got} "
                       f"({len(self.lost)} lost, {len(self.unexpected)} unexpected); "
                       f"lost e.g. {self.lost[:limit]}; unexpected e.g. {self.unexpected[:limit]}")  # fmt: skip
        if self.works_got != self.works_expected:
            out.append(f"works: expected {self.works_expected}, got {self.works_got}")
        if self.unattached:
            out.append(f"{len(self.unattached)} records attached to no work, e.g. "
                       f"{self.unattached[:limit]}")  # fmt: skip
        if self.split:
            out.append(f"{len(self.split)} films split over several works, e.g. "
                       f"{dict(list(self.split.items())[:limit])}")  # fmt: skip
        if self.merged:
            out.append(f"{len(self.merged)} works mix several films, e.g. "
                       f"{dict(list(self.merged.items())[:limit])}")  # fmt: skip
        if self.duplicates:
            out.append(f"{self.duplicates} duplicates (persons / works sharing an id / records)")
        return out


def check_truth(snap: dict[str, Any], site: Site, bases: dict[str, str],
                pages: Iterable[PageTruth] | None = None,
                films: Iterable[int] | None = None) -> TruthReport:  # fmt: skip
    """Lost and unexpected records, wrong splits and merges, against the generated truth.
    ``pages`` (default: every record page) are the pages the crawls covered; ``films`` the
    films expected as works (default: all)."""
    expected = site.expected_records(bases, site.record_pages() if pages is None else pages)
    got: dict[tuple[str, str, str], str | None] = {}
    for key, rec in snap["records"].items():
        s, url, rtype, _ = key.split("|", 3)
        got[(s, url, rtype)] = rec["work"]
    works_of: dict[int, set[str]] = {}
    films_of: dict[str, set[int]] = {}
    unattached = []
    for k, film in expected.items():
        if k not in got:
            continue
        work = got[k]
        if work is None:
            unattached.append("|".join(k))
            continue
        works_of.setdefault(film, set()).add(work)
        films_of.setdefault(work, set()).add(film)
    wanted = set(range(len(site.films)) if films is None else films)
    return TruthReport(
        works_expected=len(wanted),
        works_got=len(snap["works"]),
        records_expected=len(expected),
        records_got=len(snap["records"]),
        lost=sorted("|".join(k) for k in expected.keys() - got.keys()),
        unexpected=sorted("|".join(k) for k in got.keys() - expected.keys()),
        unattached=sorted(unattached),
        split={f: len(ws) for f, ws in sorted(works_of.items()) if len(ws) > 1},
        merged={w: sorted(fs) for w, fs in sorted(films_of.items()) if len(fs) > 1},
        duplicates=sum(len(v) for v in snap["duplicates"].values()),
    )
