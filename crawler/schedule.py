"""``filmagg schedule``: run the crawls of a plan (``crawls.toml``) when they are due.

The rules, as ``filmagg schedule --help`` and the README state them:

- **One process per run.** A due entry runs as ``python -m crawler.cli crawl SPIDER -a ... -s ...
  -s FILMAGG_PLAN_ENTRY=<name> --db URL`` (so ``crawl_run.plan_entry`` names it), its output in
  ``STATE/logs/<name>/<time>.log``. STATE is ``--state-dir``, by default ``.filmagg-schedule/``
  beside the plan.
- **No overlap.** Never two runs of one entry at once: the scheduler takes an exclusive
  ``flock`` on ``STATE/<name>.lock`` and the crawl inherits it. A crawl outlives a scheduler
  that dies (SIGKILL, crash), keeps its lock, and a restarted scheduler leaves that entry alone
  until the crawl ends.
- **Catch-up.** An entry's reference time is its newest start: its newest ``crawl_run`` row
  (``plan_entry`` = its name), or the start the state file records, or, for an entry never run,
  when a scheduler first saw it. When a due time has passed since then (the scheduler was down,
  the machine asleep, the process paused, or the previous run was still going) the entry runs
  **once, at once**: missed due times are coalesced into one run, never replayed one by one.
  With ``catch_up = false`` missed due times are skipped (a due time counts as missed once it
  is late by more than half its period, at most 60 s) and the entry waits for its next one.
- **Timeout.** A run that exceeds its entry's ``timeout`` gets SIGTERM (Scrapy stops and stores
  what it scraped), then SIGKILL after ``--kill-grace`` seconds.
- **Stop.** SIGTERM or SIGINT: no new runs start, running crawls get SIGTERM, the scheduler
  waits for them up to ``--stop-timeout`` seconds, SIGKILLs what is left, and exits 0.

Decisions (due times, catch-up, overlap) are pure functions of an entry, a clock reading and
what is known of past runs; ``Scheduler`` is the thin part that spawns, locks and signals.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from croniter import CroniterError, croniter

from crawler.plans import Plan, PlanEntry, PlanError, load_plan, project_spiders, utc

logger = logging.getLogger("filmagg.schedule")

STATE_DIRNAME = ".filmagg-schedule"
MAX_GRACE = timedelta(seconds=60)  # how late a due time may start before it counts as missed
KEEP_LOGS = 20  # per entry: the newest run logs kept in STATE/logs/<name>/
TICK = 0.25  # seconds between looks at the clock, the children and the locks

HELP_RULES = """\
rules:
  overlap   never two runs of one entry at once: a lock file per entry (STATE/NAME.lock)
            is held by the running crawl itself, so it survives a scheduler crash and a
            restarted scheduler skips that entry until the crawl ends
  catch-up  an entry whose newest run (crawl_run.plan_entry) is older than its most recent
            due time runs once, at once: missed runs are coalesced, never replayed one by
            one; with catch_up = false they are skipped and it waits for the next due time
  timeout   a run over its entry's timeout gets SIGTERM, then SIGKILL after --kill-grace
  stop      SIGTERM/SIGINT: start nothing new, SIGTERM the running crawls, wait for them
            (at most --stop-timeout), exit 0
