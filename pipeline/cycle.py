"""The stages of one cycle, top to bottom: poll → fetch + extract + index → enrich → dedupe → statements → alert.

Each stage is a plain function of (config, store, what to work on) that the
CLI runs in sequence and Airflow runs as separate tasks; the store carries
everything between them, so a stage can be re-run or retried alone. Entries
are fetched in batches so a large backlog holds one batch of pages in memory,
and each entry is marked done only after its article is stored: a crash
mid-batch costs a re-fetch, never a loss.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from pipeline.alert import Sender, alert_stage
from pipeline.config import Config
from pipeline.dedup import DedupReport, dedupe
from pipeline.enrich.analyze import analyze_job
from pipeline.enrich.statements import StatementReport, attach_statements
from pipeline.enrich.topics import topic_queries
from pipeline.fetch import Progress, build_articles, fetch_pages, is_due, retry_delay
from pipeline.poll import PollReport, feeds_due, poll_feeds
from pipeline.records import Article, Entry, StageError, utcnow
from pipeline.store import Store, StoreWriteError, unavailable_errors
from pipeline.web import WebClient
from pipeline.workers import POOL_THRESHOLD, WorkerDiedError, Workers, worker_pool

BATCH_SIZE = 200


@dataclass
class FetchReport:
    article_ids: list[str] = field(default_factory=list)
    indexed: int = 0
    errors: list[StageError] = field(default_factory=list)


@dataclass
class CycleReport:
    feeds_polled: int = 0
    feeds_failed: int = 0
    entries_new: int = 0
    articles_indexed: int = 0
    duplicates: int = 0
    statements_new: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0
    alert_latency_s: float | None = None
    errors: list[StageError] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def index_articles(store: Store, articles: list[Article], entries: list[Entry], now: datetime) -> FetchReport:
    """Store articles, then mark their entries: the order that makes a crash cost a re-fetch only.

    An article the store rejects leaves its entry failed with the store's reason, to be retried.
    """
    report = FetchReport()
    try:
        report.indexed = store.put_articles(articles)
        rejected: dict[str, str] = {}
    except StoreWriteError as exc:
        rejected = exc.failures
    for entry in entries:
        if entry.id in rejected:
            entry.status, entry.last_error = "failed", f"store rejected the article: {rejected[entry.id]}"
            entry.next_attempt = now + retry_delay(entry.attempts)
            report.errors.append(StageError(entry.url, "index", entry.last_error))
        store.save_entry(entry)
    report.article_ids = [article.id for article in articles if article.id not in rejected]
    return report


async def fetch_async(
    config: Config,
    store: Store,
    client: WebClient,
    now: datetime,
    entries: list[Entry],
    pool: Workers | None,
    progress: Progress | None = None,
) -> FetchReport:
    pages = await fetch_pages(entries, client, progress)
    outcome = build_articles(pages, config, now, pool)
    report = index_articles(store, outcome.articles, outcome.entries, now)
    report.errors = outcome.errors + report.errors
    return report


def poll_stage(
    config: Config,
    store: Store,
    now: datetime | None = None,
    force: bool = False,
    feed_urls: Sequence[str] | None = None,
) -> PollReport:
    """Poll the due feeds (or only `feed_urls` among them); new entries go into the store."""
    moment = now or utcnow()
    due = [feed for feed in feeds_due(config, store, moment, force) if feed_urls is None or feed.url in feed_urls]

    async def run() -> PollReport:
        async with WebClient(config.fetch) as client:
            return await poll_feeds(config, store, client, moment, due)

    return asyncio.run(run())


def fetch_stage(config: Config, store: Store, entry_ids: Sequence[str], now: datetime | None = None) -> FetchReport:
    """Fetch, extract and index these entries (those still due; done ones are left alone)."""
    now = now or utcnow()
    entries = [entry for entry in store.get_entries(entry_ids) if is_due(entry, now)]

    async def run() -> FetchReport:
        async with WebClient(config.fetch) as client:
            pool = worker_pool(len(entries))
            try:
                return await fetch_async(config, store, client, now, entries, pool)
            finally:
                if pool:
                    pool.shutdown()

    return asyncio.run(run())


@dataclass
class EnrichReport:
    analysed: int = 0
    errors: list[StageError] = field(default_factory=list)


def enrich_stage(config: Config, store: Store, article_ids: Sequence[str], pool: Workers | None = None) -> EnrichReport:
    """Tag entities, topics and attributed quotes.

    An article whose analysis killed its worker keeps its text and topics, and the reason is reported.
    """
    report = EnrichReport()
    articles = store.get_articles(article_ids)
    jobs = [(article.text, article.title, config) for article in articles]
    analyses = pool.map(analyze_job, jobs) if pool else list(map(analyze_job, jobs))
    for article, analysis in zip(articles, analyses, strict=True):
        if isinstance(analysis, WorkerDiedError):
            report.errors.append(StageError(article.url, "enrich", f"analysis failed: {analysis}"))
        else:
            article.entities, article.quotes = analysis.entities, analysis.quotes
            report.analysed += 1
        article.topics = store.match_topics(article, topic_queries(config.topics))
    store.put_articles(articles)
    return report


def dedupe_stage(config: Config, store: Store, article_ids: Sequence[str]) -> DedupReport:
    return dedupe(store.get_articles(article_ids), store, config.dedup.window)


def statements_stage(config: Config, store: Store, article_ids: Sequence[str]) -> StatementReport:
    """The last per-article stage: once it has run, the articles are marked processed."""
    report = attach_statements(store.get_articles(article_ids), store)
    store.mark_processed(article_ids)
    return report


def process_articles(
    config: Config, store: Store, article_ids: Sequence[str], report: CycleReport, pool: Workers | None
) -> None:
    """Everything after indexing, for one batch of new articles, in the order each stage needs."""
    report.errors += enrich_stage(config, store, article_ids, pool).errors
    report.duplicates += dedupe_stage(config, store, article_ids).duplicates
    report.statements_new += len(statements_stage(config, store, article_ids).new)


def finish_unprocessed(
    config: Config, store: Store, indexed_before: datetime, report: CycleReport, pool: Workers | None = None
) -> int:
    """Take articles that a run indexed but died before processing through the later stages; returns how many
    were finished. One that fails again is reported and left for the next run, which goes on meanwhile."""
    failed: set[str] = set()
    seen: set[str] = set()
    finished = 0
    # Asking past the ones that failed, so leftovers that keep failing cannot hide the ones behind them.
    while ids := [i for i in store.unprocessed_articles(indexed_before, len(failed) + BATCH_SIZE) if i not in failed]:
        if seen.issuperset(ids):
            break  # processed but still unmarked: going round again would change nothing
        seen.update(ids)
        try:
            process_articles(config, store, ids, report, pool)
            finished += len(ids)
        except unavailable_errors():
            raise  # the store failed, not the articles: the run stops
        except Exception:  # noqa: BLE001 - one bad leftover must not stop every later run; find it alone
            for article in store.get_articles(ids):
                try:
                    process_articles(config, store, [article.id], report, pool)
                    finished += 1
                except unavailable_errors():
                    raise
                except Exception as exc:  # noqa: BLE001
                    failed.add(article.id)
                    reason = f"left unprocessed: {type(exc).__name__}: {exc}"
                    report.errors.append(StageError(article.url, "process", reason))
    return finished


async def run_cycle_async(
    config: Config,
    store: Store,
    now: datetime | None = None,
    force: bool = False,
    progress: Progress | None = None,
    sender: Sender | None = None,
) -> CycleReport:
    started = utcnow()
    now = now or started
    report = CycleReport()
    due = feeds_due(config, store, now, force)
    pool = worker_pool(max(len(due), len(store.entries_due(now, POOL_THRESHOLD))))
    try:
        finish_unprocessed(config, store, started, report, pool)
        async with WebClient(config.fetch) as client:
            polled = await poll_feeds(config, store, client, now, due, progress, pool)
            report.feeds_polled, report.feeds_failed = polled.polled, polled.failed
            report.entries_new = len(polled.new_entries)
            report.errors += polled.errors
            pool = pool or worker_pool(len(store.entries_due(now, POOL_THRESHOLD)))
            seen: set[str] = set()
            while batch := [entry for entry in store.entries_due(now, BATCH_SIZE) if entry.id not in seen]:
                seen.update(entry.id for entry in batch)
                fetched = await fetch_async(config, store, client, now, batch, pool, progress)
                report.articles_indexed += fetched.indexed
                report.errors += fetched.errors
                process_articles(config, store, fetched.article_ids, report, pool)
    finally:
        if pool:
            pool.shutdown()
    store.prune_dedup(now - config.dedup.window)
    alerts = alert_stage(config, store, now, sender)
    report.alerts_sent, report.alerts_failed = alerts.sent, alerts.failed
    report.errors += alerts.errors
    if alerts.first_delivery:
        report.alert_latency_s = round((alerts.first_delivery - started).total_seconds(), 3)
    return report


def run_cycle(
    config: Config,
    store: Store,
    now: datetime | None = None,
    force: bool = False,
    progress: Progress | None = None,
    sender: Sender | None = None,
) -> CycleReport:
    return asyncio.run(run_cycle_async(config, store, now, force, progress, sender))
