"""Identity benchmark: precision, recall, F1 and time on the labelled film ER datasets in
../shared/er, and records/s + peak memory on synthetic catalogs.

    python bench/identity.py                      # rotten_imdb + imdb_tmdb
    python bench/identity.py --synthetic 10000 100000 1000000
    python bench/identity.py --match-speed 30000  # `filmagg match` on two 30k-row tables

Nothing here is tuned on test data: the matcher's rules and thresholds are fixed in
pipelines/identity.py; rotten_imdb's train+valid figures are printed beside test's so any
change can be judged on train+valid first.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.identity import Profile, person_key  # noqa: E402
from pipelines.matcher import Resolver, link, read_table  # noqa: E402
from pipelines.records import Kind  # noqa: E402

ER = Path(os.environ.get("FILMAGG_ER_DIR", ROOT.parent / "shared" / "er"))


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def show(name: str, tp: int, fp: int, fn: int, seconds: float) -> None:
    p, r, f = prf(tp, fp, fn)
    print(
        f"{name:<34} P {p:.3f}  R {r:.3f}  F1 {f:.3f}  (tp {tp}, fp {fp}, fn {fn})  {seconds:.1f}s"
    )


# ------------------------------------------------------------------------------ rotten_imdb


def rotten_imdb() -> None:
    d = ER / "rotten_imdb"
    t0 = time.perf_counter()
    left = read_table(d / "tableA.csv")
    right = read_table(d / "tableB.csv")
    linked = {(p.left, p.right) for p in link(left, right)}
    seconds = time.perf_counter() - t0
    for split in ("train+valid", "test"):
        tp = fp = fn = 0
        for name in split.split("+"):
            with (d / f"{name}.csv").open() as fh:
                for row in csv.DictReader(fh):
                    got = (row["ltable_id"], row["rtable_id"]) in linked
                    label = row["label"] == "1"
                    tp += got and label
                    fp += got and not label
                    fn += label and not got
        show(f"rotten_imdb {split}", tp, fp, fn, seconds)


# ------------------------------------------------------------------------------ imdb_tmdb


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="|"))
    return [h.rsplit("/", 1)[-1] for h in rows[0]], rows[1:]


def _imdb_tmdb_profiles() -> tuple[
    list[Profile], list[Profile], dict[str, tuple], dict[str, tuple]
]:
    d = ER / "imdb_tmdb"
    titles_a = read_table(d / "imdb.csv", {"year": "startYear", "runtime": "runtimeMinutes"}, "|")
    titles_b = read_table(d / "tmdb.csv", {"date": "releaseDate", "year": "release_year"}, "|")
    # Kinds the tables state: TMDB rows with seasons are series; rows with episode numbers are episodes.
    hb, rows_b = _rows(d / "tmdb.csv")
    series_b = {r[0] for r in rows_b if r[hb.index("numberOfSeasons")]}
    for p in titles_b:
        if p.id in series_b:
            p.kind = Kind.tv_series
    for p in [*titles_a, *titles_b]:
        if p.episode is not None:
            p.kind = Kind.tv_episode
    ha, rows_a = _rows(d / "imdb.csv")
    people_a = {
        r[0]: (r[ha.index("name")], r[ha.index("birthYear")][:4])
        for r in rows_a
        if r[ha.index("name")]
    }
    people_b = {
        r[0]: (r[hb.index("name")], r[hb.index("birthDate")][:4])
        for r in rows_b
        if r[hb.index("name")]
    }
    return (
        [p for p in titles_a if p.titles],
        [p for p in titles_b if p.titles],
        people_a,
        people_b,
    )


def link_people(a: dict[str, tuple], b: dict[str, tuple]) -> set[tuple[str, str]]:
    """Person rows: same folded name, birth years equal when both are known; one-to-one."""
    index: dict[str, list[str]] = {}
    for bid, (name, _) in b.items():
        index.setdefault(person_key(name), []).append(bid)
    out: set[tuple[str, str]] = set()
    used: set[str] = set()
    for aid, (name, year) in sorted(a.items()):
        fits = [bid for bid in index.get(person_key(name), []) if bid not in used
                and (not year or not b[bid][1] or year == b[bid][1])]  # fmt: skip
        if len(fits) == 1:
            used.add(fits[0])
            out.add((aid, fits[0]))
    return out


def imdb_tmdb() -> None:
    d = ER / "imdb_tmdb"
    with (d / "gt.csv").open() as fh:
        truth = {tuple(line.strip().split("|")) for line in list(fh)[1:] if line.strip()}
    t0 = time.perf_counter()
    ta, tb, pa, pb = _imdb_tmdb_profiles()
    titles = {(p.left, p.right) for p in link(ta, tb)}
    t_titles = time.perf_counter() - t0
    people = link_people(pa, pb)
    seconds = time.perf_counter() - t0
    title_ids_a = {p.id for p in ta}
    truth_titles = {t for t in truth if t[0] in title_ids_a}
    tp = len(titles & truth_titles)
    show(
        "imdb_tmdb title records",
        tp,
        len(titles - truth_titles),
        len(truth_titles - titles),
        t_titles,
    )
    # The ground truth is partial: pairs whose records appear nowhere in it cannot be judged by it.
    labelled_a = {a for a, _ in truth_titles}
    labelled_b = {b for _, b in truth_titles}
    unjudged = {
        (a, b) for a, b in titles - truth_titles if a not in labelled_a and b not in labelled_b
    }
    fp = len(titles - truth_titles - unjudged)
    show("  … over labelled records only", tp, fp, len(truth_titles - titles), t_titles)
    print(
        f"  ({len(unjudged)} predicted pairs join two records absent from the ground truth; "
        "see bench/RESULTS.md)"
    )
    both = titles | people
    tp = len(both & truth)
    show("imdb_tmdb all records", tp, len(both - truth), len(truth - both), seconds)


# ------------------------------------------------------------------------------ synthetic

_WORDS = ("night day last long dark city river house blood love war star dead man woman girl boy "
          "king queen story game road fire ice sea sky heart shadow ghost secret lost black white red "
          "golden silent wild summer winter storm island empire kingdom dream memory song dance").split()  # fmt: skip
_SYLLABLES = (
    "ka lo mi ra ne tu sa vel dor an is ber qu ix mon tar el gra fen op ly zu hal cor".split()
)
_FIRST = ("John Mary Anna Peter Paul Maria Jean Luc Hans Ingrid Akira Chen Ana José Zoë Björn Ewa "
          "Olga Ivan Sofia Marco Giulia Omar Leila Raj Priya Kenji Yuki Sean Aoife").split()  # fmt: skip
_LAST = ("Smith Garcia Müller Rossi Dubois Novák Kowalski Ivanov Tanaka Kim Chen Silva Jensen "
         "Larsen O'Brien Nguyen Haddad Patel Cohen Santos Moreau Bauer Romano Costa Lindqvist").split()  # fmt: skip


def _vocabulary(rng: random.Random, size: int = 20000) -> list[str]:
    """Common words plus invented ones (proper names, places): real titles are that varied."""
    made = {"".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(size)}
    return _WORDS * 20 + sorted(made)


def _name(rng: random.Random, surnames: list[str]) -> str:
    return f"{rng.choice(_FIRST)} {rng.choice(surnames)}{rng.choice(['', '', '', ' Jr.', '-' + rng.choice(_LAST)])}"


def synthetic_records(n: int, seed: int = 7) -> Iterator[tuple[Profile, int]]:
    """n records about n/3 works from three sources, with the variation real catalogs show:
    article moves ("Sea, The"), accents and case, '&'/'and', roman numerals, sequels and
    same-title remakes, festival years (±1), runtime drift, 'Last, First' names, missing fields,
    ids on one source only."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    surnames = _LAST + [w.title() for w in vocab[-5000:]]
    works = max(1, n // 3)
    emitted = 0
    previous: list[str] = []
    for w in range(works):
        if previous and rng.random() < 0.03:  # a remake: an earlier title, new year and people
            base = rng.choice(previous)
        else:
            base = " ".join(
                rng.choice(vocab) for _ in range(rng.choice([1, 2, 2, 3, 3, 4, 5]))
            ).title()
            if len(previous) < 10000:
                previous.append(base)
        if rng.random() < 0.08:
            base += " " + rng.choice(["II", "III", "2", "Part Two"])
        if rng.random() < 0.3:
            base = "The " + base
        year = rng.randint(1920, 2025)
        directors = [_name(rng, surnames) for _ in range(1 if rng.random() < 0.9 else 2)]
        cast = [_name(rng, surnames) for _ in range(rng.randint(2, 6))]
        runtime = rng.randint(70, 180)
        kind = rng.choice([Kind.feature] * 8 + [Kind.documentary, Kind.tv_series])
        for source in range(3):
            if emitted >= n:
                return
            title = base
            r = rng.random()
            if r < 0.15 and title.startswith("The "):
                title = title[4:] + ", The"
            elif r < 0.25:
                title = title.upper() if rng.random() < 0.5 else title.lower()
            elif r < 0.3:
                title = title.replace("o", "ö", 1)
            y = year + (rng.choice([-1, 1]) if rng.random() < 0.05 else 0)
            dirs = [
                f"{d.split()[-1]}, {' '.join(d.split()[:-1])}" if source == 1 else d
                for d in directors
            ]
            prof = Profile(
                id=f"{source}-{w}",
                titles=[title],
                year=y if rng.random() > 0.03 else None,
                kind=kind if source != 2 else Kind.unknown,
                runtime=runtime + rng.randint(-3, 3) if rng.random() > 0.3 else None,
                directors=dirs if rng.random() > 0.2 else [],
                cast=rng.sample(cast, k=min(len(cast), rng.randint(0, 4))),
                external_ids={"imdb": f"tt{w:07d}"} if source == 0 and rng.random() < 0.5 else {},
            )
            emitted += 1
            yield prof, w


def synthetic(n: int) -> None:
    t0 = time.perf_counter()
    resolver = Resolver()
    truth: dict[int, list[int]] = {}
    for rec, work in synthetic_records(n):
        wid = resolver.add(rec)
        truth.setdefault(work, []).append(wid)
    seconds = time.perf_counter() - t0
    # pairwise quality over record pairs of the same true work (split) and merged works (wrong)
    split = sum(1 for ws in truth.values() if len(set(ws)) > 1)
    owners: dict[int, set[int]] = {}
    for work, ws in truth.items():
        for wid in ws:
            owners.setdefault(wid, set()).add(work)
    wrong = sum(1 for o in owners.values() if len(o) > 1)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"synthetic N={n:>9,}  {n / seconds:>8,.0f} records/s  {seconds:7.1f}s  peak {peak_mb:,.0f} MB  "
          f"works {len(resolver.works):,} (true {len(truth):,}; split {split:,}, wrongly merged {wrong:,})")  # fmt: skip


