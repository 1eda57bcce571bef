"""The HTTP client's limits against a real loopback server: stacked compression, and deadlines that
count the request, not the queue in front of it."""

from __future__ import annotations

import asyncio
import functools
import gzip
import struct
import subprocess
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler

import pytest

from pipeline.demo.server import StaticRoute
from pipeline.poll import poll_feeds
from pipeline.records import utcnow
from pipeline.web import FetchError, WebClient
from tests.conftest import make_config, stored_urls
from tests.test_poll import feed_config, poll_once, rss


@functools.cache
def double_gzip_bomb(gigabytes: int = 1) -> bytes:
    """`gigabytes` of zeros, gzipped twice: about 2.5 KB on the wire.

    The inner layer repeats one independently decodable deflate block (a full flush resets the compressor),
    so it costs a CRC over the zeros rather than compressing them.
    """
    megabyte = b"\0" * 1_000_000
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = packer.compress(megabyte) + packer.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(gigabytes * 1000):
        crc = zlib.crc32(megabyte, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (gigabytes * 1_000_000_000) & 0xFFFFFFFF)
    return gzip.compress(header + block * (gigabytes * 1000) + packer.flush() + trailer, 9)


def test_the_double_gzip_bomb_is_small_on_the_wire():
    bomb = double_gzip_bomb()
    assert len(bomb) < 5_000
    inner = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(gzip.decompress(bomb), 10_000_000)
    assert inner == b"\0" * 10_000_000


CHILD = """
import asyncio, resource, sys
from pipeline.config import Duration, FetchConfig, Network
from pipeline.web import FetchError, WebClient

def cap_memory(headroom):
    with open("/proc/self/status") as status:
        size = next(int(line.split()[1]) for line in status if line.startswith("VmSize:")) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (size + headroom, resource.RLIM_INFINITY))

async def main(base_url):
    async with WebClient(FetchConfig(allow_networks=[Network("127.0.0.0/8")], timeout=Duration(seconds=60))) as client:
        cap_memory(500_000_000)
        for path, types in (("/feed.xml", None), ("/page.html", frozenset({"text/html"}))):
            try:
                await client.get(base_url + path, accept_types=types)
                print("read")
            except FetchError as exc:
                print(exc.reason)

asyncio.run(main(sys.argv[1]))
"""


