"""A few-thousand-page two-host film web with a truth file, for ``bench/crawl.py``.

Why not ``tests/sitegen`` as is: its site is one page per film and review, a few hundred pages,
all of them worth storing. A crawl benchmark needs the shape of a real film site: listing pages
with pagination, pages holding several reviews, and junk a crawler fetches for nothing (person,
genre and about pages). The films, the remakes, host A's JSON-LD (``_movie_a``, ``_review``) and
host B's film objects (``_movie_b``) are sitegen's; this module only adds pages around them:

* host A (``http://127.0.0.1:PORT/a/...``): JSON-LD film pages, review lists in JSON-LD (each
  review's ``itemReviewed`` names its film by title, year, director and link);
* host B (``http://localhost:PORT/b/...``, the same server): the same films in *microdata*
  (sitegen's ``_movie_b`` objects rendered as ``itemscope``/``itemprop``), review lists in
  microdata naming the film by title and year only;
* on both: a root index, paginated film listings, one page per genre, per cast member, and an
  about page. Film pages link to their cast, genres, review list and the about page.

``truth.json`` says which page describes which true film and which reviews each review list
holds. ``pairwise`` and ``review_share`` score a catalog against it; they are pure.
"""

from __future__ import annotations

import html
import json
import random
import sys
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import sitegen  # noqa: E402
from tests.sitegen import FilmTruth  # noqa: E402

HOSTS = sitegen.HOSTS  # ("A", "B")
SITE_NAME = sitegen.SITE_NAME  # the site name records carry: {"A": "127.0.0.1", "B": "localhost"}
LISTING_SIZE = 50  # films per listing page
REVIEWS_PER_PAGE = 8
PAGINATION_WINDOW = 2  # page links either side of the current one
SITEGEN_MAX_FILMS = 420  # what sitegen's vocabulary allows (distinct directors)
DEFAULT_FILMS = 1000  # about 3,300 pages


# ------------------------------------------------------------------------------ films


