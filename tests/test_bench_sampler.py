"""The memory bench's sampler reads /proc in the measured process (`bench.bench_cycle.PeakMemory`), so what it holds
counts in the main process's peak: it reads with `open`, not `pathlib`, which interned every part of every path
(each thread's and child's number) and grew the interpreter's table of interned strings through a 2,000-page cycle
by 1.83 MiB in one block (tracemalloc, issue 16m). Checked on this process and a child it starts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.bench_cycle import _children, _cpu_seconds, _proc, _role, _rss

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="Linux's /proc is what the bench reads")


def test_a_child_of_this_process_is_found_and_named_other() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in _children(os.getpid())
        assert _role(child.pid, os.getpid()) == "other"
    finally:
        child.kill()
        child.wait()


def test_this_process_reads_main_with_its_memory_and_cpu() -> None:
    assert _role(os.getpid(), os.getpid()) == "main"
    assert _rss(os.getpid()) > 10 * 2**20  # an interpreter with pytest loaded holds more than 10 MiB
    seconds = _cpu_seconds(os.getpid())
    assert seconds is not None and seconds > 0


def test_a_process_that_has_gone_reads_as_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert _children(child.pid) == []
    assert _rss(child.pid) == 0
    assert _cpu_seconds(child.pid) is None
    assert _role(child.pid, os.getpid()) == "gone"


def test_a_proc_file_is_read_as_bytes() -> None:
    assert _proc(f"/proc/{os.getpid()}/stat").startswith(f"{os.getpid()} (".encode())
