"""A process pool that outlives its workers.

Feed parsing, extraction and analysis are pure Python under the GIL, so they
run in worker processes (threads gain nothing: 47 → 50 pages/s for extraction,
against 92 with two processes; see bench/bench_extraction.py). A worker can die
without raising anything — a crash in a C parser, the OOM killer on a
pathological page — and a plain ProcessPoolExecutor is then broken for good:
every job in flight and every later one fails, and a page that kills its
worker would stop every cycle that meets it. `Workers` replaces a broken pool
and runs the interrupted jobs again one at a time, so only the job that kills
its worker fails, as a `WorkerDiedError` its caller records like any other reason.

Workers end with the process that started them, whatever ends it (SIGKILL
included): each watches its parent through a pidfd (or, where there is none,
by polling its pid) and exits the moment it is gone, so no worker, forkserver
or resource tracker is left behind. Workers ignore SIGINT: Ctrl-C reaches the
whole process group, and it is the parent's to handle (it shuts the pool down).

A page worker is replaced by a fresh fork of its forkserver once it has done `JOBS_PER_WORKER` jobs: what a
worker keeps from the pages it has seen (spaCy's vocabulary and string store, its tokenizer's cache, the word
facts of `pipeline.enrich.entities`, the extractor's caches, the C heap's free pages) grows with the distinct
pages it meets and is never given back, so a long cycle's workers grew without bound; a replacement starts
again from what the forkserver preloaded.
"""

from __future__ import annotations

import asyncio
import io
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import context, forkserver, popen_forkserver, reduction, spawn, util
from typing import Any, TypeVar

POOL_THRESHOLD = 40

# What a pool's forkserver imports, and builds, before it forks a worker: each worker has it from its first job.
# Pages need the parsers, the extractor and the analyser with their tables (`pipeline.worker_preload`: 3.4 s of
# CPU on a quiet host). A poll's workers only parse feeds: with the pages' preload its first body waited those
# seconds for workers whose tables it never uses.
PAGES = ("pipeline.worker_preload",)
FEEDS = ("pipeline.workers", "pipeline.feeds")
# The extractor alone, for the one worker that extracts a cycle's first pages while the pages' forkserver is still
# loading spaCy (`cycle.EarlyExtraction`): its forkserver is up in a fraction of that time.
EXTRACTION = ("pipeline.workers", "pipeline.fetch", "pipeline.extract")

# How many jobs a worker of a preload does before a fresh fork of its forkserver replaces it (none: never). A page
# worker grows with the distinct pages it meets (spaCy's string store alone 2,800 → 32,000 strings over the bench's
# 181 pages); a poll's workers live for one poll.
JOBS_PER_WORKER: dict[tuple[str, ...], int] = {PAGES: 250}

Result = TypeVar("Result")


class WorkerDiedError(Exception):
    """The worker process running a job exited without returning (a crash, a kill, out of memory)."""