# ------------------------------------------------------------------------------ match speed


def match_speed(rows: int) -> None:
    """`filmagg match` end to end on two generated tables of ``rows`` rows each."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / "left.csv", Path(tmp) / "right.csv"]
        handles = [p.open("w", newline="", encoding="utf-8") for p in paths]
        writers = [csv.writer(h) for h in handles]
        for w in writers:
            w.writerow(["id", "title", "year", "director", "cast", "runtime"])
        for rec, _ in synthetic_records(rows * 3):
            source = int(rec.id.split("-")[0])
            if source < 2:
                writers[source].writerow([rec.id, rec.titles[0], rec.year or "", "; ".join(rec.directors),
                                          "; ".join(rec.cast), rec.runtime or ""])  # fmt: skip
        for h in handles:
            h.close()
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "crawler.cli", "match", str(paths[0]), str(paths[1]),
                               "--out", str(Path(tmp) / "pairs.csv")], cwd=ROOT, capture_output=True, text=True)  # fmt: skip
        seconds = time.perf_counter() - t0
        if done.returncode:
            sys.exit(done.stderr)
        with (Path(tmp) / "pairs.csv").open() as fh:
            pairs = list(csv.DictReader(fh))
        right = sum(1 for p in pairs if p["left_id"].split("-")[1] == p["right_id"].split("-")[1])
        print(f"filmagg match {rows:,} x {rows:,} rows: {seconds:.1f}s, {len(pairs):,} pairs "
              f"({right:,} correct, recall {right / rows:.3f})")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--synthetic", type=int, nargs="*", metavar="N")
    ap.add_argument("--match-speed", type=int, metavar="ROWS")
    args = ap.parse_args()
    if args.synthetic:
        for n in args.synthetic:  # one process per N, so each peak memory is its own
            subprocess.run([sys.executable, __file__, "--one-synthetic", str(n)], check=True)
        return
    if args.match_speed:
        match_speed(args.match_speed)
        return
    if not ER.is_dir():
        sys.exit(f"no ER datasets at {ER} (set FILMAGG_ER_DIR)")
    rotten_imdb()
    imdb_tmdb()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one-synthetic":
        synthetic(int(sys.argv[2]))
    else:
        main()
