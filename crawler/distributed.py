"""Distributed crawling: ``filmagg crawl SPIDER --redis URL`` workers, on one machine or many,
share one request frontier and one duplicate filter in Redis. Each URL is fetched once, by one
of them, and the crawl ends when the whole job is done, not when one worker runs dry.

Why not scrapy-redis (0.9.1, read against Scrapy 2.19): its ``Scheduler.close`` flushes the
shared queue and duplicate filter when the *first* worker closes. With ``SCHEDULER_PERSIST``
it never flushes them, so tomorrow's crawl finds every URL already seen. A worker closes once
the shared queue is empty, even while other workers hold pages whose links will add more.
Its Redis calls block the reactor with 30 s timeouts and retries. Requests are pickled, so
anyone who can write to the Redis can run code in the workers. What it does well, one sorted
set for the queue and one set for the fingerprints, is what this module does too, in about as
many lines as overriding it would take.

Keys, all under ``{FILMAGG_REDIS_PREFIX}:{job}:``:

* ``queue``: a sorted set of JSON-serialized requests scored by ``-priority``. A sequence
  number before each member keeps FIFO order within a priority.
* ``seen``: a set of the fingerprints of every request queued, from Scrapy's
  ``REQUEST_FINGERPRINTER``, as the default dupefilter computes them.
* ``workers``: a hash of worker id -> ``"deadline busy"``. The deadline is the worker's
  heartbeat expiry (Redis server time in ms, so machine clocks do not matter). ``busy`` says
  the worker holds requests whose pages may still queue more.
* ``seq``: the member counter.

Each step is one Lua script, so it is atomic on the server:

* **join** (the scheduler opens): drop expired workers. If no live worker is left, what is
  in the job's keys is the stale state of a crashed crawl, and it is deleted. Then register
  as busy.
* **pop** (``next_request``): take the best request and mark the worker busy in one step.
  So a request is always either queued or held by a busy worker.
* **idle** (``spider_idle``): mark the worker idle. Return the queue size and how many
  other live workers are busy. ``idle_decision`` then decides: pull, wait, or close.
* **leave** (the scheduler closes): unregister. The last worker out deletes the job's keys,
  so the next crawl of the job starts afresh.
* **beat** (every ``FILMAGG_REDIS_WORKER_TTL``/6 s): refresh the deadline and the keys' expiry.

Blocking: Scrapy 2.19's scheduler interface (``enqueue_request``, ``next_request``,
``has_pending_requests``) is synchronous, and the engine's loop needs an answer at once. So
these calls use redis-py's synchronous client on the reactor thread. An async client would
need a local prefetch buffer, and that buffer would hide requests from the other workers.
Each call is one round trip to a script that is O(1) or O(log n) (idle and join are
O(workers)), about 0.1 ms on a LAN. ``FILMAGG_REDIS_TIMEOUT`` bounds a stall. Any Redis
error ends the run ``failed``, with the finish reason ``redis_error``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Mapping
from enum import Enum
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import redis
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DontCloseSpider
from scrapy.utils.request import request_from_dict

logger = logging.getLogger(__name__)

CLOSE_REASON = "redis_error"  # Scrapy's finish reason when Redis fails mid-crawl: run "failed"
KEY_TTL = 7 * 86_400  # seconds: a job nobody runs again leaves nothing in Redis after a week
POLL_INTERVAL = 0.5  # seconds between looks at the job while waiting for other workers
SEQ_WIDTH = 16  # digits of the sequence number before each queued request
MIN_SERVER = (5, 0)  # ZPOPMIN, and TIME before writes in scripts (effects replication)
REQUEST_CLASSES = ("scrapy.", "crawler.")  # request classes a queued request may name


class Idle(Enum):
    """What a worker with nothing left to do locally does next."""

    PULL = "pull"  # the shared queue has requests: take them
    WAIT = "wait"  # other workers hold requests whose pages may queue more
    CLOSE = "close"  # the job is done
    GIVE_UP = "give_up"  # waited FILMAGG_REDIS_IDLE_MAX for busy workers: close anyway


def idle_decision(queued: int, others_busy: int, waited: float, max_wait: float) -> Idle:
    """The close decision of an idle worker (pure, so every case is testable).

    ``queued``: requests in the shared queue. ``others_busy``: other live workers holding
    requests. ``waited``: seconds this worker has been idle. Closing while another worker is
    busy never loses a page: that worker finishes the job. It only loses this worker's share
    of the work, so the wait is bounded."""
    if queued > 0:
        return Idle.PULL
    if others_busy > 0:
        return Idle.GIVE_UP if waited >= max_wait else Idle.WAIT
    return Idle.CLOSE


def job_name(spider: str, arguments: Mapping[str, str]) -> str:
    """The default job: the spider name plus a short hash of its arguments. Workers started
    with the same spider and ``-a`` arguments, on any machine, share one frontier."""
    digest = hashlib.sha1(json.dumps(sorted(arguments.items())).encode()).hexdigest()[:10]
    return f"{spider}-{digest}"


def safe_url(url: str) -> str:
    """A Redis URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username + ':***@' if parts.username else ':***@'}{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def connect(url: str, timeout: float = 5.0) -> redis.Redis:
    """A synchronous client whose calls give up after ``timeout`` seconds, with one retry:
    the worst a hung server costs the reactor is bounded (the defaults are unbounded)."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                retry=Retry(NoBackoff(), 1))  # fmt: skip


def check_server(url: str, timeout: float = 3.0) -> str | None:
    """Why ``url`` cannot serve a distributed crawl (one line), or None when it can."""
    shown = safe_url(url)
    if urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
        return f"--redis {shown}: expected redis://HOST:PORT/DB (or rediss://, unix://)"
    try:
        client = connect(url, timeout)
        version = str(client.info("server").get("redis_version", "0"))
    except ValueError as exc:
        return f"--redis {shown}: {exc}"
    except redis.RedisError as exc:
        return f"cannot reach Redis at {shown}: {exc}"
    numbers = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if numbers < MIN_SERVER:
        return f"Redis at {shown} is version {version}; distributed crawls need 5.0 or newer"
    client.close()
    return None


# ------------------------------------------------------------------------------ serializing


def encode_request(request: Request, spider: Spider | None) -> bytes:
    """A request as JSON (bytes tagged in base64). Callbacks and errbacks must be methods of
    the spider (``Request.to_dict``). Raises TypeError or ValueError when the request
    cannot be serialized. JSON, not pickle: reading a queued request never runs code."""
    return json.dumps(_pack(request.to_dict(spider=spider)), separators=(",", ":")).encode()


def decode_request(data: bytes, spider: Spider | None) -> Request:
    d = _unpack(json.loads(data))
    cls = d.get("_class")
    if cls is not None and not (isinstance(cls, str) and cls.startswith(REQUEST_CLASSES)):
        raise ValueError(f"refusing the request class {cls!r}")
    return request_from_dict(d, spider=spider)


def _pack(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list | tuple):
        return [_pack(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not {"$b", "$d"} & set(value):
            return {k: _pack(v) for k, v in value.items()}
        return {"$d": [[_pack(k), _pack(v)] for k, v in value.items()]}
    raise TypeError(f"a request holds a {type(value).__name__}, which JSON cannot carry")


def _unpack(value: Any) -> Any:
    if isinstance(value, list):
        return [_unpack(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"$b"}:
            return base64.b64decode(value["$b"])
        if set(value) == {"$d"}:
            return {_unpack(k): _unpack(v) for k, v in value["$d"]}
        return {k: _unpack(v) for k, v in value.items()}
    return value


# ------------------------------------------------------------------------------ scripts

_NOW = "local t = redis.call('TIME')\nlocal now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
# Counts the live workers other than ARGV[1] (and the busy ones), deleting expired entries.
_PRUNE = """
local live, busy = 0, 0
local all = redis.call('HGETALL', KEYS[4])
for i = 1, #all, 2 do
  if all[i] ~= ARGV[1] then
    local deadline, flag = string.match(all[i + 1], '^(%d+) (%d)$')
    if deadline == nil or tonumber(deadline) < now then
      redis.call('HDEL', KEYS[4], all[i])
    else
      live = live + 1
      if flag == '1' then busy = busy + 1 end
    end
  end
end
"""
# KEYS (all scripts): queue, seen, seq, workers
ENQUEUE = """
if ARGV[2] ~= '' and redis.call('SADD', KEYS[2], ARGV[2]) == 0 then return 0 end
if ARGV[4] ~= '' then
  local n = redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[1], ARGV[3], string.format('%016d', n) .. ARGV[4])
