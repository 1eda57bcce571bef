"""Worker processes that really die (SIGKILL, as the OOM killer sends) cost only their own job."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import pytest

import pipeline.workers
from pipeline.workers import FEEDS, PAGES, WorkerDiedError, Workers


def square_or_die(n: int) -> int:
    if n < 0:
        os.kill(os.getpid(), signal.SIGKILL)
    return n * n


def slow_square_or_die(n: int) -> int:
    """Slow enough that the other jobs are still in flight when one kills its worker."""
    if n >= 0:
        time.sleep(0.3)
    return square_or_die(n)


@pytest.fixture
def workers() -> Iterator[Workers]:
    pool = Workers(2)
    yield pool
    pool.shutdown()


def test_each_job_gets_its_own_result(workers: Workers) -> None:
    async def scenario() -> list[int]:
        return list(await asyncio.gather(*(workers.run(square_or_die, n) for n in range(8))))

    assert asyncio.run(scenario()) == [0, 1, 4, 9, 16, 25, 36, 49]


def test_a_job_that_kills_its_worker_fails_alone_and_names_its_function(workers: Workers) -> None:
    async def scenario() -> list[int | BaseException]:
        return list(
            await asyncio.gather(*(workers.run(square_or_die, n) for n in (1, 2, -1, 3, 4)), return_exceptions=True)
        )

    results = asyncio.run(scenario())
    assert [r for n, r in enumerate(results) if n != 2] == [1, 4, 9, 16]
    assert isinstance(results[2], WorkerDiedError)
    assert "square_or_die" in str(results[2])
    assert asyncio.run(workers.run(square_or_die, 6)) == 36


def tables_built_ahead() -> tuple[bool, int, int, int]:
    """Whether this process has justext's stop-words, htmldate's month names, dateparser's parser (as built on
    their first use, each in a module-level cache) and a rule pipeline's base."""
    import htmldate.extractors
    import trafilatura.external

    from pipeline.enrich import entities

    return (
        trafilatura.external.JT_STOPLIST is not None,
        htmldate.extractors.month_words.cache_info().currsize,
        htmldate.extractors.get_external_parser.cache_info().currsize,
        len(entities._SPARE_BASE),
    )


def test_a_worker_starts_with_the_tables_and_pipeline_base_its_forkserver_built(workers: Workers) -> None:
    # nothing was extracted or analysed in the worker: the forkserver built them before forking it
    assert asyncio.run(workers.run(tables_built_ahead)) == (True, 1, 1, 1)


def collector_state() -> tuple[bool, int]:
    import gc

    return gc.isenabled(), gc.get_freeze_count()


def test_a_worker_collects_garbage_but_not_what_its_forkserver_loaded(workers: Workers) -> None:
    enabled, frozen = asyncio.run(workers.run(collector_state))
    assert enabled
    # the parsers, extractor and analyser are about 250,000 objects, frozen before the worker was forked
    assert frozen > 100_000


def what_was_loaded() -> tuple[bool, bool, bool, int]:
    """Whether this process has the feed parser, spaCy and trafilatura, and its parent (a worker's forkserver)."""
    return "pipeline.feeds" in sys.modules, "spacy" in sys.modules, "trafilatura" in sys.modules, os.getppid()


def test_a_feed_pool_and_a_page_pool_fork_their_workers_from_forkservers_of_their_own_preloads() -> None:
    """A poll's workers only parse feeds: their forkserver imports the feed parser alone (0.25 s, where the pages'
    spaCy, trafilatura and tables take 3.4 s of CPU before the first worker exists). Both pools can be up at once,
    each with its own forkserver."""
    feeds, pages = Workers(2, FEEDS), Workers(2, PAGES)
    try:
        feed_worker = asyncio.run(feeds.run(what_was_loaded))
        page_worker = asyncio.run(pages.run(what_was_loaded))
        feed_worker_again = asyncio.run(feeds.run(what_was_loaded))
    finally:
        feeds.shutdown()
        pages.shutdown()
    assert feed_worker[:3] == (True, False, False)
    assert page_worker[:3] == (False, True, True)  # pages only: the feed parser is the feed pool's
    assert feed_worker_again[:3] == (True, False, False)
    assert feed_worker[3] != page_worker[3]  # two forkservers
    assert feed_worker_again[3] == feed_worker[3]


