"""Resolving while records arrive: the loop behind ``filmagg resolve --follow`` and the resolver
process a crawl starts beside itself.

Staging and resolving are separate steps (``stage``, ``resolver``), and any process may take
the resolver lock, so resolution can run in another process than the crawl: on two cores the
crawl fetches, parses and stages while the resolver turns staged records into works. The loop
is the same whether it serves one crawl (``resolver_process``: a child that stops when the
crawl closes) or any number of them (``filmagg resolve --follow``, stopped by a signal).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from pipelines.catalog.store import Catalog

logger = logging.getLogger(__name__)

Report = Callable[[Counter[str]], None]


def follow(catalog: Catalog, stop: threading.Event | Any, poll: float = 1.0,
           report: Report | None = None) -> Counter[str]:  # fmt: skip
    """Resolve pending records pass after pass; when nothing is pending, wait ``poll`` seconds
    (or until ``stop``) and look again. Once ``stop`` is set, one last look resolves what was
    staged before it, then the loop ends. Returns the counts of every pass."""
    total: Counter[str] = Counter()
    while True:
        stopping = stop.is_set()
        done = catalog.resolve(wait=True) or Counter()
        total.update(done)
        if done.get("pending") and report is not None:
            report(done)
        if stopping:
            return total
        if not done.get("pending"):
            stop.wait(poll)


def resolver_process(db_url: str, stop: Any, parent: int, poll: float = 0.5) -> None:
    """The child a crawl starts (``multiprocessing``, spawn): resolves while the crawl stages,
    until the crawl sets ``stop`` or dies (then it resolves what is left and ends too).
    SIGINT is the parent's business (a Ctrl-C reaches the whole process group, and the crawl
    decides when its resolver stops); SIGTERM ends it after its current pass."""
    from pipelines.catalog.db import get_engine

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    orphaned = threading.Event()

    def watch_parent() -> None:
        while not stop.is_set() and not orphaned.is_set():
            if os.getppid() != parent:
                orphaned.set()
                stop.set()
            stop.wait(1.0)

    threading.Thread(target=watch_parent, daemon=True).start()
    catalog = Catalog(get_engine(db_url))
    try:
        follow(catalog, stop, poll)
    except Exception:  # the crawl resolves what is left itself at its end
        logger.exception("the resolver process failed; the crawl will resolve at its end")
        raise


__all__ = ["follow", "resolver_process"]