class Workers:
    """Workers come from a forkserver that has imported what they run once (`preload`: for pages, the parsers,
    extractor and analyser, and the extractor's tables, `pipeline.worker_preload`), so no worker builds it again,
    and the pool never forks a parent that holds the event loop's threads. Pools of one preload share its
    forkserver; pools of another have their own, so a poll's pool and a cycle's page pool can be up at once."""

    def __init__(self, size: int, preload: tuple[str, ...] = PAGES, jobs_per_worker: int | None = None) -> None:
        self.size = size
        self.preload = preload
        self.jobs_per_worker = jobs_per_worker  # a worker is replaced after this many jobs (None: never)
        self._pool: ProcessPoolExecutor | None = None
        # Done once `start`'s thread has spawned the workers (after the forkserver's imports).
        self._spawned: Future[None] | None = None
        # One retry at a time, per event loop (a lock belongs to the loop it first waits in).
        self._retry_lock: asyncio.Lock | None = None
        self._retry_loop: asyncio.AbstractEventLoop | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = _ReplacingExecutor(
                max_workers=self.size,
                mp_context=_PreloadContext(self.preload),
                initializer=watch_parent,
                initargs=(os.getpid(),),
                max_tasks_per_child=self.jobs_per_worker,
            )
        return self._pool

    @property
    def started(self) -> bool:
        """Whether `start` has run: a pool started without `first_up` (a job started it) will not call one."""
        return self._spawned is not None

    def start(self, first_up: Callable[[], None] | None = None) -> None:
        """Start the worker processes in the background: the forkserver imports the parsers, extractor and
        analyser while the caller's first downloads run, instead of after them. Once started, a second call
        does nothing. `first_up` runs in the starting thread once the first worker is up, before the next
        starts (`cycle.EarlyExtraction` ends its own worker there)."""
        if self._spawned is not None:
            return
        self._spawned = Future()
        # Running from the start, so it cannot be cancelled: a job that waits for it and is cancelled cancels its own
        # wait (asyncio.wrap_future), which would otherwise cancel this future and with it every other job's wait.
        self._spawned.set_running_or_notify_cancel()
        threading.Thread(
            target=_start, args=(self._executor(), self.size, self._spawned, first_up), daemon=True
        ).start()

    async def wait_ready(self) -> None:
        """Start the workers if nobody has, and wait for them without blocking the event loop (see `run`)."""
        self.start()
        if not self.ready:
            assert self._spawned is not None
            await asyncio.wrap_future(self._spawned)

    @property
    def ready(self) -> bool:
        """Whether the workers are up: started, and their forkserver done with its preload."""
        return self._spawned is not None and self._spawned.done()

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if self._pool is broken:
            broken.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def run(self, fn: Callable[..., Result], *args: Any) -> Result:
        """`fn(*args)` in a worker, for the event loop.

        Jobs in flight together all fail when any one of them kills its worker,
        so each interrupted job runs once more, one retry at a time: the job
        that kills its worker again fails alone.
        """
        loop = asyncio.get_running_loop()
        # The first job starts the workers in the background if nobody has (`start`), and every job waits for
        # them without blocking: submitting to an executor with no worker spawns one then and there, and
        # submitting while `start`'s thread spawns them waits for the executor's lock, which that thread holds;
        # either way until the forkserver has done its imports (3-5 s of a poll of 2,000 changed feeds, over 10
        # at a load of 14). The event loop, and every download in flight, stopped that long (their timeouts
        # fired on waking), where it can go on fetching the other feeds or pages meanwhile.
        await self.wait_ready()
        pool = self._executor()
        try:
            return await loop.run_in_executor(pool, fn, *args)
        except BrokenProcessPool:
            self._replace(pool)
        if self._retry_lock is None or self._retry_loop is not loop:
            self._retry_lock, self._retry_loop = asyncio.Lock(), loop
        async with self._retry_lock:
            pool = self._executor()
            try:
                return await loop.run_in_executor(pool, fn, *args)
            except BrokenProcessPool:
                self._replace(pool)
        raise _died(fn)

    def shutdown(self, stop_forkserver: bool = False) -> None:
        """End the workers; with `stop_forkserver`, their forkserver too (no other pool of this preload may be up).

        A cycle's poll stops the feed forkserver once it is done with it: otherwise it stays, idle, through the page
        phase (33 MiB of RSS, 8 of PSS). A later pool of the same preload starts a new one."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self._spawned = None  # a later job starts the workers again
        if stop_forkserver:
            _forkserver(self.preload)._stop()  # type: ignore[attr-defined]  # multiprocessing's own stop, for its tests


class _ReplacingExecutor(ProcessPoolExecutor):
    """A process pool that replaces a worker gone after its `max_tasks_per_child` jobs whenever it has fewer
    workers than its size.

    Python 3.11's own replacement first takes a token from a semaphore that counts finished jobs, not idle
    workers: with jobs queued it can take one left by a worker that has since exited, start no replacement, and
    once every worker has gone the queued jobs wait for ever (CPython gh-115634, fixed upstream by the same
    rule as here). A pool's workers all start at once anyway (`Workers.start`), so starting one whenever the pool
    is short changes nothing else."""

    def _adjust_process_count(self) -> None:
        if len(self._processes) < self._max_workers:  # type: ignore[attr-defined]  # the pool's size
            self._spawn_process()  # type: ignore[attr-defined]  # multiprocessing's own start of one worker


_forkservers: dict[tuple[str, ...], forkserver.ForkServer] = {}
_forkservers_lock = threading.Lock()


def _forkserver(preload: tuple[str, ...]) -> forkserver.ForkServer:
    """The forkserver that has imported `preload` (started with its first worker; it lives as long as this
    process, as multiprocessing's own one does). multiprocessing keeps one forkserver a process, with one preload."""
    with _forkservers_lock:
        server = _forkservers.get(preload)
        if server is None:
            server = _forkservers[preload] = forkserver.ForkServer()
            server.set_forkserver_preload(list(preload))
        return server


class _PreloadContext(context.ForkServerContext):
    """multiprocessing's forkserver start method, with processes forked by the forkserver of `preload`."""

    def __init__(self, preload: tuple[str, ...]) -> None:
        self.preload = preload

    # A method where multiprocessing has a class: each process it makes is told its preload.
    def Process(self, *args: Any, **kwargs: Any) -> _PreloadProcess:  # type: ignore[override]  # noqa: N802
        process = _PreloadProcess(*args, **kwargs)
        process.preload = self.preload
        return process


class _PreloadProcess(context.ForkServerProcess):
    preload: tuple[str, ...] = PAGES

    @staticmethod
    def _Popen(process_obj: Any) -> _PreloadPopen:  # noqa: N802 - multiprocessing's name
        return _PreloadPopen(process_obj)


class _PreloadPopen(popen_forkserver.Popen):
    """Starts a process as `popen_forkserver.Popen` does, from the forkserver of its preload rather than the
    module's single one: the process's pickled preparation data and object go to a child that the server forks,
    which sends its pid back on the status pipe."""

    def _launch(self, process_obj: _PreloadProcess) -> None:
        # Without the parent's main module: multiprocessing has each new process run it again (as `__mp_main__`) for
        # jobs defined there, and ours are all in `pipeline`. A worker of a poll under `python -m bench.bench_cycle`
        # imported the cycle, the store and the web client that way, 0.3 s of CPU and 31 MiB of RSS each; a page
        # worker 4 MiB more than its forkserver had loaded (the CLI's main module does the same).
        preparation = spawn.get_preparation_data(process_obj.name)
        preparation.pop("init_main_from_name", None)
        preparation.pop("init_main_from_path", None)
        message = io.BytesIO()
        context.set_spawning_popen(self)  # the process's pipes and locks pickle as fds handed over by the server
        try:
            reduction.dump(preparation, message)
            reduction.dump(process_obj, message)
        finally:
            context.set_spawning_popen(None)
        fds = self._fds  # type: ignore[attr-defined]  # the fds the process's pickling handed over
        self.sentinel, data = _forkserver(process_obj.preload).connect_to_new_process(fds)
        # The child reads whether its parent lives from the data pipe's write end: this copy stays open with us.
        self.finalizer = util.Finalize(self, util.close_fds, (os.dup(data), self.sentinel))  # type: ignore[attr-defined]
        with open(data, "wb", closefd=True) as pipe:
            pipe.write(message.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


PARENT_POLL_SECONDS = 1.0


def watch_parent(parent_pid: int) -> None:
    """Worker initializer: ignore Ctrl-C (the parent handles it) and exit as soon as the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()


def _exit_with_parent(parent_pid: int) -> None:
    try:
        pidfd = os.pidfd_open(parent_pid)
    except (AttributeError, OSError):  # not Linux ≥ 5.3, or the parent is already gone
        while _alive(parent_pid):
            time.sleep(PARENT_POLL_SECONDS)
    else:
        select.select([pidfd], [], [])  # a pidfd turns readable when its process exits
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start(
    pool: ProcessPoolExecutor, size: int, spawned: Future[None], first_up: Callable[[], None] | None = None
) -> None:
    try:
        for started in range(size):
            pool.submit(int)  # the pool spawns a worker for each job it cannot hand to an idle one
            if started == 0 and first_up is not None:
                first_up()
    except (RuntimeError, BrokenProcessPool):
        pass  # shut down or broken before its workers started: there is nothing to start
    finally:
        spawned.set_result(None)


def _died(fn: Callable[..., object]) -> WorkerDiedError:
    return WorkerDiedError(f"the worker process running {fn.__name__} died (crashed or was killed)")


def worker_pool(jobs_expected: int, preload: tuple[str, ...] = PAGES) -> Workers | None:
    """Workers when there are two cores and enough work to repay starting them."""
    size = min(os.cpu_count() or 1, 4)
    if size < 2 or jobs_expected < POOL_THRESHOLD:
        return None
    return Workers(size, preload, JOBS_PER_WORKER.get(preload))
