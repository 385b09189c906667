"""Scrapy settings for filmagg. ``FILMAGG_*`` settings are ours; see README "Configuration"."""

import os

BOT_NAME = "filmagg"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "filmagg/0.1 (+film listing aggregator; polite crawler)"
ROBOTSTXT_OBEY = True

# Politeness defaults; site modules may override them in their SiteRules.settings.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# Items processed in parallel per response (Scrapy's default 100 starts 100 asyncio tasks per
# response). A page yields a few records, so 25 is ample: on the generated 864-page site, 25
# crawled ~15% faster than 100 and 10 no faster than 25 (issue 9; interleaved trials, one run).
CONCURRENT_ITEMS = 25
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
RETRY_TIMES = 2
DOWNLOAD_TIMEOUT = 30
# Size caps apply while streaming: Scrapy cancels a body (or a decompressed body) over
# DOWNLOAD_MAXSIZE as it arrives, so a page never costs more memory than the cap. Both follow
# FILMAGG_MAX_PAGE_BYTES, also when it is given with -s (SiteSpider.update_settings).
FILMAGG_MAX_PAGE_BYTES = 10 * 1024 * 1024
DOWNLOAD_MAXSIZE = FILMAGG_MAX_PAGE_BYTES
DOWNLOAD_WARNSIZE = FILMAGG_MAX_PAGE_BYTES // 2

TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's remote control (an HTTP port per crawl that runs code given a token it writes to
# a job file): off, like the telnet console, for crawls that run unattended under a scheduler.
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

ITEM_PIPELINES = {"pipelines.stages.CatalogPipeline": 300}
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.RetryAfterMiddleware": 550,  # the same place, honouring Retry-After
    # Scrapy's redirect middlewares in their places, raising RedirectLoop / TooManyRedirects
    # where Scrapy would let the dupefilter drop a loop silently.
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.LoopAwareMetaRefreshMiddleware": 580,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.middlewares.LoopAwareRedirectMiddleware": 600,
}

# filmagg
FILMAGG_DB = os.environ.get("FILMAGG_DB", "sqlite:///filmagg.db")
FILMAGG_BATCH_SIZE = 200
# Resolution (pipelines/stages.py): "process" starts a resolver process beside the crawl after
# FILMAGG_RESOLVER_AFTER staged batches; "inline" resolves after each batch in the staging
# thread; "external" leaves it to `filmagg resolve --follow`.
FILMAGG_RESOLVER = "process"
FILMAGG_RESOLVER_AFTER = 2
FILMAGG_RETRY_AFTER_MAX = 300  # seconds; a longer Retry-After gives up instead of waiting
# A crawl from start URLs first reads the sitemaps robots.txt lists (none: it goes on quietly).
FILMAGG_SITEMAPS_FIRST = True

# Incremental crawling (crawler/incremental.py): pages not yet due are skipped, known pages
# are fetched conditionally. FILMAGG_REFRESH_AFTER: seconds per page kind (film, review,
# listing, sitemap, other); defaults: film and review pages weekly, the rest daily.
FILMAGG_INCREMENTAL = True
FILMAGG_REFRESH_AFTER: dict[str, float] = {}
SPIDER_MIDDLEWARES = {"crawler.incremental.PageStateMiddleware": 950}
DOWNLOADER_MIDDLEWARES["crawler.incremental.ConditionalRequestsMiddleware"] = 590

# The terminal: a live progress line when `filmagg crawl` logs to a file (crawler/progress.py).
EXTENSIONS = {"crawler.progress.ProgressLine": 500}
FILMAGG_PROGRESS = False
FILMAGG_LOG_DIR = os.environ.get("FILMAGG_LOG_DIR", "logs")

# Distributed crawling (crawler/distributed.py): `filmagg crawl SPIDER --redis URL` workers share
# one frontier and duplicate filter per job in Redis. The job defaults to the spider name plus a
# hash of its arguments; a worker silent for FILMAGG_REDIS_WORKER_TTL seconds counts as dead; an
# idle worker waits at most FILMAGG_REDIS_IDLE_MAX seconds for busy ones; FILMAGG_REDIS_TIMEOUT
# bounds each Redis call (they run on the reactor thread).
FILMAGG_REDIS = os.environ.get("FILMAGG_REDIS") or None
FILMAGG_REDIS_JOB = None
FILMAGG_REDIS_PREFIX = "filmagg"
FILMAGG_REDIS_WORKER_TTL = 30.0
FILMAGG_REDIS_IDLE_MAX = 600.0
FILMAGG_REDIS_TIMEOUT = 5.0
