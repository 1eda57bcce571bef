"""Polling against a real HTTP server on loopback: the ways real feed servers behave and misbehave."""

from __future__ import annotations

import asyncio
import gc
import gzip
import os
import pickle
import re
import signal
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import poll
from pipeline.config import Config
from pipeline.cycle import poll_stage, run_cycle
from pipeline.demo.server import SiteServer, StaticRoute
from pipeline.feeds import FeedParseError, ParsedBody, each_parsed
from pipeline.http11 import target_of
from pipeline.poll import BodyParser, PollReport, backoff_delay, poll_feed, poll_feeds
from pipeline.records import Entry, FeedState, utcnow
from pipeline.store.base import NewEntries
from pipeline.store.sqlite import SQLiteStore
from pipeline.urls import canonical_id, canonical_link, canonical_url, url_id
from pipeline.web import AddressGuard, FetchError, WebClient, parse_retry_after, request_target
from pipeline.workers import WorkerDiedError, Workers
from tests.conftest import make_config, stored_urls

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Test wire</title>
{items}
</channel></rss>"""


def rss(*links: str, guid_prefix: str = "g") -> bytes:
    items = "\n".join(
        f"<item><title>Story {n}</title><link>{link}</link><guid>{guid_prefix}{n}</guid>"
        f"<description>Summary of story {n}.</description></item>"
        for n, link in enumerate(links)
    )
    return RSS.format(items=items).encode()


def poll_once(config: Config, store: SQLiteStore, url: str, when_offset: timedelta = timedelta()):
    async def go():
        async with WebClient(config.fetch) as client:
            feed = next(feed for feed in config.feeds if feed.url == url)
            return await poll_feed(feed, config, store, client, utcnow() + when_offset)

    return asyncio.run(go())


def feed_config(tmp_path: Path, site: SiteServer, path: str = "/feed.xml", **sections) -> Config:
    return make_config(tmp_path, [{"url": site.url(path), "name": "Test wire"}], **sections)


def status_route(code: int, headers: dict[str, str] | None = None):
    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(code)
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.send_header("Content-Length", "0")
        request.end_headers()

    return handler


def test_second_poll_gets_304_and_costs_no_parsing(tmp_path, site, store):
    site.routes["/feed.xml"] = StaticRoute(rss("http://example.com/a"), "application/rss+xml")
    config = feed_config(tmp_path, site)
    first = poll_once(config, store, site.url("/feed.xml"))
    assert first.entries_new == 1 and stored_urls(store) == ["http://example.com/a"]
    second = poll_once(config, store, site.url("/feed.xml"))
    assert second.not_modified == 1 and second.entries_new == 0
    assert stored_urls(store) == ["http://example.com/a"]
    state = store.get_feed(site.url("/feed.xml"))
    assert state is not None and state.etag == site.routes["/feed.xml"].etag_value
    assert state.failures == 0 and state.last_success is not None


def test_an_etag_outside_ascii_goes_back_byte_for_byte(tmp_path, site, store):
    """A server's validator with a Latin-1 byte (é as 0xE9) is sent back as those bytes, so the feed gets its 304."""
    sent_back: list[str | None] = []
    body = rss("http://example.com/a")

    def handler(request: BaseHTTPRequestHandler) -> None:
        sent_back.append(request.headers.get("If-None-Match"))  # http.server reads header bytes as Latin-1
        if sent_back[-1] == 'W/"caf\u00e9"':
            request.send_response(304)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("ETag", 'W/"caf\u00e9"')  # written as Latin-1 bytes
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    site.routes["/feed.xml"] = handler
    config = feed_config(tmp_path, site)
    first = poll_once(config, store, site.url("/feed.xml"))
    second = poll_once(config, store, site.url("/feed.xml"))
    assert first.entries_new == 1 and first.failed == 0
    assert second.not_modified == 1 and second.failed == 0
    assert sent_back == [None, 'W/"caf\u00e9"']


def test_reused_etag_with_changed_body_is_still_read(tmp_path, site, store):
    def sticky_etag(body: bytes):
        def handler(request: BaseHTTPRequestHandler) -> None:
            request.send_response(200)
            request.send_header("ETag", '"never-changes"')
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)

        return handler

    config = feed_config(tmp_path, site)
    site.routes["/feed.xml"] = sticky_etag(rss("http://example.com/a"))
    poll_once(config, store, site.url("/feed.xml"))
    # The server ignores If-None-Match and keeps its ETag though the feed changed.
    site.routes["/feed.xml"] = sticky_etag(rss("http://example.com/a", "http://example.com/b"))
    changed = poll_once(config, store, site.url("/feed.xml"))
    assert changed.entries_new == 1 and stored_urls(store) == ["http://example.com/a", "http://example.com/b"]
    unchanged = poll_once(config, store, site.url("/feed.xml"))
    assert unchanged.unchanged == 1 and unchanged.entries_new == 0
    assert stored_urls(store) == ["http://example.com/a", "http://example.com/b"]


