"""The stages of one cycle: poll → fetch + extract + index → enrich → dedupe → statements → alert.

Each stage is a plain function of (config, store, what to work on) that the
CLI runs in one cycle and Airflow runs as separate tasks; the store carries
everything between them, so a stage can be re-run or retried alone.

In a cycle the steps overlap so that both cores stay busy: each page goes to
a worker as soon as it has arrived, while later pages download, and the worker
extracts and analyses it in one job (`page_work`), so the article is stored
once, whole, and the enrich step has nothing left to do for it; batch n is
indexed, enriched, deduped and grouped into statements while batch n+1 is
fetched and extracted; the worker pool starts with the first feed body to parse, while
the other feeds are still being polled (a poll of feeds that all answer 304
starts it only if pages are due: starting it cost 2-3 s of CPU for nothing), and while its forkserver loads
spaCy, a light worker with the extractor alone extracts the first pages on the other core (`EarlyExtraction`).
The order guarantees do not move: an entry is marked done only after its
article is stored (a crash costs a re-fetch, never a loss), a batch is deduped
only after every earlier batch (dedup sees every earlier article), and an
article stays marked unprocessed until its statements have run, so the next
run finishes what a killed one left. Page bodies in flight are bounded in
bytes, not pages (`ByteBudget`), so a batch of heavy pages cannot take a run
past its memory ceiling. After each batch the store's cache and the C heap's free
pages go back to the system (`release_memory`), so a long cycle's memory stays flat.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import threading
from collections.abc import Callable, Sequence, Set
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from pipeline.alert import Sender, alert_stage
from pipeline.budget import ByteBudget, body_budget
from pipeline.config import Config, FetchConfig
from pipeline.dedup import DedupReport, dedupe
from pipeline.enrich.analyze import Analysis, analyze_job
from pipeline.enrich.statements import StatementReport, attach_statements
from pipeline.enrich.topics import topic_queries
from pipeline.fetch import (
    ExtractJob,
    ExtractResult,
    Page,
    Progress,
    build_articles,
    extract_body,
    extract_page,
    extraction_job,
    fetch_page,
    is_due,
    retry_delay,
)
from pipeline.page_work import analyse_extracted, extract_and_analyse
from pipeline.poll import PollReport, feeds_due, poll_feeds
from pipeline.records import Article, Entry, StageError, utcnow
from pipeline.store import Store, StoreWriteError, unavailable_errors
from pipeline.web import WebClient
from pipeline.workers import EXTRACTION, FEEDS, POOL_THRESHOLD, WorkerDiedError, Workers, worker_pool

BATCH_SIZE = 200
# The smallest batch `next_batch` cuts a cycle's tail into.
MIN_TAIL_BATCH = 25


@dataclass
class FetchReport:
    article_ids: list[str] = field(default_factory=list)
    indexed: int = 0
    errors: list[StageError] = field(default_factory=list)
    analysed: set[str] = field(default_factory=set)  # stored with their analysis and topics: enrich is done


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
    store.save_entries(entries)
    report.article_ids = [article.id for article in articles if article.id not in rejected]
    return report


class EarlyExtraction:
    """One worker that extracts pages while the page pool's forkserver is still loading.

    That load (spaCy, the extractor and the rule pipeline's base, about 2 s of CPU on a quiet host) runs on one
    core while the other had nothing to do but the first downloads. This worker's forkserver imports the
    extractor alone (`workers.EXTRACTION`), a fraction of that, so it extracts the first pages meanwhile, and the
    page workers only analyse them (`page_work.analyse_extracted`), as they would have in the one job. A cycle
    uses it where pages are analysed in the workers (`analyses_in_workers`), the store the bench measures.

    It ends once the page pool's first worker is up, before the second starts (`make_way`, the page pool's
    `first_up`): the two of them and the page pool's forkserver and workers at once held 612 MiB of RSS summed in
    a 543-page bench cycle, more than the cycle's own peak later (598-602 the same hour); the page workers take
    every page from then on.
    """

    # Jobs handed to the worker at once: one running and one pickled and waiting, so it does not idle between
    # pages, while the pages behind them wait here, free to go to the page pool the moment it is up.
    IN_FLIGHT = 2
    # How long the page pool's starting thread waits for the event loop to stop handing pages here: a loop that
    # no longer runs (the cycle ended first) leaves the worker to `close`.
    HANDOVER_SECONDS = 10.0

    def __init__(self) -> None:
        self.pool: Workers | None = Workers(1, EXTRACTION)
        self.pool.start()
        self._loop = asyncio.get_running_loop()
        self._slots = asyncio.Semaphore(self.IN_FLIGHT)
        self._handed_over = threading.Event()  # set in the event loop: no page goes to this worker any more
        self._closing = threading.Lock()

    async def extract(self, job: ExtractJob) -> ExtractResult | None:
        """The page extracted here, or None when it is the page pool's to take (this worker ended, or died)."""
        async with self._slots:
            if self.pool is not None and not self._handed_over.is_set():
                await self.pool.wait_ready()
            # Checked with no wait before the job is handed over, so `make_way` cannot end the pool in between.
            if self.pool is None or self._handed_over.is_set():
                return None
            try:
                return await self.pool.run(extract_body, job)
            except WorkerDiedError:
                return None

    def make_way(self) -> None:
        """In the page pool's starting thread, its first worker up: end this worker, its jobs in flight done."""
        try:
            self._loop.call_soon_threadsafe(self._handed_over.set)
        except RuntimeError:  # the loop is closed: the cycle has ended, and `close` with it
            return
        if self._handed_over.wait(self.HANDOVER_SECONDS):
            self.close()

    def close(self) -> None:
        """End the worker and its forkserver (a job in flight is waited for)."""
        with self._closing:
            if self.pool is not None:
                self.pool.shutdown(stop_forkserver=True)
                self.pool = None


