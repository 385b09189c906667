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
FILMAGG_RETRY_AFTER_MAX = 300  # seconds; a longer Retry-After gives up instead of waiting

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
