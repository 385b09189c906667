"""Shared fixtures: the demo web's pages as scraped items, catalogs in tmp_path, PostgreSQL."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from scrapy.http import HtmlResponse

from crawler.sites import all_sites
from crawler.spiders.base import page_records

ROOT = Path(__file__).resolve().parent.parent
# crawls run by tests write their per-run Scrapy logs here, not into the checkout's ./logs
os.environ.setdefault("FILMAGG_LOG_DIR", tempfile.mkdtemp(prefix="filmagg-test-logs-"))
SITES = ROOT / "fixtures" / "sites"
DEMO_BASE = "http://127.0.0.1:8157/"
DEMO_SITES = ("cinepedia", "streamfinder", "reelreviews")


def run_pipeline(items: list[Any], db_url: str, batch_size: int = 7,
                 resolver: str = "inline") -> dict[str, Any]:  # fmt: skip
    """One crawl run's worth of items through the real item pipeline, without a reactor: the
    same buffering, staging, per-batch resolution and settling ``CatalogPipeline`` does in a
    crawl (there in a thread), in this thread."""
    from scrapy.utils.test import get_crawler

    from pipelines.stages import CatalogPipeline

    crawler = get_crawler(settings_dict={"FILMAGG_DB": db_url, "FILMAGG_BATCH_SIZE": batch_size,
                                         "FILMAGG_RESOLVER": resolver})  # fmt: skip
    crawler.stats.open_spider()
    pipeline = CatalogPipeline.from_crawler(crawler)
    pipeline.open_run()
    pipeline.ingest(items)
    return crawler.stats.get_stats()


def demo_items(sites: tuple[str, ...] = DEMO_SITES, base: str = DEMO_BASE) -> list[Any]:
    """Every item the demo spiders would yield, without a reactor: each page of each demo site
    through the same ``page_records`` adapter the spider uses (served at ``base``)."""
    items: list[Any] = []
    for site in sites:
        rules = all_sites()[site]
        for path in sorted((SITES / site).rglob("*.html")):
            url = base + path.relative_to(SITES).as_posix()
            response = HtmlResponse(url=url, body=path.read_bytes())
            items.extend(page_records(rules, response))
    return items


@pytest.fixture(scope="session")
def scraped_demo() -> list[Any]:
    return demo_items()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalog.db'}"


def _pg_base() -> str:
    return os.environ.get("FILMAGG_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema-isolated database on the local PostgreSQL server; required in CI."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(_pg_base()).set(drivername="postgresql+psycopg")
    name = f"filmagg_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {base.render_as_string()} is required in CI: {exc}")
        pytest.skip(f"no PostgreSQL at {base.render_as_string()}: {exc}")
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        from pipelines.catalog.db import get_engine

        get_engine.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class RedisTarget(NamedTuple):
    """A Redis URL and a key prefix of one test's own (its keys are deleted afterwards)."""

    url: str
    prefix: str


@pytest.fixture
def redis_target() -> Iterator[RedisTarget]:
    """The local Redis (``FILMAGG_TEST_REDIS_URL``, default DB 15) and a fresh key prefix, so
    tests never share keys; required in CI, like PostgreSQL."""
    import redis

    url = os.environ.get("FILMAGG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {url} is required in CI: {exc}")
        pytest.skip(f"no Redis at {url}: {exc}")
    prefix = f"filmagg-test-{uuid.uuid4().hex[:10]}"
    try:
        yield RedisTarget(url, prefix)
    finally:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        client.close()
