"""A cycle's main process maps a block of 128 KiB or more that the heap cannot hold (`cycle.map_large_blocks`),
where glibc by default raises its threshold to the size of each mapped block freed and then extends the heap for
large temporaries, fragmenting it: at dedupe's moments the heap's extent grew 42 -> 46-55 MiB from 543 to 2,000
pages, and held it stayed at 22-27 and 31-32 (issue 16m's diagnostic cycles). Counted in a fresh interpreter with
glibc's own figures (`mallinfo2`: the bytes in mapped blocks)."""

from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EMPTY_CYCLE

# A 4 MiB block freed (glibc's default raises its threshold to 4 MiB here), then a 3 MiB one: how many KiB of
# mapped blocks it added. glibc maps a block only where the heap's free space cannot hold it; after `malloc_trim`
# the heap holds no free 3 MiB.
BLOCKS = (
    """
import ctypes, sys
if sys.argv[1] == "held":
    from pipeline.cycle import map_large_blocks
    map_large_blocks()
"""
    + EMPTY_CYCLE
    + """class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                     "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.malloc_trim(0)  # the heap's free top given back, as after each of a cycle's steps
libc.free(libc.malloc(4 << 20))
before = libc.mallinfo2().hblkhd
block = libc.malloc(3 << 20)
print((libc.mallinfo2().hblkhd - before) // 1024)
libc.free(block)
"""
)


def mapped_kib(mode: str, *args: str) -> int:
    done = subprocess.run([sys.executable, "-c", BLOCKS, mode, *args], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


@pytest.fixture(autouse=True)
def _glibc() -> None:
    if not hasattr(ctypes.CDLL(None), "mallinfo2"):
        pytest.skip("not glibc 2.33 or later: no mallinfo2 to read (map_large_blocks does nothing elsewhere)")


def test_a_large_block_is_mapped_after_a_larger_one_was_freed() -> None:
    assert mapped_kib("held") == 3076  # 3 MiB and glibc's header, in whole pages


def test_without_it_glibc_raised_its_threshold_and_took_the_block_from_the_heap() -> None:
    assert mapped_kib("default") == 0


def test_a_cycle_leaves_its_process_mapping_large_blocks(tmp_path: Path) -> None:
    assert mapped_kib("cycle", str(tmp_path / "store.db")) == 3076