async def fetch_and_extract(
    entry: Entry,
    client: WebClient,
    config: Config,
    pool: Workers | None,
    budget: ByteBudget,
    slots: asyncio.Semaphore,
    analyse: bool = False,
    in_hand: asyncio.Semaphore | None = None,
    early: EarlyExtraction | None = None,
) -> tuple[Page, ExtractResult, Analysis | None]:
    """One page, fetched and then extracted at once (and analysed, with `analyse` and a pool); its body is
    dropped before the budget is released.

    A request starts only when a connection is free (`slots`), so its deadline is not spent queueing behind
    the rest of the batch while the workers, and the processing of the batch before, take their time; and only
    when fewer than `in_hand` pages are downloading or waiting for a worker (`pages_in_hand`).

    A page the `early` worker extracted leaves `in_hand` and the budget before its analysis: it holds its
    article alone, no body, and the pages behind it download for that worker meanwhile. Held until the page
    pool was up, the first 24 pages (`pages_in_hand`) stopped every download and left that worker idle.
    """
    early_result: ExtractResult | None = None
    async with in_hand or contextlib.nullcontext(), budget.hold(config.fetch.max_bytes) as keep:
        async with slots:
            page = await fetch_page(entry, client)
        keep(len(page.response.body) if page.response else 0)
        if analyse and pool is not None and page.response is not None:
            job = extraction_job(page.response, config.fetch.min_text_chars)
            early_result = await early.extract(job) if early is not None else None
            if early_result is None:
                result, analysis = await _extract_and_analyse(page, job, config, pool)
        else:
            result, analysis = await extract_page(page, config.fetch.min_text_chars, pool), None
        page = Page(page.entry, None, page.error)  # the body goes before the budget is released
    if early_result is not None:
        assert pool is not None
        result, analysis = early_result, await _analyse_extracted(early_result, entry.title, config, pool)
    return page, result, analysis


# Pages a worker may have waiting for it, beyond those downloading: enough that it never waits for a download.
QUEUED_PER_WORKER = 4


def pages_in_hand(fetch: FetchConfig, pool: Workers | None) -> int:
    """How many pages of a batch may be downloading or waiting for extraction at once.

    Pages arrive faster than the workers take them whenever the workers are the bottleneck (on loopback, all
    200 of a batch within a second: 34 MB of bodies in the main process, which held them until a worker was
    free, with the budget's 155 MB far off). Past every connection busy and a few pages queued for each
    worker, a page downloaded sooner only waits longer in memory.
    """
    return fetch.concurrency + QUEUED_PER_WORKER * (pool.size if pool else 1)


