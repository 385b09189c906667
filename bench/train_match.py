"""Train the scored matcher's weights (pipelines/data/match_model.json) from training data only.

    python bench/train_match.py            # regenerate the shipped model, print what it chose
    python bench/train_match.py --check    # fail if the shipped file differs from a retrain

Training data (in ../shared/er, never copied into the repo):
* rotten_imdb train.csv + valid.csv labelled pairs (test.csv is never read here), each also
  with the left side's year dropped and with its director and runtime dropped, so the weights
  of a missing year and of title + year alone are learned from real pairs;
* imdb_tmdb, imdb_tvdb, tmdb_tvdb title records: every blocked candidate pair, labelled by gt.csv;
  a pair with neither record in gt.csv is left out (the ground truth is partial).

The fit is a logistic regression (Newton's method, L2 penalty, no randomness): each dataset
weighs the same in the loss whatever its number of pairs. The threshold and the rival margin
are then chosen to maximize the mean F1 of the one-to-one links over the training datasets
(over every blocked candidate: the matcher's shortcut of not searching people and words for a
row whose titles found a sure candidate is not applied here).
The benchmark (bench/identity.py) reports each MovieGraph dataset with a model trained on the
other datasets only (leave one dataset out), and rotten_imdb test with the shipped model.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.identity import Profile  # noqa: E402
from pipelines.matcher import Candidates, assign, read_table, scored_candidates  # noqa: E402
from pipelines.records import Kind  # noqa: E402
from pipelines.scoring import FEATURES, MODEL_PATH, Model, prepare  # noqa: E402

ER = Path(os.environ.get("FILMAGG_ER_DIR", ROOT.parent / "shared" / "er"))
GRAPHS = ("imdb_tmdb", "imdb_tvdb", "tmdb_tvdb")
L2 = 1.0  # penalty on weights (not the bias); features are 0..1, so weights stay readable
THRESHOLDS = [round(0.05 + 0.01 * k, 2) for k in range(91)]
MARGINS = (0.05, 0.1, 0.2, 0.3)
ZERO = Model(weights=(0.0,) * len(FEATURES), bias=0.0, threshold=0.5, rival_margin=0.1)

# ------------------------------------------------------------------------------ datasets


@dataclass
class Dataset:
    """Two tables of title records, their people rows, and labelled pairs."""

    name: str
    left: list[Profile]
    right: list[Profile]
    people_left: dict[str, tuple[str, str]]
    people_right: dict[str, tuple[str, str]]
    truth: set[tuple[str, str]]  # every true pair (titles and people)
    labelled: dict[str, dict[tuple[str, str], bool]]  # split -> pair -> label (rotten_imdb)

    def title_truth(self) -> set[tuple[str, str]]:
        ids = {p.id for p in self.left}
        return {t for t in self.truth if t[0] in ids}


_GRAPH_FILES = {"imdb_tmdb": ("imdb", "tmdb"), "imdb_tvdb": ("imdb", "tvdb"),
                "tmdb_tvdb": ("tmdb", "tvdb")}  # fmt: skip
_MAPS = {"imdb": {"year": "startYear", "runtime": "runtimeMinutes"},
         "tmdb": {"date": "releaseDate", "year": "release_year"}, "tvdb": {"date": "releaseDate"}}  # fmt: skip
_BIRTH = {"imdb": "birthYear", "tmdb": "birthDate", "tvdb": ""}


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="|"))
    return [h.rsplit("/", 1)[-1] for h in rows[0]], rows[1:]


def graph_side(d: Path, source: str) -> tuple[list[Profile], dict[str, tuple[str, str]]]:
    """One MovieGraph table: title records (kinds the table states) and people rows."""
    path = d / f"{source}.csv"
    titles = read_table(path, _MAPS[source], "|")
    header, rows = _rows(path)
    if "numberOfSeasons" in header:  # TMDB rows with seasons are series
        col = header.index("numberOfSeasons")
        series = {r[0] for r in rows if r[col]}
        for p in titles:
            if p.id in series:
                p.kind = Kind.tv_series
    for p in titles:
        if p.episode is not None:
            p.kind = Kind.tv_episode
    name = header.index("name")
    birth = header.index(_BIRTH[source]) if _BIRTH[source] else None
    people = {r[0]: (r[name], r[birth][:4] if birth is not None else "") for r in rows if r[name]}
    return [p for p in titles if p.titles], people


def _gt(path: Path) -> set[tuple[str, str]]:
    with path.open() as fh:
        return {tuple(line.strip().split("|")[:2]) for line in list(fh)[1:] if line.strip()}  # type: ignore[misc]


@lru_cache(maxsize=8)
def load(name: str) -> Dataset:
    d = ER / name
    if name == "rotten_imdb":
        labelled: dict[str, dict[tuple[str, str], bool]] = {}
        for split in ("train", "valid", "test"):
            with (d / f"{split}.csv").open() as fh:
                labelled[split] = {(r["ltable_id"], r["rtable_id"]): r["label"] == "1"
                                   for r in csv.DictReader(fh)}  # fmt: skip
        truth = {p for s in labelled.values() for p, y in s.items() if y}
        return Dataset(name, read_table(d / "tableA.csv"), read_table(d / "tableB.csv"), {}, {},
                       truth, labelled)  # fmt: skip
    a, b = _GRAPH_FILES[name]
    left, people_left = graph_side(d, a)
    right, people_right = graph_side(d, b)
    return Dataset(name, left, right, people_left, people_right, _gt(d / "gt.csv"), {})


# ------------------------------------------------------------------------------ examples


@dataclass
class Examples:
    """A dataset's blocked candidates (features computed once; scores depend on the model)."""

    name: str
    cands: Candidates
    labels: list[bool | None]  # None: not judged by the ground truth (left out of training)
    judge: Callable[[set[tuple[str, str]]], tuple[int, int, int]]  # links -> tp, fp, fn


