"""Cycle speed and memory on real feeds and pages, served from a loopback server in its own process.

Run:  .venv/bin/python -m bench.bench_cycle [--feeds 2000] [--pages 543] [--runs 3] [--profile]
      .venv/bin/python -m bench.bench_cycle --only polling --runs 1 [--known]    # 304s and changed feeds
      .venv/bin/python -m bench.bench_cycle --only cycle --pages 2000 --runs 1   # dedupe/statements per batch
      .venv/bin/python -m bench.bench_cycle --only memory [--memory-sizes 543 1000 2000]  # peak memory by size
      .venv/bin/python -m bench.bench_cycle --only instructions --pages 543     # the main process, under callgrind

Figures, each the median of `--runs` runs (min–max beside it):

1. A cycle over N feeds that all answer 304 (the steady state of a poller).
2. N feeds whose bodies all changed: feeds/s through fetch + parse + new entries.
   The bodies are the 20 real news feeds of ../shared/data/feeds/real,
   replicated under N paths with their item links rewritten to be unique.
   With `--known`, also N changed feeds whose entries are all stored already
   (polled once, then every body changed by a byte), as a real feed's mostly are.
3. The whole cycle (poll + fetch + extract + index + enrich + dedupe + statements)
   over the 181 real article pages of the extraction benchmark, replicated to
   `--pages`, against `trafilatura.extract` with its defaults alone in a pool of
   two processes over the same pages, the two timed in turn within one run so
   that the ratio holds on a loaded machine. The same cycle reports dedupe and
   statements per article for its first and its last batch.
4. Peak memory of the cycle's processes (main and pool: RSS summed, which
   counts the pages the workers share with their forkserver once per process,
   and PSS summed, which counts them once; sampled every 20 ms; the loopback
   server is not counted) at 543 and 2,000 pages, and (`--only heavy`) over
   `--heavy-pages` real pages padded to 9.5 MB each, under the default 1 GB
   `fetch.memory_ceiling`. Each cycle runs in a fresh process, as a product
   cycle does, the sizes taking turns run by run.
5. (`--only instructions`) The main process's instructions in one whole cycle over `--pages` pages, a page and
   by step, counted by callgrind (valgrind) while the server and the workers run outside it (`report_instructions`):
   CPU time a page scatters by as much as the differences between two codes; a count does not. About 7 minutes of
   one core at 543 pages on a quiet host; the statements, originals and reports it stored are printed beside it.

Everything polls with the product's defaults (`fetch.concurrency` 16) except
the per-host limit: the server answers on 127.0.0.1, one host, so the per-host
limit is raised to the global one (the figure is for many feeds across many
hosts, not for hammering one). The server runs in a child process, so its work
does not share the GIL with the pipeline's. The pages' entries are keyed by their
path, not by the server's port (`port_free_ids`), so that two runs of the same code
make the same batches and the same originals.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import functools
import gzip
import hashlib
import io
import itertools
import json
import multiprocessing
import os
import pstats
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from pipeline import cycle, feeds, poll
from pipeline.config import Config, config_from_dict
from pipeline.demo.server import StaticRoute, serve
from pipeline.poll import poll_feeds
from pipeline.records import FeedState, utcnow
from pipeline.store.sqlite import SQLiteStore
from pipeline.urls import canonical_id
from pipeline.web import WebClient
from pipeline.workers import FEEDS, worker_pool

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_FEEDS = DATA / "feeds" / "real"
PAGES = DATA / "extraction" / "article_extraction_benchmark" / "html"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
HEAVY_BYTES = 9_500_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_LINK = re.compile(rb"(<link[^>]*>\s*|<guid[^>]*>\s*|\"url\":\s*\")(https?://)")


def real_feed_bodies() -> list[tuple[str, bytes]]:
    bodies = []
    for path in sorted(REAL_FEEDS.iterdir()):
        content_type = "application/feed+json" if path.suffix == ".json" else "application/rss+xml"
        if "iso8859" in path.name:  # the charset its server declared; the file has no XML declaration
            content_type += "; charset=iso-8859-1"
        bodies.append((content_type, path.read_bytes()))
    return bodies


def page_bodies() -> list[bytes]:
    return [gzip.decompress(path.read_bytes()) for path in sorted(PAGES.glob("*.html.gz"))]


def feed_routes(count: int, variant: str, touched: bool = False) -> dict[str, StaticRoute]:
    """`count` feeds; item links rewritten per feed and variant so every body and entry is new. `touched`: each body
    ends with one more newline, so it hashes anew (and its ETag changes) while every item stays the same."""
    bodies = real_feed_bodies()
    routes = {}
    for number in range(count):
        content_type, body = bodies[number % len(bodies)]
        body = _LINK.sub(rb"\g<1>\g<2>" + f"{variant}{number}.".encode(), body)
        routes[f"/feeds/{number}.xml"] = StaticRoute(body + b"\n" if touched else body, content_type)
    return routes


def heavy_bodies() -> list[bytes]:
    """Real pages padded to about 9.5 MB with a script, as heavy pages are (inline data, not text)."""
    bodies = []
    for body in page_bodies()[:20]:
        end = body.lower().rfind(b"</body>")
        padding = b'<script>var data = "' + b"abcdefghij" * ((HEAVY_BYTES - len(body)) // 10) + b'";</script>'
        bodies.append(body[:end] + padding + body[end:])
    return bodies


def page_routes(count: int, kind: str = "pages") -> dict[str, StaticRoute]:
    pages = heavy_bodies() if kind == "heavy" else page_bodies()
    routes = {f"/pages/{n}.html": StaticRoute(pages[n % len(pages)]) for n in range(count)}
    items = "".join(
        f"<item><title>Page {n}</title><link>http://127.0.0.1:PORT/pages/{n}.html</link><guid>p{n}</guid></item>"
        for n in range(count)
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Pages</title>{items}</channel></rss>'
    routes["/feeds/pages.xml"] = StaticRoute(feed.encode(), "application/rss+xml")
    return routes


def _serve_child(kind: str, count: int, variant: str, port_queue: Any, stop: Any, touch: Any) -> None:
    routes = feed_routes(count, variant) if kind == "feeds" else page_routes(count, kind)
    with serve({}) as server:
        if kind != "feeds":
            feed = routes["/feeds/pages.xml"]
            routes["/feeds/pages.xml"] = StaticRoute(
                feed.body.replace(b"127.0.0.1:PORT", server.base_url.removeprefix("http://").encode()),
                feed.content_type,
            )
        server.routes.update(routes)
        port_queue.put(server.base_url)
        while not stop.wait(0.05):
            if touch.is_set() and kind == "feeds":  # `ChildServer.touch`: the same feeds, every body changed
                server.routes.update(feed_routes(count, variant, touched=True))
                touch.clear()
                port_queue.put("touched")


# The origin the bench's pages are keyed under (`port_free_ids`): a name that is never served (RFC 2606's .invalid).
PAGES_ORIGIN = "http://pages.bench.invalid"


@contextlib.contextmanager
def port_free_ids(base_url: str) -> Iterator[None]:
    """Entries (and so articles) of the loopback server's pages keyed by their path, not by their whole URL.

    An entry's id hashes its canonical URL, which holds the server's port, new each run. The copies of one page
    tie on their times, and dedup and statements break a tie by id: so which copy was a story's original, and which
    pages made up each batch (entries are taken in id order), changed from run to run of the same code. Hashed as
    `PAGES_ORIGIN` + path, the ids are the same every run. The URLs stay as they are (the pages are fetched from
    the server), and any other URL is keyed as the product keys it. The patch reaches the feed parser in this
    process only: the cycle bench polls one feed, which is parsed here (a feed pool starts from `POOL_THRESHOLD`
    feeds); `time_whole_cycle` checks that the stored ids are the path-based ones."""
    prefix = base_url + "/"

    def keyed(canonical: str) -> str:
        return canonical_id(
            PAGES_ORIGIN + canonical.removeprefix(base_url) if canonical.startswith(prefix) else canonical
        )

    with mock.patch.object(feeds, "canonical_id", keyed):
        yield


def page_id(number: int) -> str:
    """The id `port_free_ids` gives the bench's page `number`."""
    return canonical_id(f"{PAGES_ORIGIN}/pages/{number}.html")


