"""``crawls.toml``: the plan of scheduled crawls, parsed and validated up front.

Why a strict parse: a typo in a plan (an unknown key, a bad cron expression, a misspelt spider)
must stop ``filmagg schedule`` at start with one readable line, not surface at 4 a.m. as a
crawl that never runs. Everything here is pure: text in, a ``Plan`` or a ``PlanError`` out.

Format: one ``[[crawl]]`` table per entry::

    timezone = "UTC"              # optional default for every entry's cron expression

    [[crawl]]
    name = "cinepedia-nightly"    # unique; also the lock file's and the run history's key
    spider = "cinepedia"
    cron = "30 3 * * *"           # 5 fields, or 6 with seconds last ("*/10 * * * * *")
    arguments = { base_url = "https://cinepedia.example/" }   # -a NAME=VALUE
    settings = { DOWNLOAD_DELAY = 1.0 }                       # -s NAME=VALUE
    enabled = true                # optional (default true)
    timeout = "2h"                # optional: seconds, or "90s", "45m", "2h", "1h30m"
    catch_up = true               # optional (default true): run missed due times once
    timezone = "Europe/Paris"     # optional: the zone the cron fields are read in
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"  # safe as a file name and a setting value
RESERVED_SETTINGS = frozenset({"FILMAGG_PLAN_ENTRY"})  # set by the scheduler itself
_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s)?\s*$"
)

Scalar = str | int | float | bool


class PlanError(ValueError):
    """A plan that cannot be used; ``problems`` holds one line per problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def parse_duration(value: Any) -> float:
    """Seconds from a number or from "90s", "45m", "2h", "1h30m" (a timeout reads better so)."""
    if isinstance(value, bool):
        raise ValueError("expected seconds or a duration such as '90m'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)) and any(m.groups()):
        h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        seconds = h * 3600 + mi * 60 + s
    else:
        raise ValueError(f"expected seconds or a duration such as '90m', got {value!r}")
    if seconds <= 0:
        raise ValueError("must be more than 0 seconds")
    return seconds


def cron_error(expr: str, tz: str = "UTC") -> str | None:
    """Why ``expr`` is not a usable cron expression (None when it is): croniter parses it, and
    it must have a next due time (``0 0 31 2 *`` parses but never comes)."""
    if not isinstance(expr, str) or not expr.strip():
        return "empty cron expression"
    if not croniter.is_valid(expr):
        fields = len(expr.split())
        if fields not in (5, 6, 7) and not expr.strip().startswith("@"):
            return f"bad cron expression {expr!r}: {fields} fields (use 5, or 6 with seconds last)"
        return f"bad cron expression {expr!r}"
    try:
        croniter(expr, datetime.now(ZoneInfo(tz))).get_next(datetime)
    except (CroniterError, ZoneInfoNotFoundError) as exc:
        return f"cron expression {expr!r} never comes due ({exc})"
    return None


class PlanEntry(BaseModel):
    """One scheduled crawl. Frozen: the scheduler keys its state by entry and never edits one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    spider: str = Field(min_length=1)
    cron: str
    arguments: dict[str, Any] = Field(default_factory=dict)  # scalars (see _arguments)
    settings: dict[str, Any] = Field(default_factory=dict)  # scalars, lists, tables
    enabled: bool = True
    timeout: float | None = None  # seconds; a run that exceeds it gets SIGTERM, then SIGKILL
    catch_up: bool = True
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)

    @field_validator("arguments", mode="before")
    @classmethod
    def _arguments(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError('must be a table, such as { base_url = "https://..." }')
        for k, v in value.items():
            if not isinstance(v, Scalar):
                raise ValueError(f"{k}: a spider argument is a string, number or boolean")
        return value

    @field_validator("settings", mode="before")
    @classmethod
    def _settings(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("must be a table, such as { DOWNLOAD_DELAY = 1.0 }")
        for k, v in value.items():
            ok = isinstance(v, Scalar | dict) or (
                isinstance(v, list) and all(isinstance(x, Scalar) for x in v)
            )
            if not ok:
                raise ValueError(f"{k}: a setting is a string, number, boolean, list or table")
        reserved = sorted(RESERVED_SETTINGS & set(value))
        if reserved:
            raise ValueError(f"{reserved[0]} is set by the scheduler itself")
        return value

    def spider_args(self) -> list[str]:
        """``-a`` pairs as the crawl command line takes them."""
        return [f"{k}={cli_value(v)}" for k, v in self.arguments.items()]

    def setting_args(self) -> list[str]:
        """``-s`` pairs, then the plan entry's name (stored in ``crawl_run.plan_entry``)."""
        pairs = [f"{k}={cli_value(v)}" for k, v in self.settings.items()]
        return [*pairs, f"FILMAGG_PLAN_ENTRY={self.name}"]


def cli_value(value: Any) -> str:
    """A TOML value as Scrapy reads it from ``-s``/``-a``: lists comma-joined (``getlist``),
    tables as JSON (``getdict``), booleans as ``True``/``False`` (``getbool``)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, list):
        return ",".join(cli_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


@dataclass(frozen=True)
class Plan:
    source: str
    entries: tuple[PlanEntry, ...]

    def enabled(self) -> tuple[PlanEntry, ...]:
        return tuple(e for e in self.entries if e.enabled)


def _describe(error: dict[str, Any]) -> str:
    """One pydantic error as a short phrase: "unknown key 'crn'", "cron: ..."."""
    loc = [str(p) for p in error.get("loc", ())]
    kind = error.get("type", "")
    msg = str(error.get("msg", "")).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return f"unknown key {'.'.join(loc)!r}"
    if kind == "missing":
        return f"missing key {'.'.join(loc)!r}"
    if kind == "string_pattern_mismatch" and loc == ["name"]:
        return "name: letters, digits, '.', '_' and '-', at most 64, first a letter or digit"
    return f"{'.'.join(loc)}: {msg}" if loc else msg


def parse_plan(
    text: str, source: str = "crawls.toml", known_spiders: Collection[str] | None = None
) -> Plan:
    """Parse and validate a plan; every problem becomes one line of the ``PlanError``.

    ``known_spiders`` (Scrapy's spider loader list) is checked when given; tests pass a set.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError([f"{source}: not valid TOML: {exc}"]) from None
    problems: list[str] = []
    unknown = sorted(set(data) - {"crawl", "timezone"})
    problems += [f"{source}: unknown top-level key {k!r} (entries go in [[crawl]] tables)"
                 for k in unknown]  # fmt: skip
    default_tz = data.get("timezone", "UTC")
    try:
        PlanEntry._zone(default_tz)
    except (ValueError, TypeError):
        problems.append(f"{source}: timezone: unknown time zone {default_tz!r}")
        default_tz = "UTC"
    raw_entries = data.get("crawl", [])
    if not isinstance(raw_entries, list) or not all(isinstance(e, dict) for e in raw_entries):
        raise PlanError([*problems, f"{source}: 'crawl' must be [[crawl]] tables"])
    if not raw_entries:
        raise PlanError([*problems, f"{source}: no [[crawl]] entries"])

    entries: list[PlanEntry] = []
    first_index: dict[str, int] = {}
    for i, raw in enumerate(raw_entries, start=1):
        name = raw.get("name")
        where = (
            f"{source}: entry {name!r} (#{i})" if isinstance(name, str) else f"{source}: entry #{i}"
        )
        entry: PlanEntry | None = None
        try:
            entry = PlanEntry.model_validate({"timezone": default_tz, **raw})
        except ValidationError as exc:
            problems += [f"{where}: {_describe(e)}" for e in exc.errors()]  # type: ignore[arg-type]
        # the checks below read the raw values, so one run reports every problem of an entry
        cron, spider = raw.get("cron"), raw.get("spider")
        tz = entry.timezone if entry is not None else default_tz
        if isinstance(cron, str) and (why := cron_error(cron, tz)) is not None:
            problems.append(f"{where}: {why}")
        known = known_spiders if known_spiders is not None else (spider,)
        if isinstance(spider, str) and spider and spider not in known:
            problems.append(f"{where}: unknown spider {spider!r} "
                            f"(known: {', '.join(sorted(known))})")  # fmt: skip
        if isinstance(name, str) and name in first_index:
            problems.append(f"{where}: duplicate name (also entry #{first_index[name]})")
        elif isinstance(name, str):
            first_index[name] = i
        if entry is not None:
            entries.append(entry)
    if problems:
        raise PlanError(problems)
    return Plan(source=source, entries=tuple(entries))


def load_plan(path: Path, known_spiders: Collection[str] | None = None) -> Plan:
    """Read and validate the plan at ``path`` (a missing or unreadable file is a PlanError)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError([f'no plan at {path} (see README, "Scheduled crawls")']) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError([f"cannot read the plan {path}: {exc}"]) from None
    return parse_plan(text, str(path), known_spiders)


def project_spiders() -> list[str]:
    """The spiders Scrapy's own loader knows (what ``scrapy list`` prints)."""
    import os

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.spiderloader import get_spider_loader
    from scrapy.utils.project import get_project_settings

    return list(get_spider_loader(get_project_settings()).list())


def utc(dt: datetime) -> datetime:
    """Aware UTC (SQLite hands stored datetimes back naive; they were written in UTC)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
