"""Poll stage: conditional GETs of the feeds that are due, new entries into the store.

A 304, or a 200 whose body hashes the same as last time (servers that keep an
ETag across changes exist, and so do servers that send none), costs no parsing.
Failures back off exponentially, or as long as `Retry-After` asks, up to a cap,
and stay visible in the feed's state until a poll succeeds again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.budget import ByteBudget, body_budget
from pipeline.config import Config, FeedConfig
from pipeline.feeds import FeedBody, FeedParseError, ParsedBody, each_parsed, new_entries_from_body
from pipeline.records import FeedState, StageError
from pipeline.store import Store, StoreError, unavailable_errors
from pipeline.store.base import NewEntries
from pipeline.web import FetchError, WebClient
from pipeline.workers import WorkerDiedError, Workers

MAX_RETRY_AFTER = timedelta(hours=24)
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.8"

Progress = Callable[[str, int, int], None]
# Lowers a body's reservation in the poll's byte budget to what it holds (`ByteBudget.hold`).
Keep = Callable[[int], None]


@dataclass
class PollReport:
    polled: int = 0
    failed: int = 0
    not_modified: int = 0
    unchanged: int = 0
    errors: list[StageError] = field(default_factory=list)
    # How many new entries the poll stored. The entries themselves are read back from the store by whoever
    # needs them: a poll of 2,000 changed bench feeds finds 46,656, 82 MiB of objects to hold otherwise.
    entries_new: int = 0

    def add(self, other: PollReport) -> None:
        """Count another feed's poll into this one."""
        self.polled += other.polled
        self.failed += other.failed
        self.not_modified += other.not_modified
        self.unchanged += other.unchanged
        self.entries_new += other.entries_new
        self.errors += other.errors


def backoff_delay(failures: int, interval: timedelta, cap: timedelta, retry_after: float | None) -> timedelta:
    """Double the wait with each consecutive failure, never below what the server asked for."""
    delay = min(max(interval, timedelta(minutes=1)) * (1 << min(max(failures - 1, 0), 30)), cap)
    if retry_after is not None:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return delay


def is_feed_due(state: FeedState | None, now: datetime, until: datetime | None = None) -> bool:
    """Due when its next poll has come, or, for a scheduler that polls in slots, falls before the slot ends.

    A scheduler's run looks at a feed once per slot; a next poll a second after the
    run looked would otherwise wait a whole slot more (a 5-minute feed polled every 10).
    """
    if state is None or state.next_poll is None:
        return True
    return state.next_poll < until if until is not None and until > now else state.next_poll <= now


def feeds_due(
    config: Config, store: Store, now: datetime, force: bool = False, until: datetime | None = None
) -> list[FeedConfig]:
    if force:
        return list(config.feeds)
    states = store.get_feeds(feed.url for feed in config.feeds)
    return [feed for feed in config.feeds if is_feed_due(states.get(feed.url), now, until)]


# Bodies that wait for a worker are sent to it together, up to this many and about this many bytes at a time.
BATCH_FEEDS = 16
BATCH_BYTES = 4_000_000
# Jobs in flight beyond one per worker, per worker. The event loop dispatches the next job only between its own
# steps, and storing 64 feeds' entries (`SAVE_EVERY`) holds it for tens of ms, about as long as a job of 16 feeds
# runs: with one job queued in all, a worker finished its job and its neighbour's queued one meanwhile and waited.
JOBS_QUEUED_PER_WORKER = 2