class ChildServer:
    def __init__(self, kind: str, count: int, variant: str = "v") -> None:
        context = multiprocessing.get_context("spawn")
        self.queue = context.Queue()
        self.stop = context.Event()
        self.touched = context.Event()
        self.process = context.Process(
            target=_serve_child, args=(kind, count, variant, self.queue, self.stop, self.touched)
        )
        self.process.start()
        self.base_url: str = self.queue.get(timeout=120)

    def touch(self) -> None:
        """Serve every feed's body with one more newline from now on (`feed_routes`' `touched`)."""
        self.touched.set()
        assert self.queue.get(timeout=120) == "touched"

    def close(self) -> None:
        self.stop.set()
        self.process.join(timeout=10)


def bench_config(directory: Path, feed_urls: list[str], concurrency: int = 16, timeout: str = "60s") -> Config:
    fetch = {"allow_networks": ["127.0.0.0/8"], "concurrency": concurrency, "per_host": concurrency, "timeout": timeout}
    return config_from_dict(
        {
            "store": {"path": str(directory / "bench.db")},
            "feeds": [{"url": url, "interval": "5m"} for url in feed_urls],
            "fetch": fetch,
        }
    )


def time_304_cycle(feeds: int) -> float:
    server = ChildServer("feeds", feeds)
    try:
        urls = [f"{server.base_url}/feeds/{n}.xml" for n in range(feeds)]
        routes = feed_routes(feeds, "v")
        with tempfile.TemporaryDirectory() as directory:
            config = bench_config(Path(directory), urls)
            with SQLiteStore(config.store.path) as store:
                for number, url in enumerate(urls):
                    store.save_feed(FeedState(url=url, name=url, etag=routes[f"/feeds/{number}.xml"].etag_value))
                started = time.perf_counter()
                report = cycle.run_cycle(config, store, force=True)
                elapsed = time.perf_counter() - started
                assert report.feeds_failed == 0 and report.entries_new == 0, report.errors[:3]
        return elapsed
    finally:
        server.close()


def time_changed_feeds(feeds: int, variant: str, concurrency: int, known: bool = False) -> ChangedPoll:
    """Poll stage alone, as `run_cycle` runs it (parsing in the worker pool, new entries counted and not kept in
    the report, since a cycle reads them back from the store): every body is new, so all are parsed.

    `known`: the timed poll is the second. The first stores every entry; then every body changes by a byte (a new
    hash and ETag, the same items), so the timed poll parses every body and finds every entry already stored, as a
    real feed's entries mostly are.

    The main process's CPU seconds (all its threads) are measured beside the seconds. What limits the rate is the
    two cores' CPU, shared by the main process, the two workers' parsing and the loopback server: on a quiet host
    (27 November 21:42, the starting code) 0.9-1.0, 1.4-1.5 and 0.25 ms a feed. Until issue 16p the rate was
    410-460 feeds/s with the cores barely more than half used: the demo server's answers waited for the client's
    delayed ACKs (`demo.server`'s handler now has Nagle's algorithm off, and hashes a route's ETag once)."""
    server = ChildServer("feeds", feeds, variant)
    try:
        urls = [f"{server.base_url}/feeds/{n}.xml" for n in range(feeds)]
        with tempfile.TemporaryDirectory() as directory:
            config = bench_config(Path(directory), urls, concurrency)
            with SQLiteStore(config.store.path) as store:

                async def poll() -> int:
                    pool = worker_pool(feeds, FEEDS)
                    try:
                        async with WebClient(config.fetch) as client:
                            result = await poll_feeds(config, store, client, utcnow(), list(config.feeds), pool=pool)
                    finally:
                        if pool:
                            pool.shutdown()
                    assert result.failed == 0 and result.unchanged == 0, result.errors[:3]
                    return result.entries_new

                if known:
                    asyncio.run(poll())
                    server.touch()
                started, cpu = time.perf_counter(), time.process_time()
                entries = asyncio.run(poll())
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            return ChangedPoll(elapsed, entries, cpu, polled_outcome(Path(config.store.path), server.base_url))
    finally:
        server.close()


@dataclass
class ChangedPoll:
    """One timed poll of changed feeds: seconds, new entries, the main process's CPU seconds, what it stored."""

    seconds: float
    entries: int
    main_cpu_seconds: float
    outcome: str