"""


# ------------------------------------------------------------------------------ due times


def _fmt(dt: datetime | None) -> str:
    return "never" if dt is None else utc(dt).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cron(entry: PlanEntry, base: datetime) -> croniter:
    return croniter(entry.cron, base.astimezone(ZoneInfo(entry.timezone)))


def next_due(entry: PlanEntry, after: datetime) -> datetime | None:
    """The first due time strictly after ``after`` (UTC), None when the expression has no more."""
    try:
        return utc(_cron(entry, after).get_next(datetime))
    except CroniterError:
        return None


def prev_due(entry: PlanEntry, at: datetime) -> datetime | None:
    """The most recent due time at or before ``at`` (UTC)."""
    try:
        prev = utc(_cron(entry, at).get_prev(datetime))
    except CroniterError:
        return None
    following = next_due(entry, prev)  # croniter's get_prev is strict; ``at`` itself may be due
    return following if following is not None and following <= at else prev


def grace(entry: PlanEntry, due: datetime) -> timedelta:
    """How late ``due`` may still start before it counts as missed: half the period, at most
    ``MAX_GRACE`` (so a tick that wakes a little late never loses a second-level run)."""
    following = next_due(entry, due)
    return MAX_GRACE if following is None else min(MAX_GRACE, (following - due) / 2)


def reference_time(*candidates: datetime | None) -> datetime | None:
    """The newest known start of an entry (catalog rows, state file, first sight)."""
    known = [utc(c) for c in candidates if c is not None]
    return max(known) if known else None


def first_due(entry: PlanEntry, now: datetime, reference: datetime | None) -> datetime | None:
    """The due time a scheduler starts from: the most recent one when it came after the
    entry's reference (missed: ``decide`` runs it at once or skips it, by ``catch_up``),
    otherwise the next one. No reference at all means nothing can have been missed."""
    if reference is not None:
        prev = prev_due(entry, now)
        if prev is not None and prev > reference:
            return prev
    return next_due(entry, now)


Action = Literal["wait", "start", "defer", "skip", "served"]


@dataclass(frozen=True)
class Decision:
    action: Action
    due: datetime | None  # the due time to look at next (unchanged for wait/defer)
    why: str = ""


def decide(
    entry: PlanEntry,
    due: datetime | None,
    now: datetime,
    last_start: datetime | None,
    busy: bool,
) -> Decision:
    """What to do with an entry at ``now``, given its pending due time, its newest known start
    and whether a run of it holds its lock. However many due times passed, at most one start
    results: the next due time is always computed from ``now`` (catch-up coalesces)."""
    if due is None:
        return Decision("wait", None, "the cron expression has no further due time")
    if due > now:
        return Decision("wait", due)
    if last_start is not None and utc(last_start) >= due:
        return Decision("served", next_due(entry, now), f"a run started at {_fmt(last_start)}")
    if not entry.catch_up and now - due > grace(entry, due):
        return Decision("skip", next_due(entry, now), f"missed {_fmt(due)} (catch_up = false)")
    if busy:
        if entry.catch_up:
            return Decision("defer", due, "still running; it runs once when that run ends")
        return Decision("skip", next_due(entry, now), "still running (catch_up = false)")
    return Decision("start", next_due(entry, now))


def crawl_command(entry: PlanEntry, db: str) -> list[str]:
    """The crawl's command line: the same ``filmagg crawl`` a person would type. Its whole log
    goes to its output (``--logfile -``), which the scheduler keeps per run."""
    cmd = [sys.executable, "-m", "crawler.cli", "crawl", entry.spider]
    for pair in entry.spider_args():
        cmd += ["-a", pair]
    for pair in entry.setting_args():
        cmd += ["-s", pair]
    return [*cmd, "--db", db, "--logfile", "-"]


# ------------------------------------------------------------------------------ state & locks


def lock_path(state_dir: Path, name: str) -> Path:
    return state_dir / f"{name}.lock"


def try_lock(path: Path) -> int | None:
    """An fd holding an exclusive flock on ``path``, or None when another holds it. A flock
    belongs to the open file, so a child that inherits the fd keeps the lock after we close
    ours, and the kernel drops it when the last holder dies (no stale locks after a crash)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def is_locked(path: Path) -> bool:
    fd = try_lock(path)
    if fd is None:
        return True
    os.close(fd)
    return False


