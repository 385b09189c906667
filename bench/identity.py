"""Identity benchmark: precision, recall, F1 and time on the labelled film ER datasets in
../shared/er, and records/s + peak memory on synthetic catalogs.

    python bench/identity.py                      # 4 datasets x (titles, all records) x (strict, scored)
    python bench/identity.py --datasets imdb_tvdb --unjudged   # and the links gt.csv cannot judge
    python bench/identity.py --synthetic 10000 100000 1000000
    python bench/identity.py --match-speed 200000 [--strict]   # `filmagg match` on two 200k-row tables

Nothing here is tuned on test data. The strict rules are fixed in pipelines/identity.py. The
scored model is trained by bench/train_match.py: rotten_imdb test is scored with the shipped
model (trained on rotten_imdb train+valid and the MovieGraph sets); each MovieGraph set is
scored with a model trained and thresholded without it (leave one dataset out).
"""

from __future__ import annotations

import argparse
import csv
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

from bench.train_match import ER, GRAPHS, Dataset, load, train  # noqa: E402
from pipelines.identity import Profile, person_key  # noqa: E402
from pipelines.matcher import Resolver, link  # noqa: E402
from pipelines.records import Kind  # noqa: E402
from pipelines.scoring import load_model  # noqa: E402


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


# ------------------------------------------------------------------------------ ER datasets


def _score_row(name: str, tp: int, fp: int, fn: int, seconds: float | None = None) -> list:
    p, r, f = prf(tp, fp, fn)
    return [name, p, r, f, tp, fp, fn, seconds]


def _print_unjudged(label: str, ds: Dataset, pairs: set[tuple[str, str]]) -> None:
    """Links between two title records that appear nowhere in gt.csv, to be read by a person."""
    left = {p.id: p for p in ds.left}
    right = {p.id: p for p in ds.right}

    def show(p: Profile) -> str:
        ep = f" S{p.season}E{p.episode}" if p.episode is not None else ""
        return f"{p.titles} {p.year}{ep}"

    print(f"{label}: {len(pairs)} links between records absent from gt.csv")
    for a, b in sorted(pairs, key=lambda t: (int(t[0]) if t[0].isdigit() else 0, t)):
        print(f"  {a}|{b}  {show(left[a])}  |  {show(right[b])}")


def er_table(names: list[str], show_unjudged: bool = False) -> None:
    """Every dataset x (title records, all records) x (strict rules, scored model).

    Scored figures on a MovieGraph dataset come from a model trained and thresholded on the
    other datasets only (rotten_imdb train+valid and the other two MovieGraph sets); rotten_imdb
    test is scored with the shipped model (trained on train+valid and the MovieGraph sets)."""
    rows: list[list] = []
    for name in names:
        ds = load(name)
        for mode in ("strict", "scored"):
            t0 = time.perf_counter()
            if mode == "strict":
                links = link(ds.left, ds.right, strict=True)
                how = "rules"
            else:
                if name == "rotten_imdb":
                    model = load_model()
                    how = "shipped model"
                else:
                    others = [n for n in ("rotten_imdb", *GRAPHS) if n != name]
                    model = train(others)
                    how = f"trained without {name}"
                t0 = time.perf_counter()
                links = link(ds.left, ds.right, strict=False, model=model)
                how += f", threshold {model.threshold:.2f}"
            seconds = time.perf_counter() - t0
            got = {(p.left, p.right) for p in links}
            if ds.labelled:
                for split in ("train+valid", "test"):
                    gold = {p: y for s in split.split("+") for p, y in ds.labelled[s].items()}
                    tp = sum(1 for p, y in gold.items() if y and p in got)
                    fp = sum(1 for p, y in gold.items() if not y and p in got)
                    fn = sum(1 for p, y in gold.items() if y and p not in got)
                    rows.append(_score_row(f"{name} {split} [{mode}: {how}]", tp, fp, fn, seconds))
                continue
            truth = ds.title_truth()
            rows.append(_score_row(f"{name} titles [{mode}: {how}]", len(got & truth),
                                   len(got - truth), len(truth - got), seconds))  # fmt: skip
            seen_l = {a for a, _ in truth}
            seen_r = {b for _, b in truth}
            unjudged = {(a, b) for a, b in got - truth if a not in seen_l and b not in seen_r}
            rows.append(_score_row("  ... over labelled records only", len(got & truth),
                                   len(got - truth - unjudged), len(truth - got)))  # fmt: skip
            if show_unjudged:
                _print_unjudged(f"{name} [{mode}]", ds, unjudged)
            people = link_people(ds.people_left, ds.people_right)
            both = got | people
            rows.append(_score_row(f"{name} all records [{mode}]", len(both & ds.truth),
                                   len(both - ds.truth), len(ds.truth - both)))  # fmt: skip
            seen_l = {a for a, _ in ds.truth}
            seen_r = {b for _, b in ds.truth}
            unjudged = {(a, b) for a, b in both - ds.truth if a not in seen_l and b not in seen_r}
            rows.append(_score_row("  ... over labelled records only", len(both & ds.truth),
                                   len(both - ds.truth - unjudged), len(ds.truth - both)))  # fmt: skip
    for name, p, r, f, tp, fp, fn, seconds in rows:
        took = f"  {seconds:.1f}s" if seconds is not None else ""
        print(f"{name:<62} P {p:.3f}  R {r:.3f}  F1 {f:.3f}  (tp {tp}, fp {fp}, fn {fn}){took}")


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


def match_speed(rows: int, strict: bool = False) -> None:
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
                               "--out", str(Path(tmp) / "pairs.csv"), *(["--strict"] if strict else [])],
                              cwd=ROOT, capture_output=True, text=True)  # fmt: skip
        seconds = time.perf_counter() - t0
        if done.returncode:
            sys.exit(done.stderr)
        print(done.stderr.strip())  # the command's own phase times (read, link + write)
        with (Path(tmp) / "pairs.csv").open() as fh:
            pairs = list(csv.DictReader(fh))
        right = sum(1 for p in pairs if p["left_id"].split("-")[1] == p["right_id"].split("-")[1])
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_mb = usage.ru_maxrss / 1024
        cpu = usage.ru_utime + usage.ru_stime
        print(f"filmagg match{' --strict' if strict else ''} {rows:,} x {rows:,} rows: {seconds:.1f}s "
              f"({cpu:.1f}s CPU), "
              f"peak {peak_mb:,.0f} MB, {len(pairs):,} pairs "
              f"({right:,} correct, recall {right / rows:.3f})")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--synthetic", type=int, nargs="*", metavar="N")
    ap.add_argument("--match-speed", type=int, metavar="ROWS")
    ap.add_argument("--strict", action="store_true", help="--match-speed with `match --strict`")
    ap.add_argument("--unjudged", action="store_true",
                    help="list the links between title records absent from a partial gt.csv")  # fmt: skip
    ap.add_argument("--datasets", nargs="*", metavar="NAME",
                    help=f"ER datasets to score (default: rotten_imdb {' '.join(GRAPHS)})")  # fmt: skip
    args = ap.parse_args()
    if args.synthetic:
        for n in args.synthetic:  # one process per N, so each peak memory is its own
            subprocess.run([sys.executable, __file__, "--one-synthetic", str(n)], check=True)
        return
    if args.match_speed:
        match_speed(args.match_speed, args.strict)
        return
    if not ER.is_dir():
        sys.exit(f"no ER datasets at {ER} (set FILMAGG_ER_DIR)")
    er_table(args.datasets or ["rotten_imdb", *GRAPHS], args.unjudged)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one-synthetic":
        synthetic(int(sys.argv[2]))
    else:
        main()