def make_films(n: int, seed: int = 7) -> list[FilmTruth]:
    """``n`` films: sitegen's first (up to its limit), then more by the same rules (every tenth
    remakes the film five places before it). The extra films have three-word titles and
    double-barrelled names, so they never collide with sitegen's."""
    films = sitegen.make_films(min(n, SITEGEN_MAX_FILMS), seed)
    if n <= SITEGEN_MAX_FILMS:
        return films
    rng = random.Random(seed + 1)
    titles = [f"{a} {b} {c}" for a in sitegen.ADJECTIVES for b in sitegen.NOUNS
              for c in sitegen.NOUNS if b != c]  # fmt: skip
    people = [(f, f"{a}-{b}") for f in sitegen.FIRST_NAMES for a in sitegen.LAST_NAMES
              for b in sitegen.LAST_NAMES if a != b]  # fmt: skip
    extra = n - SITEGEN_MAX_FILMS
    if extra > len(titles):
        raise ValueError(f"at most {SITEGEN_MAX_FILMS + len(titles)} films")
    rng.shuffle(titles)
    rng.shuffle(people)
    directors = people[:extra]
    actor_pool = people[extra : extra + max(40, extra // 2)]
    for k in range(extra):
        i = SITEGEN_MAX_FILMS + k
        films.append(sitegen.next_film(films, i, rng, titles[k], directors[k], actor_pool))
    return films


# ------------------------------------------------------------------------------ truth


@dataclass(frozen=True)
class ReviewTruth:
    """One review on a review list: the film it is about, and what tells it apart on its page."""

    film: int
    author: str
    title: str


@dataclass(frozen=True)
class PageInfo:
    """One generated page: its host, path (relative to the served root), kind, and the film it
    describes (film pages) or the reviews it holds (review lists)."""

    host: str
    path: str
    kind: str  # index | listing | film | reviews | person | genre | about
    film: int | None = None
    reviews: tuple[ReviewTruth, ...] = ()


@dataclass
class CrawlSite:
    root: Path
    films: list[FilmTruth]
    pages: list[PageInfo] = field(default_factory=list)

    def start_paths(self) -> dict[str, str]:
        return {h: f"{sitegen.HOST_PREFIX[h]}/index.html" for h in HOSTS}

    def truth(self) -> dict[str, Any]:
        """What ``truth.json`` holds: films, and every page with its film or reviews."""
        films = [{"id": f.id, "title": f.title, "year": f.year, "director": f.director_name,
                  "remake_of": f.remake_of} for f in self.films]  # fmt: skip
        return {"site_names": SITE_NAME, "films": films, "pages": [asdict(p) for p in self.pages]}


def film_pages(truth: Mapping[str, Any]) -> dict[tuple[str, str], int]:
    """(site name, path) of every film page -> the true film it describes."""
    return {(truth["site_names"][p["host"]], p["path"]): p["film"]
            for p in truth["pages"] if p["kind"] == "film"}  # fmt: skip


def review_keys(truth: Mapping[str, Any]) -> dict[tuple[str, str, str, str], int]:
    """(site name, path, author, title) of every review -> the true film it reviews."""
    return {(truth["site_names"][p["host"]], p["path"], r["author"], r["title"]): r["film"]
            for p in truth["pages"] for r in p["reviews"]}  # fmt: skip


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise(truth: Mapping[Hashable, int], predicted: Mapping[Hashable, Hashable | None]
             ) -> tuple[float, float, float]:  # fmt: skip
    """Pairwise precision, recall and F1 of a clustering. ``truth``: each true item's cluster
    (film pages -> film); ``predicted``: each stored item's cluster (film records -> work),
    None for an item in no cluster (a singleton). A true item never stored loses its pairs
    (recall); a stored item the truth does not know pairs wrongly with anything (precision)."""
    work_sizes = Counter(c for c in predicted.values() if c is not None)
    film_sizes = Counter(truth.values())
    cells = Counter((truth[k], c) for k, c in predicted.items() if c is not None and k in truth)
    tp = sum(_pairs(n) for n in cells.values())
    pred_pairs = sum(_pairs(n) for n in work_sizes.values())
    true_pairs = sum(_pairs(n) for n in film_sizes.values())
    p = tp / pred_pairs if pred_pairs else 1.0
    r = tp / true_pairs if true_pairs else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@dataclass(frozen=True)
class ReviewScore:
    expected: int
    stored: int  # attached to a work or not
    attached: int
    right_work: int  # attached to the work holding most of its film's film records


def review_share(truth_reviews: Mapping[Hashable, int], stored: Mapping[Hashable, Hashable | None],
                 film_work: Mapping[int, Hashable]) -> ReviewScore:  # fmt: skip
    """How many true reviews a catalog holds (``stored``: review key -> its work or None), how
    many are attached to a work, and how many to their film's work (``film_work``)."""
    found = [k for k in truth_reviews if k in stored]
    attached = [k for k in found if stored[k] is not None]
    right = [k for k in attached if film_work.get(truth_reviews[k]) == stored[k]]
    return ReviewScore(len(truth_reviews), len(found), len(attached), len(right))


def majority_work(truth: Mapping[Hashable, int], predicted: Mapping[Hashable, Hashable | None]
                  ) -> dict[int, Hashable]:  # fmt: skip
    """Each true film's work: the one most of its stored film records are attached to."""
    votes: dict[int, Counter[Hashable]] = {}
    for k, work in predicted.items():
        if work is not None and k in truth:
            votes.setdefault(truth[k], Counter())[work] += 1
    return {film: c.most_common(1)[0][0] for film, c in votes.items()}


# ------------------------------------------------------------------------------ pages


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def film_path(film: FilmTruth, host: str) -> str:
    return sitegen.film_path(film, host)


def person_path(name: str, host: str) -> str:
    return f"a/person/{_slug(name)}.html" if host == "A" else f"b/people/{_slug(name)}.html"


def genre_path(genre: str, host: str) -> str:
    return f"a/genre/{_slug(genre)}.html" if host == "A" else f"b/genres/{_slug(genre)}.html"


def listing_path(page: int, host: str) -> str:
    return f"a/films/{page}.html" if host == "A" else f"b/browse/{page}.html"


def reviews_path(page: int, host: str) -> str:
    return f"a/reviews/{page}.html" if host == "A" else f"b/reviews/{page}.html"


def about_path(host: str) -> str:
    return f"{sitegen.HOST_PREFIX[host]}/about.html"


def _rel(target: str) -> str:
    """A link from any page one folder down its host's prefix (``a/x/y.html``) to ``target``."""
    return "../" + target.split("/", 1)[1]


def _link(target: str, text: str) -> str:
    return f'<a href="{_rel(target)}">{html.escape(text)}</a>'


def microdata(obj: Mapping[str, Any], prop: str | None = None) -> str:
    """A JSON-LD-shaped object as microdata: the same object, so host B differs from host A
    only in syntax (and in what sitegen's ``_movie_b`` leaves out)."""
    kind = obj.get("@type", "Thing")
    attr = f' itemprop="{prop}"' if prop else ""
    inner = []
    for key, value in obj.items():
        if key.startswith("@"):
            continue
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, dict):
                inner.append(microdata(v, key))
            elif key.startswith("date"):
                inner.append(f'<time itemprop="{key}" datetime="{html.escape(str(v))}">'
                             f"{html.escape(str(v))}</time>")  # fmt: skip
            else:
                inner.append(f'<span itemprop="{key}">{html.escape(str(v))}</span> ')
    return f'<div itemscope itemtype="https://schema.org/{kind}"{attr}>{"".join(inner)}</div>'


def _reviewers(film: FilmTruth, host: str) -> list[str]:
    """Who reviewed the film on this host: two reviewers on A for even films; on B one for
    films divisible by 3, two for those divisible by 6; none otherwise."""
    if host == "A":
        count = 2 if film.id % 2 == 0 else 0
    else:
        count = (2 if film.id % 6 == 0 else 1) if film.id % 3 == 0 else 0
    rng = random.Random(20_000 + 2 * film.id + (host == "B"))
    return rng.sample(sitegen.REVIEWERS, count)


def _review_obj(film: FilmTruth, host: str, author: str, n: int) -> dict[str, Any]:
    """sitegen's review of the film, by ``author``, titled so that it is unique on its page."""
    review = sitegen._review(film, host)
    review.pop("@context", None)
    review["author"] = {"@type": "Person", "name": author}
    review["name"] = f"{author} on {film.title} ({film.year})"
    if n:
        review["reviewBody"] = "A second look. " + review["reviewBody"]
    return review


def _pagination(current: int, last: int, path: Any) -> str:
    """First, previous, a window of page numbers, next, last: links as a real site prints them."""
    links = []
    if current > 1:
        links += [_link(path(1), "« first"), _link(path(current - 1), "‹ previous")]
    for k in range(max(1, current - PAGINATION_WINDOW), min(last, current + PAGINATION_WINDOW) + 1):
        links.append(f"<b>{k}</b>" if k == current else _link(path(k), str(k)))
    if current < last:
        links += [_link(path(current + 1), "next ›"), _link(path(last), "last »")]
    return f'<nav class="pages">{" ".join(links)}</nav>'


def generate(root: Path, n_films: int = DEFAULT_FILMS, seed: int = 7) -> CrawlSite:
    """Write both hosts' pages under ``root`` and return the site with its truth."""
    films = make_films(n_films, seed)
    site = CrawlSite(root=root, films=films)

    def write(info: PageInfo, text: str) -> None:
        path = root / info.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        site.pages.append(info)

    for host in HOSTS:
        label = "Site A" if host == "A" else "Site B"
        # review lists first: film pages link to the list holding their reviews
        reviewed = [(f, a, n) for f in films for n, a in enumerate(_reviewers(f, host))]
        review_pages = max(1, -(-len(reviewed) // REVIEWS_PER_PAGE))
        page_of_film: dict[int, int] = {}
        for k in range(review_pages):
            chunk = reviewed[k * REVIEWS_PER_PAGE : (k + 1) * REVIEWS_PER_PAGE]
            objs = [_review_obj(f, host, a, n) for f, a, n in chunk]
            for f, _, _ in chunk:
                page_of_film.setdefault(f.id, k + 1)
            items = "".join(
                f"<li>{_link(film_path(f, host), f.title)} ({f.year})</li>" for f, _, _ in chunk
            )
            nav = _pagination(k + 1, review_pages, lambda p, h=host: reviews_path(p, h))
            if host == "A":
                body = f"<h1>Reviews, page {k + 1}</h1><ul>{items}</ul>{nav}"
                text = sitegen.html_page(f"Reviews, page {k + 1} - {label}", body, objs)
            else:
                marked = "".join(microdata(o) for o in objs)
                body = f"<h1>Reviews, page {k + 1}</h1>{marked}<ul>{items}</ul>{nav}"
                text = sitegen.html_page(f"Reviews, page {k + 1} - {label}", body)
            truths = tuple(
                ReviewTruth(f.id, a, o["name"]) for (f, a, _), o in zip(chunk, objs, strict=True)
            )
            write(PageInfo(host, reviews_path(k + 1, host), "reviews", reviews=truths), text)

        for f in films:
            movie = sitegen._movie_a(f) if host == "A" else sitegen._movie_b(f)
            name = movie["name"]
            links = [_link(person_path(p, host), p) for p, _ in f.cast]
            links += [_link(genre_path(g, host), g) for g in f.genres]
            if f.id in page_of_film:
                links.append(_link(reviews_path(page_of_film[f.id], host), "Reviews"))
            links += [_link(listing_path(f.id // LISTING_SIZE + 1, host), "All films"),
                      _link(about_path(host), "About")]  # fmt: skip
            body = (f"<h1>{html.escape(name)}</h1><p>{f.year} · directed by "
                    f"{html.escape(f.director_name)}</p><p>{html.escape(sitegen._synopsis(f))}</p>"
                    f"<p>{' · '.join(links)}</p>")  # fmt: skip
            title = f"{name} ({f.year}) - {label}"
            if host == "A":
                text = sitegen.html_page(title, body, movie)
            else:
                movie.pop("@context", None)
                text = sitegen.html_page(title, microdata(movie) + body)
            write(PageInfo(host, film_path(f, host), "film", film=f.id), text)

        listings = -(-len(films) // LISTING_SIZE)
        for k in range(listings):
            chunk = films[k * LISTING_SIZE : (k + 1) * LISTING_SIZE]
            items = "".join(f"<li>{_link(film_path(f, host), f.title)} ({f.year})</li>"
                            for f in chunk)  # fmt: skip
            nav = _pagination(k + 1, listings, lambda p, h=host: listing_path(p, h))
            write(PageInfo(host, listing_path(k + 1, host), "listing"),
                  sitegen.html_page(f"All films, page {k + 1} - {label}", f"<h1>Films</h1><ul>{items}</ul>{nav}"))  # fmt: skip

        by_person: dict[str, list[FilmTruth]] = {}
        by_genre: dict[str, list[FilmTruth]] = {}
        for f in films:
            for p, _ in f.cast:
                by_person.setdefault(p, []).append(f)
            for g in f.genres:
                by_genre.setdefault(g, []).append(f)
        for person, its in sorted(by_person.items()):
            items = "".join(f"<li>{_link(film_path(f, host), f.title)} ({f.year})</li>"
                            for f in its)  # fmt: skip
            obj = {"@context": "https://schema.org", "@type": "Person", "name": person,
                   "jobTitle": "Actor"}  # fmt: skip
            body = f"<h1>{html.escape(person)}</h1><h2>Filmography</h2><ul>{items}</ul>"
            text = (sitegen.html_page(f"{person} - {label}", body, obj) if host == "A"
                    else sitegen.html_page(f"{person} - {label}", microdata(obj) + body))  # fmt: skip
            write(PageInfo(host, person_path(person, host), "person"), text)
        for genre, its in sorted(by_genre.items()):
            items = "".join(f"<li>{_link(film_path(f, host), f.title)} ({f.year})</li>"
                            for f in its)  # fmt: skip
            write(PageInfo(host, genre_path(genre, host), "genre"),
                  sitegen.html_page(f"{genre} films - {label}", f"<h1>{genre}</h1><ul>{items}</ul>"))  # fmt: skip
        write(PageInfo(host, about_path(host), "about"),
              sitegen.html_page(f"About - {label}", "<h1>About us</h1><p>A film site generated for a "
                    "benchmark. Every film here is made up; so are the people.</p>"))  # fmt: skip
        genres = " · ".join(_link(genre_path(g, host), g) for g in sorted(by_genre))
        index = (f"<h1>{label}</h1><p>{_link(listing_path(1, host), 'All films')} · "
                 f"{_link(reviews_path(1, host), 'Reviews')} · {_link(about_path(host), 'About')}"
                 f"</p><p>{genres}</p>")  # fmt: skip
        # the root index sits at the host prefix itself, one folder up from the others
        index = index.replace('href="../', 'href="')
        write(
            PageInfo(host, site.start_paths()[host], "index"), sitegen.html_page(f"{label}", index)
        )
    return site


def write_truth(site: CrawlSite, path: Path) -> dict[str, Any]:
    truth = site.truth()
    path.write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    return truth


def page_counts(pages: Iterable[PageInfo]) -> dict[str, int]:
    return dict(Counter(p.kind for p in pages))
