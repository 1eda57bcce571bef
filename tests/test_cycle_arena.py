"""A cycle's threads share one C heap arena (`cycle.share_one_malloc_arena`), so each thread's freed memory is
not kept apart in an arena of its own; and the memory bench's child holds its process to it before the bench's
sampler thread starts (`bench.bench_cycle.fresh_cycle`): started first, that thread had an arena of its own, which
the cycle's threads then shared with the main one (8 MiB of a 2,000-page cycle's peak, issue 16t). Counted in a
fresh interpreter with glibc's own report (`malloc_stats`)."""

from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EMPTY_CYCLE

# Four threads that each allocate while the others are alive, then glibc's report of its arenas on stderr.
THREADS = (
    """
import ctypes, sys, threading
if sys.argv[1] == "shared":
    from pipeline.cycle import share_one_malloc_arena
    share_one_malloc_arena()
"""
    + EMPTY_CYCLE
    + """held, started = [], threading.Barrier(5)
def allocate():
    held.append([bytearray(4096) for _ in range(100)])  # above pymalloc's 512 bytes: from malloc
    started.wait()
threads = [threading.Thread(target=allocate) for _ in range(4)]
for thread in threads:
    thread.start()
started.wait()
for thread in threads:
    thread.join()
ctypes.CDLL(None).malloc_stats()
"""
)


# The bench's sampler runs while this thread allocates, then glibc's report of its arenas on stderr.
SAMPLED = """
import ctypes, sys, threading
from bench.bench_cycle import PeakMemory
from pipeline import cycle
if sys.argv[1] == "first":
    cycle.share_one_malloc_arena()
with PeakMemory(None, pss=False, interval=0.005):
    import time
    time.sleep(0.2)
    cycle.share_one_malloc_arena()  # where a cycle run calls it
    held = []
    worker = threading.Thread(target=lambda: held.append([bytearray(4096) for _ in range(100)]))
    worker.start()
    worker.join()
ctypes.CDLL(None).malloc_stats()
"""


def arenas(mode: str, *args: str, script: str = THREADS) -> int:
    done = subprocess.run([sys.executable, "-c", script, mode, *args], capture_output=True, text=True, check=True)
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.fixture(autouse=True)
def _glibc() -> None:
    if not hasattr(ctypes.CDLL(None), "malloc_stats"):
        pytest.skip("not glibc: there is no arena to share, and share_one_malloc_arena does nothing")


def test_threads_of_a_cycle_share_one_arena() -> None:
    assert arenas("shared") == 1


def test_without_it_each_thread_has_an_arena_of_its_own() -> None:
    # the case above is not 1 by chance: the main thread's arena plus one for each of the four threads
    assert arenas("default") == 5


def test_a_cycle_leaves_its_process_with_one_arena(tmp_path: Path) -> None:
    assert arenas("cycle", str(tmp_path / "store.db")) == 1


def test_the_bench_sampler_shares_the_one_arena_when_the_child_holds_it_first() -> None:
    assert arenas("first", script=SAMPLED) == 1


def test_a_bench_sampler_started_first_has_an_arena_of_its_own() -> None:
    assert arenas("late", script=SAMPLED) == 2
