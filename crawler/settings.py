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
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024  # hard cap; FILMAGG_MAX_PAGE_BYTES quarantines earlier

TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

ITEM_PIPELINES = {"pipelines.stages.CatalogPipeline": 300}
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.RetryAfterMiddleware": 550,  # the same place, honouring Retry-After
}

# filmagg
FILMAGG_DB = os.environ.get("FILMAGG_DB", "sqlite:///filmagg.db")
FILMAGG_BATCH_SIZE = 200
FILMAGG_MAX_PAGE_BYTES = 10 * 1024 * 1024
FILMAGG_RETRY_AFTER_MAX = 300  # seconds; a longer Retry-After gives up instead of waiting
