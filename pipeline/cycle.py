"""One cycle, the stages top to bottom: poll → fetch → extract → index.

The CLI and the demo call `run_cycle`; Airflow calls the same stage functions
one task at a time. Entries are worked through in batches so a large backlog
holds only one batch of pages in memory, and each entry is marked done only
after its article is stored: a crash mid-batch costs a re-fetch, never a loss.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.config import Config
from pipeline.fetch import POOL_THRESHOLD, Progress, build_articles, extraction_pool, fetch_pages
from pipeline.poll import feeds_due, poll_feeds
from pipeline.records import Article, Entry, StageError, utcnow
from pipeline.store import Store
from pipeline.web import WebClient

BATCH_SIZE = 200


@dataclass
class CycleReport:
    feeds_polled: int = 0
    feeds_failed: int = 0
    entries_new: int = 0
    articles_indexed: int = 0
    errors: list[StageError] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "feeds_polled": self.feeds_polled,
            "feeds_failed": self.feeds_failed,
            "entries_new": self.entries_new,
            "articles_indexed": self.articles_indexed,
            "errors": [error.as_dict() for error in self.errors],
        }


def index_articles(store: Store, articles: list[Article], entries: list[Entry]) -> int:
    """Store articles, then mark their entries: the order that makes a crash cost a re-fetch only."""
    created = store.put_articles(articles)
    for entry in entries:
        store.save_entry(entry)
    return created


async def run_cycle_async(
    config: Config, store: Store, now: datetime | None = None, force: bool = False, progress: Progress | None = None
) -> CycleReport:
    now = now or utcnow()
    report = CycleReport()
    async with WebClient(config.fetch) as client:
        polled = await poll_feeds(config, store, client, now, feeds_due(config, store, now, force), progress)
        report.feeds_polled, report.feeds_failed = polled.polled, polled.failed
        report.entries_new = len(polled.new_entries)
        report.errors += polled.errors
        pool = extraction_pool(len(store.entries_due(now, POOL_THRESHOLD)))
        try:
            seen: set[str] = set()
            while batch := [entry for entry in store.entries_due(now, BATCH_SIZE) if entry.id not in seen]:
                seen.update(entry.id for entry in batch)
                pages = await fetch_pages(batch, client, progress)
                outcome = build_articles(pages, config, now, pool)
                report.articles_indexed += index_articles(store, outcome.articles, outcome.entries)
                report.errors += outcome.errors
        finally:
            if pool:
                pool.shutdown()
    return report


def run_cycle(
    config: Config, store: Store, now: datetime | None = None, force: bool = False, progress: Progress | None = None
) -> CycleReport:
    return asyncio.run(run_cycle_async(config, store, now, force, progress))