def polled_outcome(database: Path, base_url: str) -> str:
    """What a poll stored, which a speed change must leave as it was: each entry (GUID, link, id, title, summary,
    date, status), each feed's claims of GUIDs, and each feed's state but its times (the moment of the poll) and
    its count of new entries. Which feed an entry is stored under, with that feed's source and count, depends on
    which feed was saved first when several carry it (the bench's Atom feeds keep their links in every copy), so
    it is left out. The feeds' URLs hold the server's port, new each run, and are written with it taken out.
    Fingerprinted row by row: the 46,656 entries of 2,000 feeds in one `repr` doubled the bench process's peak."""
    fingerprint = hashlib.sha256()
    counts = []
    with contextlib.closing(sqlite3.connect(database)) as db:
        for sql, parameters in (
            ("SELECT guid, url, id, title, summary, published, status, attempts FROM entries ORDER BY id", ()),
            (
                "SELECT replace(feed_keys.url, ?, ''), guid, entry_id FROM feed_guids JOIN feed_keys "
                "ON feed_keys.id = feed_guids.feed ORDER BY 1, 2",
                (base_url,),
            ),
            (
                "SELECT replace(url, ?, ''), name = url, etag, last_modified, body_hash, failures, last_error, "
                "last_polled = last_success FROM feeds ORDER BY 1",
                (base_url,),
            ),
        ):
            counts.append(0)
            for row in db.execute(sql, parameters):
                fingerprint.update(repr(row).encode())
                counts[-1] += 1
    entries, claims, states = counts
    return (
        f"{entries:,} entries, {claims:,} GUIDs claimed, {states:,} feeds "
        f"(entries, claims and feed states {fingerprint.hexdigest()[:12]})"
    )


@dataclass
class CycleRun:
    seconds: float
    indexed: int
    peak_bytes: int
    peak_pss: int
    cpu_seconds: float
    dedupe: list[tuple[int, float]]  # per batch: articles, seconds
    statements: list[tuple[int, float]]
    main_cpu_seconds: float = 0.0  # of `cpu_seconds`, the cycle's main process's (the sampler's own excepted)
    profile: str = ""
    rss_at_peak: tuple[int, ...] = ()  # each process's RSS at the summed peak, the main process first
    own_peaks: dict[str, list[int]] = field(default_factory=dict)  # by role: each process's own largest RSS
    batches: list[list[str]] = field(default_factory=list)  # each batch's article ids, as the statements step got them
    outcome: str = ""  # what the cycle stored (`stored_outcome`)


def _proc(path: str) -> bytes:
    """A /proc file's bytes, read with `open`, not `pathlib`: pathlib interns every part of every path it parses,
    and the sampler's paths name each thread and process of the cycle, so the interpreter's table of interned
    strings grew in the measured process (the main process's largest growth between a 2,000-page cycle's first
    and sixth batch, +1.83 MiB in one block, tracemalloc: issue 16m), a figure of the bench, not of the cycle."""
    with open(path, "rb") as file:
        return file.read()


def _children(pid: int) -> list[int]:
    """The children of every thread of `pid` (Linux's /proc/PID/task/TID/children), [] for one that has gone."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(child) for child in _proc(f"/proc/{pid}/task/{task}/children").split()]
        except OSError:
            continue
    return found


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = _proc(f"/proc/{pid}/stat").rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _process_tree(root: int, skip: int | None) -> dict[int, float]:
    """`root` and its descendants, except the process `skip` and its own (the server): CPU seconds of each.

    Walked down from `root` through its threads' children, not by reading every process of the machine: that
    cost 13 ms of CPU a sample with 127 processes on the host, in a thread of the measured process every
    20 ms, where it held the GIL the cycle's event loop needed (the trafilatura run's main process only waits,
    so the old sampler slowed the cycle alone)."""
    found: dict[int, float] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid == skip:
            continue
        seconds = _cpu_seconds(pid)
        if seconds is not None:
            found[pid] = seconds
            todo += _children(pid)
    return found


def _rss(pid: int) -> int:
    try:
        return int(_proc(f"/proc/{pid}/statm").split()[1]) * PAGE_SIZE
    except OSError:
        return 0


def _role(pid: int, main: int) -> str:
    """What a process of the cycle is: the main process, the pool's forkserver, a worker (forked by the
    forkserver), multiprocessing's resource tracker, or another child. A forkserver seen between its fork and its
    exec still has the main process's command line and reads "other"; `PeakMemory` asks again until it reads
    otherwise, where it once kept that first answer and filed the forkserver's own peak under "other"."""
    try:
        parent = int(_proc(f"/proc/{pid}/stat").rsplit(b")", 1)[1].split()[1])
        command = _proc(f"/proc/{pid}/cmdline")
    except OSError:
        return "gone"
    if pid == main:
        return "main"
    if b"resource_tracker" in command:
        return "tracker"
    if b"forkserver" in command:
        return "forkserver" if parent == main else "worker"
    return "other"


def _pss(pid: int) -> int:
    """PSS shares each page among the processes mapping it (the workers share what the forkserver loaded); 0 for a
    process that has gone."""
    try:
        rollup = _proc(f"/proc/{pid}/smaps_rollup")
    except OSError:
        return 0
    return next((int(line.split()[1]) * 1024 for line in rollup.splitlines() if line.startswith(b"Pss:")), 0)