@pytest.mark.parametrize("code", [404, 410, 500])
def test_http_errors_are_recorded_and_backed_off(tmp_path, site, store, code):
    site.routes["/feed.xml"] = status_route(code)
    config = feed_config(tmp_path, site)
    before = utcnow()
    report = poll_once(config, store, site.url("/feed.xml"))
    poll_once(config, store, site.url("/feed.xml"))
    state = store.get_feed(site.url("/feed.xml"))
    assert report.failed == 1 and report.errors[0].reason == f"HTTP {code}"
    assert state is not None and state.failures == 2 and state.last_error == f"HTTP {code}"
    assert state.next_poll is not None and state.next_poll - before >= timedelta(minutes=10)


def test_429_retry_after_is_honoured(tmp_path, site, store):
    site.routes["/feed.xml"] = status_route(429, {"Retry-After": "7200"})
    config = feed_config(tmp_path, site)
    before = utcnow()
    poll_once(config, store, site.url("/feed.xml"))
    state = store.get_feed(site.url("/feed.xml"))
    assert state is not None and state.next_poll is not None
    assert state.next_poll - before >= timedelta(hours=2)


def test_backoff_grows_and_is_capped():
    cap = timedelta(hours=6)
    delays = [backoff_delay(n, timedelta(minutes=5), cap, None) for n in range(1, 10)]
    assert delays[:3] == [timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20)]
    assert delays[-1] == cap
    assert backoff_delay(1, timedelta(minutes=5), cap, 3600.0) == timedelta(hours=1)