class BodyParser:
    """Parses feed bodies in the worker pool, several bodies to a job once they queue up.

    Each job crosses to a worker and back through pickling, pipes and the executor's threads: a job per feed
    cost the main process 0.3-0.5 ms of CPU (2,000 jobs of 60 kB in and 20 kB out, on a loaded host), a
    tenth or more of its work in a poll of 2,000 changed feeds.
    At most `pool.size * (1 + JOBS_QUEUED_PER_WORKER) + 1` jobs are in flight, so the workers do not wait for
    the next one while the event loop stores entries; bodies fetched meanwhile wait here, as they would have
    waited in the executor's queue, and go in the next job together. A body is never held back while a job
    slot is free. When a job of several bodies fails as a whole (its worker died twice), each of its bodies
    is parsed again in a job of its own, so only the body that kills its worker fails, as before.

    The bodies are held to a byte budget (`budget`, `room`): a feed reserves `body_bytes` (the config's
    `max_bytes`) before its download, and keeps that reservation while its body waits here; once the body goes
    into a job, the reservation drops to the body's size, and it goes when the body is parsed. When the fetches
    outrun the workers (the bench's loopback server answers 3,800 feeds a second, the two workers parse 900),
    the fetches wait for room: charged what they weigh, a poll's bodies (57 kB on average in the bench, against
    10 MB of `max_bytes`) would fill the budget only after some 2,700 had queued, all of a 2,000-feed poll,
    114 MB; charged `max_bytes` while they wait, at most budget / max_bytes are downloading or waiting at once.
    """

    def __init__(
        self,
        pool: Workers,
        parse: Callable[..., ParsedBody] = new_entries_from_body,
        budget: ByteBudget | None = None,
        body_bytes: int = 0,
    ) -> None:
        self.pool = pool
        self.parse_body = parse
        self.limit = pool.size * (1 + JOBS_QUEUED_PER_WORKER) + 1
        self.budget = budget
        self.body_bytes = body_bytes
        self._waiting: list[tuple[FeedBody, asyncio.Future[ParsedBody], Keep | None]] = []
        self._jobs: set[asyncio.Task[None]] = set()

    def room(self) -> contextlib.AbstractAsyncContextManager[Keep | None]:
        """Room for one feed's body in the budget, from before its download until its body has been parsed."""
        if self.budget is None:
            return contextlib.nullcontext()
        return self.budget.hold(self.body_bytes)

    async def parse(self, body: FeedBody, keep: Keep | None = None) -> ParsedBody:
        """The body parsed in a worker; `keep` (from `room`) is told the body's size once it goes into a job."""
        future: asyncio.Future[ParsedBody] = asyncio.get_running_loop().create_future()
        self._waiting.append((body, future, keep))
        self._dispatch()
        try:
            return await future
        except asyncio.CancelledError:
            # Its feed was cancelled: a body still waiting is sent to no worker, and its room went back with
            # `room`'s exit, so `keep` must not be told its size later (the budget would be given it twice).
            self._waiting = [waiting for waiting in self._waiting if waiting[1] is not future]
            raise

    def close(self) -> None:
        """Stop the jobs in flight (their feeds were cancelled or the poll is over)."""
        for job in self._jobs:
            job.cancel()

    def _dispatch(self) -> None:
        while self._waiting and len(self._jobs) < self.limit:
            size, count = 0, 0
            while count < len(self._waiting) and count < BATCH_FEEDS and (count == 0 or size < BATCH_BYTES):
                size += len(self._waiting[count][0][3])
                count += 1
            batch, self._waiting = self._waiting[:count], self._waiting[count:]
            for body, _, keep in batch:
                if keep is not None:
                    keep(len(body[3]))
            job = asyncio.ensure_future(self._parse(batch))
            self._jobs.add(job)
            job.add_done_callback(self._finished)

    def _finished(self, job: asyncio.Task[None]) -> None:
        self._jobs.discard(job)
        self._dispatch()

    async def _parse(self, batch: list[tuple[FeedBody, asyncio.Future[ParsedBody], Keep | None]]) -> None:
        bodies = [body for body, _, _ in batch]
        results: list[ParsedBody | BaseException]
        try:
            if len(bodies) == 1:
                results = [await self.pool.run(self.parse_body, *bodies[0])]
            else:
                results = list(await self.pool.run(each_parsed, self.parse_body, bodies))
        except Exception as exc:  # noqa: BLE001 - the feed's failure; for a job of several, each body alone
            if len(bodies) == 1:
                results = [exc]
            else:
                runs = (self.pool.run(self.parse_body, *body) for body in bodies)
                results = await asyncio.gather(*runs, return_exceptions=True)
        for (_, future, _), result in zip(batch, results, strict=True):
            if future.done():  # its feed was cancelled
                continue
            if isinstance(result, asyncio.CancelledError):
                future.cancel()
            elif isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)


def poll_parser(config: Config, pool: Workers | None) -> BodyParser | None:
    """The poll's parser in `pool`, its bodies held to the run's body budget (`budget.body_budget`, as a cycle's
    pages are: a poll and a cycle's page fetching never run at once). None without a pool: a body is parsed
    in the event loop as soon as it arrives, and none waits."""
    if pool is None:
        return None
    return BodyParser(pool, budget=ByteBudget(body_budget(config.fetch)), body_bytes=config.fetch.max_bytes)