async def _extract_and_analyse(
    page: Page, job: ExtractJob, config: Config, pool: Workers
) -> tuple[ExtractResult, Analysis | None]:
    """Both in one worker job (`job`, the page's extraction); if that job kills its worker (twice), the page is
    extracted alone, so a page whose analysis kills workers is still indexed, and the enrich step reports its
    analysis as it always did."""
    try:
        work = await pool.run(extract_and_analyse, (job, page.entry.title, config))
    except WorkerDiedError:
        return await extract_page(page, config.fetch.min_text_chars, pool), None
    return (work.extracted, work.reason), work.analysis


async def _analyse_extracted(
    extracted: ExtractResult, entry_title: str, config: Config, pool: Workers
) -> Analysis | None:
    """The page pool's analysis of an article the early worker extracted; one that kills its worker is left to
    the enrich step, as after `_extract_and_analyse`."""
    if extracted[0] is None:
        return None
    try:
        return await pool.run(analyse_extracted, (extracted[0], entry_title, config))
    except WorkerDiedError:
        return None


def matches_topics_in_python(store: Store) -> bool:
    """Whether the store matches topics the way `analyze` does (the base class's Python matcher): then a worker
    can tag them with the analysis. A store with a percolator (Elasticsearch) matches them itself."""
    return type(store).match_topics is Store.match_topics


@dataclass
class FetchedPages:
    """A batch's pages, downloaded and extracted (and analysed, when asked), not yet stored."""

    outcomes: list[tuple[Page, ExtractResult]] = field(default_factory=list)
    analyses: dict[str, Analysis] = field(default_factory=dict)  # by entry id


async def fetch_pages(
    config: Config,
    client: WebClient,
    entries: list[Entry],
    pool: Workers | None,
    progress: Progress | None = None,
    budget: ByteBudget | None = None,
    analyse: bool = False,
    early: EarlyExtraction | None = None,
) -> FetchedPages:
    """Fetch and extract a batch (each page extracted while later ones download), and analyse each page in the
    same worker job with `analyse` and a pool (extracted by `early` first while the pool loads); nothing is stored
    yet (`store_pages` does that)."""
    budget = budget or ByteBudget(body_budget(config.fetch))
    slots = asyncio.Semaphore(config.fetch.concurrency)
    in_hand = asyncio.Semaphore(pages_in_hand(config.fetch, pool))
    fetched = FetchedPages()
    fetches = [
        fetch_and_extract(entry, client, config, pool, budget, slots, analyse, in_hand, early) for entry in entries
    ]
    for finished in asyncio.as_completed(fetches):
        page, result, analysis = await finished
        fetched.outcomes.append((page, result))
        if analysis is not None:
            fetched.analyses[page.entry.id] = analysis
        if progress:
            progress("fetch", len(fetched.outcomes), len(entries))
    return fetched


def store_pages(store: Store, fetched: FetchedPages, now: datetime) -> FetchReport:
    """Index a fetched batch: articles (with their analysis where a worker made one), then their entries.

    SQLite's page cache is held to `STORE_CACHE_BYTES` meanwhile, as in the statements step: it held 6 MiB at the
    storing moments of a 543-page cycle and 8.6-12.9 MiB late in a 2,000-page one, kept until the next step
    emptied it (issue 16m's diagnostic cycles); with the bound, 4.8-5.3 MiB in every batch."""
    outcome = build_articles(fetched.outcomes, now)
    analysed: set[str] = set()
    for article in outcome.articles:
        analysis = fetched.analyses.get(article.id)
        if analysis is not None and not article.from_feed:
            article.entities, article.quotes, article.topics = analysis.entities, analysis.quotes, analysis.topics
            analysed.add(article.id)
    with store.cache_bounded(STORE_CACHE_BYTES):
        report = index_articles(store, outcome.articles, outcome.entries, now)
    report.errors = outcome.errors + report.errors
    report.analysed = analysed.intersection(report.article_ids)
    return report


def analyses_in_workers(store: Store, pool: Workers | None) -> bool:
    """Whether pages are analysed in the same worker job as their extraction: with a pool, and a store that
    matches topics in Python."""
    return pool is not None and matches_topics_in_python(store)