end
return 1
"""  # ARGV: worker, fingerprint ('' for dont_filter), score, payload ('' to mark seen only)
POP = (
    "local item = redis.call('ZPOPMIN', KEYS[1])\nif #item == 0 then return false end\n"
    + _NOW
    + "redis.call('HSET', KEYS[4], ARGV[1], string.format('%.0f 1', now + tonumber(ARGV[2])))\n"
    "return item[1]\n"
)  # ARGV: worker, ttl_ms
IDLE = (
    _NOW
    + "redis.call('HSET', KEYS[4], ARGV[1], string.format('%.0f 0', now + tonumber(ARGV[2])))\n"
    + _PRUNE
    + "return {redis.call('ZCARD', KEYS[1]), busy, live}\n"
)  # ARGV: worker, ttl_ms
JOIN = (
    _NOW
    + _PRUNE
    + """
local stale = 0
if live == 0 then
  stale = redis.call('ZCARD', KEYS[1]) + redis.call('SCARD', KEYS[2])
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
end
redis.call('HSET', KEYS[4], ARGV[1], string.format('%.0f 1', now + tonumber(ARGV[2])))
for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ARGV[3]) end
return {live, stale}
"""
)  # ARGV: worker, ttl_ms, key_ttl_s
BEAT = (
    _NOW
    + "redis.call('HSET', KEYS[4], ARGV[1], string.format('%.0f ', now + tonumber(ARGV[2])) .. ARGV[4])\n"
    "for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ARGV[3]) end\nreturn 1\n"
)  # ARGV: worker, ttl_ms, key_ttl_s, busy (0/1)
LEAVE = (
    _NOW
    + "redis.call('HDEL', KEYS[4], ARGV[1])\n"
    + _PRUNE
    + """
