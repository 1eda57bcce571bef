"""A cycle with a worker pool: each page is extracted and analysed in one job and stored once, whole."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping

from pipeline import cycle
from pipeline.demo.server import StaticRoute
from pipeline.poll import poll_feeds
from pipeline.records import Article, utcnow
from pipeline.store.sqlite import SQLiteStore
from pipeline.workers import FEEDS, PAGES, POOL_THRESHOLD
from tests.conftest import make_config

KIM = "Kim Yo Jong"
# A guard against a hang on a loaded machine (forty pages and a starting pool), not a measured time; four
# connections at a time, because at load average 20 some of sixteen to the in-process server (it shares the
# test's GIL) hit httpx's 10 s connect limit, which no fetch setting raises.
PATIENT = {"timeout": "600s", "concurrency": 4, "per_host": 4}

# Written for these tests, in a wire story's style.
STATEMENT = (
    '"There will be no summit this year unless Washington changes course," Kim Yo Jong said in a statement '
    "carried by the state news agency on Friday."
)
FILLER = [
    "The remarks came days after envoys from both sides met in a border village to discuss the stalled talks.",
    "Officials in Seoul declined to comment on the statement, saying they were still studying its wording.",
    "Negotiations on the North's weapons programs have made little progress since the last meeting of leaders.",
]


def page(number: int) -> bytes:
    paragraphs = [STATEMENT, *FILLER] if number == 0 else [*FILLER[number % 3 :], *FILLER[: number % 3]]
    body = "".join(f"<p>{text} (Story {number}.)</p>" for text in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="en"><head><title>Story {number}</title></head><body>'
        f"<article><h1>Story {number}</h1>{body}</article></body></html>"
    ).encode()


def serve_pages(site, count: int) -> dict[str, str]:
    paths = [f"/story{n}.html" for n in range(count)]
    for number, path in enumerate(paths):
        site.routes[path] = StaticRoute(page(number))
    items = "".join(
        f"<item><title>Story {n}</title><link>{site.url(path)}</link><guid>{path}</guid></item>"
        for n, path in enumerate(paths)
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
    site.routes["/feed.xml"] = StaticRoute(feed.encode(), "application/rss+xml")
    return {site.url(path): path for path in paths}


def test_pages_are_stored_once_with_their_analysis_and_enrich_is_skipped(tmp_path, site, store, monkeypatch):
    serve_pages(site, POOL_THRESHOLD)
    topics = [{"name": "summits", "query": "summit*"}, {"name": "weapons", "query": "weapons"}]
    config = make_config(tmp_path, [{"url": site.url("/feed.xml"), "name": "Wire"}], topics=topics, fetch=PATIENT)
    enriched: list[str] = []
    enrich_async = cycle.enrich_async

    async def recording_enrich(config_, store_, article_ids, pool=None):
        enriched.extend(article_ids)
        return await enrich_async(config_, store_, article_ids, pool)

    monkeypatch.setattr(cycle, "enrich_async", recording_enrich)
    report = cycle.run_cycle(config, store)
    assert report.articles_indexed == POOL_THRESHOLD and report.errors == []
    assert enriched == []  # every article came back analysed from its worker
    assert store.unprocessed_articles(utcnow(), 100) == []  # dedupe and statements ran on all of them
    statement = stored(store, "Story 0")
    # her quotation, the officials' stance ("declined to comment on the statement", read before the participle's
    # hit since issue 12c) and their reported speech ("saying they were still studying its wording")
    assert [(q.speaker, q.kind) for q in statement.quotes] == [
        (KIM, "direct"),
        ("Officials", "stance"),
        ("Officials", "indirect"),
    ]
    assert [entity.canonical for entity in statement.entities if entity.label == "PERSON"] == [KIM]
    # the built-in desks first ("talks", "Negotiations": diplomacy), then the configured topics
    assert statement.topics == ["diplomacy", "summits", "weapons"]
    assert stored(store, "Story 1").topics == ["diplomacy", "weapons"]
    assert [(q.speaker, q.kind) for q in stored(store, "Story 1").quotes] == [
        ("Officials", "stance"),
        ("Officials", "indirect"),
    ]


def feeds_of_one_story_each(site, stories: list[str]) -> list[dict[str, str]]:
    """A feed per story path, its one item linking to that story (the same path may serve several feeds)."""
    feeds = []
    for number, path in enumerate(stories):
        item = f"<item><title>Story {number}</title><link>{site.url(path)}</link><guid>g{number}</guid></item>"
        feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>F{number}</title>{item}</channel></rss>'
        site.routes[f"/feed{number}.xml"] = StaticRoute(feed.encode(), "application/rss+xml")
        feeds.append({"url": site.url(f"/feed{number}.xml")})
    return feeds


def pools_used(monkeypatch) -> list[tuple[str, tuple[str, ...] | None]]:
    """What each of a cycle's poll and page phase is given to run in: a pool's preload, or None for no pool."""
    pools: list[tuple[str, tuple[str, ...] | None]] = []
    fetch_and_process = cycle.fetch_and_process

    async def recording_poll(config_, store_, client, now, due, progress=None, pool=None):
        pools.append(("poll", pool.preload if pool else None))
        return await poll_feeds(config_, store_, client, now, due, progress, pool)

    async def recording_fetch(config_, store_, client, now, pool, report, progress=None, early=None):
        pools.append(("pages", pool.preload if pool else None))
        return await fetch_and_process(config_, store_, client, now, pool, report, progress, early)

    monkeypatch.setattr(cycle, "poll_feeds", recording_poll)
    monkeypatch.setattr(cycle, "fetch_and_process", recording_fetch)
    return pools


def test_a_cycle_parses_its_feeds_in_a_feed_pool_and_its_pages_in_the_page_pool(tmp_path, site, store, monkeypatch):
    """Forty feeds of one story each: the poll's workers come from a forkserver that loaded the feed parser alone,
    the pages' from the one that loaded the extractor and analyser."""
    paths = serve_pages(site, POOL_THRESHOLD)
    config = make_config(tmp_path, feeds_of_one_story_each(site, list(paths.values())), fetch=PATIENT)
    pools = pools_used(monkeypatch)
    report = cycle.run_cycle(config, store)
    assert (report.feeds_polled, report.entries_new, report.articles_indexed) == (40, 40, 40)
    assert report.errors == []
    assert pools == [("poll", FEEDS), ("pages", PAGES)]
    assert [(q.speaker, q.kind) for q in stored(store, "Story 0").quotes] == [
        (KIM, "direct"),
        ("Officials", "stance"),
        ("Officials", "indirect"),
    ]