async def fetch_async(
    config: Config,
    store: Store,
    client: WebClient,
    now: datetime,
    entries: list[Entry],
    pool: Workers | None,
    progress: Progress | None = None,
    budget: ByteBudget | None = None,
    analyse: bool = False,
) -> FetchReport:
    """Fetch, extract and index a batch: each page is extracted while later ones download.

    With `analyse` (and a pool, and a store that matches topics in Python) each page is analysed in the same
    worker job as its extraction, and its article stored once with entities, quotes and topics; the report's
    `analysed` says which, so the enrich step leaves them alone.
    """
    analyse = analyse and analyses_in_workers(store, pool)
    fetched = await fetch_pages(config, client, entries, pool, progress, budget, analyse)
    return store_pages(store, fetched, now)


def poll_stage(
    config: Config,
    store: Store,
    now: datetime | None = None,
    force: bool = False,
    feed_urls: Sequence[str] | None = None,
) -> PollReport:
    """Poll the due feeds (or only `feed_urls` among them); new entries go into the store, and the report
    counts them (`entries_new`)."""
    moment = now or utcnow()
    due = [feed for feed in feeds_due(config, store, moment, force) if feed_urls is None or feed.url in feed_urls]

    report = PollReport()

    # `run` returns nothing: asyncio.run (3.11) formats its main task's result as it ends (twice, checked), and a
    # report's repr lists every feed error (it once listed every new entry too: 0.6 s for 46,000 of them).
    async def run() -> None:
        async with WebClient(config.fetch) as client:
            report.add(await poll_feeds(config, store, client, moment, due))

    asyncio.run(run())
    return report


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
    """Tag entities, topics and attributed quotes."""
    return asyncio.run(enrich_async(config, store, article_ids, pool))


async def enrich_async(
    config: Config, store: Store, article_ids: Sequence[str], pool: Workers | None = None
) -> EnrichReport:
    """Tag entities, topics and attributed quotes, in the workers when there is a pool (the event loop goes on).

    An article whose analysis killed its worker keeps its text and topics, and the reason is reported.
    """
    report = EnrichReport()
    articles = store.get_articles(article_ids)
    jobs = [(article.text, article.title, config) for article in articles]
    analyses = await asyncio.gather(*(_analyse(job, pool) for job in jobs))
    for article, analysis in zip(articles, analyses, strict=True):
        if isinstance(analysis, WorkerDiedError):
            report.errors.append(StageError(article.url, "enrich", f"analysis failed: {analysis}"))
        else:
            article.entities, article.quotes = analysis.entities, analysis.quotes
            report.analysed += 1
        article.topics = store.match_topics(article, topic_queries(config.topics))
    store.put_articles(articles)
    return report


async def _analyse(job: tuple[str, str, Config], pool: Workers | None) -> Analysis | WorkerDiedError:
    if pool is None:
        return analyze_job(job)
    try:
        return await pool.run(analyze_job, job)
    except WorkerDiedError as exc:
        return exc


def dedupe_stage(config: Config, store: Store, article_ids: Sequence[str]) -> DedupReport:
    return dedupe_articles(config, store, store.get_articles(article_ids))


def dedupe_articles(config: Config, store: Store, articles: list[Article]) -> DedupReport:
    return dedupe(articles, store, config.dedup.window)


def statements_stage(config: Config, store: Store, article_ids: Sequence[str]) -> StatementReport:
    """The last per-article stage: once it has run, the articles are marked processed."""
    return group_statements(store, store.get_articles(article_ids), article_ids)


def group_statements(store: Store, articles: list[Article], article_ids: Sequence[str]) -> StatementReport:
    """`statements_stage` on articles in hand, with their clusters as dedupe stored them.

    The batch's statements and its mark as processed are one transaction (`Store.transaction`): a run killed
    before the commit leaves neither, so the next run groups the articles again, and finds what a whole run would
    have found (grouping is the same however often it runs).

    SQLite's page cache is held to `STATEMENTS_CACHE_BYTES` meanwhile: the step reads a speaker's candidates and
    later articles, pages spread over a store that grows through a cycle, and its cache, emptied only after the
    step (`release_memory`), held 5-7 MiB of the main process's peak at 543 pages and 15-17.5 MiB late in a
    2,000-page cycle (issue 15b's diagnostic cycles)."""
    with store.cache_bounded(STATEMENTS_CACHE_BYTES), store.transaction():
        report = attach_statements(articles, store)
        store.mark_processed(article_ids)
    return report