def what_is_loaded_of(names: tuple[str, ...]) -> list[str]:
    return [name for name in names if name in sys.modules]


# What a page worker never uses: the feed parser, the web client, and spaCy's command line with what it imports.
NOT_FOR_PAGES = ("pipeline.feeds", "feedparser", "pipeline.poll", "pipeline.web", "h11", "spacy.cli", "typer", "httpx")


def test_a_page_worker_has_the_extractor_and_analyser_but_not_the_feed_parser_web_client_or_spacys_cli() -> None:
    """The pages' forkserver imports only what a page job runs, before any worker can take a page."""
    pages = Workers(2, PAGES)
    try:
        loaded = asyncio.run(pages.run(what_is_loaded_of, ("pipeline.extract", "pipeline.enrich.entities", "spacy")))
        lacking = asyncio.run(pages.run(what_is_loaded_of, NOT_FOR_PAGES))
    finally:
        pages.shutdown()
    assert loaded == ["pipeline.extract", "pipeline.enrich.entities", "spacy"]
    assert lacking == []


SPACY_AFTER_PRELOAD = """
import json, sys
import pipeline.worker_preload
import spacy
before = "spacy.cli" in sys.modules
version = spacy.info()["spacy_version"]
import spacy.cli
print(json.dumps([before, version == spacy.__version__, hasattr(spacy.cli, "download")]))
"""