class PeakMemory:
    """The largest summed RSS and PSS of this process and its workers, and the CPU seconds they spent meanwhile
    (the sampler's own excepted): on a loaded machine CPU per page is the figure that does not depend on what
    else runs.

    RSS (one small read a process) is sampled every 20 ms; PSS, whose read makes the kernel walk every page
    of the process (4-5 ms of CPU for a 200 MiB one, on the cores the cycle needs), is read when the summed RSS
    reaches a new peak and otherwise every 200 ms. `at_peak` is each process's RSS at the RSS peak, the main
    process first; `own_peaks` each process's own largest RSS, whenever it was reached, by role (`_role`): a
    process's growth shows there even when the summed peak fell at a moment it was small.

    That sampling is for the memory figures. Where the figure is time (`--only cycle`), `pss=False` and a
    100 ms `interval` keep the sampler out of the way: at 20 ms with PSS it took 10 s of CPU in a 56 s
    543-page cycle (the cycle's summed RSS reaches a new peak at most samples, so PSS was read nearly every
    20 ms, 22 ms of kernel time a read for the five processes), against 5.3 s for the cycle's own main process,
    on the two cores the cycle needs. Its CPU was never counted in the figures, but it slowed the cycle's wall
    time far more than trafilatura's (a shorter run, fewer and smaller processes)."""

    def __init__(self, skip: int | None, pss: bool = True, interval: float = 0.02) -> None:
        self.skip, self.peak, self.peak_pss = skip, 0, 0
        self.pss, self.interval = pss, interval
        self.at_peak: list[int] = []
        self._own: dict[int, int] = {}
        self._roles: dict[int, str] = {}
        self._start = _process_tree(os.getpid(), skip)
        self._last: dict[int, float] = dict(self._start)
        self._sampling = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        count = 0
        while not self._stop.wait(self.interval):
            tree = _process_tree(os.getpid(), self.skip)
            self._last.update(tree)
            sizes = [_rss(pid) for pid in tree]
            for pid, size in zip(tree, sizes, strict=True):
                self._own[pid] = max(self._own.get(pid, 0), size)
                if self._roles.get(pid, "other") == "other":  # read again until the process has exec'd (`_role`)
                    self._roles[pid] = _role(pid, os.getpid())
            count += 1
            if sum(sizes) > self.peak:
                self.peak, self.at_peak = sum(sizes), sizes
            if self.pss and (sum(sizes) >= self.peak or count % 10 == 0):
                self.peak_pss = max(self.peak_pss, sum(_pss(pid) for pid in tree))
            self._sampling = time.thread_time()

    @property
    def own_peaks(self) -> dict[str, list[int]]:
        by_role: dict[str, list[int]] = {}
        for pid, size in self._own.items():
            by_role.setdefault(self._roles.get(pid, "gone"), []).append(size)
        return by_role

    @property
    def cpu_seconds(self) -> float:
        spent = sum(seconds - self._start.get(pid, 0.0) for pid, seconds in self._last.items())
        return spent - self._sampling

    @property
    def main_cpu_seconds(self) -> float:
        """This process's share of `cpu_seconds`: where the cycle stores, dedupes and groups its batches and runs
        its event loop, apart from the workers' extraction and analysis."""
        me = os.getpid()
        return self._last.get(me, 0.0) - self._start.get(me, 0.0) - self._sampling

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._last.update(_process_tree(os.getpid(), self.skip))


def _timed(
    record: list[tuple[int, float]], stage: Callable[..., Any], batches: list[list[str]] | None = None
) -> Callable[..., Any]:
    """The stage, timed by the CPU of the thread that runs it (the cycle's processing thread); its last argument is
    the batch (its articles or their ids), which `batches` keeps when given. Wall time counted the waits for the
    GIL, which the event loop and the store's thread hold in turn, and on a loaded host those moved a small batch's
    figure by half."""

    def run(*args: Any) -> Any:
        started = time.thread_time()
        result = stage(*args)
        record.append((len(args[-1]), time.thread_time() - started))
        if batches is not None:
            batches.append(list(args[-1]))
        return result

    return run


def stored_outcome(database: Path) -> str:
    """What a cycle decided, which a speed change must leave as it was: its statements, its originals (articles that
    copy no earlier one), its statements' reports, and a digest of the clusters and of the reports.

    Articles are named by id, which `port_free_ids` keys by the page's path, so two runs of one code read the same."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        statements = db.execute("SELECT count(*) FROM statements").fetchone()[0]
        originals = db.execute("SELECT count(*) FROM articles WHERE duplicate_of IS NULL").fetchone()[0]
        clusters = db.execute("SELECT id, cluster_id, duplicate_of FROM articles ORDER BY id").fetchall()
        reports = db.execute(
            "SELECT statement_id, article_id, wording FROM statement_reports ORDER BY 1, 2, 3"
        ).fetchall()
    return (
        f"{statements} statements, {originals} originals, {len(reports):,} reports "
        f"(clusters and reports {digest((clusters, reports))})"
    )


def digest(rows: Any) -> str:
    """A short fingerprint of what a run stored, to tell two runs' outcomes apart at a glance."""
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:12]


# How the cycle's timed runs, and trafilatura's beside them, sample their processes: RSS only, every 100 ms (see
# `PeakMemory`); the memory figures keep the defaults.
TIMING_INTERVAL = 0.1


def time_whole_cycle(
    pages: int, profile: bool = False, kind: str = "pages", timing: bool = False, keep: Path | None = None
) -> CycleRun:
    """One cycle over `pages` pages; `timing` samples memory as lightly as the time figures need (no PSS); `keep`
    is where a copy of the cycle's database is written at its end (`bench.bench_flatness` replays it)."""
    server = ChildServer(kind, pages)
    dedupe: list[tuple[int, float]] = []
    statements: list[tuple[int, float]] = []
    batches: list[list[str]] = []
    stages = cycle.dedupe_articles, cycle.group_statements
    cycle.dedupe_articles = _timed(dedupe, stages[0])
    cycle.group_statements = _timed(statements, stages[1], batches)
    try:
        with tempfile.TemporaryDirectory() as directory:
            config = bench_config(Path(directory), [f"{server.base_url}/feeds/pages.xml"])
            with (
                SQLiteStore(config.store.path) as store,
                port_free_ids(server.base_url),
                PeakMemory(server.process.pid, pss=not timing, interval=TIMING_INTERVAL if timing else 0.02) as memory,
            ):
                profiler = cProfile.Profile() if profile else None
                started = time.perf_counter()
                if profiler:
                    profiler.enable()
                report = cycle.run_cycle(config, store)
                if profiler:
                    profiler.disable()
                elapsed = time.perf_counter() - started
            with SQLiteStore(config.store.path) as store:
                assert store.get_entries([page_id(0)]), "the pages' entries are not keyed by path (port_free_ids)"
            outcome = stored_outcome(Path(config.store.path))
            if keep is not None:
                with contextlib.closing(sqlite3.connect(config.store.path)) as db:
                    db.execute("VACUUM INTO ?", (str(keep),))
        text = ""
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
            text = out.getvalue()
        return CycleRun(
            elapsed,
            report.articles_indexed,
            memory.peak,
            memory.peak_pss,
            memory.cpu_seconds,
            dedupe,
            statements,
            memory.main_cpu_seconds,
            text,
            tuple(memory.at_peak),
            memory.own_peaks,
            batches,
            outcome,
        )
    finally:
        cycle.dedupe_articles, cycle.group_statements = stages
        server.close()