def test_a_poll_of_many_feeds_that_finds_few_pages_starts_no_page_pool(tmp_path, site, store, monkeypatch):
    """Forty feeds, all of one story: the poll needs its pool, the one page does not repay the pages' workers
    (seconds of spaCy and trafilatura before the first page), so it is fetched and analysed in the main process."""
    paths = serve_pages(site, 1)
    config = make_config(tmp_path, feeds_of_one_story_each(site, list(paths.values()) * POOL_THRESHOLD), fetch=PATIENT)
    pools = pools_used(monkeypatch)
    report = cycle.run_cycle(config, store)
    assert (report.feeds_polled, report.entries_new, report.articles_indexed) == (40, 1, 1)
    assert report.errors == []
    assert pools == [("poll", FEEDS), ("pages", None)]
    (article,) = store.get_articles([row["id"] for row in store._db.execute("SELECT id FROM articles")])
    assert [(q.speaker, q.kind) for q in article.quotes] == [
        (KIM, "direct"),
        ("Officials", "stance"),
        ("Officials", "indirect"),
    ]


class PercolatingStore(SQLiteStore):
    """A store that matches topics itself, as Elasticsearch's percolator does: the workers must not."""

    def match_topics(self, article: Article, rules: Mapping[str, str]) -> list[str]:
        return ["matched by the store"]


def test_a_store_that_matches_topics_itself_gets_them_from_the_enrich_step(tmp_path, site):
    serve_pages(site, POOL_THRESHOLD)
    config = make_config(tmp_path, [{"url": site.url("/feed.xml"), "name": "Wire"}], fetch=PATIENT)
    with PercolatingStore(tmp_path / "percolating.db") as store:
        report = cycle.run_cycle(config, store)
        assert report.articles_indexed == POOL_THRESHOLD and report.errors == []
        statement = stored(store, "Story 0")
        assert statement.topics == ["matched by the store"]
        assert [(q.speaker, q.kind) for q in statement.quotes] == [
            (KIM, "direct"),
            ("Officials", "stance"),
            ("Officials", "indirect"),
        ]


def stored(store: SQLiteStore, title: str) -> Article:
    ids = [row["id"] for row in store._db.execute("SELECT id FROM articles WHERE title = ?", (title,))]
    (article,) = store.get_articles(ids)
    return article


# A cycle with a pool, run in a fresh interpreter (imports are per process): what it loaded, and what it stored.
CYCLE_PROBE = """
import json, sys, tempfile
from pathlib import Path
from pipeline import cycle
from pipeline.demo.server import serve
from pipeline.store.sqlite import SQLiteStore
from pipeline.workers import POOL_THRESHOLD
from tests.conftest import make_config
from tests.test_cycle_pool import PATIENT, serve_pages, stored

with tempfile.TemporaryDirectory() as directory, serve({}) as site:
    serve_pages(site, POOL_THRESHOLD)
    config = make_config(Path(directory), [{"url": site.url("/feed.xml"), "name": "Wire"}], fetch=PATIENT)
    with SQLiteStore(Path(directory) / "probe.db") as store:
        report = cycle.run_cycle(config, store)
        quotes = [[q.speaker, q.kind] for q in stored(store, "Story 0").quotes]
loaded = sorted(name for name in ("spacy", "trafilatura", "pydantic", "htmldate", "justext") if name in sys.modules)
print(json.dumps({"indexed": report.articles_indexed, "quotes": quotes, "loaded": loaded}))
"""


def test_the_main_process_of_a_cycle_with_a_pool_loads_neither_spacy_nor_trafilatura():
    """Only the workers extract and analyse, so only they need the extractor and the analyser (about 65 MiB of
    the main process's RSS): the main process hands the jobs over by name and gets plain records back."""
    done = subprocess.run([sys.executable, "-c", CYCLE_PROBE], capture_output=True, text=True, timeout=600, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "indexed": POOL_THRESHOLD,
        "quotes": [[KIM, "direct"], ["Officials", "stance"], ["Officials", "indirect"]],  # analysed, in the workers
        "loaded": [],
    }