@lru_cache(maxsize=8)
def examples(name: str, splits: tuple[str, ...] = ("train", "valid")) -> Examples:
    ds = load(name)
    lrows, rrows = [prepare(p) for p in ds.left], [prepare(p) for p in ds.right]
    cands = scored_candidates(lrows, rrows, ZERO, floor=0.0, keep_features=True)
    lrows, rrows, found = cands.lrows, cands.rrows, cands.found
    ids = [(lrows[s.i].id, rrows[s.j].id) for s in found]
    if ds.labelled:
        gold = {p: y for s in splits for p, y in ds.labelled[s].items()}
        labels: list[bool | None] = [gold.get(p) for p in ids]

        def judge(links: set[tuple[str, str]]) -> tuple[int, int, int]:
            tp = sum(1 for p, y in gold.items() if y and p in links)
            fp = sum(1 for p, y in gold.items() if not y and p in links)
            fn = sum(1 for p, y in gold.items() if y and p not in links)
            return tp, fp, fn
    else:
        truth = ds.title_truth()
        seen_l = {a for a, _ in truth}
        seen_r = {b for _, b in truth}
        labels = [True if p in truth else (False if p[0] in seen_l or p[1] in seen_r else None)
                  for p in ids]  # fmt: skip

        def judge(links: set[tuple[str, str]]) -> tuple[int, int, int]:
            tp = len(links & truth)
            return tp, len(links - truth), len(truth - links)

    return Examples(name, cands, labels, judge)


def rotten_augmented() -> list[tuple[tuple[float, ...], bool]]:
    """rotten_imdb train+valid pairs as they are and with the left row thinned, as catalogs
    are: its year dropped; its director and runtime dropped; its title dropped (a table of
    people only); its title replaced by another film's (a foreign or unrelated title). Labels
    stay: the same work is the same work whatever a catalog omits. Features are recomputed
    with the same IDF statistics."""
    from pipelines.scoring import build_stats, evidence, prepare

    ds = load("rotten_imdb")
    gold = {p: y for s in ("train", "valid") for p, y in ds.labelled[s].items()}
    left = {p.id: p for p in ds.left}
    right = {p.id: p for p in ds.right}
    rows = [prepare(p) for p in [*ds.left, *ds.right]]
    stats = build_stats(rows)
    out: list[tuple[tuple[float, ...], bool]] = []
    order = sorted(left)
    for (a, b), y in sorted(gold.items()):
        if a not in left or b not in right:
            continue
        pa = left[a]
        other = left[order[(order.index(a) + 1) % len(order)]]  # the next film by id
        variants = (pa, dataclasses.replace(pa, year=None),
                    dataclasses.replace(pa, directors=[], runtime=None),
                    dataclasses.replace(pa, titles=[]),
                    dataclasses.replace(pa, titles=list(other.titles)))  # fmt: skip
        for v in variants:
            ev = evidence(prepare(v), prepare(right[b]), stats)
            if not ev.blocked:
                out.append((ev.x, y))
    return out