@contextmanager
def store_failures(action: str) -> Iterator[None]:
    """The store failing while polling (locked, unreachable, full) is the store's failure, never the feed's:
    a StoreError that stops the batch. A refusal of this feed's data is left to be recorded as the feed's."""
    try:
        yield
    except StoreError:
        raise
    except unavailable_errors() as exc:
        raise StoreError(f"{action}: {type(exc).__name__}: {exc}") from exc


async def read_feed(
    feed: FeedConfig, state: FeedState, client: WebClient, report: PollReport, parser: BodyParser | None
) -> NewEntries | None:
    """Fetch and parse one feed; the entries it carries (None when unchanged). Updates `state`'s validators.

    With a parser, its body holds room in the parser's byte budget from before the download until it is
    parsed (`BodyParser.room`)."""
    if parser is None:
        return await _read_feed(feed, state, client, report, None, None)
    async with parser.room() as keep:
        return await _read_feed(feed, state, client, report, parser, keep)


async def _read_feed(
    feed: FeedConfig,
    state: FeedState,
    client: WebClient,
    report: PollReport,
    parser: BodyParser | None,
    keep: Keep | None,
) -> NewEntries | None:
    headers = {"Accept": FEED_ACCEPT}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    response = await client.get(feed.url, headers)
    if response.status == 304:
        report.not_modified = 1
        return None
    entries: NewEntries | None = None
    body_hash = hashlib.sha256(response.body).hexdigest()
    if body_hash == state.body_hash:
        report.unchanged = 1
    else:
        body = (feed.url, feed.name, response.url, response.body, dict(response.headers))
        if parser is None:
            entries, skipped = new_entries_from_body(*body)
        else:  # parsing is CPU work: the event loop goes on with other feeds meanwhile
            entries, skipped = await parser.parse(body, keep)
        if skipped:
            report.errors.append(StageError(feed.url, "poll", skipped))
    state.body_hash = body_hash
    state.etag = response.headers.get("etag")
    state.last_modified = response.headers.get("last-modified")
    return entries


async def poll_feed(
    feed: FeedConfig, config: Config, store: Store, client: WebClient, now: datetime, pool: Workers | None = None
) -> PollReport:
    """Poll one feed and save its state. A failure of the feed is recorded against it and backs it off; a
    failure of the store raises StoreError and leaves the feed's state as it was."""
    with store_failures("reading the feed's state"):
        state = store.get_feed(feed.url) or first_state(feed)
    report = PollReport()
    parser = poll_parser(config, pool)
    _save([await read_state(feed, state, config, client, now, parser)], report, config, store, now)
    return report


def first_state(feed: FeedConfig) -> FeedState:
    """The state of a feed never polled before."""
    return FeedState(url=feed.url, name=feed.label)


@dataclass
class FeedRead:
    """One feed fetched and parsed, its entries not yet stored: feeds are stored several at a time."""

    feed: FeedConfig
    state: FeedState
    report: PollReport
    entries: NewEntries | None
    validators: tuple[str | None, str | None, str | None]  # the state's before this poll


async def read_state(
    feed: FeedConfig, state: FeedState, config: Config, client: WebClient, now: datetime, parser: BodyParser | None
) -> FeedRead:
    """Fetch and parse one feed; a failure is recorded against the feed now, its entries are stored later."""
    read = FeedRead(feed, state, PollReport(polled=1), None, (state.etag, state.last_modified, state.body_hash))
    state.name = feed.label
    state.last_polled = now
    try:
        read.entries = await read_feed(feed, state, client, read.report, parser)
    except Exception as exc:  # noqa: BLE001 - one feed's failure, whatever it is, must not end the cycle
        record_failure(read, exc, config, now)
    return read


def record_failure(read: FeedRead, exc: Exception, config: Config, now: datetime) -> None:
    """Back the feed off with its reason. Its validators go back to what they were, so entries the store
    refused are read again next time rather than skipped as an unchanged body."""
    known = isinstance(exc, FetchError | FeedParseError | WorkerDiedError)
    reason = str(exc) if known else f"unexpected {type(exc).__name__}: {exc}"
    retry_after = exc.retry_after if isinstance(exc, FetchError) else None
    state = read.state
    state.etag, state.last_modified, state.body_hash = read.validators
    state.failures += 1
    state.last_error = reason
    state.next_poll = now + backoff_delay(state.failures, read.feed.interval, config.fetch.max_backoff, retry_after)
    read.report.failed = 1
    read.entries = None
    read.report.errors.append(StageError(read.feed.url, "poll", reason))