# The statements step's page cache (`group_statements`): 4 MiB held that step's SQLite memory at 4.4-5.5 MiB in
# every batch of a 2,000-page cycle.
STATEMENTS_CACHE_BYTES = 4 * 2**20
# The storing step's (`store_pages`): the same bound.
STORE_CACHE_BYTES = STATEMENTS_CACHE_BYTES


def process_articles(
    config: Config, store: Store, article_ids: Sequence[str], report: CycleReport, pool: Workers | None
) -> None:
    """Everything after indexing, for one batch of new articles, in the order each stage needs."""
    asyncio.run(process_async(config, store, article_ids, report, pool))


async def process_async(
    config: Config,
    store: Store,
    article_ids: Sequence[str],
    report: CycleReport,
    pool: Workers | None,
    after: asyncio.Task[None] | None = None,
    analysed: Set[str] = frozenset(),
) -> None:
    """`process_articles` for the event loop; dedupe waits for `after` (the batch before), so it sees every
    earlier article, while this batch's analysis already runs in the workers. The articles in `analysed`
    were stored with their analysis and topics (`fetch_async`), so they skip the enrich step.

    Dedupe and statements run in a thread: seconds of work on a large batch, which on the event loop would
    stall the downloads of the next batch until their deadlines ran out. The thread gives the loop the GIL
    every few milliseconds; the order does not change, since this batch is marked processed only at the end.
    """
    to_enrich = [article_id for article_id in article_ids if article_id not in analysed]
    enriched = await enrich_async(config, store, to_enrich, pool) if to_enrich else EnrichReport()
    if after is not None:
        await after
    report.errors += enriched.errors
    duplicates, statements = await asyncio.to_thread(dedupe_and_group, config, store, article_ids)
    report.duplicates += duplicates
    report.statements_new += statements
    release_memory(store)


def release_memory(store: Store) -> None:
    """After each batch: the store's cache, then the C heap's free pages, go back to the system.

    Measured per batch in a 2,000-page cycle (VmRSS, SQLite's own count, glibc's `mallinfo2`): the main
    process grew from 208 to 280 MiB while the Python objects it held stayed flat; SQLite's page cache
    had grown by 57 MiB (it fills up to `cache_size` as the database grows) and the heap's free space by
    about 40. With both given back after every batch it stayed at 191-193 MiB after each batch.
    `malloc_trim` is glibc's; elsewhere only the store's cache is released.
    """
    store.release_memory()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _glibc_function(name: str) -> Callable[..., int] | None:
    """A function of glibc's allocator, or None where the C library has no such function."""
    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(None), name)
    except (AttributeError, OSError):
        return None
    return function


_MALLOC_TRIM = _glibc_function("malloc_trim")
_MALLOPT = _glibc_function("mallopt")
# glibc's mallopt parameter for the most arenas the C heap may have (malloc.h).
_M_ARENA_MAX = -8


def share_one_malloc_arena() -> None:
    """Every thread of the process allocates from one glibc arena from now on.

    glibc gives each new thread that allocates an arena of its own (up to eight per core), and each arena
    keeps its freed memory apart: the threads that store, dedupe and group a batch (`asyncio.to_thread`) and
    the pool's threads that pickle pages for the workers each held a high-water mark of their own. Measured
    in a 2,000-page bench cycle (the main process's peak RSS in each 200 pages): 119-135 MiB with one arena,
    121-143 with an arena per thread. The threads seldom allocate at the same moment (they take turns at the
    GIL; SQLite's allocations are the exception), so they seldom wait for the arena's lock. Only arenas made
    later are affected; elsewhere than glibc it does nothing."""
    if _MALLOPT is not None:
        _MALLOPT(_M_ARENA_MAX, 1)


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter for the mmap threshold (malloc.h)
# Blocks of this size and larger are mapped by the cycle's main process (`map_large_blocks`): glibc's least default.
MAPPED_FROM_BYTES = 128 * 1024