def page_htmls(pages: int) -> list[str]:
    # Imported here, as `time_trafilatura_two_processes` imports trafilatura: a cycle's main process does not load
    # the extractor (its workers do), so the bench's own process must not either, or its memory figure counts it.
    from pipeline.extract import decode_html

    bodies = page_bodies()
    return [decode_html(bodies[n % len(bodies)], "text/html") for n in range(pages)]


def trafilatura_as_shipped() -> None:
    """Undo our patches of trafilatura (`trafilatura_patches.as_shipped`) in a yardstick worker that has them.

    The yardstick's workers come from multiprocessing's own forkserver, which preloads this bench's main module;
    the cycle's pools have forkservers of their own (`workers.PAGES`), so today nothing there imports our
    extractor, and there is nothing to undo. Should a later change preload it, the yardstick stays trafilatura as
    it ships; a worker without the patches is not made to import them only to undo them."""
    patches = sys.modules.get("pipeline.trafilatura_patches")
    if patches is not None:
        patches.as_shipped()


def time_trafilatura_two_processes(htmls: list[str]) -> tuple[float, float]:
    """Pages/s of `trafilatura.extract` with its defaults in a warm pool of two processes, and CPU seconds per page."""
    import trafilatura

    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=2, mp_context=context, initializer=trafilatura_as_shipped) as pool:
        list(pool.map(trafilatura.extract, htmls[:8], chunksize=1))  # both workers up and warm
        with PeakMemory(None, pss=False, interval=TIMING_INTERVAL) as usage:
            started = time.perf_counter()
            list(pool.map(trafilatura.extract, htmls, chunksize=4))
            elapsed = time.perf_counter() - started
    return len(htmls) / elapsed, usage.cpu_seconds / len(htmls)


def spread(values: list[float], digits: int = 1) -> str:
    """Median with min–max, as every figure is quoted."""
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def per_article_us(batches: list[tuple[int, float]]) -> list[float]:
    return [seconds / count * 1e6 for count, seconds in batches if count]


# How many articles the "last batch" figure is taken over at least: a cycle's tail comes in shrinking batches (the
# last of a 543-page cycle holds 17 articles), and one of 17 timed alone is noise, not a trend.
TAIL_ARTICLES = 100


def tail_per_article_us(batches: list[tuple[int, float]]) -> float:
    """Per article over the cycle's last batches taken together, from the end, until they hold `TAIL_ARTICLES`."""
    count, seconds = 0, 0.0
    for articles, spent in reversed(batches):
        count, seconds = count + articles, seconds + spent
        if count >= TAIL_ARTICLES:
            break
    return seconds / count * 1e6 if count else 0.0


def report_polling(feeds: int, runs: range, known: bool = False) -> None:
    not_modified = [time_304_cycle(feeds) for _ in runs]
    print(f"{feeds} feeds answering 304: cycle {spread(not_modified, 2)} s")
    changed = [time_changed_feeds(feeds, f"r{run}-", 16) for run in runs]
    print_changed(f"{feeds} changed feeds, 16 connections", feeds, changed)
    if known:
        known_runs = [time_changed_feeds(feeds, "k-", 16, known=True) for _ in runs]
        print_changed(f"{feeds} changed feeds, every entry known", feeds, known_runs)


def print_changed(what: str, feeds: int, changed: list[ChangedPoll]) -> None:
    rates = [feeds / run.seconds for run in changed]
    main_ms = [run.main_cpu_seconds / feeds * 1000 for run in changed]
    print(
        f"{what}: {spread(rates, 0)} feeds/s, {changed[0].entries:,} new entries, "
        f"main process {spread(main_ms, 2)} ms of CPU a feed"
    )
    for run in changed:
        print(f"  stored: {run.outcome}")


def report_cycle(pages: int, runs: range, profile: bool) -> None:
    """The cycle and trafilatura alone in two processes, in turn, so each ratio comes from one moment.

    The decoded pages trafilatura is given are built after each cycle and dropped before the next, so the
    cycle's peak memory does not count them (at 2,000 pages they added hundreds of MiB to the main process)."""
    cycles: list[CycleRun] = []
    rates: list[float] = []
    floors: list[float] = []
    floor_cpu: list[float] = []
    for _ in runs:
        cycles.append(time_whole_cycle(pages, timing=True))
        rates.append(cycles[-1].indexed / cycles[-1].seconds)
        rate, cpu = time_trafilatura_two_processes(page_htmls(pages))
        floors.append(rate)
        floor_cpu.append(cpu)
    ratios = [rate / floor for rate, floor in zip(rates, floors, strict=True)]
    cycle_cpu = [run.cpu_seconds / run.indexed for run in cycles]
    main_cpu = [run.main_cpu_seconds / run.indexed * 1e3 for run in cycles]
    print(f"whole cycle over {pages} real pages: {spread(rates)} pages/s (indexed {cycles[0].indexed})")
    print(f"trafilatura.extract (defaults) alone, two processes, same pages: {spread(floors)} pages/s")
    print(f"  cycle / trafilatura-in-two-processes, round by round: {spread(ratios, 2)}")
    print(
        f"  CPU per page: cycle {spread([c * 1e3 for c in cycle_cpu], 1)} ms (main + pool), trafilatura "
        f"{spread([c * 1e3 for c in floor_cpu], 1)} ms; trafilatura/cycle "
        f"{spread([f / c for f, c in zip(floor_cpu, cycle_cpu, strict=True)], 2)}"
    )
    print(f"  of it the main process (event loop, storing, dedupe, statements): {spread(main_cpu, 1)} ms a page")
    outcomes = sorted({run.outcome for run in cycles})
    print(f"  stored: {' | '.join(outcomes)}" + ("" if len(outcomes) == 1 else " (the runs differ)"))
    for name, batches in (
        ("dedupe", [run.dedupe for run in cycles]),
        ("statements", [run.statements for run in cycles]),
    ):
        first = [per_article_us(batch)[0] for batch in batches]
        last = [tail_per_article_us(batch) for batch in batches]
        growth = [b / a for a, b in zip(first, last, strict=True)]
        print(
            f"  {name} per article (CPU), first batch {spread(first, 0)} us, last {TAIL_ARTICLES}+ articles "
            f"{spread(last, 0)} us ({len(batches[0])} batches): last/first {spread(growth, 2)}"
        )
    rss = [run.peak_bytes / 2**20 for run in cycles]
    print(f"  peak memory, main + pool: RSS summed {spread(rss, 0)} MiB, sampled every 100 ms (--only memory for PSS)")
    if profile:
        print(time_whole_cycle(pages, profile=True).profile)


