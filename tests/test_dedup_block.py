"""Dedupe's MinHash works in one 2 MB block kept for the process's life (`dedup._kept_block`): a cycle's main
process maps every block of 128 KiB or more (`cycle.map_large_blocks`), and a fresh 2 MB block for each of a
batch's chunks would be fresh zero-filled pages every time (issue 15h measured +39 % system time for that)."""

from __future__ import annotations

import threading

import numpy as np

from pipeline import dedup
from pipeline.dedup import _finalise, _kept_block, signatures

# 5,000 mixed values in four texts (10, 0, 2,990 and 2,000 shingles): the third spans two chunks of 2,048, the
# others share one. The expected rows were printed by the code at the session's start (a18e5f1), which made a
# fresh block for every chunk.
VALUES = _finalise(np.arange(1, 5001, dtype=np.uint64))
STARTS = np.array([0, 10, 10, 3000, 5000])
FIRST_THREE = [[94361843, 36011383, 353262645], [4294967295] * 3, [686704, 27117, 776927], [314458, 2004113, 863864]]
LAST = [496462327, 4294967295, 1633948, 2947084]
TOTAL = 557495226410


def check(found: np.ndarray) -> None:
    assert found.shape == (4, 120)
    assert found[:, :3].tolist() == FIRST_THREE
    assert found[:, -1].tolist() == LAST
    assert int(found.sum(dtype=np.uint64)) == TOTAL


def test_signatures_in_the_kept_block_are_those_of_a_fresh_block_each_chunk() -> None:
    check(signatures(VALUES, STARTS))


def test_a_call_while_another_thread_holds_the_block_works_in_its_own_and_finds_the_same() -> None:
    with dedup._KEPT_LOCK:  # as a second thread's call would find it
        check(signatures(VALUES, STARTS))
    assert not dedup._KEPT_LOCK.locked()


def test_the_block_is_one_buffer_a_contiguous_view_of_it_at_any_width() -> None:
    whole = _kept_block(120, 2048, kept=True)
    narrow = _kept_block(120, 37, kept=True)
    assert whole.shape == (120, 2048) and narrow.shape == (120, 37)
    assert whole.flags.c_contiguous and narrow.flags.c_contiguous  # not a strided [:, :37] view (issue 15b: +6.7 %)
    assert np.shares_memory(whole, narrow)
    assert whole.base is narrow.base is dedup._KEPT[0]
    assert dedup._KEPT[0].nbytes == 120 * 2048 * 8  # 2 MB, made once


def test_a_block_not_held_or_larger_than_the_buffer_is_fresh() -> None:
    kept = _kept_block(120, 2048, kept=True)
    assert not np.shares_memory(_kept_block(120, 2048, kept=False), kept)
    larger = _kept_block(121, 2048, kept=True)
    assert larger.shape == (121, 2048) and not np.shares_memory(larger, kept)


def test_two_threads_at_once_find_what_one_finds() -> None:
    found: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: found.append(signatures(VALUES, STARTS))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 4
    for each in found:
        check(each)
