"""Distributed crawling's parts (crawler/distributed.py), without a reactor: the close decision,
job names, request serialization, and the Redis protocol (join, pop, idle, leave) between
two schedulers sharing one job. The end-to-end crawls are in test_distributed_e2e.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
import scrapy
from scrapy.utils.test import get_crawler

from crawler.distributed import (
    Idle,
    JobKeys,
    RedisScheduler,
    connect,
    decode_request,
    encode_request,
    idle_decision,
    job_name,
    safe_url,
)
from crawler.incremental import PageStateMiddleware
from crawler.spiders.sites import SchemaOrgSpider
from tests.conftest import RedisTarget

START = "http://films.example/index.html"


# ------------------------------------------------------------------------------ pure parts


@pytest.mark.parametrize(
    ("queued", "busy", "waited", "expected"),
    [
        (3, 0, 0.0, Idle.PULL),  # others queued work: take it
        (3, 2, 999.0, Idle.PULL),  # queued work wins over any wait
        (0, 1, 0.0, Idle.WAIT),  # another worker's pages may queue more
        (0, 2, 599.9, Idle.WAIT),
        (0, 1, 600.0, Idle.GIVE_UP),  # bounded: it finishes the job alone
        (0, 0, 0.0, Idle.CLOSE),  # nothing queued, nobody busy: done
        (0, 0, 10_000.0, Idle.CLOSE),
    ],
)
def test_idle_decision(queued: int, busy: int, waited: float, expected: Idle) -> None:
    assert idle_decision(queued, busy, waited, max_wait=600.0) is expected


def test_job_name_follows_spider_and_arguments_only() -> None:
    a = job_name("schema_org", {"start_urls": "http://x/", "sitemap": "http://x/s.xml"})
    assert a == job_name("schema_org", {"sitemap": "http://x/s.xml", "start_urls": "http://x/"})
    assert a.startswith("schema_org-") and " " not in a
    assert a != job_name("schema_org", {"start_urls": "http://y/"})
    assert a != job_name("imdb", {"start_urls": "http://x/", "sitemap": "http://x/s.xml"})


def test_safe_url_hides_the_password() -> None:
    assert safe_url("redis://:s3cret@db.lan:6380/2") == "redis://:***@db.lan:6380/2"
    assert safe_url("redis://filmagg:s3cret@db.lan/0") == "redis://filmagg:***@db.lan/0"
    assert safe_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def _spider(**settings: Any) -> scrapy.Spider:
    crawler = get_crawler(SchemaOrgSpider, settings)
    spider = SchemaOrgSpider.from_crawler(crawler, start_urls=START)
    crawler.spider = spider
    return spider


def test_spider_and_incremental_requests_survive_the_queue() -> None:
    """Every request the spider and the incremental middleware make has spider methods as
    callback and errback, so it crosses Redis (JSON) and comes back the same."""
    spider = _spider()
    made = [
        scrapy.Request(
            START,
            callback=spider.parse,
            errback=spider.on_error,
            meta={"filmagg_start_url": True, "filmagg_start": True},
        ),  # fmt: skip
        scrapy.Request(
            "http://films.example/s.xml",
            callback=spider.parse_sitemap,
            errback=spider.on_error,
            priority=5,
            meta={"lastmod": "2024-05-01"},
        ),  # fmt: skip
        scrapy.Request(
            "http://films.example/f.html",
            headers={"If-None-Match": '"abc"'},
            meta={
                "handle_httpstatus_list": [304],
                "redirect_urls": ["http://a/"],
                "redirect_reasons": [301],
                "retry_times": 1,
            },
            dont_filter=True,
            cb_kwargs={"k": b"\x00\xff"},
        ),  # fmt: skip
    ]
    mw = PageStateMiddleware.from_crawler(spider.crawler)
    made += list(mw._follow_again([["parse", "http://films.example/g.html"],
                                   ["parse_sitemap", "http://films.example/t.xml"]]))  # fmt: skip
    for request in made:
        back = decode_request(encode_request(request, spider), spider)
        assert back.to_dict(spider=spider) == request.to_dict(spider=spider)
        assert back.callback == request.callback and back.errback == request.errback


def test_requests_that_cannot_cross_are_refused() -> None:
    spider = _spider()
    with pytest.raises(ValueError):  # a lambda is no spider method
        encode_request(scrapy.Request(START, callback=lambda r: None), spider)
    with pytest.raises(TypeError):  # JSON carries no arbitrary objects
        encode_request(scrapy.Request(START, meta={"o": object()}), spider)
    evil = b'{"url":"http://x/","_class":"os.system","headers":{}}'
    with pytest.raises(ValueError, match="refusing"):
        decode_request(evil, spider)


# ------------------------------------------------------------------------------ the protocol


@pytest.fixture
def client(redis_target: RedisTarget) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_target.url)
    yield c
    c.close()


def _worker(target: RedisTarget, job: str = "job", ttl: float = 30.0) -> RedisScheduler:
    """A scheduler of ``job`` joined without a reactor (no heartbeat loop)."""
    spider = _spider(FILMAGG_REDIS=target.url, FILMAGG_REDIS_PREFIX=target.prefix,
                     FILMAGG_REDIS_JOB=job, FILMAGG_REDIS_WORKER_TTL=ttl)  # fmt: skip
    scheduler = RedisScheduler.from_crawler(spider.crawler)
    scheduler._wake_in = lambda delay: None  # type: ignore[method-assign]
    scheduler.join(spider)
    return scheduler


def _start_requests(s: RedisScheduler) -> list[scrapy.Request]:
    sp: Any = s.spider
    return [scrapy.Request(u, callback=sp.parse, errback=sp.on_error)
            for u in (START, "http://films.example/b.html")]  # fmt: skip


def _idle(s: RedisScheduler) -> str:
    """What ``spider_idle`` does: "wait"/"pull" (DontCloseSpider) or "close"."""
    try:
        s.spider_idle(s.spider)  # type: ignore[arg-type]
    except scrapy.exceptions.DontCloseSpider:
        return "wait"
    return "close"


def test_two_workers_share_dupefilter_queue_and_ending(
    redis_target: RedisTarget, client: redis.Redis
) -> None:
    a, b = _worker(redis_target), _worker(redis_target)
    # both yield the same start requests: each is queued once
    assert [a.enqueue_request(r) for r in _start_requests(a)] == [True, True]
    assert [b.enqueue_request(r) for r in _start_requests(b)] == [False, False]
    assert a.crawler.stats.get_value("filmagg/redis/enqueued") == 2
    assert b.crawler.stats.get_value("dupefilter/filtered") == 2
    first = b.next_request()
    assert first is not None and first.url == START and first.callback == b.spider.parse  # type: ignore[union-attr]
    # a is idle with one request queued: it pulls it
    assert _idle(a) == "wait" and a.next_request() is not None
    assert a.next_request() is None and not a.has_pending_requests()
    # b holds its page (busy): a, idle with an empty queue, waits
    assert _idle(a) == "wait"
    # b's page led to a new link: queued, and a takes it
    assert b.enqueue_request(scrapy.Request("http://films.example/c.html"))
    assert _idle(b) == "wait"  # b is idle, but a holds a request
    assert a.next_request() is not None
    assert _idle(a) == "close"  # nothing queued, b idle: the job is done
    assert _idle(b) == "close"
    a.close("finished")
    assert client.exists(*JobKeys(redis_target.prefix, "job").all) > 0, "b still runs"
    b.close("finished")
    assert not list(client.scan_iter(match=f"{redis_target.prefix}:*")), "last out clears"
    # the next crawl of the job: nothing seen, everything fetched again
    c = _worker(redis_target)
    assert [c.enqueue_request(r) for r in _start_requests(c)] == [True, True]
    c.close("finished")


def test_a_dead_workers_state_expires(redis_target: RedisTarget, client: redis.Redis) -> None:
    """A worker that died holding requests blocks the others' ending only until its heartbeat
    expires, and a crawl whose workers all died leaves nothing to the next one."""
    keys = JobKeys(redis_target.prefix, "job")
    dead = _worker(redis_target)
    dead.enqueue_request(_start_requests(dead)[0])
    dead.enqueue_request(_start_requests(dead)[1])
    assert dead.next_request() is not None  # busy, then "killed": no leave, no heartbeat
    now_ms = int(client.time()[0]) * 1000
    client.hset(keys.workers, dead.worker, f"{now_ms + 1500} 1")  # its heartbeat ends in 1.5 s
    live = _worker(redis_target)
    assert live.next_request() is not None
    assert _idle(live) == "wait", "the dead worker is still within its heartbeat"
    import time

    time.sleep(1.7)
    assert _idle(live) == "close" and client.hlen(keys.workers) == 1, "expired entry pruned"
    live.close("finished")
    assert not client.exists(*keys.all)
    # every worker died: the next crawl's first worker clears the leftovers
    ghost = _worker(redis_target)
    ghost.enqueue_request(scrapy.Request("http://films.example/left-over.html"))
    client.hset(keys.workers, ghost.worker, f"{now_ms - 1} 1")
    fresh = _worker(redis_target)
    assert fresh.crawler.stats.get_value("filmagg/redis/stale_reset") == 2  # 1 queued + 1 seen
    assert not fresh.has_pending_requests()
    assert fresh.enqueue_request(scrapy.Request("http://films.example/left-over.html"))
    fresh.close("finished")


def test_redis_errors_end_the_run(
    redis_target: RedisTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Redis that stops answering mid-crawl fails the run (finish reason redis_error)."""
    worker = _worker(redis_target)
    closes: list[str] = []
    monkeypatch.setattr(worker, "_fail", lambda exc: (closes.append(str(exc)),
                                                      setattr(worker, "failed", True)))  # fmt: skip
    gone = connect("redis://127.0.0.1:1/0", timeout=1.0)  # nothing listens there
    worker.server = gone
    worker._scripts = {k: gone.register_script(v.script) for k, v in worker._scripts.items()}
    assert worker.next_request() is None
    assert closes and worker.failed
    assert not worker.enqueue_request(scrapy.Request("http://films.example/x.html"))
    with pytest.raises(scrapy.exceptions.CloseSpider) as stop:
        worker.spider_idle(worker.spider)  # type: ignore[arg-type]
    assert stop.value.reason == "redis_error"