def test_retry_after_http_date():
    now = utcnow()
    stamp = (now + timedelta(seconds=120)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    seconds = parse_retry_after(stamp, now)
    assert seconds is not None and 118 <= seconds <= 120
    assert parse_retry_after("soon") is None


def test_redirect_loop_is_cut_off(tmp_path, site, store):
    site.routes["/feed.xml"] = status_route(302, {"Location": "/loop.xml"})
    site.routes["/loop.xml"] = status_route(302, {"Location": "/feed.xml"})
    report = poll_once(feed_config(tmp_path, site), store, site.url("/feed.xml"))
    assert report.errors[0].reason == "more than 5 redirects"


def test_hanging_server_times_out_without_holding_up_other_feeds(tmp_path, site, store):
    def hang(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", "100000")
        request.end_headers()
        for _ in range(40):  # trickles a byte at a time: no read timeout fires, the deadline does
            request.wfile.write(b"<")
            request.wfile.flush()
            time.sleep(0.1)

    site.routes["/hang.xml"] = hang
    site.routes["/feed.xml"] = StaticRoute(rss("http://example.com/a"), "application/rss+xml")
    config = make_config(
        tmp_path,
        [{"url": site.url("/hang.xml"), "name": "Hanging"}, {"url": site.url("/feed.xml"), "name": "Good"}],
        fetch={"timeout": "1s"},
    )
    report = run_cycle(config, store)
    assert report.feeds_polled == 2 and report.feeds_failed == 1
    assert store.get_feed(site.url("/hang.xml")).last_error == "timed out after 1s"
    assert store.get_feed(site.url("/feed.xml")).entries_seen == 1


def test_huge_body_is_refused(tmp_path, site, store):
    site.routes["/feed.xml"] = StaticRoute(b"<rss>" + b" " * 50_000_000 + b"</rss>", "application/rss+xml")
    report = poll_once(feed_config(tmp_path, site, fetch={"max_bytes": 10_000_000}), store, site.url("/feed.xml"))
    assert "over the 10,000,000-byte limit" in report.errors[0].reason


def test_endless_body_without_length_is_cut_off(tmp_path, site, store):
    def endless(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("Connection", "close")
        request.end_headers()
        chunk = b"<item>" * 10_000
        for _ in range(2_000):  # bounded, but far past the cap
            try:
                request.wfile.write(chunk)
            except OSError:
                return

    site.routes["/feed.xml"] = endless
    report = poll_once(feed_config(tmp_path, site, fetch={"max_bytes": 1_000_000}), store, site.url("/feed.xml"))
    assert report.errors[0].reason == "body is over the 1,000,000-byte limit"


def test_gzip_bomb_is_cut_off(tmp_path, site, store):
    site.routes["/feed.xml"] = StaticRoute(
        gzip.compress(b"\0" * 200_000_000), "application/rss+xml", headers={"Content-Encoding": "gzip"}
    )
    report = poll_once(feed_config(tmp_path, site), store, site.url("/feed.xml"))
    assert "a compression bomb" in report.errors[0].reason


def test_xml_entity_bomb_does_not_expand(tmp_path, site, store):
    levels = "\n".join(f' <!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(2, 10))
    bomb = f"""<?xml version="1.0"?>
<!DOCTYPE rss [ <!ENTITY lol1 "lol">
{levels}
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>Real story</title><link>http://example.com/real</link></item></channel></rss>"""
    site.routes["/feed.xml"] = StaticRoute(bomb.encode(), "application/rss+xml")
    report = poll_once(feed_config(tmp_path, site), store, site.url("/feed.xml"))
    assert report.entries_new == 1 and stored_urls(store) == ["http://example.com/real"]


def test_malformed_xml_with_items_is_still_read(tmp_path, site, store):
    broken = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Broken & unescaped</title>
<item><title>One</title><link>http://example.com/one</link></item>
<item><title>Two <b>bold</title><link>http://example.com/two</link></item>"""
    site.routes["/feed.xml"] = StaticRoute(broken, "application/rss+xml")
    report = poll_once(feed_config(tmp_path, site), store, site.url("/feed.xml"))
    assert report.failed == 0 and report.entries_new == 2
    assert stored_urls(store) == ["http://example.com/one", "http://example.com/two"]


def test_not_a_feed_is_a_recorded_failure(tmp_path, site, store):
    site.routes["/feed.xml"] = StaticRoute(b"<html><body>Page moved</body></html>", "text/html")
    report = poll_once(feed_config(tmp_path, site), store, site.url("/feed.xml"))
    assert report.failed == 1 and report.errors[0].reason.startswith("not a feed")


def test_private_addresses_are_refused_unless_allowed(tmp_path, site, store):
    site.routes["/feed.xml"] = StaticRoute(rss("http://example.com/a"), "application/rss+xml")
    config = feed_config(tmp_path, site, fetch={"allow_networks": []})
    report = poll_once(config, store, site.url("/feed.xml"))
    assert "127.0.0.1 is not a public address" in report.errors[0].reason
    assert site.hits.get("/feed.xml") is None


def test_redirect_into_a_private_range_is_refused(tmp_path, site, store):
    site.routes["/feed.xml"] = status_route(302, {"Location": "http://169.254.169.254/latest/meta-data/"})
    report = poll_once(feed_config(tmp_path, site), store, site.url("/feed.xml"))
    assert "169.254.169.254 is not a public address" in report.errors[0].reason


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.1.2.3/feed.xml", "refused 10.1.2.3: 10.1.2.3 is not a public address"),  # written as an address
        ("http://[::1]:8080/feed.xml", "refused ::1: ::1 is not a public address"),
        ("http://localhost/feed.xml", "refused localhost: (127.0.0.1|::1) is not a public address"),  # resolved
    ],
)
def test_addresses_written_or_resolved_are_both_checked(url, reason):
    async def check(guard: AddressGuard) -> None:
        await guard.check(target_of(url))

    with pytest.raises(FetchError, match=f"^{reason} \\(add it to fetch.allow_networks\\)$"):
        asyncio.run(check(AddressGuard([])))
    asyncio.run(check(AddressGuard(["10.0.0.0/8", "::1/128", "127.0.0.0/8"])))  # allowed: no error


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://a.example/feed.xml", "refused scheme 'ftp'"),  # a redirect's Location may name any scheme
        ("http:///feed.xml", "URL has no host"),
        ("http://[::1/feed.xml", "bad URL: Invalid IPv6 URL"),
        ("http://a.example:port/feed.xml", "bad URL: Port could not be cast to integer value as 'port'"),
    ],
)
def test_a_url_that_names_no_http_host_is_refused_with_its_reason(url, reason):
    with pytest.raises(FetchError, match=f"^{re.escape(reason)}$"):
        request_target(url)