def map_large_blocks() -> None:
    """From now on a block of `MAPPED_FROM_BYTES` or more that the heap's free space cannot hold is mapped by
    glibc, and unmapped when it is freed, instead of extending the heap.

    By default glibc raises its threshold to the size of each mapped block freed (up to 32 MiB), so after the
    first 2 MB numpy block a cycle's large temporaries (a batch's shingle arrays, pickled jobs) came from the heap,
    between longer-lived objects, and the heap's extent at dedupe's moments grew through a cycle: 42 MiB at 543
    pages, 46-55 late in a 2,000-page cycle, the main process's peak 110 against 117 MiB (issue 16m's diagnostic
    cycles). Held here, the extent stayed at 22-27 and 31-32 MiB, the peak 101-102 against 109-111. Dedupe's 2 MB
    block is kept for the process's life (`dedup._kept_block`), so it is not mapped afresh each time. Setting the
    threshold stops glibc's own adjustment, for this process only; elsewhere than glibc it does nothing."""
    if _MALLOPT is not None:
        _MALLOPT(_M_MMAP_THRESHOLD, MAPPED_FROM_BYTES)


def dedupe_and_group(config: Config, store: Store, article_ids: Sequence[str]) -> tuple[int, int]:
    """Dedupe, then statements, for one batch: how many duplicates and how many new statements.

    The batch's articles are loaded once for both: the statements step reads each article's cluster, which
    dedupe hands back (`DedupReport.label`) as it stores it. Loaded a second time, the articles' entities and
    quotes were decoded from JSON again: 694 M instructions of the main process's dedupe and statements in a
    543-page bench cycle (replayed under callgrind: 11,945 M → 11,251 M), about 0.2-0.5 ms of CPU an article."""
    # Each step's SQLite cache and freed heap go back before the next step's own peak adds to them: storing a
    # batch left 8-12 MiB of cache held through dedupe, the main process's peak (diagnostic cycles, 2,000 pages).
    release_memory(store)
    articles = store.get_articles(article_ids)
    dedup = dedupe_articles(config, store, articles)
    dedup.label(articles)
    release_memory(store)
    return dedup.duplicates, len(group_statements(store, articles, article_ids).new)


def finish_unprocessed(
    config: Config, store: Store, indexed_before: datetime, report: CycleReport, pool: Workers | None = None
) -> int:
    """Take articles that a run indexed but died before processing through the later stages; returns how many
    were finished. One that fails again is reported and left for the next run, which goes on meanwhile."""
    return asyncio.run(finish_unprocessed_async(config, store, indexed_before, report, pool))


async def finish_unprocessed_async(
    config: Config, store: Store, indexed_before: datetime, report: CycleReport, pool: Workers | None = None
) -> int:
    failed: set[str] = set()
    seen: set[str] = set()
    finished = 0
    # Asking past the ones that failed, so leftovers that keep failing cannot hide the ones behind them.
    while ids := [i for i in store.unprocessed_articles(indexed_before, len(failed) + BATCH_SIZE) if i not in failed]:
        if seen.issuperset(ids):
            break  # processed but still unmarked: going round again would change nothing
        seen.update(ids)
        try:
            await process_async(config, store, ids, report, pool)
            finished += len(ids)
        except unavailable_errors():
            raise  # the store failed, not the articles: the run stops
        except Exception:  # noqa: BLE001 - one bad leftover must not stop every later run; find it alone
            for article in store.get_articles(ids):
                try:
                    await process_async(config, store, [article.id], report, pool)
                    finished += 1
                except unavailable_errors():
                    raise
                except Exception as exc:  # noqa: BLE001
                    failed.add(article.id)
                    reason = f"left unprocessed: {type(exc).__name__}: {exc}"
                    report.errors.append(StageError(article.url, "process", reason))
    return finished