def report_memory(runs: range, kind: str = "pages", sizes: tuple[int, ...] = (543, 2000)) -> None:
    """Each cycle in a fresh process of its own (`fresh_cycle`), the sizes interleaved run by run, as a product
    cycle runs (an Airflow task, `make run`). Run one after another in the bench's own process, the 2,000-page cycle
    started from what the 543-page one had left in it (the C heap, its raised mmap threshold, pymalloc's arenas)."""
    measured: dict[int, list[CycleRun]] = {pages: [] for pages in sizes}
    for _ in runs:
        for pages in sizes:
            measured[pages].append(fresh_cycle(pages, kind))
    for pages, cycles in measured.items():
        rss = [run.peak_bytes / 2**20 for run in cycles]
        pss = [run.peak_pss / 2**20 for run in cycles]
        mains = [max(run.own_peaks.get("main", [0])) / 2**20 for run in cycles]
        label = f"{pages} pages of {HEAVY_BYTES / 1e6:.1f} MB" if kind == "heavy" else f"{pages} pages"
        print(
            f"peak memory, main + pool, whole cycle over {label}, each in a fresh process: RSS summed "
            f"{spread(rss, 0)} MiB, PSS summed {spread(pss, 0)} MiB; the main process's own peak "
            f"{spread(mains, 0)} MiB (indexed {cycles[0].indexed})"
        )
        outcomes = sorted({run.outcome for run in cycles})
        print(f"  stored: {' | '.join(outcomes)}" + ("" if len(outcomes) == 1 else " (the runs differ)"))
        for run in cycles:
            main, *others = (size / 2**20 for size in run.rss_at_peak)
            descendants = ", ".join(f"{size:.0f}" for size in others)
            print(f"  at the RSS peak: main {main:.0f} MiB, its descendants {descendants} MiB")
            own = ", ".join(
                f"{role} {' '.join(f'{size / 2**20:.0f}' for size in sizes)}" for role, sizes in run.own_peaks.items()
            )
            print(f"  each process's own peak RSS, MiB: {own}")


