"""Catalog-wide locks held for one transaction, shared by every process on the catalog.

On PostgreSQL they are transaction-level advisory locks (released at commit or rollback, so a
killed process never leaves one behind). SQLite has a single writer: every write transaction
begins ``IMMEDIATE`` (``pipelines.catalog.db``), so holding any write transaction already
excludes every other writer, and the named locks cost nothing there.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

# Advisory lock keys (bigint): "film" + a number per purpose.
RESOLVER = 0x66696C6D_0001  # one resolver pass at a time
SCHEMA = 0x66696C6D_0002  # schema creation and migrations


def acquire(session: Session, key: int, wait: bool = True) -> bool:
    """Take ``key`` for the rest of the session's transaction. With ``wait=False``, return
    False at once if another transaction holds it (PostgreSQL; SQLite always waits)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    if wait:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
        return True
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar())
