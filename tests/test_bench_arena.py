"""The memory figure's child holds its process to one malloc arena before the bench's sampler thread starts
(`bench.bench_cycle.fresh_cycle`): started first, that thread had an arena of its own, which the cycle's threads
then shared with the main one (8 MiB of a 2,000-page cycle's peak, issue 16t). Counted in a fresh interpreter
with glibc's own report (`malloc_stats`)."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

# The sampler runs while this thread allocates, then glibc's report of its arenas on stderr.
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


def arenas(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", SAMPLED, mode], capture_output=True, text=True, check=True)
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.fixture(autouse=True)
def _glibc() -> None:
    if not hasattr(ctypes.CDLL(None), "malloc_stats"):
        pytest.skip("not glibc: there is no arena to share")


def test_the_sampler_shares_the_one_arena_when_the_child_holds_it_first() -> None:
    assert arenas("first") == 1


def test_a_sampler_started_first_has_an_arena_of_its_own() -> None:
    assert arenas("late") == 2