def fresh_cycle(pages: int, kind: str) -> CycleRun:
    """`time_whole_cycle(pages, kind=kind)` in a new interpreter (`--memory-child`), read back from the JSON line
    it prints last.

    The child holds its process to one malloc arena (`cycle.share_one_malloc_arena`) before the sampler's thread
    starts, as a cycle run alone does before any thread of its own. Started first, the sampler's thread got a
    glibc arena of its own, and the cycle's threads took turns between that arena and the main one: at the main
    process's highest moments of a 2,000-page cycle the second arena held 8 MiB, the two 31.8 MiB with 10.3 free,
    against 24.1 with 2.6 free in one (issue 16t's diagnostic cycles, one each: the main process's peak 104.7
    against 100.7 MiB). That second arena was the bench's, not the cycle's."""
    command = [sys.executable, "-m", "bench.bench_cycle", "--memory-child", kind, str(pages)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stderr[-3000:]
    return cycle_run_from_json(done.stdout.splitlines()[-1])


def cycle_run_from_json(line: str) -> CycleRun:
    """A `CycleRun` as `dataclasses.asdict` wrote it to JSON, its tuples made again from JSON's lists."""
    fields = json.loads(line)
    pairs = {name: [(int(size), float(seconds)) for size, seconds in fields[name]] for name in ("dedupe", "statements")}
    return CycleRun(**{**fields, **pairs, "rss_at_peak": tuple(fields["rss_at_peak"])})


# The main process's instructions in one whole cycle (`--only instructions`), counted by callgrind while the page
# server (a process of the outer bench) and the workers (exec'd by their forkservers, which callgrind does not follow:
# `--trace-children=no`) run at full speed outside it. Two libc calls that nothing else in a cycle's main process
# makes mark where the cycle starts and ends: callgrind writes out its counts before each (`--dump-before`) and
# starts again from zero, so the dump the second writes holds the cycle's instructions alone, of every thread of the
# process, and none of start-up's or the imports'.
START_MARK, END_MARK = "getppid", "getpgrp"
# Under callgrind the main process runs some 50 times slower while the server and workers do not: a page's deadline
# and the connect timeout (`WebClient.CONNECT_SECONDS`) are lengthened so that no request times out (a failed page
# would change the work counted).
COUNT_TIMEOUT, COUNT_CONNECT_SECONDS = "1h", 3600.0


def _in_call_tracing(work: Callable[[], Any]) -> Any:
    return sys.call_tracing(work, ())


def _kept(results: list[Any], work: Callable[[], Any], answer: bool) -> bool:
    """`work`'s result kept in `results`, and `answer` for a predicate that must let its one item through."""
    results.append(work())
    return answer


def _in_filterfalse(work: Callable[[], Any]) -> Any:
    results: list[Any] = []
    next(itertools.filterfalse(lambda _: _kept(results, work, False), [0]))
    return results[0]


def _in_takewhile(work: Callable[[], Any]) -> Any:
    results: list[Any] = []
    next(itertools.takewhile(lambda _: _kept(results, work, True), [0]))
    return results[0]


def _in_starmap(work: Callable[[], Any]) -> Any:
    return next(itertools.starmap(work, [()]))


def _in_reduce(work: Callable[[], Any]) -> Any:
    return functools.reduce(lambda _first, _second: work(), [0, 0])


# The cycle's steps the count breaks out (functions of `pipeline.cycle`), each run inside a C function of CPython that
# calls it once and that nothing else in a cycle's main process calls: callgrind's inclusive count of that function
# is the step's, whichever thread runs it and whatever the other threads do meanwhile (a Python function has no
# name of its own in callgrind's count; the interpreter's C functions do).
COUNTED_STEPS: dict[str, tuple[str, Callable[[Callable[[], Any]], Any]]] = {
    "store_pages": ("sys_call_tracing", _in_call_tracing),
    "dedupe_and_group": ("filterfalse_next", _in_filterfalse),
    "dedupe_articles": ("takewhile_next", _in_takewhile),
    "group_statements": ("starmap_next", _in_starmap),
    "release_memory": ("functools_reduce", _in_reduce),
}
# C functions whose inclusive count is a part of the main process's work. `python -m` runs the bench's module with
# `exec`, so `builtin_exec` holds everything the process's main thread does: the event loop (the poll, the HTTP
# client, asyncio, handing the pages to the workers), not the threads that store, dedupe and group, pickle or unpickle.
EVENT_LOOP = "builtin_exec"
COUNTED_CALLS = {
    "the event loop's thread": EVENT_LOOP,
    "unpickling the workers' results": "_pickle_loads",
    "pickling the workers' jobs": "_pickle_Pickler_dump",
    "SQLite (within the steps above and the poll's)": "sqlite3_step",
}
_INCLUSIVE = re.compile(r"^\s*([\d,]+) \([^)]*\)\s+\S*:(\w+)(?: |$)", re.MULTILINE)
_TRIGGER = re.compile(r"^desc: Trigger: (.*)$", re.MULTILINE)
_TOTALS = re.compile(r"^totals:\s*(\d+)", re.MULTILINE)


def _counted(name: str, step: Callable[..., Any]) -> Callable[..., Any]:
    return _run_inside(step, COUNTED_STEPS[name][1])


def _run_inside(step: Callable[..., Any], run_inside: Callable[[Callable[[], Any]], Any]) -> Callable[..., Any]:
    """`step`, each call run inside the C function of `run_inside`, which callgrind counts by name."""

    def step_inside(*args: Any) -> Any:
        return run_inside(lambda: step(*args))

    return step_inside


def count_cycle(base_url: str) -> None:
    """Run under callgrind by `report_instructions`: one whole cycle over the pages of the server at `base_url`
    between the two marks, each of `COUNTED_STEPS` inside its C function; prints what it indexed and stored (JSON)."""
    with tempfile.TemporaryDirectory() as directory, contextlib.ExitStack() as patches:
        for name in COUNTED_STEPS:
            patches.enter_context(mock.patch.object(cycle, name, _counted(name, getattr(cycle, name))))
        patches.enter_context(mock.patch.object(WebClient, "CONNECT_SECONDS", COUNT_CONNECT_SECONDS))
        config = bench_config(Path(directory), [f"{base_url}/feeds/pages.xml"], timeout=COUNT_TIMEOUT)
        with SQLiteStore(config.store.path) as store, port_free_ids(base_url):
            os.getppid()  # START_MARK
            report = cycle.run_cycle(config, store)
            os.getpgrp()  # END_MARK
        outcome = stored_outcome(Path(config.store.path))
    print(json.dumps({"indexed": report.articles_indexed, "errors": len(report.errors), "outcome": outcome}))


def cycle_dump(directory: Path) -> Path:
    """The dump written at `END_MARK`, checked to be the second of exactly two marks (a third call of either mark
    in the cycle would cut the count short)."""
    triggers = {dump: _TRIGGER.search(dump.read_text(errors="replace")) for dump in directory.glob("callgrind.*")}
    marks = sorted(str(found.group(1)) for found in triggers.values() if found and "--dump-before" in found.group(1))
    assert marks == [f"--dump-before={END_MARK}", f"--dump-before={START_MARK}"], marks
    return next(dump for dump, found in triggers.items() if found and found.group(1).endswith(END_MARK))


def callgrind_total(dump: Path) -> int:
    """The instructions a callgrind dump counted in all (its `totals:` line)."""
    found = _TOTALS.search(dump.read_text())
    assert found, f"no totals in {dump}"
    return int(found.group(1))


def inclusive_counts(dump: Path) -> dict[str, int]:
    """Each C function's inclusive instructions in `dump`, by name (`parse_inclusive`)."""
    annotated = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(dump)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_inclusive(annotated)


def parse_inclusive(annotated: str) -> dict[str, int]:
    """`callgrind_annotate --inclusive=yes`'s lines, by function name; a function that inlining splits over several
    source files is listed once for each, each line counting the calls below it, so the largest is kept."""
    counts: dict[str, int] = {}
    for count, name in _INCLUSIVE.findall(annotated):
        counts[name] = max(counts.get(name, 0), int(count.replace(",", "")))
    return counts


def counted_under_callgrind(server: ChildServer, child: list[str]) -> tuple[int, dict[str, int], dict[str, Any]]:
    """`python -m bench.bench_cycle CHILD...` under callgrind, its work between the two marks counted while `server`
    runs outside it: the dump's total, each C function's inclusive count, and the JSON the child printed last."""
    try:
        with tempfile.TemporaryDirectory() as directory:
            command = [
                "valgrind",
                "--tool=callgrind",
                "--trace-children=no",
                f"--callgrind-out-file={directory}/callgrind.%p",
                f"--dump-before={START_MARK}",
                f"--dump-before={END_MARK}",
                sys.executable,
                "-m",
                "bench.bench_cycle",
                *child,
            ]
            env = {**os.environ, "PYTHONHASHSEED": "0"}
            done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
            assert done.returncode == 0, done.stderr[-3000:]
            dump = cycle_dump(Path(directory))
            total = callgrind_total(dump)
            counts = inclusive_counts(dump)
    finally:
        server.close()
    return total, counts, json.loads(done.stdout.splitlines()[-1])


def report_instructions(pages: int) -> None:
    """The main process's instructions in one whole cycle over `pages` pages, a page, and by step."""
    server = ChildServer("pages", pages)
    total, counts, counted = counted_under_callgrind(server, ["--count-against", server.base_url])
    indexed = counted["indexed"]
    print(
        f"main process, whole cycle over {pages} pages (callgrind, PYTHONHASHSEED=0): {total / 1e6:,.1f} M "
        f"instructions, {total / indexed / 1e6:.3f} M a page (indexed {indexed}, {counted['errors']} errors)"
    )
    print(f"  stored: {counted['outcome']}")
    named = [(name, function) for name, (function, _) in COUNTED_STEPS.items()] + list(COUNTED_CALLS.items())
    parts = ("sys_call_tracing", "filterfalse_next", EVENT_LOOP, "_pickle_loads", "_pickle_Pickler_dump")
    print_parts(total, counts, named, parts, indexed, "page")


def print_parts(
    total: int, counts: dict[str, int], named: list[tuple[str, str]], parts: tuple[str, ...], units: int, unit: str
) -> None:
    """Each named part's instructions a unit (a page, a feed), then what the `parts`, which do not overlap, leave of
    the total: the other threads'."""
    for what, function in named:
        print(f"  {what} ({function}): {counts.get(function, 0) / units / 1e6:.3f} M a {unit}")
    rest = total - sum(counts.get(function, 0) for function in parts)
    print(f"  the other threads (the pool's management, hand-offs): {rest / units / 1e6:.3f} M a {unit}")


# The parts of a poll's main process the poll count breaks out (`--only poll-instructions`), each run inside a C
# function as the cycle's steps are (`COUNTED_STEPS`): the thread that saves each 64 feeds, and within it the store's
# two writes.
POLL_STEPS: dict[str, tuple[str, Callable[[Callable[[], Any]], Any]]] = {
    "saving (the store's thread: poll._save)": ("sys_call_tracing", _in_call_tracing),
    "  of it adding the entries (add_new_entries, or add_entries before it)": ("filterfalse_next", _in_filterfalse),
    "  of it save_feeds": ("takewhile_next", _in_takewhile),
}
POLL_CALLS = {
    "the event loop's thread (HTTP, asyncio, hashing, handing bodies to the pool)": EVENT_LOOP,
    "  of it sha256 of the bodies": "_hashlib_openssl_sha256",
    "  of it llhttp (the responses' heads and bodies)": "llhttp_execute",
    "unpickling the workers' results (building the entries)": "_pickle_loads",
    "pickling the jobs (the bodies)": "_pickle_Pickler_dump",
    "SQLite (sqlite3_step, within saving)": "sqlite3_step",
}


def count_poll(base_url: str, feeds: int) -> None:
    """Run under callgrind by `report_poll_instructions`: one poll of the `feeds` changed feeds of the server at
    `base_url`, as `time_changed_feeds` times it, between the two marks; prints the new entries and what was stored."""
    with tempfile.TemporaryDirectory() as directory, contextlib.ExitStack() as patches:
        patches.enter_context(mock.patch.object(poll, "_save", _run_inside(poll._save, _in_call_tracing)))
        # add_entries is the poll's way in before add_new_entries: counted the same, for older code
        for name, run_inside in (
            ("add_new_entries", _in_filterfalse),
            ("add_entries", _in_filterfalse),
            ("save_feeds", _in_takewhile),
        ):
            method = getattr(SQLiteStore, name)
            patches.enter_context(mock.patch.object(SQLiteStore, name, _run_inside(method, run_inside)))
        patches.enter_context(mock.patch.object(WebClient, "CONNECT_SECONDS", COUNT_CONNECT_SECONDS))
        urls = [f"{base_url}/feeds/{n}.xml" for n in range(feeds)]
        config = bench_config(Path(directory), urls, timeout=COUNT_TIMEOUT)
        with SQLiteStore(config.store.path) as store:
            pool = worker_pool(feeds, FEEDS)
            try:

                async def polled() -> poll.PollReport:
                    async with WebClient(config.fetch) as client:
                        return await poll_feeds(config, store, client, utcnow(), list(config.feeds), pool=pool)

                os.getppid()  # START_MARK
                report = asyncio.run(polled())
                os.getpgrp()  # END_MARK
            finally:
                if pool:
                    pool.shutdown()
        outcome = polled_outcome(Path(config.store.path), base_url)
    print(json.dumps({"entries": report.entries_new, "failed": report.failed, "outcome": outcome}))


def report_poll_instructions(feeds: int) -> None:
    """The main process's instructions in one poll of `feeds` changed feeds, a feed, and by part."""
    server = ChildServer("feeds", feeds, "r0-")
    child = ["--count-poll-against", server.base_url, "--feeds", str(feeds)]
    total, counts, counted = counted_under_callgrind(server, child)
    print(
        f"main process, one poll of {feeds} changed feeds (callgrind, PYTHONHASHSEED=0): {total / 1e6:,.1f} M "
        f"instructions, {total / feeds / 1e6:.3f} M a feed ({counted['entries']:,} new entries, "
        f"{counted['failed']} failed)"
    )
    print(f"  stored: {counted['outcome']}")
    named = [(what, function) for what, (function, _) in POLL_STEPS.items()] + list(POLL_CALLS.items())
    print_parts(
        total, counts, named, ("sys_call_tracing", EVENT_LOOP, "_pickle_loads", "_pickle_Pickler_dump"), feeds, "feed"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--pages", type=int, default=543)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("polling", "cycle", "memory", "heavy", "instructions", "poll-instructions"))
    parser.add_argument("--heavy-pages", type=int, default=60)
    parser.add_argument(
        "--memory-sizes",
        type=int,
        nargs="+",
        default=[543, 2000],
        help="--only memory: the cycles' sizes in pages, taking turns run by run (a middle size shows whether the "
        "main process's peak still grows between two others or has levelled)",
    )
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one whole cycle")
    parser.add_argument("--known", action="store_true", help="polling: also changed feeds whose entries are stored")
    # The callgrind child of `--only instructions`: the server's address.
    parser.add_argument("--count-against", help=argparse.SUPPRESS)
    # The callgrind child of `--only poll-instructions`: the feed server's address.
    parser.add_argument("--count-poll-against", help=argparse.SUPPRESS)
    # A memory figure's child (`fresh_cycle`): the pages' kind and how many.
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.count_against:
        count_cycle(args.count_against)
        return 0
    if args.count_poll_against:
        count_poll(args.count_poll_against, args.feeds)
        return 0
    if args.memory_child:
        kind, pages = args.memory_child
        cycle.share_one_malloc_arena()  # before the sampler's thread allocates (`fresh_cycle`)
        print(json.dumps(asdict(time_whole_cycle(int(pages), kind=kind))))
        return 0
    if not REAL_FEEDS.exists() or not PAGES.exists():
        print(f"skipped: {DATA} is absent (the real feeds and pages live beside the repo on dev and CI machines)")
        return 0
    runs = range(args.runs)
    if args.only in (None, "polling"):
        report_polling(args.feeds, runs, args.known)
    if args.only in (None, "cycle"):
        report_cycle(args.pages, runs, args.profile)
    if args.only in (None, "memory"):
        report_memory(runs, sizes=tuple(args.memory_sizes))
    if args.only in (None, "heavy"):
        report_memory(runs, "heavy", (args.heavy_pages,))
    if args.only == "instructions":
        report_instructions(args.pages)
    if args.only == "poll-instructions":
        report_poll_instructions(args.feeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