def test_json_feed_is_read(tmp_path, site, store):
    body = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "J",
      "items": [{"id": "1", "url": "http://example.com/j1", "title": "Jay", "content_text": "Body text.",
                 "date_published": "2020-07-10T08:00:00Z"}]}"""
    site.routes["/feed.xml"] = StaticRoute(body, "application/feed+json")
    report = poll_once(feed_config(tmp_path, site), store, site.url("/feed.xml"))
    assert report.entries_new == 1
    (entry,) = store.entries_due(utcnow())
    assert (entry.url, entry.title, entry.summary) == ("http://example.com/j1", "Jay", "Body text.")
    assert entry.published is not None and entry.published.isoformat() == "2020-07-10T08:00:00+00:00"


def test_same_story_by_guid_or_canonical_url_is_one_entry(tmp_path, site, store):
    site.routes["/a.xml"] = StaticRoute(rss("http://Example.com/story?utm_source=a&id=1#top"), "application/rss+xml")
    site.routes["/b.xml"] = StaticRoute(
        rss("http://example.com/story?id=1&fbclid=x", guid_prefix="other"), "application/rss+xml"
    )
    config = make_config(tmp_path, [{"url": site.url("/a.xml")}, {"url": site.url("/b.xml")}])
    first = run_cycle(config, store, force=True)
    site.routes["/a.xml"] = StaticRoute(rss("http://example.com/story-renamed"), "application/rss+xml")
    second = run_cycle(config, store, force=True)
    assert first.entries_new == 1
    assert second.entries_new == 0  # same GUID in the same feed, though its link changed
    assert store.count_entries() == 1


@pytest.mark.parametrize(
    ("url", "host", "port", "host_header", "target"),
    [
        ("http://127.0.0.1:8080/feeds/1.xml?a=b", "127.0.0.1", 8080, "127.0.0.1:8080", b"/feeds/1.xml?a=b"),
        ("HTTPS://Example.ORG", "example.org", 443, "example.org", b"/"),
        ("http://[::1]:81/x#frag", "::1", 81, "[::1]:81", b"/x"),
        (
            "https://bücher.example/ä b?q=ü",
            "xn--bcher-kva.example",
            443,
            "xn--bcher-kva.example",
            b"/%C3%A4%20b?q=%C3%BC",
        ),
    ],
)
def test_a_url_becomes_the_request_line_and_host_http_sends(url, host, port, host_header, target):
    request = target_of(url)
    assert (request.host, request.port, request.host_header, request.target) == (host, port, host_header, target)
    assert request.authorization is None


def test_a_url_with_a_control_character_is_refused_with_its_reason():
    with pytest.raises(ValueError, match="non-printable ASCII character"):
        target_of("http://example.org/a\tb")


def test_credentials_in_a_url_are_sent_as_basic_auth():
    assert target_of("http://ann:s%3Acret@example.org/feed").authorization == "Basic YW5uOnM6Y3JldA=="


def test_feeds_on_one_host_use_every_slot_and_no_more_connections_than_slots(tmp_path, site, store):
    """24 feeds on one host, each answered after 0.3 s, 6 slots: the host sees 6 requests at once (24 feeds
    queue behind them) and never more, over at most 6 connections, each reused (no connection per feed)."""
    lock = threading.Lock()
    in_flight = [0]
    most_in_flight = [0]
    ports: set[int] = set()

    def slow(request: BaseHTTPRequestHandler) -> None:
        with lock:
            in_flight[0] += 1
            most_in_flight[0] = max(most_in_flight[0], in_flight[0])
            ports.add(request.client_address[1])
        time.sleep(0.3)
        request.send_response(304)
        request.send_header("Content-Length", "0")
        request.end_headers()
        with lock:
            in_flight[0] -= 1

    feeds = []
    for number in range(24):
        site.routes[f"/{number}.xml"] = slow
        feeds.append({"url": site.url(f"/{number}.xml"), "name": f"feed {number}"})
    config = make_config(tmp_path, feeds, fetch={"concurrency": 6, "per_host": 6})

    async def go():
        async with WebClient(config.fetch) as client:
            return await poll_feeds(config, store, client, utcnow(), list(config.feeds))

    report = asyncio.run(go())
    assert report.not_modified == 24 and report.failed == 0
    assert most_in_flight[0] == 6
    assert len(ports) <= 6


def test_a_polls_count_of_new_entries_is_what_the_store_gained(tmp_path, site, store):
    """A poll's report counts its new entries and holds none (whoever needs them reads them from the store): two
    feeds of three and two stories, one story in both, make four entries; a second poll, all 304, none."""
    site.routes["/a.xml"] = StaticRoute(
        rss("http://example.com/1", "http://example.com/2", "http://example.com/3"), "application/rss+xml"
    )
    site.routes["/b.xml"] = StaticRoute(
        rss("http://example.com/3", "http://example.com/4", guid_prefix="b"), "application/rss+xml"
    )
    feeds = [{"url": site.url("/a.xml"), "name": "A"}, {"url": site.url("/b.xml"), "name": "B"}]
    config = make_config(tmp_path, feeds)

    async def go() -> PollReport:
        async with WebClient(config.fetch) as client:
            return await poll_feeds(config, store, client, utcnow(), list(config.feeds))

    first = asyncio.run(go())
    assert (first.polled, first.failed, first.entries_new) == (2, 0, 4)
    expected = ["http://example.com/1", "http://example.com/2", "http://example.com/3", "http://example.com/4"]
    assert stored_urls(store) == expected
    again = asyncio.run(go())  # every feed answers 304 now
    assert (again.not_modified, again.entries_new) == (2, 0)
    assert stored_urls(store) == expected


def test_a_feeds_entries_are_let_go_once_they_are_stored(tmp_path, site, store):
    """Once a feed's entries are in the store, nothing of the poll holds them, not even its finished task (a
    poll of the bench's 2,000 changed feeds kept all 46,656 that way until it ended: 227 MiB of the bench
    process's peak against 185). Counted when the poll reports the feed done, which is after it is stored."""
    site.routes["/feed.xml"] = StaticRoute(
        rss("http://example.com/1", "http://example.com/2", "http://example.com/3"), "application/rss+xml"
    )
    config = feed_config(tmp_path, site)
    alive: list[int] = []

    def count_entries(stage: str, done: int, total: int) -> None:
        gc.collect()
        alive.append(
            sum(type(thing) is NewEntries and thing.feed_url == site.url("/feed.xml") for thing in gc.get_objects())
        )

    async def go() -> PollReport:
        async with WebClient(config.fetch) as client:
            return await poll_feeds(config, store, client, utcnow(), list(config.feeds), progress=count_entries)

    report = asyncio.run(go())
    assert (report.entries_new, alive) == (3, [0])
    assert stored_urls(store) == ["http://example.com/1", "http://example.com/2", "http://example.com/3"]


