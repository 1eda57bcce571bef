"""A batch's pages wait to be stored as the bytes their worker pickled (`page_work.extract_and_analyse_pickled`,
`cycle.FetchedPages.unpickled`): a page's extraction and analysis pickle to about a third of the memory of the
objects, and late in a 2,000-page cycle the next batch's 200 pages were waiting while the main process deduped and
grouped the batch before it, its highest moments (issue 16t)."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from pathlib import Path

from pipeline.cycle import FetchedPages, store_pages
from pipeline.enrich.analyze import Analysis
from pipeline.fetch import Page
from pipeline.page_work import PageWork, extract_and_analyse, extract_and_analyse_pickled
from pipeline.records import Entity, Entry, Extracted, Quote
from pipeline.store.sqlite import SQLiteStore
from tests.conftest import make_config
from tests.test_cycle_pool import KIM, page

NOW = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
TEXT = "Jane Doe said the bridge would open in May. " * 8


def _page(number: int) -> Page:
    return Page(
        Entry(id=f"id{number}", feed_url="https://wire.example/feed.xml", url=f"https://wire.example/{number}"),
        None,
        None,
    )


def _work() -> PageWork:
    extracted = Extracted(TEXT, "The bridge", "A. Reporter", NOW, "Wire", "en")
    analysis = Analysis(
        entities=[Entity("Jane Doe", "PERSON", 0, 8, "Jane Doe")],
        topics=["transport"],
        quotes=[Quote("the bridge would open in May", 14, 43, "Jane Doe", kind="indirect")],
    )
    return PageWork(extracted, None, analysis)


def test_a_page_held_pickled_is_unpickled_in_its_place_with_its_analysis_and_a_second_read_finds_the_same() -> None:
    plain = (Extracted(TEXT, "Other", None, None, None, "en"), None)
    fetched = FetchedPages([(_page(1), pickle.dumps(_work())), (_page(2), plain), (_page(3), (None, "too short"))])
    first = fetched.unpickled()
    assert [held.entry.id for held, _ in first] == ["id1", "id2", "id3"]  # the order the pages came in
    assert first[0][1] == (_work().extracted, None)
    assert first[1][1] is plain and first[2][1] == (None, "too short")
    assert list(fetched.analyses) == ["id1"]
    assert fetched.analyses["id1"].entities[0].canonical == "Jane Doe"
    assert not any(isinstance(result, bytes) for _, result in fetched.outcomes)  # the bytes are let go
    assert fetched.unpickled() == first


def test_a_batch_held_pickled_is_stored_with_each_workers_analysis(tmp_path: Path) -> None:
    fetched = FetchedPages(
        [(_page(1), pickle.dumps(_work())), (_page(2), pickle.dumps(PageWork(None, "no text", None)))]
    )
    with SQLiteStore(tmp_path / "s.db") as store:
        report = store_pages(store, fetched, NOW)
        assert report.article_ids == ["id1"] and report.analysed == {"id1"}
        (article,) = store.get_articles(["id1"])
    assert article.title == "The bridge" and article.topics == ["transport"]
    assert [(entity.text, entity.label) for entity in article.entities] == [("Jane Doe", "PERSON")]
    assert [(quote.speaker, quote.kind) for quote in article.quotes] == [("Jane Doe", "indirect")]


def test_the_worker_pickles_the_work_one_job_gives(tmp_path: Path) -> None:
    job = ((page(0), "text/html", "https://wire.example/story0.html", 100), "Story 0", make_config(tmp_path))
    work = pickle.loads(extract_and_analyse_pickled(job))
    assert work == extract_and_analyse(job)
    assert work.extracted is not None and work.extracted.title == "Story 0"
    assert work.analysis is not None and work.analysis.quotes[0].speaker == KIM
