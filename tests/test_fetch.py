"""Fetch and extract through a whole cycle: what happens to each entry, and that none is lost."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from http.server import BaseHTTPRequestHandler

from pipeline import cycle
from pipeline.cycle import BATCH_SIZE, fetch_stage, poll_stage, run_cycle
from pipeline.demo.server import StaticRoute
from pipeline.records import Article, Entry, utcnow
from tests.conftest import all_articles, make_config

PARAGRAPHS = [
    "Kim Yo Jong, the sister of Kim Jong Un, said another summit would not be useful to the North.",
    "The state-run Korean Central News Agency carried her statement on Friday morning, local time.",
    "Analysts in Seoul said the statement left the door open to talks after the U.S. election in November.",
    "The two leaders have met three times, in Singapore, in Hanoi and at the demilitarized zone in 2019.",
]

KIM = "Kim Yo Jong"


def page(title: str, paragraphs: list[str], charset_meta: str = "") -> str:
    body = "\n".join(f"<p>{text}</p>" for text in paragraphs)
    return f"""<!DOCTYPE html><html lang="en"><head>{charset_meta}<title>{title}</title></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>{title}</h1>{body}</article>
<footer>Copyright 2020 Example News. All rights reserved.</footer></body></html>"""


def feed(site, *paths: str) -> bytes:
    items = "".join(
        f"<item><title>Item {path}</title><link>{site.url(path)}</link><guid>{path}</guid>"
        f"<description>Feed summary for {path}: Kim Yo Jong rules out a summit this year.</description></item>"
        for path in paths
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()


def configured(tmp_path, site, *paths):
    site.routes["/feed.xml"] = StaticRoute(feed(site, *paths), "application/rss+xml")
    return make_config(tmp_path, [{"url": site.url("/feed.xml"), "name": "Test wire"}])


def test_pages_are_extracted_and_indexed(tmp_path, site, store):
    site.routes["/story.html"] = StaticRoute(page("Kim's sister rules out summit", PARAGRAPHS).encode())
    report = run_cycle(configured(tmp_path, site, "/story.html"), store)
    (article,) = all_articles(store)
    assert report.articles_indexed == 1 and report.errors == []
    assert "Korean Central News Agency" in article.text
    assert "All rights reserved" not in article.text and not article.from_feed
    assert article.title == "Item /story.html" and article.source == "Test wire"


def test_pdf_falls_back_to_the_feed_text_with_its_reason(tmp_path, site, store):
    site.routes["/report.pdf"] = StaticRoute(b"%PDF-1.7\n" + b"\0" * 1000, "application/pdf")
    report = run_cycle(configured(tmp_path, site, "/report.pdf"), store)
    (article,) = all_articles(store)
    assert article.from_feed and "rules out a summit" in article.text
    assert report.errors[0].reason == "unsupported content type application/pdf"
    (entry,) = store.entries_due(utcnow() + timedelta(days=30)) or [None]
    assert entry is None  # done: retrying a PDF would give a PDF again


def test_paywall_page_with_too_little_text_uses_the_feed(tmp_path, site, store):
    site.routes["/paywall.html"] = StaticRoute(page("Subscribe", ["Subscribe to read this story."]).encode())
    report = run_cycle(configured(tmp_path, site, "/paywall.html"), store)
    (article,) = all_articles(store)
    assert article.from_feed
    assert "fewer than 250" in report.errors[0].reason


def test_server_error_is_retried_later_and_then_succeeds(tmp_path, site, store):
    def failing(request: BaseHTTPRequestHandler) -> None:
        request.send_response(503)
        request.send_header("Content-Length", "0")
        request.end_headers()

    site.routes["/story.html"] = failing
    config = configured(tmp_path, site, "/story.html")
    first = run_cycle(config, store)
    assert first.articles_indexed == 0 and first.errors[0].reason == "HTTP 503"
    assert store.count_entries("failed") == 1
    assert run_cycle(config, store).articles_indexed == 0  # backoff: not yet due
    site.routes["/story.html"] = StaticRoute(page("Back", PARAGRAPHS).encode())
    later = run_cycle(config, store, now=utcnow() + timedelta(hours=1))
    assert later.articles_indexed == 1 and store.count_entries("done") == 1


def test_charsets_from_header_meta_and_detection(tmp_path, site, store):
    text = ["Der Außenminister sagte, die Gespräche über Nordkorea seien für dieses Jahr beendet worden.", *PARAGRAPHS]
    latin1 = page("Grüße", text).encode("latin-1", errors="replace")
    site.routes["/header.html"] = StaticRoute(latin1, "text/html; charset=iso-8859-1")
    site.routes["/meta.html"] = StaticRoute(
        page("Grüße", text, '<meta charset="iso-8859-1">').encode("latin-1", errors="replace"), "text/html"
    )
    site.routes["/none.html"] = StaticRoute(page("Grüße", text).encode("utf-8"), "text/html")
    site.routes["/wrong.html"] = StaticRoute(page("Grüße", text).encode("utf-8"), "text/html; charset=iso-8859-1")
    run_cycle(configured(tmp_path, site, "/header.html", "/meta.html", "/none.html", "/wrong.html"), store)
    articles = all_articles(store)
    assert len(articles) == 4
    for article in articles:
        assert "Der Außenminister sagte" in article.text, article.url


def test_running_twice_indexes_nothing_the_second_time(tmp_path, site, store):
    site.routes["/story.html"] = StaticRoute(page("Story", PARAGRAPHS).encode())
    config = configured(tmp_path, site, "/story.html")
    first = run_cycle(config, store, force=True)
    second = run_cycle(config, store, force=True)
    assert (first.entries_new, first.articles_indexed) == (1, 1)
    assert (second.entries_new, second.articles_indexed) == (0, 0)
    assert store.count_articles() == 1


def test_articles_a_dead_run_indexed_are_finished_by_the_next(tmp_path, site, store):
    """A run killed between indexing and the later stages: the next cycle enriches, dedupes and states them."""
    quoted = 'Kim Yo Jong said in a statement that another summit would "not be useful to us" this year.'
    site.routes["/story.html"] = StaticRoute(page("Kim's sister rules out summit", [*PARAGRAPHS, quoted]).encode())
    config = configured(tmp_path, site, "/story.html")
    poll_stage(config, store)
    fetched = fetch_stage(config, store, [entry.id for entry in store.entries_due(utcnow())])
    (indexed,) = store.get_articles(fetched.article_ids)
    assert indexed.quotes == [] and store.unprocessed_articles(utcnow(), 10) == [indexed.id]

    report = run_cycle(config, store)
    (article,) = all_articles(store)
    assert report.articles_indexed == 0
    assert [quote.speaker for quote in article.quotes if quote.kind == "direct"] == [KIM]
    # hers, and the reported one of "Analysts in Seoul said the statement left the door open …"
    assert sorted(s.speaker for s in store.list_statements()) == ["Analysts", KIM]
    assert store.unprocessed_articles(utcnow(), 10) == []


def test_leftovers_that_fail_again_are_reported_and_hide_nothing_behind_them(tmp_path, site, store):
    """More failing leftovers than one batch, then a good one: the run reports them, finishes it, goes on."""
    said = 'Kim Yo Jong said in a statement that another summit would "not be useful to us" this year.'
    old = utcnow() - timedelta(hours=2)
    names = [f"bad{n:03}" for n in range(BATCH_SIZE + 1)] + ["good"]
    store.put_articles(
        [
            Article(id=n, url=f"https://example.org/{n}", feed_url="f", source="s", title=n, text=said, fetched=old)
            for n in names
        ]
    )
    with sqlite3.connect(tmp_path / "wirewatch.db") as raw:  # the disk refuses every later write of these
        raw.execute(
            "CREATE TRIGGER refuse BEFORE UPDATE ON articles WHEN old.id LIKE 'bad%'"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    site.routes["/story.html"] = StaticRoute(page("Kim's sister rules out summit", PARAGRAPHS).encode())
    report = run_cycle(configured(tmp_path, site, "/story.html"), store)
    assert report.articles_indexed == 1
    assert {(e.url, e.stage) for e in report.errors} == {(f"https://example.org/{n}", "process") for n in names[:-1]}
    assert "refused" in report.errors[0].reason
    assert store.unprocessed_articles(utcnow(), 1000) == names[:-1]
    assert [q.speaker for q in store.get_articles(["good"])[0].quotes if q.kind == "direct"] == [KIM]


def test_pages_of_the_next_batch_arrive_while_a_batch_is_deduped(tmp_path, site, store, monkeypatch):
    """Dedupe runs off the event loop: the first batch's dedupe waits for a page of the second batch, which only
    the event loop can bring. On the loop the wait would end in its guard instead (and the pages time out)."""
    import threading

    from pipeline import cycle

    monkeypatch.setattr(cycle, "BATCH_SIZE", 2)
    paths = [f"/story{n}.html" for n in range(4)]
    for n, path in enumerate(paths):
        site.routes[path] = StaticRoute(page(f"Story {n}", PARAGRAPHS[n:] + PARAGRAPHS[:n]).encode())
    pages_done: list[int] = []
    next_batch_arrived = threading.Event()
    seen_during_dedupe: list[int] = []
    dedupe_articles = cycle.dedupe_articles

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "fetch":
            pages_done.append(done)
            if len(pages_done) > 2:  # a page of the second batch
                next_batch_arrived.set()

    def waiting_dedupe(config, store_, articles):
        if not seen_during_dedupe:
            next_batch_arrived.wait(timeout=60)  # a guard against a hang, not a measured time
            seen_during_dedupe.append(len(pages_done))
        return dedupe_articles(config, store_, articles)

    monkeypatch.setattr(cycle, "dedupe_articles", waiting_dedupe)
    report = run_cycle(configured(tmp_path, site, *paths), store, progress=progress)
    assert report.articles_indexed == 4 and report.errors == []
    assert seen_during_dedupe[0] >= 3  # the first batch's 2 pages and at least one of the second's
    assert store.unprocessed_articles(utcnow(), 10) == []  # both batches deduped and grouped, in order


def test_pages_of_the_next_batch_arrive_while_a_batch_is_indexed(tmp_path, site, store, monkeypatch):
    """A batch is indexed off the event loop while the next batch downloads: the first batch's indexing waits
    for a page of the second batch, which only the event loop can bring. Five pages in batches of two: each is
    indexed once, and every batch deduped and grouped."""
    import threading

    from pipeline import cycle

    monkeypatch.setattr(cycle, "BATCH_SIZE", 2)
    paths = [f"/story{n}.html" for n in range(5)]
    for n, path in enumerate(paths):
        site.routes[path] = StaticRoute(page(f"Story {n}", PARAGRAPHS[n % 3 :] + PARAGRAPHS[: n % 3]).encode())
    pages_done: list[int] = []
    next_batch_arrived = threading.Event()
    seen_while_indexing: list[int] = []
    indexed: list[str] = []
    index_articles = cycle.index_articles

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "fetch":
            pages_done.append(done)
            if len(pages_done) > 2:  # a page of the second batch
                next_batch_arrived.set()

    def waiting_index(store_, articles, entries, now):
        if not seen_while_indexing:
            next_batch_arrived.wait(timeout=60)  # a guard against a hang, not a measured time
            seen_while_indexing.append(len(pages_done))
        indexed.extend(article.url for article in articles)
        return index_articles(store_, articles, entries, now)

    monkeypatch.setattr(cycle, "index_articles", waiting_index)
    report = run_cycle(configured(tmp_path, site, *paths), store, progress=progress)
    assert report.articles_indexed == 5 and report.errors == []
    assert seen_while_indexing[0] >= 3  # the first batch's 2 pages and at least one of the second's
    assert sorted(indexed) == sorted(site.url(path) for path in paths)  # each page indexed once
    assert store.entries_due(utcnow(), 10) == []
    assert store.unprocessed_articles(utcnow(), 10) == []  # every batch deduped and grouped


def test_a_cycle_takes_full_batches_then_halves_what_is_left(store, monkeypatch):
    """The last batch is the one the workers wait for (the main process stores, dedupes and groups it alone),
    so the tail of a cycle comes in shrinking batches. As the cycle takes them: batch n+1 is asked for while
    batch n is still due in the store (unsaved), and batch n-1 has been indexed."""
    monkeypatch.setattr(cycle, "BATCH_SIZE", 8)
    monkeypatch.setattr(cycle, "MIN_TAIL_BATCH", 2)
    now = utcnow()
    store.add_entries(
        Entry(id=f"e{n:02}", feed_url="https://news.example/feed", url=f"https://news.example/{n}", discovered=now)
        for n in range(27)
    )
    seen: set[str] = set()
    sizes: list[int] = []
    taken: list[Entry] = []  # batch n, still due while it is indexed
    before: list[Entry] = []  # batch n-1, indexed before batch n+1 is asked for
    while True:
        for entry in before:
            entry.status = "done"
        store.save_entries(before)
        batch = cycle.next_batch(store, now + timedelta(seconds=1), seen, len(taken))
        if not batch:
            break
        before, taken = taken, batch
        sizes.append(len(batch))
    # left to take when each batch is asked for: 27 and 19 (two full batches or more: 8 each), then 11 (-> 6),
    # 5 (-> 3), 2 (-> the smallest, 2), then none
    assert sizes == [8, 8, 6, 3, 2]
    assert len(seen) == 27