class LoopWatchingStore(SQLiteStore):
    """A real store that, on each save of the feeds' states, asks the event loop to run a callback and waits up to
    5 s for it: whether the loop went on while the save ran."""

    loop: asyncio.AbstractEventLoop
    loop_ran: list[bool]

    def save_feeds(self, states):
        ran = threading.Event()
        self.loop.call_soon_threadsafe(ran.set)
        self.loop_ran.append(ran.wait(5))
        super().save_feeds(states)


def test_the_event_loop_goes_on_while_a_poll_stores_its_feeds(tmp_path, site):
    """Feeds are stored in a thread: a save (SQLite's inserts, a WAL checkpoint's writes and fsyncs) no longer
    holds every download in flight."""
    site.routes["/feed.xml"] = StaticRoute(rss("http://example.com/1", "http://example.com/2"), "application/rss+xml")
    config = feed_config(tmp_path, site)
    with LoopWatchingStore(tmp_path / "watched.db") as store:
        store.loop_ran = []

        async def go() -> PollReport:
            store.loop = asyncio.get_running_loop()
            async with WebClient(config.fetch) as client:
                return await poll_feeds(config, store, client, utcnow(), list(config.feeds))

        report = asyncio.run(go())
        assert (report.entries_new, store.loop_ran) == (2, [True])
        state = store.get_feed(site.url("/feed.xml"))
        assert state is not None and state.entries_seen == 2


class CancellingStore(SQLiteStore):
    """A real store whose save of the feeds' states fails as a locked SQLite does, after asking the event loop to
    cancel the poll (as Ctrl-C would): the poll then ends with another exception than the save's."""

    loop: asyncio.AbstractEventLoop
    poll: asyncio.Future[PollReport]

    def save_feeds(self, states):
        self.loop.call_soon_threadsafe(self.poll.cancel)
        raise sqlite3.OperationalError("database is locked")


def test_a_failed_save_is_not_logged_as_never_retrieved_when_a_cancel_ends_the_poll(tmp_path, site, monkeypatch):
    """One feed a save: the quick feed's save fails in its thread while the poll waits for the slow feed, and
    the poll is cancelled meanwhile. The cancel is what the poll raises; the save's StoreError is retrieved, so
    asyncio logs nothing about it."""

    def slow(request: BaseHTTPRequestHandler) -> None:
        body = rss("http://example.com/slow")
        request.send_response(200)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        time.sleep(1)
        request.wfile.write(body)

    monkeypatch.setattr(poll, "SAVE_EVERY", 1)
    site.routes["/feed.xml"] = StaticRoute(rss("http://example.com/a"), "application/rss+xml")
    site.routes["/slow.xml"] = slow
    config = make_config(tmp_path, [{"url": site.url("/feed.xml")}, {"url": site.url("/slow.xml")}])
    logged: list[str] = []

    async def go() -> None:
        store.loop = asyncio.get_running_loop()
        store.loop.set_exception_handler(lambda _loop, context: logged.append(context["message"]))
        async with WebClient(config.fetch) as client:
            store.poll = asyncio.ensure_future(poll_feeds(config, store, client, utcnow(), list(config.feeds)))
            with pytest.raises(asyncio.CancelledError):
                await store.poll
        del store.poll
        gc.collect()

    with CancellingStore(tmp_path / "cancelled.db") as store:
        asyncio.run(go())
    assert logged == []


