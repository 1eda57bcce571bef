"""A cycle's first pages are extracted by a light worker while the page pool's forkserver still loads spaCy."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

from pipeline.cycle import EarlyExtraction
from pipeline.fetch import extract_body
from pipeline.page_work import analyse_extracted, extract_and_analyse
from pipeline.records import Extracted
from pipeline.workers import FEEDS, Workers
from tests.conftest import make_config
from tests.test_cycle_pool import KIM, page
from tests.test_workers import running


def loaded_by_parent() -> tuple[bool, int]:
    """Whether this worker has spaCy, and its parent (its forkserver)."""
    return "spacy" in sys.modules, os.getppid()


def test_pages_go_to_the_light_worker_until_the_page_pool_makes_way_and_then_it_ends() -> None:
    job = (page(0), "text/html", "https://wire.example/story0.html", 100)

    async def scenario() -> tuple[object, tuple[bool, int], object, Workers | None]:
        early = EarlyExtraction()
        assert early.pool is not None
        light = await early.pool.run(loaded_by_parent)
        before = await early.extract(job)
        await asyncio.to_thread(early.make_way)  # as the page pool's starting thread calls it, its first worker up
        after = await early.extract(job)
        return before, light, after, early.pool

    before, (light_has_spacy, light_forkserver), after, left = asyncio.run(scenario())
    assert before == extract_body(job)  # the same article as any worker extracts
    assert isinstance(before[0], Extracted) and before[0].title == "Story 0"
    assert light_has_spacy is False  # its forkserver loads the extractor alone
    assert after is None  # the page pool's to take from now on
    assert left is None and not running(light_forkserver)  # the light worker and its forkserver have ended


def test_a_pool_calls_first_up_in_its_starting_thread_before_its_second_worker_starts() -> None:
    calls: list[tuple[bool, bool]] = []
    pool = Workers(2, FEEDS)
    try:
        pool.start(lambda: calls.append((pool.ready, threading.current_thread() is threading.main_thread())))
        asyncio.run(pool.wait_ready())
        assert pool.ready
    finally:
        pool.shutdown()
    assert calls == [(False, False)]  # once, with the pool not yet up, not in the caller's thread


def test_an_article_extracted_elsewhere_gets_the_analysis_the_one_job_gives(tmp_path) -> None:
    config = make_config(tmp_path)
    job = (page(0), "text/html", "https://wire.example/story0.html", 100)
    whole = extract_and_analyse((job, "Story 0", config))
    assert whole.extracted is not None
    analysis = analyse_extracted((whole.extracted, "Story 0", config))
    assert analysis == whole.analysis
    assert analysis is not None
    # her quotation, then the officials' stance and their reported speech (as the cycle stores Story 0)
    assert [(q.speaker, q.kind) for q in analysis.quotes] == [
        (KIM, "direct"),
        ("Officials", "stance"),
        ("Officials", "indirect"),
    ]