def next_batch(store: Store, now: datetime, seen: set[str], unsaved: int) -> list[Entry]:
    """The next batch of due entries, none of those already taken; `unsaved` entries of the batch before are
    still due in the store (its pages are being indexed), so the query reaches past them.

    The last batch of a cycle is stored, deduped and grouped by the main process with no page left for the
    workers, both idle meanwhile: 1.9-2.1 s of a 543-page bench cycle whose last batch had 143 pages (measured at
    a load of 3-8, where the cycle took 55 s). So once fewer than two full batches are due, each batch takes half
    of what is left, down to `MIN_TAIL_BATCH` (543 pages: 200, 172, 86, 43, 25, 17), and the batch the workers
    wait for at the end is small (0.0-0.3 s of main process alone in the same runs)."""
    due = [entry for entry in store.entries_due(now, 2 * BATCH_SIZE + unsaved) if entry.id not in seen]
    size = BATCH_SIZE if len(due) >= 2 * BATCH_SIZE else min(BATCH_SIZE, max(MIN_TAIL_BATCH, (len(due) + 1) // 2))
    batch = due[:size]
    seen.update(entry.id for entry in batch)
    return batch


async def fetch_and_process(
    config: Config,
    store: Store,
    client: WebClient,
    now: datetime,
    pool: Workers | None,
    report: CycleReport,
    progress: Progress | None = None,
    early: EarlyExtraction | None = None,
) -> None:
    """Every due entry, a batch at a time, so that the workers always have pages: as soon as batch n's pages
    are extracted and analysed, batch n+1's downloads start and go to the workers, while the main process
    indexes batch n (in a thread: the event loop goes on feeding the workers) and then dedupes it and groups
    its statements. Indexing batch n used to run between the two batches, 0.25 s of a 200-page batch with the
    workers idle.

    The order guarantees hold: batch n's entries are marked done only after its articles are stored; it is
    deduped only after batch n-1's processing; a killed run leaves the entries of a batch not yet indexed
    due, and its articles unprocessed until their statements ran. At most two batches are in hand: batch n+1
    starts once batch n-1 is processed.
    """
    budget = ByteBudget(body_budget(config.fetch))
    analyse = analyses_in_workers(store, pool)
    seen: set[str] = set()
    processing: list[asyncio.Task[None]] = []

    def start(entries: list[Entry]) -> asyncio.Task[FetchedPages] | None:
        if not entries:
            return None
        return asyncio.create_task(fetch_pages(config, client, entries, pool, progress, budget, analyse, early))

    batch = next_batch(store, now, seen, 0)
    fetching = start(batch)
    try:
        while fetching is not None:
            fetched = await fetching
            if processing:
                await processing[-1]  # batch n-1: done before batch n+1 comes in
            upcoming = next_batch(store, now, seen, len(batch))
            fetching = start(upcoming)  # the workers take batch n+1 while batch n is stored
            stored = await asyncio.to_thread(store_pages, store, fetched, now)
            del fetched  # stored: batch n's texts and analyses are not held through its processing and n+1's fetch
            report.articles_indexed += stored.indexed
            report.errors += stored.errors
            previous = processing[-1] if processing else None
            processing.append(
                asyncio.create_task(
                    process_async(config, store, stored.article_ids, report, pool, previous, stored.analysed)
                )
            )
            batch = upcoming
        if processing:
            await processing[-1]
    finally:
        if fetching is not None:
            fetching.cancel()
        for task in processing:
            task.cancel()
        if early is not None:
            early.close()


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
    share_one_malloc_arena()  # before the pool's threads and those that store and process batches allocate
    map_large_blocks()
    due = feeds_due(config, store, now, force)
    # The pages' pool, sized by the pages due: the poll has a pool of its own, so a poll of many feeds that finds
    # few new pages no longer starts the pages' workers (seconds of spaCy and trafilatura) for those few.
    pool = worker_pool(len(store.entries_due(now, POOL_THRESHOLD)))
    try:
        await finish_unprocessed_async(config, store, started, report, pool)
        async with WebClient(config.fetch) as client:
            # The poll's workers only parse feeds: a pool whose forkserver imports the feed parser alone has them
            # up in a fraction of a second, where the pages' pool takes seconds of spaCy and trafilatura first.
            feed_pool = worker_pool(len(due), FEEDS)
            try:
                polled = await poll_feeds(config, store, client, now, due, progress, feed_pool)
            finally:
                if feed_pool:
                    feed_pool.shutdown(stop_forkserver=True)
            report.feeds_polled, report.feeds_failed = polled.polled, polled.failed
            report.entries_new = polled.entries_new
            report.errors += polled.errors
            pages_due = len(store.entries_due(now, POOL_THRESHOLD))
            pool = pool or worker_pool(pages_due)
            early = None
            if pool and pages_due:
                if not pool.started and analyses_in_workers(store, pool):
                    early = EarlyExtraction()  # the first pages are extracted while the page pool loads
                pool.start(early.make_way if early else None)  # its workers come up while the first pages download
            await fetch_and_process(config, store, client, now, pool, report, progress, early)
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