def test_a_cycle_of_feeds_all_answering_304_starts_no_worker_processes(tmp_path, site, store, monkeypatch):
    """40 feeds due (enough for a worker pool), each answering 304 to the ETag it last sent: nothing to parse and
    no pages due, so no worker process is started (starting them cost 2-3 s of CPU, a third of such a cycle)."""
    executors: list[Workers] = []
    make_executor = Workers._executor

    def spied_executor(self: Workers):
        executors.append(self)
        return make_executor(self)

    monkeypatch.setattr(Workers, "_executor", spied_executor)
    feeds = []
    for number in range(40):
        route = StaticRoute(rss(f"http://example.com/{number}"), "application/rss+xml")
        site.routes[f"/{number}.xml"] = route
        feeds.append({"url": site.url(f"/{number}.xml"), "name": f"feed {number}"})
        store.save_feed(FeedState(url=site.url(f"/{number}.xml"), name=f"feed {number}", etag=route.etag_value))
    report = run_cycle(make_config(tmp_path, feeds), store)
    assert (report.feeds_polled, report.feeds_failed, report.entries_new) == (40, 0, 0)
    assert executors == []


def test_an_item_whose_link_is_not_a_url_is_skipped_with_its_reason_and_the_others_stored(tmp_path, site, store):
    site.routes["/feed.xml"] = StaticRoute(
        rss("http://example.com:abc/bad-port", "http://example.com/good"), "application/rss+xml"
    )
    report = poll_once(feed_config(tmp_path, site), store, site.url("/feed.xml"))
    assert report.entries_new == 1 and stored_urls(store) == ["http://example.com/good"]
    assert [error.reason for error in report.errors] == [
        "1 entries without a usable link skipped (first unusable: 'http://example.com:abc/bad-port': "
        "Port could not be cast to integer value as 'abc')"
    ]
    (state,) = store.list_feeds()
    assert (state.failures, state.last_error, state.entries_seen) == (0, None, 1)


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://Example.COM:80/a?b=2&utm_source=x&a=1#top", "http://example.com/a?a=1&b=2"),
        ("http://[::1]:8080/x?b&a=1", "http://[::1]:8080/x?a=1&b="),
        ("https://[2001:DB8::1]/", "https://[2001:db8::1]/"),
        ("http://user:pw@example.com:8080", "http://user:pw@example.com:8080/"),
        # a plain host, put together by hand: no query left after tracking parameters means no "?"
        ("https://News.Example.ORG", "https://news.example.org/"),
        ("http://example.com/a/b?utm_source=x&fbclid=1#top", "http://example.com/a/b"),
        ("http://example.com/a/b?z=1&a=2", "http://example.com/a/b?a=2&z=1"),
        ("http://example.com/a/b?", "http://example.com/a/b"),
        ("http://example.com/%7Ea/b", "http://example.com/%7Ea/b"),
    ],
)
def test_canonical_urls_are_fixed_points_and_share_their_id(url, canonical):
    assert canonical_url(url) == canonical
    assert canonical_url(canonical) == canonical  # so a canonical URL is hashed as it is (canonical_id)
    assert url_id(url) == canonical_id(canonical) == url_id(canonical)


@pytest.mark.parametrize(
    ("base", "link", "canonical"),
    [
        ("http://feeds.example.com/world.xml", "https://Example.com/story?id=1#top", "https://example.com/story?id=1"),
        ("http://feeds.example.com/world.xml", "/story/2", "http://feeds.example.com/story/2"),
        ("http://feeds.example.com/a/world.xml", "story/3", "http://feeds.example.com/a/story/3"),
        # urljoin drops an empty ;params when the schemes agree, and keeps it when they differ
        ("http://feeds.example.com/world.xml", "http://example.com/story;", "http://example.com/story"),
        ("https://feeds.example.com/world.xml", "http://example.com/story;", "http://example.com/story;"),
        ("http://feeds.example.com/world.xml", "http:///story", "http://feeds.example.com/story"),
        ("http://feeds.example.com/world.xml", "http://example.com/a\tb", "http://example.com/ab"),
    ],
)
def test_links_are_joined_to_the_feed_url_then_canonical(base, link, canonical):
    assert canonical_link(base, link) == canonical