def store_reads(reads: list[FeedRead], config: Config, store: Store, now: datetime) -> None:
    """Store the entries of several feeds in one `add_new_entries` (one transaction in SQLite) and bring their
    states up to date; saving the states is the caller's.

    A transaction per feed was a third of the main process's time in a poll of changed feeds. When the
    store refuses the batch's data (not a failure of the store itself, which raises StoreError), each feed
    is stored alone, so the refusal is recorded against the feed that caused it."""
    pending = [read for read in reads if not read.report.failed]
    parsed = [(read, read.entries) for read in pending if read.entries is not None]
    try:
        with store_failures("storing new entries"):
            added = store.add_new_entries([entries for _, entries in parsed]) if parsed else []
    except StoreError:
        raise
    except Exception as exc:  # noqa: BLE001 - the store refused some feed's data; find whose
        if len(pending) == 1:
            record_failure(pending[0], exc, config, now)
            return
        for read in pending:
            store_reads([read], config, store, now)
        return
    for (read, _), new in zip(parsed, added, strict=True):
        read.report.entries_new = new
        read.entries = None
    for read in pending:
        state = read.state
        state.entries_seen += read.report.entries_new
        state.failures = 0
        state.last_error = None
        state.last_success = now
        state.next_poll = now + read.feed.interval


# Feeds are stored this many at a time: their entries in one transaction, then their states in another (a
# transaction per feed was a third of the main process's time in a poll of 2,000 feeds answering 304, and of
# a poll of changed feeds). A run killed mid-poll loses at most these: the feeds are polled again next run
# with their old validators, and entries already stored are not new the second time.
SAVE_EVERY = 64


def _save(reads: list[FeedRead], total: PollReport, config: Config, store: Store, now: datetime) -> None:
    store_reads(reads, config, store, now)
    with store_failures("saving the feeds' state"):
        store.save_feeds([read.state for read in reads])
    for read in reads:
        total.add(read.report)


async def poll_feeds(
    config: Config,
    store: Store,
    client: WebClient,
    now: datetime,
    feeds: list[FeedConfig],
    progress: Progress | None = None,
    pool: Workers | None = None,
) -> PollReport:
    """Poll concurrently; entries and feed states are stored SAVE_EVERY feeds at a time, each feed's entries
    before its state. A store failure stops the poll and leaves the feeds not yet saved as they were.

    Each save runs in a thread, one at a time and in the order the feeds finished, while the event loop goes on
    with the downloads: a save held the loop for tens of ms of SQLite's work, and a WAL checkpoint (its writes
    and fsyncs) for longer, with every download in flight stopped meanwhile. A failed save's StoreError is
    raised when the next one is due or at the end. `progress` counts the feeds stored, as each save ends.

    The report counts the new entries (`entries_new`) and holds none of them: they are in the store."""
    total = PollReport()
    with store_failures("reading the feeds' state"):
        known = store.get_feeds(feed.url for feed in feeds)
    parser = poll_parser(config, pool)
    tasks = [
        asyncio.ensure_future(read_state(feed, known.get(feed.url) or first_state(feed), config, client, now, parser))
        for feed in feeds
    ]
    unsaved: list[FeedRead] = []
    saving: asyncio.Future[None] | None = None
    stored = 0  # feeds stored once `saving` ends, reported to `progress` then

    async def saved() -> None:
        if saving is not None:
            await asyncio.shield(saving)
            if progress:
                progress("poll", stored, len(feeds))

    try:
        for done, finished in enumerate(asyncio.as_completed(tasks), start=1):
            unsaved.append(await finished)
            if len(unsaved) >= SAVE_EVERY or done == len(tasks):
                await saved()
                saving = asyncio.ensure_future(asyncio.to_thread(_save, unsaved, total, config, store, now))
                stored, unsaved = done, []
        await saved()
    finally:
        # A StoreError (or Ctrl-C) stops the batch: feeds still in flight are cancelled, not left running, and a
        # save under way goes to its end (a thread cannot be stopped) before the poll returns.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if saving is not None:
            if not saving.done():
                await asyncio.wait([saving])
            if not saving.cancelled():
                # Retrieved here when another exception ends the poll first (that one is raised): a failed save
                # never awaited would be logged by asyncio as "exception was never retrieved".
                saving.exception()
        if parser is not None:
            parser.close()
    return total
