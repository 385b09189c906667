"""Validation: a normalized payload either becomes a strict record or an ``Invalid`` with
every reason, ready for the quarantine table. SQLModel tables do not validate, so nothing
reaches the catalog without passing through here first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from pipelines.normalize import has_undecodable
from pipelines.records import STRICT_MODELS, Record


@dataclass(frozen=True)
class Problem:
    field: str
    error: str  # slug: missing, invalid, encoding, too_long, ...
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "error": self.error, "message": self.message}


class Invalid(Exception):
    """A record that cannot be stored; ``reason`` is the stats/quarantine slug."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = problems[0]
        self.reason = f"{first.error}_{first.field.split('.')[0]}" if first.field else first.error
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


# Fields whose text shows it was decoded with the wrong charset when it holds U+FFFD.
_TEXT_FIELDS = ("title", "original_title", "synopsis", "body", "provider")


def validate(data: dict[str, Any]) -> Record:
    """The strict record for ``data``, or ``Invalid`` listing every problem."""
    rtype = data.get("type")
    model = STRICT_MODELS.get(rtype)  # type: ignore[arg-type]
    if model is None:
        raise Invalid([Problem("type", "unknown_type", f"unknown record type {rtype!r}")])
    problems = [
        Problem(name, "encoding", "text holds undecodable characters (wrong charset?)")
        for name in _TEXT_FIELDS
        if isinstance(data.get(name), str) and has_undecodable(data[name])
    ]
    problems.extend(_record_problems(data))
    try:
        record = model.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problem(err) for err in exc.errors())
    if problems:
        raise Invalid(problems)
    return record  # type: ignore[return-value]


def _record_problems(data: dict[str, Any]) -> list[Problem]:
    """Rules across fields: a review is its text or its score (a rating-only review is
    still a review), so one without either is missing its body."""
    if data.get("type") == "review" and data.get("body") is None and data.get("rating") is None:
        return [Problem("body", "missing", "a review needs a text or a rating")]
    return []


def _problem(err: Any) -> Problem:
    loc = ".".join(str(p) for p in err["loc"])
    kind = err["type"]
    if err.get("input") is None and kind in {"string_type", "missing", "model_type", "int_type"}:
        return Problem(loc, "missing", "required value is missing")
    if kind in {"string_too_short", "too_short"}:
        return Problem(loc, "missing", "value is empty")
    if kind.startswith(("greater_than", "less_than")):
        return Problem(loc, "out_of_range", f"{err['msg']} (got {err.get('input')!r})")
    return Problem(loc, "invalid", f"{err['msg']} (got {err.get('input')!r})")