def test_spacy_info_and_its_cli_still_import_after_the_preload_left_them_out() -> None:
    """In a fresh interpreter, as in the forkserver: spaCy's command line was not imported with spaCy, and
    `spacy.info()` and `import spacy.cli` then import the real one."""
    done = subprocess.run(
        [sys.executable, "-c", SPACY_AFTER_PRELOAD], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.split("\n")[-2] == "[false, true, true]"


# A spaCy whose package takes more from its command line than `info` (a later spaCy might): the stand-ins cannot
# give it that, so the preload imports it whole. The rest of the preload then fails on this skeleton's lack of
# everything else, which the script passes over.
SPACY_TAKING_MORE = {
    "spacy/__init__.py": "from .cli.info import info\nfrom .cli import app\n",
    "spacy/cli/__init__.py": "app = 'the command line'\n",
    "spacy/cli/info.py": "def info():\n    return {}\n",
}
PRELOAD_WITH_SKELETON = """
import sys
sys.path.insert(0, sys.argv[1])
try:
    import pipeline.worker_preload
except ImportError:
    pass
import spacy
print(spacy.app, "spacy.cli" in sys.modules)
"""


def test_a_spacy_that_takes_more_from_its_cli_is_imported_whole_with_one_warning(tmp_path: Path) -> None:
    for name, text in SPACY_TAKING_MORE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    done = subprocess.run(
        [sys.executable, "-c", PRELOAD_WITH_SKELETON, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    assert done.stdout.split("\n")[-2] == "the command line True"
    assert "spaCy takes more than `info` from its command line" in done.stderr


def test_a_pool_can_stop_its_forkserver_and_a_later_pool_starts_a_new_one() -> None:
    """A cycle's poll stops the feed forkserver when it is done, so that it does not sit through the page phase."""
    first = Workers(2, FEEDS)
    forkserver = asyncio.run(first.run(what_was_loaded))[3]
    first.shutdown(stop_forkserver=True)
    assert not running(forkserver)
    second = Workers(2, FEEDS)
    try:
        again = asyncio.run(second.run(what_was_loaded))
    finally:
        second.shutdown()
    assert again[:3] == (True, False, False)
    assert again[3] != forkserver and running(again[3])


def own_pid(_: int) -> int:
    return os.getpid()


REPLACING_SCRIPT = """
import asyncio, os, sys
sys.path.insert(0, os.getcwd())
from pipeline.workers import FEEDS, Workers
from tests.test_workers import own_pid

async def scenario(workers):
    return await asyncio.gather(*(workers.run(own_pid, n) for n in range(10)))

if __name__ == "__main__":
    workers = Workers(1, FEEDS, jobs_per_worker=2)
    print(*asyncio.run(scenario(workers)))
    workers.shutdown()
"""


def test_a_worker_is_replaced_after_its_jobs_and_every_queued_job_still_runs(tmp_path) -> None:
    """A page worker grows with the pages it meets, so after `jobs_per_worker` jobs a fresh fork replaces it. With
    more jobs queued than one worker's share, Python 3.11's own replacement could start none and leave the queue
    waiting for ever (CPython gh-115634): one worker, two jobs each, ten jobs in flight at once. In a process of
    its own, so that a pool that hangs fails the test (and ends with its parent) instead of hanging the suite."""
    script = tmp_path / "replacing.py"
    script.write_text(REPLACING_SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True)
    pids = done.stdout.split()
    assert len(pids) == 10
    # no worker did more than two jobs (the first did one less: starting the pool hands it an empty job)
    assert max(pids.count(pid) for pid in pids) == 2
    assert len(set(pids)) == 6  # the empty job and ten, two a worker


def main_module_file() -> str | None:
    """The file of this process's main module: a worker that ran its parent's main script again has it."""
    return getattr(sys.modules["__main__"], "__file__", None)


MAIN_SCRIPT = """
import asyncio, os, sys
sys.path.insert(0, os.getcwd())
from pipeline.workers import FEEDS, PAGES, Workers
from tests.test_workers import main_module_file

if __name__ == "__main__":
    for preload in (FEEDS, PAGES):
        workers = Workers(2, preload)
        print(asyncio.run(workers.run(main_module_file)))
        workers.shutdown()
"""


def test_workers_do_not_run_their_parents_main_script_again(tmp_path) -> None:
    """multiprocessing has each new process import the parent's main module again, for jobs defined there; the
    workers' jobs are all in `pipeline`, and a poll's worker under the polling bench imported the cycle, the store
    and the web client that way (0.3 s of CPU, 31 MiB)."""
    script = tmp_path / "main_script.py"
    script.write_text(MAIN_SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, check=True)
    assert done.stdout.split() == ["None", "None"]  # the forkserver's main (python -c), not the script


def test_async_job_that_kills_its_worker_fails_alone_among_jobs_in_flight(workers: Workers) -> None:
    async def scenario() -> list[int | str]:
        jobs = [workers.run(slow_square_or_die, n) for n in (1, 2, -1, 3, 4)]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        return [type(r).__name__ if isinstance(r, BaseException) else r for r in results]

    assert asyncio.run(scenario()) == [1, 4, "WorkerDiedError", 9, 16]
    assert asyncio.run(workers.run(square_or_die, 5)) == 25


def test_a_job_submitted_while_the_workers_start_leaves_the_event_loop_running(
    workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spawning the workers holds the executor's lock until the forkserver has imported the parsers and models
    (seconds; over ten on a loaded machine). A job arriving meanwhile must wait on the loop, not for the lock,
    or every download in flight stops and times out. The start below holds the lock until a coroutine on the
    loop releases it: a blocked loop never does, and the start then gives up after 60 s and says so. A job given
    up while it waits (its page's deadline passed) must not take the other waiting jobs with it."""
    holding, released = threading.Event(), threading.Event()
    released_by_the_loop: list[bool] = []

    def start_that_waits_for_the_loop(
        pool: ProcessPoolExecutor, size: int, spawned: Future[None], first_up: Callable[[], None] | None
    ) -> None:
        with pool._shutdown_lock:  # what spawning holds while the forkserver imports
            holding.set()
            released_by_the_loop.append(released.wait(timeout=60))
        spawn_workers(pool, size, spawned, first_up)

    spawn_workers = pipeline.workers._start
    monkeypatch.setattr(pipeline.workers, "_start", start_that_waits_for_the_loop)

    async def scenario() -> tuple[int, bool]:
        job = asyncio.ensure_future(workers.run(square_or_die, 7))
        abandoned = asyncio.ensure_future(workers.run(square_or_die, 8))
        await asyncio.sleep(0)  # both jobs go as far as they can without the workers
        abandoned.cancel()
        await asyncio.sleep(0)
        released.set()
        return await job, abandoned.cancelled()

    workers.start()
    assert holding.wait(timeout=60)
    assert asyncio.run(scenario()) == (49, True)
    assert released_by_the_loop == [True]


def test_the_first_job_on_workers_nobody_started_starts_them_without_stopping_the_event_loop(
    workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poll hands its first feed body to workers that nobody has started: submitting to an executor with no
    worker spawned one there and then, and the event loop, with every download in flight, stopped until the
    forkserver had done its imports. The first job now starts them in the background; the start below spawns
    the workers only once a coroutine on the loop has run meanwhile (a blocked loop never lets one run: the
    start then gives up after 60 s and says so)."""
    released = threading.Event()
    released_by_the_loop: list[bool] = []

    def start_that_waits_for_the_loop(
        pool: ProcessPoolExecutor, size: int, spawned: Future[None], first_up: Callable[[], None] | None
    ) -> None:
        released_by_the_loop.append(released.wait(timeout=60))
        spawn_workers(pool, size, spawned, first_up)

    spawn_workers = pipeline.workers._start
    monkeypatch.setattr(pipeline.workers, "_start", start_that_waits_for_the_loop)

    async def scenario() -> int:
        job = asyncio.ensure_future(workers.run(square_or_die, 6))
        await asyncio.sleep(0)  # the job goes as far as it can without the workers
        released.set()
        return await job

    assert asyncio.run(scenario()) == 36
    assert released_by_the_loop == [True]
    assert asyncio.run(workers.run(square_or_die, 3)) == 9  # started once: the next job goes straight to them
    assert released_by_the_loop == [True]


CHILD = """
import asyncio, sys, time
from multiprocessing import resource_tracker
from pipeline.workers import Workers, _forkserver

workers = Workers(2)


async def four_sleeps():
    return await asyncio.gather(*(workers.run(time.sleep, 0.1) for _ in range(4)))


# The pool spawns its second worker only for a job that finds no idle one, so quick jobs on a loaded machine can
# all go to the first: jobs that sleep, four at once, keep the first busy until the second exists.
while len(workers._executor()._processes) < 2:
    assert asyncio.run(four_sleeps()) == [None] * 4
helpers = [*workers._executor()._processes, _forkserver(workers.preload)._forkserver_pid]
helpers.append(resource_tracker._resource_tracker._pid)
print(" ".join(map(str, helpers)), flush=True)
time.sleep(600)
"""


def running(pid: int) -> bool:
    """Alive and not a zombie waiting for whoever adopted it to reap it. A process that is reaped between the
    open and the read makes the read fail with ESRCH (`ProcessLookupError`): gone, as when there is no file."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_workers_forkserver_and_tracker_end_with_their_parent(how: signal.Signals) -> None:
    parent = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    helpers = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(helpers) == 4 and all(running(pid) for pid in helpers)
    parent.send_signal(how)
    parent.wait(30)
    waited = 0.0
    while any(running(pid) for pid in helpers) and waited < 60:  # a bound for a stuck machine, not a speed claim
        time.sleep(0.1)
        waited += 0.1
    assert [pid for pid in helpers if running(pid)] == []