@settings(max_examples=3000, deadline=None)
@given(
    base=st.sampled_from(["http://127.0.0.1:8/feeds/1.xml", "https://example.com/a/b;p?q#f", "http://h/"]),
    scheme=st.sampled_from(["http://", "https://", "HTTP://", "//", ""]),
    rest=st.text(alphabet="aZ09:/?#;@[]%.&=_- \t\n\x01\u00e9", max_size=30),
)
def test_a_link_is_canonical_as_urljoin_then_canonical_url_make_it(base, scheme, rest):
    """`canonical_link` skips urljoin for links it cannot change; the outcome is urljoin's, a ValueError too."""
    link = scheme + rest
    try:
        expected: str | type[ValueError] = canonical_url(urljoin(base, link))
    except ValueError:
        expected = ValueError
    try:
        got: str | type[ValueError] = canonical_link(base, link)
    except ValueError:
        got = ValueError
    assert got == expected


@settings(max_examples=3000, deadline=None)
@given(query=st.text(alphabet="aZ09_.~-=&%+;/\u00e9", max_size=30) | st.sampled_from(["utm_source=x&b=1&A=2"]))
def test_a_query_is_canonical_as_parse_qsl_then_urlencode_make_it(query):
    """A plainly written query is split by hand; the outcome is the standard library's decoding and quoting."""
    tracking = {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid"}  # and every utm_ parameter
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(name, value) for name, value in pairs if not (name.lower().startswith("utm_") or name.lower() in tracking)]
    expected = f"http://example.com/p?{urlencode(sorted(kept))}" if kept else "http://example.com/p"
    assert canonical_link("http://feeds.example.com/", f"http://example.com/p?{query}") == expected
    assert canonical_url(f"http://example.com/p?{query}") == expected


def test_entries_the_store_refuses_fail_only_their_feed_and_are_read_again_next_poll(tmp_path, site, store):
    """Feeds are stored several at a time; a refusal of one feed's data (here a real SQLite trigger) lands
    on that feed alone, and its body is not remembered as read, so the next poll stores its entries."""
    site.routes["/a.xml"] = StaticRoute(rss("http://example.com/a1", "http://example.com/a2"), "application/rss+xml")
    site.routes["/b.xml"] = StaticRoute(rss("http://example.com/refused-b1", guid_prefix="b"), "application/rss+xml")
    config = make_config(tmp_path, [{"url": site.url("/a.xml")}, {"url": site.url("/b.xml")}])
    store._db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON entries WHEN NEW.url LIKE '%refused%' "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"
    )

    async def poll():
        async with WebClient(config.fetch) as client:
            return await poll_feeds(config, store, client, utcnow(), list(config.feeds))

    first = asyncio.run(poll())
    assert first.entries_new == 2 and stored_urls(store) == ["http://example.com/a1", "http://example.com/a2"]
    assert [(error.url, error.reason) for error in first.errors] == [
        (site.url("/b.xml"), "unexpected IntegrityError: refused by the test trigger")
    ]
    states = {state.url: state for state in store.list_feeds()}
    assert (states[site.url("/a.xml")].failures, states[site.url("/a.xml")].entries_seen) == (0, 2)
    assert (states[site.url("/b.xml")].failures, states[site.url("/b.xml")].body_hash) == (1, None)
    store._db.execute("DROP TRIGGER refuse")
    second = asyncio.run(poll())
    assert second.entries_new == 1
    assert stored_urls(store) == ["http://example.com/a1", "http://example.com/a2", "http://example.com/refused-b1"]
    assert (second.not_modified, second.failed) == (1, 0)  # feed a answered 304: nothing parsed again
    third = asyncio.run(poll())
    assert (third.entries_new, third.not_modified, third.failed) == (0, 2, 0)  # again changes nothing
    assert len(stored_urls(store)) == 3


# What the stand-in parser hands back for a body it reads: a feed body with no entries, at a fixed moment.
NO_ENTRIES = NewEntries("http://example.com/feed.xml", "stand-in", datetime(2020, 7, 10, 9, 0, tzinfo=UTC))


def items_or_die(feed_url: str, name: str | None, url: str, body: bytes, headers: dict[str, str]) -> ParsedBody:
    """A stand-in for new_entries_from_body, run in the workers: b"die" kills its worker as a crash in a parser
    would, b"bad" is not a feed, anything else is read as its own reason (beside `NO_ENTRIES`)."""
    if body == b"die":
        os.kill(os.getpid(), signal.SIGKILL)
    if body == b"bad":
        raise FeedParseError("not a feed: bad")
    return NO_ENTRIES, body.decode()


