"""The catalog's write side, used by the Scrapy pipeline and the CLI alike.

``Catalog.store`` stages one batch in one transaction. Races with other writers (a lock
timeout, a deadlock, a serialization failure, a unique key taken meanwhile) are retried with
backoff. A batch that still fails is split in halves until the records that fail on their own
are found; each goes to quarantine as ``store_error`` with the database's message, and the
rest is stored. Nothing is dropped without a count: ``store_failed`` (quarantined instead of
stored) and ``lost`` (not even the quarantine row could be written) make the run degraded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from pipelines.catalog.db import write_session
from pipelines.catalog.resolver import Progress, Resolver
from pipelines.catalog.stage import Accepted, PageSeen, Rejected, Storable, quarantine, stage

logger = logging.getLogger(__name__)

T = TypeVar("T")
RETRIES = 6


def transient(exc: BaseException) -> bool:
    """Errors another writer causes, which a retry of the same transaction can get past."""
    if isinstance(exc, IntegrityError | OperationalError):
        return True
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(exc, DBAPIError) and code in {"40001", "40P01", "55P03"}


def with_retries(fn: Callable[[], T], retries: int = RETRIES, what: str = "transaction") -> T:
    """Run ``fn`` (one whole transaction), again after a transient error, with backoff."""
    for attempt in range(retries + 1):
        try:
            return fn()
        except DBAPIError as exc:
            if attempt == retries or not transient(exc):
                raise
            wait = min(5.0, 0.05 * 2**attempt) * (0.5 + random.random())
            logger.info("%s hit %s; retrying in %.2fs", what, type(exc.orig).__name__, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")


class Catalog:
    def __init__(self, engine: Engine, retries: int = RETRIES) -> None:
        self.engine = engine
        self.retries = retries
        self.resolver = Resolver(engine)

    def store(self, items: Sequence[Storable], run_id: int | None = None) -> Counter[str]:
        """Stage a batch; returns counts by outcome, including ``store_failed`` and ``lost``."""
        if not items:
            return Counter()
        try:
            return with_retries(lambda: self._stage(items, run_id), self.retries, "staging")
        except Exception as exc:  # noqa: BLE001  (any failure: find the records that cause it)
            if len(items) > 1:
                half = len(items) // 2
                return self.store(items[:half], run_id) + self.store(items[half:], run_id)
            return self._store_failed(items[0], run_id, exc)

    def _stage(self, items: Sequence[Storable], run_id: int | None) -> Counter[str]:
        with write_session(self.engine) as s:
            return stage(s, list(items), run_id)

    def _store_failed(self, item: Storable, run_id: int | None, exc: Exception) -> Counter[str]:
        message = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [repr(exc)])[0][
            :500
        ]
        if isinstance(item, Accepted):
            site, url, rtype, raw = item.record.site, item.record.url, item.record.type, item.raw
        elif isinstance(item, PageSeen):
            site, url, rtype, raw = item.page.site, item.page.url, "page", item.page.model_dump()
        else:
            site, url, rtype, raw = item.site, item.url, item.record_type, item.raw
        logger.error("cannot store the %s record of %s: %s", rtype, url, message)
        failed = Rejected(site=site, url=bounded_url(url), record_type=rtype, reason="store_error",
                          errors=[{"field": "", "error": "store_error", "message": message}],
                          raw=_printable(raw))  # fmt: skip

        def write() -> str:
            with write_session(self.engine) as s:
                return quarantine(s, failed, run_id)

        try:
            with_retries(write, self.retries, "quarantining")
        except Exception as again:  # noqa: BLE001
            logger.error("record of %s lost: not even quarantine could store it: %s", url,
                         str(getattr(again, "orig", None) or again)[:300])  # fmt: skip
            return Counter({"lost": 1})
        return Counter({"store_failed": 1})

    def resolve(self, wait: bool = True, progress: Progress | None = None) -> Counter[str] | None:
        """Resolve what is pending (``Resolver.resolve_pending``), retrying lock timeouts."""
        return with_retries(lambda: self.resolver.resolve_pending(wait, progress),
                            self.retries, "resolving")  # fmt: skip

    def rebuild(self, progress: Progress | None = None) -> Counter[str]:
        return with_retries(lambda: self.resolver.rebuild(progress), self.retries, "rebuilding")


def bounded_url(url: str, limit: int = 1000) -> str:
    """A URL short enough for an index entry (the full one stays in the raw payload)."""
    if len(url) <= limit:
        return url
    return f"{url[: limit - 50]}…#sha1={hashlib.sha1(url.encode()).hexdigest()}"


def _printable(raw: object) -> object:
    """A payload the database can hold whatever broke the record (NUL characters, say)."""
    return json.loads(json.dumps(raw, default=str).replace("\\u0000", "\\ufffd"))


__all__ = ["Accepted", "Catalog", "Rejected", "transient", "with_retries"]