if live == 0 then
  local left = redis.call('ZCARD', KEYS[1])
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
  return {1, left}
end
return {0, live}
"""
)  # ARGV: worker


class JobKeys:
    """The four Redis keys of one job."""

    def __init__(self, prefix: str, job: str) -> None:
        base = f"{prefix}:{job}:"
        self.queue, self.seen, self.seq, self.workers = (base + k for k in ("queue", "seen", "seq", "workers"))  # fmt: skip
        self.all = [self.queue, self.seen, self.seq, self.workers]


# ------------------------------------------------------------------------------ scheduler


class RedisScheduler:
    """Scrapy's scheduler interface over a job's shared queue and duplicate filter in Redis,
    with the idle/close protocol of the module docstring."""

    def __init__(self, server: redis.Redis, crawler: Crawler, job: str | None = None,
                 prefix: str = "filmagg", worker_ttl: float = 30.0, idle_max: float = 600.0,
                 url: str = "") -> None:  # fmt: skip
        self.server = server
        self.crawler = crawler
        self.job = job
        self.prefix = prefix
        self.url = url
        self.ttl_ms = max(1000, int(worker_ttl * 1000))
        self.idle_max = idle_max
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.keys: JobKeys | None = None
        self.spider: Spider | None = None
        # requests that cannot be serialized stay with this worker (as Scrapy's disk queues
        # keep them in memory); they are marked seen in Redis all the same
        self.local: deque[Request] = deque()
        self.busy = True
        self.failed = False
        self.idle_since: float | None = None
        self._beat: Any = None
        self._poll: Any = None
        self._scripts = {name: server.register_script(src) for name, src in (
            ("enqueue", ENQUEUE), ("pop", POP), ("idle", IDLE), ("join", JOIN), ("beat", BEAT),
            ("leave", LEAVE))}  # fmt: skip

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        url = s.get("FILMAGG_REDIS")
        if not url:
            raise ValueError("RedisScheduler needs FILMAGG_REDIS=redis://HOST:PORT/DB")
        scheduler = cls(connect(url, s.getfloat("FILMAGG_REDIS_TIMEOUT", 5.0)), crawler,
                        job=s.get("FILMAGG_REDIS_JOB") or None,
                        prefix=s.get("FILMAGG_REDIS_PREFIX") or "filmagg",
                        worker_ttl=s.getfloat("FILMAGG_REDIS_WORKER_TTL", 30.0),
                        idle_max=s.getfloat("FILMAGG_REDIS_IDLE_MAX", 600.0), url=url)  # fmt: skip
        crawler.signals.connect(scheduler.spider_idle, signal=signals.spider_idle)
        return scheduler

    # ------------------------------------------------------------------ lifecycle

    def open(self, spider: Spider) -> None:
        """Join the job and start the heartbeat (a Redis error here fails the start: nothing
        was crawled yet)."""
        self.join(spider)
        from twisted.internet import task

        self._beat = task.LoopingCall(self._heartbeat)
        self._beat.start(self.ttl_ms / 6000, now=False).addErrback(
            lambda f: logger.error("Redis heartbeat stopped: %s", f.getErrorMessage())
        )

    def join(self, spider: Spider) -> None:
        """Register in the job; the first live worker clears a crashed crawl's leftovers."""
        self.spider = spider
        if not self.job:  # `scrapy crawl` without FILMAGG_REDIS_JOB: from what the spider got
            self.job = job_name(spider.name, {
                "start_urls": ",".join(getattr(spider, "start_urls", None) or []),
                "sitemap": ",".join(getattr(spider, "sitemaps", None) or [])})  # fmt: skip
        self.keys = JobKeys(self.prefix, self.job)
        others, stale = self._run("join", self.ttl_ms, KEY_TTL)
        self._set("filmagg/redis/job", self.job)
        self._set("filmagg/redis/worker", self.worker)
        if stale:
            self._set("filmagg/redis/stale_reset", int(stale))
            logger.warning("job %s: cleared %d queued requests and fingerprints left by a crawl "
                           "whose workers died", self.job, stale)  # fmt: skip
        logger.info("job %s on %s: worker %s joined %d live worker(s)",
                    self.job, safe_url(self.url), self.worker, others)  # fmt: skip

    def close(self, reason: str) -> None:
        """Leave the job; the last worker out deletes its keys (see the module docstring)."""
        if self._beat is not None and self._beat.running:
            self._beat.stop()
        if self._poll is not None and self._poll.active():
            self._poll.cancel()
        if self.failed or self.keys is None:
            return  # our entry expires; the job's next first worker clears what is left
        try:
            last, n = self._run("leave")
        except redis.RedisError as exc:
            logger.warning("job %s: could not leave cleanly (%s); its state expires in %.0f s",
                           self.job, exc, self.ttl_ms / 1000)  # fmt: skip
            return
        if last:
            self._set("filmagg/redis/cleared", 1)
            if n:
                logger.warning("job %s: last worker out (%s) with %d requests still queued: "
                               "discarded, the next crawl starts afresh", self.job, reason, n)  # fmt: skip
            else:
                logger.info("job %s: last worker out, its Redis keys deleted", self.job)
        else:
            logger.info("job %s: left %d live worker(s) to finish it", self.job, n)

    # ------------------------------------------------------------------ the queue

    def has_pending_requests(self) -> bool:
        if self.local:
            return True
        if self.failed or self.keys is None:
            return False
        try:
            return bool(self.server.zcard(self.keys.queue))
        except redis.RedisError as exc:
            self._fail(exc)
            return False

    def enqueue_request(self, request: Request) -> bool:
        if self.failed:
            self._inc("filmagg/redis/dropped")
            return False
        fingerprint = "" if request.dont_filter else self._fingerprint(request)
        try:
            payload = encode_request(request, self.spider)
        except (TypeError, ValueError) as exc:
            logger.debug("keeping %s in this worker: %s", request, exc)
            payload = b""
        try:
            added = self._run("enqueue", fingerprint, -request.priority, payload)
        except redis.RedisError as exc:
            self._fail(exc)
            return False
        if not added:
            self._inc("dupefilter/filtered")
            return False
        if payload:
            self._inc("filmagg/redis/enqueued")
        else:
            self._inc("filmagg/redis/local")
            self.local.append(request)
        return True

    def next_request(self) -> Request | None:
        if self.local:
            return self.local.popleft()
        if self.failed or self.keys is None:
            return None
        try:
            data = self._run("pop", self.ttl_ms)
        except redis.RedisError as exc:
            self._fail(exc)
            return None
        if data is None:
            return None
        self.busy, self.idle_since = True, None
        try:
            request = decode_request(data[SEQ_WIDTH:], self.spider)
        except Exception as exc:  # a queued request this code cannot read: logged, counted
            logger.error("job %s: dropping a queued request that cannot be read: %r", self.job, exc)
            self._inc("filmagg/redis/unreadable")
            return None
        self._inc("filmagg/redis/dequeued")
        return request

    def __len__(self) -> int:
        if self.failed or self.keys is None:
            return len(self.local)
        try:
            return len(self.local) + int(self.server.zcard(self.keys.queue))
        except redis.RedisError:
            return len(self.local)

    # ------------------------------------------------------------------ ending

    def spider_idle(self, spider: Spider) -> None:
        """Nothing to do here: pull what others queued, wait for busy workers, or close."""
        if self.failed:
            raise CloseSpider(CLOSE_REASON)
        try:
            queued, busy, _live = self._run("idle", self.ttl_ms)
        except redis.RedisError as exc:
            self._fail(exc)
            raise CloseSpider(CLOSE_REASON) from exc
        self.busy = False
        now = time.monotonic()
        if self.idle_since is None:
            self.idle_since = now
        waited = now - self.idle_since
        decision = idle_decision(queued, busy, waited, self.idle_max)
        if decision is Idle.CLOSE:
            logger.info("job %s: queue empty and no worker busy: closing", self.job)
            return
        if decision is Idle.GIVE_UP:
            self._set("filmagg/redis/gave_up", 1)
            logger.warning("job %s: waited %.0f s (FILMAGG_REDIS_IDLE_MAX) for %d busy worker(s): "
                           "closing; they finish the job", self.job, waited, busy)  # fmt: skip
            return
        self._wake_in(0 if decision is Idle.PULL else POLL_INTERVAL)
        raise DontCloseSpider

    def _wake_in(self, delay: float) -> None:
        from twisted.internet import reactor

        if self._poll is None or not self._poll.active():
            self._poll = reactor.callLater(delay, self._wake)  # type: ignore[attr-defined]

    def _wake(self) -> None:
        """Run the engine's scheduling loop now instead of at its next 5 s heartbeat. Scrapy
        has no public hook for this; without ``_slot.nextcall`` the heartbeat still works."""
        nextcall = getattr(getattr(self.crawler.engine, "_slot", None), "nextcall", None)
        if nextcall is not None:
            nextcall.schedule()

    def _heartbeat(self) -> None:
        if self.failed or self.keys is None:
            return
        try:
            self._run("beat", self.ttl_ms, KEY_TTL, int(self.busy))
        except redis.RedisError as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        """Redis is gone mid-crawl: end the run (``failed``, finish reason ``redis_error``)."""
        if self.failed:
            return
        self.failed = True
        self._inc("filmagg/redis/errors")
        logger.error("Redis failed (%s): ending this worker of job %s (finish reason %s)",
                     exc, self.job, CLOSE_REASON)  # fmt: skip
        from twisted.internet import reactor

        reactor.callLater(0, self._close_spider)  # type: ignore[attr-defined]

    def _close_spider(self) -> None:
        from scrapy.utils.defer import deferred_from_coro

        engine = self.crawler.engine
        if engine is None or engine.spider is None:
            return
        deferred_from_coro(engine.close_spider_async(reason=CLOSE_REASON)).addErrback(
            lambda f: logger.error("could not close the spider: %s", f.getErrorMessage())
        )

    # ------------------------------------------------------------------ helpers

    def _run(self, script: str, *args: Any) -> Any:
        assert self.keys is not None
        return self._scripts[script](keys=self.keys.all, args=[self.worker, *args])

    def _fingerprint(self, request: Request) -> str:
        return self.crawler.request_fingerprinter.fingerprint(request).hex()  # type: ignore[union-attr]

    def _inc(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)

    def _set(self, key: str, value: Any) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.set_value(key, value)


def configure(settings: Any, url: str, job: str) -> None:
    """Settings that make a crawl one worker of ``job`` (used by ``filmagg crawl --redis``)."""
    settings.set("SCHEDULER", "crawler.distributed.RedisScheduler", priority="cmdline")
    settings.set("FILMAGG_REDIS", url, priority="cmdline")
    settings.set("FILMAGG_REDIS_JOB", job, priority="cmdline")