class CountingWorkers(Workers):
    """Workers that note how many bodies each job carries."""

    def __init__(self) -> None:
        super().__init__(2)
        self.jobs: list[int] = []

    async def run(self, fn, *args):
        self.jobs.append(len(args[1]) if fn is each_parsed else 1)
        return await super().run(fn, *args)


def parse_together(parser: BodyParser, bodies: list[bytes]) -> list[object]:
    feed = "http://example.com/feed.xml"

    async def parse(body: bytes) -> object:
        try:
            return await parser.parse((feed, None, feed, body, {}))
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            return exc

    async def parse_all() -> list[object]:
        return await asyncio.gather(*(parse(body) for body in bodies))

    return asyncio.run(parse_all())


def test_an_entry_crosses_to_the_main_process_as_its_fields_in_order():
    fields = (
        "e1",
        "https://example.org/rss",
        "https://example.org/a",
        "g1",
        "Summit",
        "No summit this year.",
        datetime(2020, 7, 10, 9, 0, tzinfo=UTC),
        "Example",
        "failed",
        2,
        "HTTP 503",
        datetime(2020, 7, 10, 10, 0, tzinfo=UTC),
        datetime(2020, 7, 10, 9, 1, tzinfo=UTC),
    )
    entry = Entry(*fields)
    assert (entry.guid, entry.attempts, entry.discovered) == ("g1", 2, datetime(2020, 7, 10, 9, 1, tzinfo=UTC))
    assert entry.__reduce__() == (Entry, fields)
    back = pickle.loads(pickle.dumps(entry))
    assert back == entry
    assert back is not entry


def test_bodies_that_queue_for_the_workers_go_to_them_several_to_a_job():
    pool = CountingWorkers()
    try:
        results = parse_together(BodyParser(pool, items_or_die), [f"feed {n}".encode() for n in range(40)])
    finally:
        pool.shutdown()
    assert results == [(NO_ENTRIES, f"feed {n}") for n in range(40)]
    # seven jobs in flight at once (two workers, each with its job and two queued, and one more), one body each
    # as they came; the other 33 waited for the first job to finish and went 16 (BATCH_FEEDS) at a time
    assert pool.jobs == [1, 1, 1, 1, 1, 1, 1, 16, 16, 1]


def test_a_body_that_kills_its_worker_fails_only_its_feed_in_a_job_of_several():
    pool = CountingWorkers()
    # the first seven fill the jobs in flight, one body each; the other five wait and go in one job
    bodies = [b"one", b"two", b"three", b"four", b"five", b"six", b"seven", b"eight", b"die", b"bad", b"nine", b"ten"]
    try:
        results = parse_together(BodyParser(pool, items_or_die), bodies)
    finally:
        pool.shutdown()
    died, bad = results[8], results[9]
    assert [result for n, result in enumerate(results) if n not in (8, 9)] == [
        (NO_ENTRIES, "one"),
        (NO_ENTRIES, "two"),
        (NO_ENTRIES, "three"),
        (NO_ENTRIES, "four"),
        (NO_ENTRIES, "five"),
        (NO_ENTRIES, "six"),
        (NO_ENTRIES, "seven"),
        (NO_ENTRIES, "eight"),
        (NO_ENTRIES, "nine"),
        (NO_ENTRIES, "ten"),
    ]
    assert isinstance(died, WorkerDiedError) and "items_or_die" in str(died)
    assert isinstance(bad, FeedParseError) and str(bad) == "not a feed: bad"
    # the job of the last five died twice (its worker, then its retry), and each of the five went alone
    assert pool.jobs == [1, 1, 1, 1, 1, 1, 1, 5, 1, 1, 1, 1, 1]


def test_the_poll_stage_hands_back_its_report_without_formatting_it(tmp_path, site, store, monkeypatch):
    """asyncio.run (3.11) formats the result of its main task as it ends: for a poll that was once a repr of every
    new entry, 0.6 s for 46,000 of them, and is still one of every feed error. The poll stage's coroutine returns
    nothing, so its report is not formatted."""
    formatted: list[str] = []

    def noted_repr(report: PollReport) -> str:
        formatted.append("report")
        return "PollReport(...)"

    monkeypatch.setattr(PollReport, "__repr__", noted_repr)
    site.routes["/feed.xml"] = StaticRoute(rss("http://example.com/a", "http://example.com/b"), "application/rss+xml")
    report = poll_stage(make_config(tmp_path, [{"url": site.url("/feed.xml")}]), store)
    assert report.entries_new == 2 and stored_urls(store) == ["http://example.com/a", "http://example.com/b"]
    assert (report.polled, report.failed) == (1, 0)
    assert formatted == []
