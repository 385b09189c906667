"""Issue 7's acceptance runs: concurrent crawls and SIGKILL + re-run, many trials, one table.

The tests (``tests/test_concurrency_e2e.py``) run each scenario a few times to stay fast; the
races they look for are intermittent, so this script repeats them and counts: per trial the
works and records expected (from the generated site's truth) against those stored,
duplicates, exit codes, wall time, and whether the catalog equals the one an uninterrupted
single-process crawl built. Kills report the moment (pages served before SIGKILL), the killed
run's status after the re-run (``abandoned`` expected) and the same equality.

    python bench/concurrency.py --trials 10 --writers 4 --films 300 --db both --kills 10
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import sitegen  # noqa: E402
from tests.catalog_compare import (  # noqa: E402
    crawl_runs,
    duplicate_count,
    fresh_catalog,
    snapshot,
)


def _run_status(db: str, pid: int) -> str:
    runs = crawl_runs(db)
    if runs and "pid" in runs[0]:
        mine = [r for r in runs if r.get("pid") == pid]
        return str(mine[0].get("status")) if mine else "no run row"
    return f"{runs[0].get('status')} (no pid column)" if runs else "no run row"


def _row(cells: list[Any], widths: list[int]) -> str:
    return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True))


CONC_HEAD = ["trial", "writers", "backend", "works exp/got", "records exp/got", "dups",
             "exit codes", "wall s", "= reference"]  # fmt: skip
CONC_W = [5, 7, 8, 13, 15, 4, 14, 6, 11]
KILL_HEAD = ["kill", "backend", "moment (pages)", "killed rc", "rerun rc", "killed run",
             "works exp/got", "records exp/got", "dups", "wall s", "= reference"]  # fmt: skip
KILL_W = [4, 8, 14, 9, 8, 28, 13, 15, 4, 6, 11]


def bench_backend(backend: str, args: argparse.Namespace, work: Path) -> dict[str, int]:
    """All trials on one backend; returns counts of failed trials by kind."""
    failures = {"concurrent": 0, "kill": 0}
    site = sitegen.generate(work / "site", args.films, seed=args.seed)
    settings = {"FILMAGG_BATCH_SIZE": str(args.batch_size)} if args.batch_size else None
    rng = random.Random(args.seed)
    with sitegen.serve(site.root) as server:
        pages = site.record_pages()
        urls = sitegen.start_urls(server.bases, pages)
        with fresh_catalog(backend, work, f"{backend}-reference") as ref_db:
            started = time.monotonic()
            ref = sitegen.start_crawl(ref_db, urls, work / f"{backend}-reference.log", settings)
            code = ref.wait()
            print(f"[{backend}] reference: one crawl of {len(urls)} pages, exit {code}, "
                  f"{time.monotonic() - started:.1f}s", flush=True)  # fmt: skip
            reference = snapshot(ref_db)
        expected = sitegen.check_truth(reference, site, server.bases)
        if expected.problems():
            print(f"[{backend}] the reference itself is off: {expected.problems()}")
        if args.trials:
            print(_row(CONC_HEAD, CONC_W), flush=True)
        for trial in range(args.trials):
            plans = sitegen.writer_plans(site, args.writers, seed=args.seed + trial,
                                         order=args.order)  # fmt: skip
            with fresh_catalog(backend, work, f"{backend}-conc{trial}") as db:
                ran = sitegen.run_writers(server, db, plans, work / f"{backend}-conc{trial}",
                                          settings)  # fmt: skip
                snap = snapshot(db)
            rep = sitegen.check_truth(snap, site, server.bases)
            same = snap == reference
            failures["concurrent"] += bool(rep.problems() or not same or any(ran.exit_codes))
            print(_row([trial, args.writers, backend, f"{rep.works_expected}/{rep.works_got}",
                        f"{rep.records_expected}/{rep.records_got}", duplicate_count(snap),
                        ",".join(map(str, ran.exit_codes)), f"{ran.seconds:.1f}",
                        "yes" if same else "no"], CONC_W), flush=True)  # fmt: skip
        if args.kills:
            print(_row(KILL_HEAD, KILL_W), flush=True)
        for k in range(args.kills):
            at = rng.randint(1, int(len(urls) * 0.95))
            with fresh_catalog(backend, work, f"{backend}-kill{k}") as db:
                started = time.monotonic()
                killed = sitegen.interrupt_crawl(server, db, urls, at, signal.SIGKILL,
                                                 work / f"{backend}-kill{k}.log", settings)  # fmt: skip
                rerun = sitegen.start_crawl(db, urls, work / f"{backend}-rerun{k}.log", settings)
                rerun_code = rerun.wait()
                status = _run_status(db, killed.pid)
                snap = snapshot(db)
            rep = sitegen.check_truth(snap, site, server.bases)
            same = snap == reference
            moment = f"{at}/{len(urls)}" if killed.sent else f"{at} (ended first)"
            failures["kill"] += bool(
                rep.problems() or not same or rerun_code or status != "abandoned"
            )
            print(_row([k, backend, moment, killed.exit_code, rerun_code, status[:28],
                        f"{rep.works_expected}/{rep.works_got}",
                        f"{rep.records_expected}/{rep.records_got}", duplicate_count(snap),
                        f"{time.monotonic() - started:.1f}", "yes" if same else "no"], KILL_W),
                  flush=True)  # fmt: skip
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10, help="concurrent-crawl trials")
    parser.add_argument("--writers", type=int, default=4, help="concurrent crawls per trial")
    parser.add_argument("--films", type=int, default=300, help="films in the generated site")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--kills", type=int, default=0, help="SIGKILL + re-run trials")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=0,
                        help="FILMAGG_BATCH_SIZE for every crawl (0: the default)")  # fmt: skip
    parser.add_argument("--order", choices=("sweep", "meet"), default="sweep",
                        help="page order of the writers (see tests/sitegen.writer_plans)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, dbs)")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    work = Path(tempfile.mkdtemp(prefix="filmagg-bench-concurrency-"))
    started = time.monotonic()
    failed: dict[str, dict[str, int]] = {}
    try:
        for backend in backends:
            failed[backend] = bench_backend(backend, args, work)
    finally:
        if args.keep:
            print(f"logs and catalogs kept in {work}")
        else:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    for backend, f in failed.items():
        print(f"[{backend}] failed trials: concurrent {f['concurrent']}/{args.trials}, "
              f"kill {f['kill']}/{args.kills}")  # fmt: skip
    print(f"total wall time {time.monotonic() - started:.1f}s")
    return 1 if any(v for f in failed.values() for v in f.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
