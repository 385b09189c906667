"""The scheduler: plan validation, due times and the catch-up rule as pure functions with a
fake clock, the lock that outlives a scheduler, timeouts and SIGTERM with stand-in children,
and end to end: two entries on second-level cron against the demo sites, a scheduler killed
with SIGKILL and started again. Every wait here is bounded."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from crawler.plans import PlanEntry, PlanError, load_plan, parse_duration, parse_plan
from crawler.schedule import (
    Scheduler,
    crawl_command,
    decide,
    first_due,
    grace,
    is_locked,
    next_due,
    prev_due,
    try_lock,
    write_state,
)
from tests.conftest import ROOT, SITES

SPIDERS = {"cinepedia", "streamfinder", "reelreviews"}
T0 = datetime(2026, 3, 10, 10, 0, 0, tzinfo=UTC)


def entry(cron: str = "0 4 * * *", **kw: Any) -> PlanEntry:
    return PlanEntry(name=kw.pop("name", "e"), spider="cinepedia", cron=cron, **kw)


def toml_entry(name: str = "nightly", **fields: str) -> str:
    body = {"name": f'"{name}"', "spider": '"cinepedia"', "cron": '"0 4 * * *"', **fields}
    return "[[crawl]]\n" + "".join(f"{k} = {v}\n" for k, v in body.items() if v is not None)


# ------------------------------------------------------------------------------ plans


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (toml_entry(crn='"* * * * *"'), "entry 'nightly' (#1): unknown key 'crn'"),
        (toml_entry(cron='"61 * * * *"'), "bad cron expression '61 * * * *'"),
        (toml_entry(cron='"* * *"'), "3 fields (use 5, or 6 with seconds last)"),
        (toml_entry(cron='"0 0 31 2 *"'), "never comes due"),
        (toml_entry(spider='"cinepdia"'), "unknown spider 'cinepdia' (known: cinepedia, "),
        (toml_entry() + toml_entry(), "entry 'nightly' (#2): duplicate name (also entry #1)"),
        (toml_entry(spider=None), "missing key 'spider'"),
        (toml_entry(timeout='"soon"'), "timeout: expected seconds or a duration"),
        (toml_entry(timeout="0"), "timeout: must be more than 0 seconds"),
        (toml_entry(name="../etc"), "name: letters, digits"),
        (toml_entry(settings="{ FILMAGG_PLAN_ENTRY = 'x' }"), "set by the scheduler itself"),
        (toml_entry(timezone='"Mars/Olympus"'), "unknown time zone 'Mars/Olympus'"),
        (toml_entry(arguments='"base_url=x"'), "arguments: "),
        (toml_entry(enabled='"yes please"'), "enabled: "),
        ("crawls = []\n" + toml_entry(), "unknown top-level key 'crawls'"),
        ("[[crawl]\nname = 1\n", "not valid TOML"),
        ("timezone = 'UTC'\n", "no [[crawl]] entries"),
    ],
)
def test_plan_errors_are_one_clear_line(text: str, expected: str) -> None:
    with pytest.raises(PlanError) as info:
        parse_plan(text, "crawls.toml", SPIDERS)
    message = str(info.value)
    assert expected in message and "\n" not in message
    assert all(p.startswith("crawls.toml: ") for p in info.value.problems)


def test_plan_lists_every_problem_at_once() -> None:
    text = toml_entry("a", cron='"bad"') + toml_entry("b", spider='"nope"', extra="1")
    problems = pytest.raises(PlanError, parse_plan, text, "p.toml", SPIDERS).value.problems
    assert len(problems) == 3, problems


def test_plan_values_become_scrapy_arguments() -> None:
    plan = parse_plan(
        'timezone = "Europe/Paris"\n'
        + toml_entry(
            arguments="{ base_url = 'http://127.0.0.1:1/', depth = 2 }",
            settings="{ DOWNLOAD_DELAY = 0.5, AUTOTHROTTLE_ENABLED = false, "
            "ITEM_PIPELINES = { 'p.P' = 1 }, SPIDER_MODULES = ['a', 'b'] }",
            timeout='"1h30m"',
            catch_up="false",
        ),
        known_spiders=SPIDERS,
    )
    (e,) = plan.entries
    assert (e.timeout, e.catch_up, e.enabled, e.timezone) == (5400.0, False, True, "Europe/Paris")
    cmd = crawl_command(e, "sqlite:///x.db")
    assert cmd[:5] == [sys.executable, "-m", "crawler.cli", "crawl", "cinepedia"]
    assert cmd[5:] == [
        "-a", "base_url=http://127.0.0.1:1/", "-a", "depth=2",
        "-s", "DOWNLOAD_DELAY=0.5", "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", 'ITEM_PIPELINES={"p.P": 1}', "-s", "SPIDER_MODULES=a,b",
        "-s", "FILMAGG_PLAN_ENTRY=nightly", "--db", "sqlite:///x.db", "--logfile", "-",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [(90, 90.0), ("90s", 90.0), ("45m", 2700.0), ("2h", 7200.0), ("1h30m", 5400.0), (0.5, 0.5)],
)
def test_durations(raw: Any, seconds: float) -> None:
    assert parse_duration(raw) == seconds


def test_example_plan_is_valid_against_the_real_spider_loader() -> None:
    from crawler.plans import project_spiders

    plan = load_plan(ROOT / "examples" / "crawls.toml", project_spiders())
    assert {e.spider for e in plan.entries} >= {"cinepedia", "streamfinder", "reelreviews"}


def _run_cli(*argv: str) -> tuple[int, str]:
    """``filmagg schedule ARGV`` in this process, its stderr captured."""
    from crawler.cli import main

    err = []

    class Capture:
        def write(self, s: str) -> None:
            err.append(s)

        def flush(self) -> None:
            pass

    with contextlib.redirect_stderr(Capture()):  # type: ignore[type-var]
        code = main(["schedule", *argv])
    return code, "".join(err)


def test_cli_user_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    plan = tmp_path / "crawls.toml"
    plan.write_text(toml_entry(spider='"nosuchspider"'))
    code, err = _run_cli("--plan", str(plan), "--dry-run")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("filmagg: error: ") and "unknown spider 'nosuchspider'" in err
    code, err = _run_cli("--plan", str(tmp_path / "missing.toml"))
    assert code == 2 and "no plan at" in err and err.count("\n") == 1


def test_cli_dry_run_prints_due_times_and_commands(tmp_path: Path, capsys: Any) -> None:
    plan = tmp_path / "crawls.toml"
    plan.write_text(toml_entry(arguments="{ base_url = 'http://127.0.0.1:1/' }"))
    code, _ = _run_cli("--plan", str(plan), "--dry-run", "--db", "sqlite:///x.db")
    out = capsys.readouterr().out
    assert code == 0 and "nightly: 0 4 * * * (UTC)" in out
    assert "FILMAGG_PLAN_ENTRY=nightly --db sqlite:///x.db" in out
    assert not (tmp_path / ".filmagg-schedule").exists()  # a dry run changes nothing


def test_add_commands_registers_schedule() -> None:
    from crawler.schedule import add_commands

    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db")
    parser = argparse.ArgumentParser(prog="filmagg")
    add_commands(parser.add_subparsers(dest="cmd"), db)
    args = parser.parse_args(["schedule", "--once", "--db", "sqlite:///x.db"])
    assert (args.plan, args.once, args.db) == ("crawls.toml", True, "sqlite:///x.db")
    assert callable(args.func)


# ------------------------------------------------------------------------------ due times


def test_next_and_prev_due_with_seconds_and_time_zones() -> None:
    every2 = entry("* * * * * */2")
    assert next_due(every2, T0) == T0 + timedelta(seconds=2)  # strictly after
    assert prev_due(every2, T0) == T0  # at or before
    assert prev_due(every2, T0 + timedelta(seconds=1.5)) == T0
    daily = entry("0 4 * * *", timezone="Europe/Paris")
    assert next_due(daily, T0) == datetime(2026, 3, 11, 3, 0, tzinfo=UTC)  # CET, UTC+1
    summer = datetime(2026, 7, 1, 12, tzinfo=UTC)
    assert next_due(daily, summer) == datetime(2026, 7, 2, 2, 0, tzinfo=UTC)  # CEST, UTC+2
    assert grace(daily, T0) == timedelta(seconds=60)
    assert grace(every2, T0) == timedelta(seconds=1)


def test_catch_up_runs_missed_due_times_once() -> None:
    daily = entry("0 4 * * *")
    last = T0 - timedelta(days=3)  # three 04:00s were missed while the scheduler was down
    due = first_due(daily, T0, last)
    assert due == T0.replace(hour=4)
    d = decide(daily, due, T0, last, busy=False)
    assert d.action == "start" and d.due == T0.replace(hour=4) + timedelta(days=1)
    # the next tick, right after that start: nothing more until tomorrow (coalesced, not replayed)
    assert decide(daily, d.due, T0 + timedelta(seconds=1), T0, busy=False).action == "wait"


def test_catch_up_false_skips_missed_due_times() -> None:
    daily = entry("0 4 * * *", catch_up=False)
    due = first_due(daily, T0, T0 - timedelta(days=3))
    d = decide(daily, due, T0, T0 - timedelta(days=3), busy=False)
    assert d.action == "skip" and d.due == T0.replace(hour=4) + timedelta(days=1)
    # a due time that is only late by less than its grace still runs
    on_time = T0.replace(hour=4, second=20)
    assert decide(daily, T0.replace(hour=4), on_time, None, busy=False).action == "start"


def test_no_history_means_nothing_missed() -> None:
    assert first_due(entry("0 4 * * *"), T0, None) == T0.replace(hour=4) + timedelta(days=1)
    recent = T0.replace(hour=5)  # ran after today's 04:00: nothing to catch up
    assert first_due(entry("0 4 * * *"), T0, recent) == T0.replace(hour=4) + timedelta(days=1)


def test_a_due_time_while_running_is_deferred_or_skipped() -> None:
    e = entry("* * * * * */2")
    defer = decide(e, T0, T0, T0 - timedelta(seconds=5), busy=True)
    assert defer.action == "defer" and defer.due == T0  # kept: runs once when the run ends
    no_catch_up = entry("* * * * * */2", catch_up=False)
    skip = decide(no_catch_up, T0, T0, T0 - timedelta(seconds=5), busy=True)
    assert skip.action == "skip" and skip.due == T0 + timedelta(seconds=2)
    # another scheduler (or the previous one) already started a run for this due time
    assert decide(e, T0, T0, T0 + timedelta(seconds=0.5), busy=False).action == "served"


@pytest.mark.parametrize("catch_up", [True, False])
def test_fake_clock_with_a_long_pause(catch_up: bool) -> None:
    """A scheduler ticking every 0.5 s, paused (SIGSTOP, suspend) from t=5 s to t=60 s, with a
    run lasting 3 s: at most one run at a time, and the pause yields one run (catch-up) or
    none (catch_up = false), never the 27 it spanned."""
    e = entry("* * * * * */2", catch_up=catch_up)
    now, due, last, ends = T0, first_due(e, T0, None), None, None
    starts: list[datetime] = []
    while now < T0 + timedelta(seconds=70):
        busy = ends is not None and now < ends
        d = decide(e, due, now, last, busy)
        if d.action == "start":
            starts.append(now)
            last, ends = now, now + timedelta(seconds=3)
        if d.action != "defer":
            due = d.due
        now += timedelta(seconds=55) if now == T0 + timedelta(seconds=5) else timedelta(seconds=0.5)
    assert all(b - a >= timedelta(seconds=3) for a, b in zip(starts, starts[1:], strict=False))
    after_pause = [
        s for s in starts if T0 + timedelta(seconds=60) <= s < T0 + timedelta(seconds=61)
    ]
    assert len(after_pause) == (1 if catch_up else 0)


# ------------------------------------------------------------------------------ locks, timeouts


def test_lock_is_held_by_the_child_after_the_parent_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "e.lock"
    fd = try_lock(path)
    assert fd is not None and try_lock(path) is None
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], pass_fds=(fd,))
    try:
        os.close(fd)  # as the scheduler does right after starting a run, or by dying
        assert is_locked(path)
    finally:
        child.kill()
        child.wait(timeout=10)
    assert not is_locked(path)


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def sched_log() -> Iterator[list[str]]:
    handler = Lines()
    log = logging.getLogger("filmagg.schedule")
    log.addHandler(handler)
    old = log.level
    log.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        log.removeHandler(handler)
        log.setLevel(old)


STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(30)"
POLITE = "import time; time.sleep(30)"


def test_timeout_sigterm_then_sigkill_and_no_overlap(tmp_path: Path, sched_log: list[str]) -> None:
    e = entry("* * * * * *", name="stubborn", timeout=1.0)
    sched = Scheduler([e], tmp_path, "sqlite:///unused.db", kill_grace=0.4, stop_timeout=0.3,
                      command=lambda *_: [sys.executable, "-c", STUBBORN], tick=0.05)  # fmt: skip
    assert sched.run(deadline=time.monotonic() + 3.5) == 0
    events = [
        line.split(":")[0] for line in sched_log if re.match(r"(start|end|timeout|kill) ", line)
    ]
    assert "timeout stubborn" in events and "kill stubborn" in events, sched_log
    assert any("exit -9 (SIGKILL)" in line for line in sched_log), sched_log
    # one run at a time: every start is followed by its end before the next start
    seq = [ev.split()[0] for ev in events if ev.split()[0] in ("start", "end")]
    assert seq[0] == "start" and all(a != b for a, b in zip(seq, seq[1:], strict=False)), seq


def test_stop_forwards_sigterm_and_returns_0(tmp_path: Path, sched_log: list[str]) -> None:
    e = entry("* * * * * *", name="polite")
    sched = Scheduler([e], tmp_path, "sqlite:///unused.db", stop_timeout=5,
                      command=lambda *_: [sys.executable, "-c", POLITE], tick=0.05)  # fmt: skip
    started = time.monotonic()
    assert sched.run(deadline=time.monotonic() + 1.5) == 0
    assert time.monotonic() - started < 5
    assert any("exit -15 (SIGTERM)" in line for line in sched_log), sched_log
    assert sched_log[-1] == "stopped" and not sched.running


def test_a_run_left_by_a_dead_scheduler_still_gets_its_timeout(
    tmp_path: Path, sched_log: list[str]
) -> None:
    """The crawl outlived its scheduler; the next one reads its pid and start from the state
    file, checks the pid is that entry's crawl, and applies the entry's timeout to it."""
    e = entry("0 4 * * *", name="orphan", timeout=1.0)
    fd = try_lock(tmp_path / "orphan.lock")
    assert fd is not None
    child = subprocess.Popen([sys.executable, "-c", POLITE, "-s", "FILMAGG_PLAN_ENTRY=orphan"],
                             pass_fds=(fd,), start_new_session=True)  # fmt: skip
    os.close(fd)
    try:
        started = datetime.now(UTC) - timedelta(seconds=5)
        write_state(tmp_path, "orphan", last_start=started.isoformat(), pid=child.pid)
        sched = Scheduler([e], tmp_path, "sqlite:///unused.db", tick=0.05)
        sched.run(deadline=time.monotonic() + 1.0)
        assert child.wait(timeout=5) == -signal.SIGTERM
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=5)
    assert any(f"pid {child.pid} (started by an earlier scheduler)" in m for m in sched_log)


# ------------------------------------------------------------------------------ end to end


class DemoHandler(SimpleHTTPRequestHandler):
    """The demo sites; the first request for a URL with ``?delay=S`` waits S seconds (one slow
    run, so the runs after it stay short)."""

    delayed: set[str] = set()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        delay = parse_qs(urlsplit(self.path).query).get("delay")
        if delay and self.path not in self.delayed:
            self.delayed.add(self.path)
            time.sleep(float(delay[0]))
        super().do_GET()


@contextlib.contextmanager
def demo_server() -> Iterator[str]:
    fresh = type("Handler", (DemoHandler,), {"delayed": set()})  # delays once per server
    handler = lambda *a, **kw: fresh(*a, directory=str(SITES), **kw)  # noqa: E731
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def scheduler_command(*args: str) -> list[str]:
    """``filmagg schedule ARGS`` as a process of this checkout."""
    return [sys.executable, "-m", "crawler.cli", "schedule", *args]


def wait_for(what: str, check: Any, timeout: float, proc: subprocess.Popen[bytes] | None = None,
             log: Path | None = None) -> Any:  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.1)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def runs(db_path: Path) -> list[dict[str, Any]]:
    if not db_path.exists():
        return []
    with contextlib.closing(sqlite3.connect(db_path, timeout=10)) as conn:
        conn.row_factory = sqlite3.Row
        try:
            rows = conn.execute("SELECT id, plan_entry, pid, status, started_at, finished_at "
                                "FROM crawl_run ORDER BY id").fetchall()  # fmt: skip
        except sqlite3.OperationalError:  # not created yet
            return []
    return [dict(r) for r in rows]


def started(log: Path, name: str) -> list[int]:
    text = log.read_text() if log.exists() else ""
    return [int(p) for p in re.findall(rf"start {name}: pid (\d+)", text)]


@pytest.mark.slow
def test_two_entries_run_when_due_never_overlap_and_survive_a_sigkill(tmp_path: Path) -> None:
    db_path = tmp_path / "catalog.db"
    db = f"sqlite:///{db_path}"
    log1, log2 = tmp_path / "s1.log", tmp_path / "s2.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FILMAGG_DB", None)
    procs: list[subprocess.Popen[bytes]] = []
    with demo_server() as base:
        plan = tmp_path / "crawls.toml"
        fast = "{ DOWNLOAD_DELAY = 0, AUTOTHROTTLE_ENABLED = false, LOG_LEVEL = 'INFO' }"
        plan.write_text(
            toml_entry("fast", cron='"* * * * * */4"', arguments=f"{{ base_url = '{base}' }}",
                       settings=fast)
            + toml_entry("slow", cron='"* * * * * */2"', settings=fast,
                         arguments=f"{{ start_urls = '{base}cinepedia/index.html?delay=9' }}")
        )  # fmt: skip

        def start(log: Path) -> subprocess.Popen[bytes]:
            with log.open("ab") as out:
                proc = subprocess.Popen(scheduler_command("--plan", str(plan), "--db", db,
                                                          "--stop-timeout", "15"),
                                        cwd=tmp_path, env=env, stdout=out, stderr=out)  # fmt: skip
            procs.append(proc)
            return proc

        try:
            s1 = start(log1)
            # both entries start when due; the slow one is still running at its next due time
            wait_for("slow deferred by S1", lambda: re.search(
                r"slow: due \S+ but a run \(pid \d+\) is still running", log1.read_text()),
                15, s1, log1)  # fmt: skip
            (orphan,) = started(log1, "slow")
            wait_for("the slow run's crawl_run row", lambda: any(
                r["pid"] == orphan for r in runs(db_path)), 15, s1, log1)  # fmt: skip
            s1.send_signal(signal.SIGKILL)  # the scheduler dies; its crawls live on
            s1.wait(timeout=10)
            assert is_locked(tmp_path / ".filmagg-schedule" / "slow.lock")

            s2 = start(log2)
            wait_for("S2 defers slow to the orphan", lambda: re.search(
                rf"slow: due \S+ but a run \(pid {orphan}\) is still running", log2.read_text()),
                15, s2, log2)  # fmt: skip
            wait_for("S2 starts slow after the orphan", lambda: started(log2, "slow"), 20, s2, log2)
            (second,) = started(log2, "slow")[:1]
            wait_for("S2's slow run row", lambda: any(
                r["pid"] == second for r in runs(db_path)), 15, s2, log2)  # fmt: skip
            wait_for("a fast run by S2 that ended", lambda: re.search(
                r"end fast: pid \d+, exit", log2.read_text()), 20, s2, log2)  # fmt: skip

            t = time.monotonic()
            s2.send_signal(signal.SIGTERM)
            assert s2.wait(timeout=25) == 0, log2.read_text()[-3000:]
            stop_seconds = time.monotonic() - t
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)
            for log in (log1, log2):
                for name in ("fast", "slow"):
                    for pid in started(log, name):
                        with contextlib.suppress(ProcessLookupError, PermissionError):
                            os.killpg(pid, signal.SIGKILL)

    text2 = log2.read_text()
    assert "SIGTERM: stopping" in text2 and text2.rstrip().endswith("stopped"), text2
    assert stop_seconds < 20
    rows = runs(db_path)
    assert rows and {r["plan_entry"] for r in rows} == {"fast", "slow"}, rows
    assert {r["pid"] for r in rows} <= set(
        started(log1, "fast")
        + started(log1, "slow")
        + started(log2, "fast")
        + started(log2, "slow")
    )
    # the slow entry never overlapped itself, across the scheduler's death
    slow = sorted((r for r in rows if r["plan_entry"] == "slow"), key=lambda r: r["started_at"])
    assert [r["pid"] for r in slow][:2] == [orphan, second], slow
    for a, b in zip(slow, slow[1:], strict=False):
        assert a["finished_at"] is not None and a["finished_at"] <= b["started_at"], slow
    assert slow[0]["status"] not in ("running", "interrupted", "abandoned"), slow  # ran to its end
    # each entry ran under both schedulers, with its name in crawl_run: nothing was lost
    for log in (log1, log2):
        for name in ("fast", "slow"):
            pids = started(log, name)
            assert pids and {r["plan_entry"] for r in rows if r["pid"] in pids} <= {name}, name
    fast_pids = started(log1, "fast") + started(log2, "fast")
    assert sum(r["plan_entry"] == "fast" and r["pid"] in fast_pids for r in rows) >= 2
    # and `filmagg runs` shows that history, entry by entry
    shown = subprocess.run([sys.executable, "-m", "crawler.cli", "runs", "--json", "--db",
                            f"sqlite:///{db_path}"], cwd=ROOT, capture_output=True, text=True,
                           timeout=60, check=True)  # fmt: skip
    listed = {r["id"]: r["plan_entry"] for r in json.loads(shown.stdout)}
    assert listed == {r["id"]: r["plan_entry"] for r in rows}
    assert not is_locked(tmp_path / ".filmagg-schedule" / "slow.lock")