# ------------------------------------------------------------------------------ fitting


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (a small dense system)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        piv = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[piv] = m[piv], m[c]
        for r in range(n):
            if r != c and m[r][c]:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def fit(groups: Sequence[Sequence[tuple[tuple[float, ...], bool]]], l2: float = L2,
        iterations: int = 30) -> tuple[list[float], float]:  # fmt: skip
    """Weighted L2 logistic regression by Newton's method; each group weighs 1 in total."""
    data = [((1.0, *x), float(y), 1.0 / len(g)) for g in groups for x, y in g]
    k = len(FEATURES) + 1
    w = [0.0] * k
    for _ in range(iterations):
        grad = [0.0] * k
        hess = [[0.0] * k for _ in range(k)]
        for x, y, sw in data:
            z = sum(wi * xi for wi, xi in zip(w, x, strict=True))
            p = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
            g = sw * (p - y)
            h = sw * p * (1 - p)
            for a_ in range(k):
                if x[a_]:
                    grad[a_] += g * x[a_]
                    ha = h * x[a_]
                    row = hess[a_]
                    for b_ in range(k):
                        if x[b_]:
                            row[b_] += ha * x[b_]
        for a_ in range(1, k):
            grad[a_] += l2 * w[a_] / len(data) * len(groups)
            hess[a_][a_] += l2 / len(data) * len(groups)
        hess[0][0] += 1e-9
        step = _solve(hess, grad)
        w = [wi - si for wi, si in zip(w, step, strict=True)]
        if max(abs(s) for s in step) < 1e-9:
            break
    return w[1:], w[0]


def rescore(e: Examples, model: Model) -> Candidates:
    """The candidates scored by ``model`` (hard blocks were dropped when they were found)."""
    found = [dataclasses.replace(s, score=model.probability(s.x or ())) for s in e.cands.found]
    return dataclasses.replace(e.cands, found=found)


def f1_by_threshold(e: Examples, model: Model, margin: float) -> dict[float, float]:
    """F1 of the one-to-one links at every grid threshold; links at a threshold are the
    lowest threshold's links scoring at least that much (the assignment is greedy)."""
    links = assign(rescore(e, model), THRESHOLDS[0], margin, explain=False)
    out = {}
    for t in THRESHOLDS:
        tp, fp, fn = e.judge({(p.left, p.right) for p in links if p.score >= t})
        out[t] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return out


def train(names: Sequence[str], log: Callable[[str], None] = lambda s: None) -> Model:
    """A model fitted on the named training sets, threshold and margin chosen on them."""
    groups = []
    cands = []
    for name in names:
        if name == "rotten_imdb":
            groups.append(rotten_augmented())
        else:
            e = examples(name)
            groups.append([(s.x or (), y) for s, y in zip(e.cands.found, e.labels, strict=True)
                           if y is not None])  # fmt: skip
        cands.append(examples(name))
        log(f"  {name}: {len(groups[-1])} training pairs, {sum(y for _, y in groups[-1])} positive")
    weights, bias = fit(groups)
    base = Model(tuple(weights), bias, 0.5, 0.1)
    best = (-1.0, 0.5, 0.1)
    for margin in MARGINS:
        curves = [f1_by_threshold(c, base, margin) for c in cands]
        for t in THRESHOLDS:
            mean = sum(curve[t] for curve in curves) / len(curves)
            if mean > best[0] + 1e-9:
                best = (mean, t, margin)
    log(f"  threshold {best[1]:.2f}, rival margin {best[2]:.2f}: mean training F1 {best[0]:.4f}")
    return Model(tuple(weights), bias, best[1], best[2])


def to_json(model: Model, names: Sequence[str]) -> dict:
    return {
        "features": list(FEATURES),
        "weights": [round(w, 6) for w in model.weights],
        "bias": round(model.bias, 6),
        "threshold": model.threshold,
        "rival_margin": model.rival_margin,
        "trained_on": list(names) + ["(rotten_imdb: train.csv + valid.csv only)"],
        "regenerate": "python bench/train_match.py",
    }


ALL = ("rotten_imdb", *GRAPHS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--check", action="store_true", help="compare a retrain with the shipped file")
    args = ap.parse_args()
    if not ER.is_dir():
        sys.exit(f"no ER datasets at {ER} (set FILMAGG_ER_DIR)")
    print(f"training on {', '.join(ALL)}")
    model = train(ALL, print)
    data = to_json(model, ALL)
    for name, w in zip(FEATURES, model.weights, strict=True):
        print(f"  {name:<20} {w:+.3f}")
    print(f"  {'bias':<20} {model.bias:+.3f}")
    text = json.dumps(data, indent=1) + "\n"
    if args.check:
        same = MODEL_PATH.read_text(encoding="utf-8") == text
        print(
            "shipped model matches the retrain" if same else "shipped model DIFFERS from a retrain"
        )
        sys.exit(0 if same else 1)
    MODEL_PATH.parent.mkdir(exist_ok=True)
    MODEL_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {MODEL_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