def read_state(state_dir: Path, name: str) -> dict[str, Any]:
    """What schedulers recorded about an entry (empty when nothing, or unreadable)."""
    try:
        data = json.loads((state_dir / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(state_dir: Path, name: str, **fields: Any) -> None:
    """Merge ``fields`` into the entry's state file, atomically (readers never see half)."""
    data = {**read_state(state_dir, name), **fields}
    tmp = state_dir / f".{name}.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(data, default=str, sort_keys=True), encoding="utf-8")
    os.replace(tmp, state_dir / f"{name}.json")


def state_time(state: dict[str, Any], key: str) -> datetime | None:
    value = state.get(key)
    try:
        return utc(datetime.fromisoformat(value)) if isinstance(value, str) else None
    except ValueError:
        return None


def prune_logs(directory: Path, keep: int = KEEP_LOGS) -> None:
    logs = sorted(directory.glob("*.log"))
    for old in logs[:-keep] if keep > 0 else logs:
        old.unlink(missing_ok=True)


def _pid_runs_entry(pid: int, name: str) -> bool:
    """Whether ``pid`` is a crawl of entry ``name`` (its command line says so), so a recycled
    pid is never signalled."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"FILMAGG_PLAN_ENTRY={name}".encode() in argv


def _signal_group(pid: int, sig: int) -> None:
    """Signal a run's process group (each run leads its own session, see ``Scheduler.start``)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _describe_exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"{code} ({signal.Signals(-code).name})"
    return str(code)


# ------------------------------------------------------------------------------ catalog


@dataclass(frozen=True)
class LastRun:
    id: int
    started_at: datetime
    status: str


def catalog_last_runs(db: str, names: Iterable[str], readonly: bool = False) -> dict[str, LastRun]:
    """The newest ``crawl_run`` row of each plan entry. The scheduler opens the catalog as a
    crawl would (created or upgraded first); ``readonly`` (for ``--list``) changes nothing.
    Only the columns used are read, so other columns' migrations never concern this."""
    from sqlmodel import Session, col, select

    from pipelines.catalog.db import get_engine, open_readonly_engine
    from pipelines.catalog.models import CrawlRun

    engine = open_readonly_engine(db) if readonly else get_engine(db)
    newest: dict[str, LastRun] = {}
    try:
        with Session(engine) as s:
            for name in names:
                row = s.exec(
                    select(CrawlRun.id, CrawlRun.started_at, CrawlRun.status)
                    .where(CrawlRun.plan_entry == name)
                    .order_by(col(CrawlRun.started_at).desc())
                    .limit(1)
                ).first()
                if row is not None:
                    newest[name] = LastRun(row[0], utc(row[1]), row[2])  # type: ignore[arg-type]
    finally:
        engine.dispose()
    return newest


# ------------------------------------------------------------------------------ the scheduler


@dataclass
class Run:
    entry: PlanEntry
    proc: subprocess.Popen[bytes]
    started: float  # monotonic
    log: Path
    term_at: float | None = None
    killed: bool = False


class Scheduler:
    """Starts due entries as child processes and watches them: the loop around ``decide``."""

    def __init__(
        self,
        entries: Sequence[PlanEntry],
        state_dir: Path,
        db: str,
        *,
        last_starts: dict[str, datetime] | None = None,
        kill_grace: float = 30.0,
        stop_timeout: float = 60.0,
        command: Callable[[PlanEntry, str], list[str]] = crawl_command,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        tick: float = TICK,
    ) -> None:
        self.entries = [e for e in entries if e.enabled]
        self.state_dir = state_dir
        self.db = db
        self.last_starts = {k: utc(v) for k, v in (last_starts or {}).items()}
        self.kill_grace = kill_grace
        self.stop_timeout = stop_timeout
        self.command = command
        self.clock = clock
        self.tick_seconds = tick
        self.due: dict[str, datetime | None] = {}
        self.running: dict[str, Run] = {}
        self.deferred: dict[str, datetime] = {}  # due time already logged as deferred
        self.orphan_term: dict[str, float] = {}  # entries whose orphaned run got SIGTERM
        self.exit_codes: list[int] = []
        self.stopping = False
        self.stop_deadline = 0.0
        self.signals: list[int] = []  # set by the signal handler; acted on by the loop

    # ---- decisions in, actions out

    def prepare(self, now: datetime) -> None:
        """Each entry's first due time, from its newest known start (the catch-up rule)."""
        for entry in self.entries:
            state = read_state(self.state_dir, entry.name)
            seen = state_time(state, "first_seen")
            if seen is None:
                write_state(self.state_dir, entry.name, first_seen=now.isoformat())
                seen = now
            ref = reference_time(self.last_starts.get(entry.name),
                                 state_time(state, "last_start"), seen)  # fmt: skip
            self.due[entry.name] = first_due(entry, now, ref)
            due = self.due[entry.name]
            if due is not None and due <= now:
                then = "catching up once" if entry.catch_up else (
                    "catch_up = false, so it waits for its next due time")  # fmt: skip
                logger.info("%s: missed %s (newest start or first sight %s): %s", entry.name,
                            _fmt(due), _fmt(ref), then)  # fmt: skip
            else:
                logger.info("%s: next due %s", entry.name, _fmt(due))

    def step(self, now: datetime, accept: bool = True) -> None:
        """One look at everything: reap ended runs, enforce timeouts, start what is due."""
        mono = time.monotonic()
        while self.signals:
            self.request_stop(self.signals.pop(0))
        self.reap()
        self.enforce_timeouts(mono)
        self.watch_orphans(now, mono)
        if self.stopping or not accept:
            return
        for entry in self.entries:
            due = self.due.get(entry.name)
            if due is None or due > now:
                continue
            state = read_state(self.state_dir, entry.name)
            last = reference_time(self.last_starts.get(entry.name), state_time(state, "last_start"))
            busy = entry.name in self.running or is_locked(lock_path(self.state_dir, entry.name))
            decision = decide(entry, due, now, last, busy)
            self.act(entry, decision, now, state)

    def act(self, entry: PlanEntry, d: Decision, now: datetime, state: dict[str, Any]) -> None:
        name = entry.name
        if d.action == "defer":
            if self.deferred.get(name) != self.due[name]:
                self.deferred[name] = self.due[name]  # type: ignore[assignment]
                holder = self.running[name].proc.pid if name in self.running else state.get("pid")
                logger.info("%s: due %s but a run (pid %s) is %s", name, _fmt(self.due[name]),
                            holder, d.why)  # fmt: skip
            return
        if d.action in ("skip", "served"):
            log = logger.info if d.action == "skip" else logger.debug
            log("%s: skipped %s: %s; next due %s", name, _fmt(self.due[name]), d.why, _fmt(d.due))
            self.due[name] = d.due
            return
        if d.action == "start" and self.start(entry, now):
            self.due[name] = d.due
            self.deferred.pop(name, None)

    def start(self, entry: PlanEntry, now: datetime) -> bool:
        """Spawn a run holding the entry's lock; False (retried next tick) when the lock was
        taken meanwhile or the process could not start."""
        cmd = self.command(entry, self.db)
        fd = try_lock(lock_path(self.state_dir, entry.name))
        if fd is None:
            return False
        try:
            logdir = self.state_dir / "logs" / entry.name
            logdir.mkdir(parents=True, exist_ok=True)
            log = logdir / f"{now.strftime('%Y%m%dT%H%M%S.%fZ')}.log"
            with log.open("ab") as out:
                # its own session: a terminal's Ctrl-C reaches the scheduler only, which
                # forwards one SIGTERM (a second signal would make Scrapy stop uncleanly)
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT, pass_fds=(fd,),
                                        start_new_session=True)  # fmt: skip
        except OSError as exc:
            logger.error("%s: cannot start %s: %s", entry.name, shlex.join(cmd), exc)
            self.due[entry.name] = next_due(entry, now)
            return False
        finally:
            os.close(fd)  # the child holds the lock now, alone
        self.last_starts[entry.name] = now
        write_state(self.state_dir, entry.name, last_start=now.isoformat(), pid=proc.pid,
                    log=str(log), scheduler_pid=os.getpid())  # fmt: skip
        self.running[entry.name] = Run(entry, proc, time.monotonic(), log)
        logger.info("start %s: pid %d, spider %s, log %s", entry.name, proc.pid, entry.spider, log)
        prune_logs(logdir)
        return True

    def reap(self) -> None:
        for name, run in list(self.running.items()):
            code = run.proc.poll()
            if code is None:
                continue
            took = time.monotonic() - run.started
            del self.running[name]
            self.exit_codes.append(code)
            write_state(self.state_dir, name, last_end=self.clock().isoformat(), last_exit=code)
            logger.info("end %s: pid %d, exit %s, %.1fs", name, run.proc.pid,
                        _describe_exit(code), took)  # fmt: skip

    def enforce_timeouts(self, mono: float) -> None:
        for name, run in self.running.items():
            if self.stopping and run.term_at is None:  # started as the stop came in
                _signal_group(run.proc.pid, signal.SIGTERM)
                run.term_at = mono
            limit = run.entry.timeout
            if run.term_at is None and limit is not None and mono - run.started > limit:
                logger.warning(
                    "timeout %s: pid %d ran over %gs: SIGTERM", name, run.proc.pid, limit
                )
                _signal_group(run.proc.pid, signal.SIGTERM)
                run.term_at = mono
            waited = self.stop_deadline if self.stopping else (run.term_at or 0) + self.kill_grace
            if run.term_at is not None and not run.killed and mono > waited:
                logger.warning("kill %s: pid %d still running after SIGTERM: SIGKILL",
                               name, run.proc.pid)  # fmt: skip
                _signal_group(run.proc.pid, signal.SIGKILL)
                run.killed = True

    def watch_orphans(self, now: datetime, mono: float) -> None:
        """Timeouts for runs a previous scheduler started (they outlive it, lock and all)."""
        for entry in self.entries:
            if entry.timeout is None or entry.name in self.running:
                continue
            state = read_state(self.state_dir, entry.name)
            started, pid = state_time(state, "last_start"), state.get("pid")
            ended = state_time(state, "last_end")
            if started is None or not isinstance(pid, int) or (ended and ended >= started):
                self.orphan_term.pop(entry.name, None)
                continue
            if (now - started).total_seconds() <= entry.timeout:
                continue
            if not is_locked(lock_path(self.state_dir, entry.name)):
                continue
            if not _pid_runs_entry(pid, entry.name):
                continue
            term_at = self.orphan_term.get(entry.name)
            if term_at is None:
                logger.warning("timeout %s: pid %d (started by an earlier scheduler) ran over "
                               "%gs: SIGTERM", entry.name, pid, entry.timeout)  # fmt: skip
                _signal_group(pid, signal.SIGTERM)
                self.orphan_term[entry.name] = mono
            elif mono - term_at > self.kill_grace:
                logger.warning("kill %s: pid %d still running after SIGTERM: SIGKILL",
                               entry.name, pid)  # fmt: skip
                _signal_group(pid, signal.SIGKILL)
                self.orphan_term[entry.name] = float("inf")

    def request_stop(self, signum: int | None = None) -> None:
        """First call: SIGTERM every running crawl; a second one: SIGKILL them now."""
        mono = time.monotonic()
        if self.stopping:
            self.stop_deadline = mono
            return
        self.stopping = True
        self.stop_deadline = mono + self.stop_timeout
        why = signal.Signals(signum).name if signum else "stop"
        logger.info("%s: stopping; SIGTERM to %d running crawl(s), waiting up to %gs", why,
                    len(self.running), self.stop_timeout)  # fmt: skip
        for run in self.running.values():
            _signal_group(run.proc.pid, signal.SIGTERM)
            run.term_at = mono

    # ---- the loop

    def run(self, once: bool = False, deadline: float | None = None) -> int:
        """Until stopped (or, with ``once``, until what was due at start has ended). Returns
        0, or with ``once`` 1 when a run did not exit 0."""
        self.prepare(self.clock())
        first = True
        while True:
            self.step(self.clock(), accept=first or not once)
            first = False
            if deadline is not None and time.monotonic() > deadline and not self.stopping:
                self.request_stop()
            if not self.running and (self.stopping or once):
                break
            time.sleep(self.tick_seconds)
        if self.stopping:
            logger.info("stopped")
            return 0
        return 1 if any(self.exit_codes) else 0


@contextlib.contextmanager
def stop_on_signals(scheduler: Scheduler) -> Iterator[None]:
    """SIGTERM/SIGINT ask the scheduler to stop (the previous handlers come back after)."""

    def handler(signum: int, frame: Any) -> None:
        scheduler.signals.append(signum)  # the loop acts on it within one tick

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


# ------------------------------------------------------------------------------ the command


def _setup_logging() -> None:
    if logger.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    fmt = logging.Formatter("%(asctime)s filmagg schedule: %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    fmt.converter = time.gmtime
    handler.setFormatter(fmt)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _print_dry_run(plan: Plan, db: str, now: datetime) -> None:
    for entry in plan.entries:
        dues: list[datetime] = []
        cursor: datetime | None = now
        while cursor is not None and len(dues) < 3:
            cursor = next_due(entry, cursor)
            if cursor is not None:
                dues.append(cursor)
        flags = [] if entry.enabled else ["disabled"]
        flags += [f"timeout {entry.timeout:g}s"] if entry.timeout else []
        flags += [] if entry.catch_up else ["catch_up = false"]
        print(f"{entry.name}: {entry.cron} ({entry.timezone})"
              + (f" [{', '.join(flags)}]" if flags else ""))  # fmt: skip
        print(f"  next due: {', '.join(_fmt(d) for d in dues) or 'never'}")
        print(f"  runs: {shlex.join(crawl_command(entry, db))}")


def _print_list(plan: Plan, db: str, state_dir: Path, now: datetime) -> None:
    from pipelines.catalog.db import CatalogError

    try:
        runs = catalog_last_runs(db, [e.name for e in plan.entries], readonly=True)
    except CatalogError as exc:  # a listing still helps without the catalog
        print(f"(no run history: {exc})", file=sys.stderr)
        runs = {}
    header = ("ENTRY", "SPIDER", "CRON", "LAST RUN", "STATE", "NEXT DUE")
    rows = [header]
    for e in plan.entries:
        row = runs.get(e.name)
        last = f"#{row.id} {_fmt(row.started_at)} {row.status}" if row is not None else "never"
        state = read_state(state_dir, e.name)
        held = (
            state_dir.exists()
            and lock_path(state_dir, e.name).exists()
            and is_locked(lock_path(state_dir, e.name))
        )
        doing = (
            f"running (pid {state.get('pid')})" if held else ("idle" if e.enabled else "disabled")
        )
        rows.append((e.name, e.spider, e.cron, last, doing, _fmt(next_due(e, now))))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def cmd_schedule(args: argparse.Namespace) -> int:
    """``filmagg schedule``: validate the plan, then run it (or list it, or show a dry run)."""
    from crawler.cli import CliError
    from pipelines.catalog.db import CatalogError, database_url

    plan_path = Path(args.plan)
    for flag in ("kill_grace", "stop_timeout"):
        if getattr(args, flag) < 0:
            raise CliError(f"--{flag.replace('_', '-')} must be 0 or more seconds")
    try:
        plan = load_plan(plan_path, project_spiders())
    except PlanError as exc:
        raise CliError(str(exc)) from None
    db = database_url(args.db)
    state_dir = Path(args.state_dir) if args.state_dir else plan_path.parent / STATE_DIRNAME
    now = datetime.now(UTC)
    if args.dry_run:
        _print_dry_run(plan, db, now)
        return 0
    if args.list:
        _print_list(plan, db, state_dir, now)
        return 0
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        probe = state_dir / f".probe.{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise CliError(f"cannot use the state directory {state_dir}: {exc.strerror}") from None
    _setup_logging()
    guard = None
    if not args.once:  # one long-running scheduler per state directory
        guard = try_lock(state_dir / "scheduler.lock")
        if guard is None:
            raise CliError(f"another scheduler is running with the state directory {state_dir}")
    try:
        try:
            runs = catalog_last_runs(db, [e.name for e in plan.entries])
        except CatalogError as exc:
            raise CliError(str(exc)) from None
        scheduler = Scheduler(
            plan.entries,
            state_dir,
            db,
            last_starts={k: r.started_at for k, r in runs.items()},
            kill_grace=args.kill_grace,
            stop_timeout=args.stop_timeout,
        )
        logger.info("plan %s: %d entr%s enabled, state in %s, catalog %s", plan_path,
                    len(scheduler.entries), "y" if len(scheduler.entries) == 1 else "ies",
                    state_dir, db)  # fmt: skip
        with stop_on_signals(scheduler):
            return scheduler.run(once=args.once)
    finally:
        if guard is not None:
            os.close(guard)


def add_commands(subparsers: Any, db_parent: argparse.ArgumentParser) -> None:
    """Register ``schedule`` on the ``filmagg`` command's subparsers."""
    p = subparsers.add_parser(
        "schedule",
        parents=[db_parent],
        help="run the crawls of a plan (crawls.toml) when they are due",
        description="Run each entry of a crawl plan as its own `filmagg crawl` process when\n"
        "its cron expression comes due. Long-running; stop it with SIGTERM or Ctrl-C.",
        epilog=HELP_RULES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--plan",
        metavar="FILE",
        default="crawls.toml",
        help="the plan: [[crawl]] entries (default crawls.toml)",
    )
    p.add_argument(
        "--state-dir",
        metavar="DIR",
        help=f"lock, state and run log files (default {STATE_DIRNAME}/ beside the plan)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--once",
        action="store_true",
        help="start what is due now (same rules), wait for it, exit: 0, or 1 when a run failed",
    )
    mode.add_argument(
        "--dry-run",
        action="store_true",
        help="validate the plan, print each entry's next due times and command; start nothing",
    )
    mode.add_argument(
        "--list",
        action="store_true",
        help="each entry's last run, whether it is running, and its next due time",
    )
    p.add_argument(
        "--kill-grace",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="after a timeout's SIGTERM, wait this long before SIGKILL (default 30)",
    )
    p.add_argument(
        "--stop-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="on SIGTERM/SIGINT, wait this long for running crawls (default 60)",
    )
    p.set_defaults(func=cmd_schedule)