def test_double_gzip_bomb_is_cut_off_under_a_memory_limit(site):
    """The client runs in a child whose address space may grow 500 MB past its size at rest. Before, one
    network chunk of this body expanded to 1 GB in a single step (a MemoryError here, 3 GB unbounded)."""
    bomb = double_gzip_bomb()
    site.routes["/feed.xml"] = StaticRoute(bomb, "application/rss+xml", headers={"Content-Encoding": "gzip, gzip"})
    site.routes["/page.html"] = StaticRoute(bomb, "text/html", headers={"Content-Encoding": "gzip, gzip"})
    done = subprocess.run([sys.executable, "-c", CHILD, site.base_url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [
        "compressed body expands more than 100:1 (a compression bomb?)",
        "compressed body expands more than 100:1 (a compression bomb?)",
    ]


def test_stacked_gzip_of_a_real_feed_is_read(tmp_path, site, store):
    body = gzip.compress(gzip.compress(rss("http://example.com/a", "http://example.com/b")))
    site.routes["/feed.xml"] = StaticRoute(body, "application/rss+xml", headers={"Content-Encoding": "gzip, gzip"})
    report = poll_once(feed_config(tmp_path, site), store, site.url("/feed.xml"))
    assert report.failed == 0 and report.entries_new == 2
    assert stored_urls(store) == ["http://example.com/a", "http://example.com/b"]


def test_raw_deflate_is_read_like_zlib_deflate(tmp_path, site, store):
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw = packer.compress(rss("http://example.com/raw")) + packer.flush()
    site.routes["/feed.xml"] = StaticRoute(raw, "application/rss+xml", headers={"Content-Encoding": "deflate"})
    report = poll_once(feed_config(tmp_path, site), store, site.url("/feed.xml"))
    assert report.entries_new == 1 and stored_urls(store) == ["http://example.com/raw"]


def test_an_encoding_we_did_not_ask_for_is_refused(tmp_path, site, store):
    site.routes["/feed.xml"] = StaticRoute(b"\x8b\x02", "application/rss+xml", headers={"Content-Encoding": "br"})
    report = poll_once(feed_config(tmp_path, site), store, site.url("/feed.xml"))
    assert report.errors[0].reason == "unsupported content encoding 'br'"


def test_stacked_layers_over_the_size_cap_are_cut_off(tmp_path, site, store):
    """Not a bomb by ratio (random text compresses little), but past max_bytes once decoded."""
    body = gzip.compress(gzip.compress(rss(*(f"http://example.com/{n}" for n in range(30_000)))))
    site.routes["/feed.xml"] = StaticRoute(body, "application/rss+xml", headers={"Content-Encoding": "gzip, gzip"})
    report = poll_once(feed_config(tmp_path, site, fetch={"max_bytes": 500_000}), store, site.url("/feed.xml"))
    assert report.errors[0].reason == "body is over the 500,000-byte limit"


class SlowFeeds:
    """A host answering every feed after 0.5 s, and counting how many requests it serves at once."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()

    def __call__(self, request: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(0.5)
        body = rss(f"http://example.com{request.path}")
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
        with self.lock:
            self.in_flight -= 1


def poll_all(config, store):
    async def go():
        async with WebClient(config.fetch) as client:
            return await poll_feeds(config, store, client, utcnow(), list(config.feeds))

    return asyncio.run(go())


def test_feeds_queued_behind_others_on_one_host_do_not_time_out(tmp_path, site, store):
    """12 feeds, 2 at a time, 0.5 s each: the last waits at least 2.5 s for its slot, past the 2 s deadline.
    Only the request itself (0.5 s) counts against the deadline, so none times out; the server's sleep
    makes the queue at least this long however loaded the machine is."""
    slow = SlowFeeds()
    feeds = []
    for number in range(12):
        site.routes[f"/{number}.xml"] = slow
        feeds.append({"url": site.url(f"/{number}.xml"), "name": f"feed {number}"})
    config = make_config(tmp_path, feeds, fetch={"timeout": "2s", "per_host": 2})
    report = poll_all(config, store)
    assert [error.reason for error in report.errors] == []
    assert report.polled == 12 and report.entries_new == 12 and len(stored_urls(store)) == 12
    assert slow.most_in_flight == 2


def test_waiting_for_a_slot_has_its_own_limit(tmp_path, site, store):
    """One slot, four feeds of 0.5 s and a 1.2 s wait limit: the fourth waits at least 1.5 s, so at least it gives
    up waiting, with a reason saying so, and never counts as timed out."""
    slow = SlowFeeds()
    feeds = []
    for number in range(4):
        site.routes[f"/{number}.xml"] = slow
        feeds.append({"url": site.url(f"/{number}.xml"), "name": f"feed {number}"})
    config = make_config(tmp_path, feeds, fetch={"timeout": "30s", "per_host": 1, "slot_wait": "1.2s"})
    report = poll_all(config, store)
    reasons = {error.reason for error in report.errors}
    assert reasons == {"waited more than 1.2s for a connection slot"}
    assert 1 <= report.failed <= 2
    assert slow.most_in_flight == 1


def test_a_slow_request_still_times_out(tmp_path, site, store):
    slow = SlowFeeds()
    site.routes["/feed.xml"] = slow
    config = feed_config(tmp_path, site, fetch={"timeout": "0.2s"})
    with pytest.raises(FetchError, match=r"^timed out after 0.2s$"):

        async def go():
            async with WebClient(config.fetch) as client:
                await client.get(site.url("/feed.xml"))

        asyncio.run(go())


def test_a_304_and_a_small_redirect_leave_their_connection_open_for_the_next_request(tmp_path, site):
    """A response closed unread closes its connection: 20 feeds answering 304 on one host took 20 connections."""
    ports: list[int] = []

    def not_modified(handler: BaseHTTPRequestHandler) -> None:
        ports.append(handler.client_address[1])
        handler.send_response(304)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def moved(handler: BaseHTTPRequestHandler) -> None:
        ports.append(handler.client_address[1])
        body = b"<a href='/feed'>moved</a>"
        handler.send_response(302)
        handler.send_header("Location", "/feed")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    site.routes.update({"/feed": not_modified, "/old": moved})

    async def fetch_all() -> list[int]:
        async with WebClient(make_config(tmp_path).fetch) as client:
            return [(await client.get(site.url(path))).status for path in ("/feed", "/old", "/feed", "/feed")]

    assert asyncio.run(fetch_all()) == [304, 304, 304, 304]  # /old redirects to /feed
    assert len(ports) == 5  # four requests, one of them redirected
    assert len(set(ports)) == 1  # one connection for all five
