"""Cycle speed on real feeds and pages, served from a loopback server in its own process.

Run:  .venv/bin/python -m bench.bench_cycle [--feeds 2000] [--pages 543] [--runs 3] [--profile]

Three figures, each the median of `--runs` runs:

1. A cycle over N feeds that all answer 304 (the steady state of a poller).
2. N feeds whose bodies all changed: feeds/s through fetch + parse + new entries.
   The bodies are the 20 real news feeds of ../shared/data/feeds/real,
   replicated under N paths with their item links rewritten to be unique.
3. The whole cycle (poll + fetch + extract + index) over the 181 real article
   pages of the extraction benchmark, replicated to `--pages`, against the
   cost of trafilatura extraction alone (`pipeline.extract.extract`, one
   process) over the same pages: the floor.

The server runs in a child process, so its work does not share a core (or
the GIL) with the pipeline's; it answers on 127.0.0.1, one host, so the
per-host limit is raised to the global limit (the figure is for many feeds
across many hosts, not for hammering one).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gzip
import io
import multiprocessing
import pstats
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pipeline.config import Config, config_from_dict
from pipeline.cycle import run_cycle
from pipeline.demo.server import StaticRoute, serve
from pipeline.extract import decode_html, extract
from pipeline.poll import poll_feeds
from pipeline.records import FeedState, utcnow
from pipeline.store.sqlite import SQLiteStore
from pipeline.web import WebClient
from pipeline.workers import worker_pool

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_FEEDS = DATA / "feeds" / "real"
PAGES = DATA / "extraction" / "article_extraction_benchmark" / "html"
_LINK = re.compile(rb"(<link[^>]*>\s*|<guid[^>]*>\s*|\"url\":\s*\")(https?://)")


def real_feed_bodies() -> list[tuple[str, bytes]]:
    bodies = []
    for path in sorted(REAL_FEEDS.iterdir()):
        content_type = "application/feed+json" if path.suffix == ".json" else "application/rss+xml"
        if "iso8859" in path.name:  # the charset its server declared; the file has no XML declaration
            content_type += "; charset=iso-8859-1"
        bodies.append((content_type, path.read_bytes()))
    return bodies


def page_bodies() -> list[bytes]:
    return [gzip.decompress(path.read_bytes()) for path in sorted(PAGES.glob("*.html.gz"))]


def feed_routes(count: int, variant: str) -> dict[str, StaticRoute]:
    """`count` feeds; item links rewritten per feed and variant so every body and entry is new."""
    bodies = real_feed_bodies()
    routes = {}
    for number in range(count):
        content_type, body = bodies[number % len(bodies)]
        body = _LINK.sub(rb"\g<1>\g<2>" + f"{variant}{number}.".encode(), body)
        routes[f"/feeds/{number}.xml"] = StaticRoute(body, content_type)
    return routes


def page_routes(count: int) -> dict[str, StaticRoute]:
    pages = page_bodies()
    routes = {f"/pages/{n}.html": StaticRoute(pages[n % len(pages)]) for n in range(count)}
    items = "".join(
        f"<item><title>Page {n}</title><link>http://127.0.0.1:PORT/pages/{n}.html</link><guid>p{n}</guid></item>"
        for n in range(count)
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Pages</title>{items}</channel></rss>'
    routes["/feeds/pages.xml"] = StaticRoute(feed.encode(), "application/rss+xml")
    return routes


def _serve_child(kind: str, count: int, variant: str, port_queue: Any, stop: Any) -> None:
    routes = feed_routes(count, variant) if kind == "feeds" else page_routes(count)
    with serve({}) as server:
        if kind == "pages":
            feed = routes["/feeds/pages.xml"]
            routes["/feeds/pages.xml"] = StaticRoute(
                feed.body.replace(b"127.0.0.1:PORT", server.base_url.removeprefix("http://").encode()),
                feed.content_type,
            )
        server.routes.update(routes)
        port_queue.put(server.base_url)
        stop.wait()


class ChildServer:
    def __init__(self, kind: str, count: int, variant: str = "v") -> None:
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        self.stop = context.Event()
        self.process = context.Process(target=_serve_child, args=(kind, count, variant, queue, self.stop))
        self.process.start()
        self.base_url: str = queue.get(timeout=120)

    def close(self) -> None:
        self.stop.set()
        self.process.join(timeout=10)


def bench_config(directory: Path, feed_urls: list[str], concurrency: int = 32) -> Config:
    fetch = {"allow_networks": ["127.0.0.0/8"], "concurrency": concurrency, "per_host": concurrency, "timeout": "60s"}
    return config_from_dict(
        {
            "store": {"path": str(directory / "bench.db")},
            "feeds": [{"url": url, "interval": "5m"} for url in feed_urls],
            "fetch": fetch,
        }
    )


def time_304_cycle(feeds: int) -> float:
    server = ChildServer("feeds", feeds)
    try:
        urls = [f"{server.base_url}/feeds/{n}.xml" for n in range(feeds)]
        routes = feed_routes(feeds, "v")
        with tempfile.TemporaryDirectory() as directory:
            config = bench_config(Path(directory), urls)
            with SQLiteStore(config.store.path) as store:
                for number, url in enumerate(urls):
                    store.save_feed(FeedState(url=url, name=url, etag=routes[f"/feeds/{number}.xml"].etag_value))
                started = time.perf_counter()
                report = run_cycle(config, store, force=True)
                elapsed = time.perf_counter() - started
                assert report.feeds_failed == 0 and report.entries_new == 0, report.errors[:3]
        return elapsed
    finally:
        server.close()


def time_changed_feeds(feeds: int, variant: str, concurrency: int) -> tuple[float, int]:
    """Poll stage alone, as `run_cycle` runs it (parsing in the worker pool): every body is new, so all are parsed."""
    server = ChildServer("feeds", feeds, variant)
    try:
        urls = [f"{server.base_url}/feeds/{n}.xml" for n in range(feeds)]
        with tempfile.TemporaryDirectory() as directory:
            config = bench_config(Path(directory), urls, concurrency)
            with SQLiteStore(config.store.path) as store:

                async def poll() -> int:
                    pool = worker_pool(feeds)
                    try:
                        async with WebClient(config.fetch) as client:
                            result = await poll_feeds(config, store, client, utcnow(), list(config.feeds), pool=pool)
                    finally:
                        if pool:
                            pool.shutdown()
                    assert result.failed == 0, result.errors[:3]
                    return len(result.new_entries)

                started = time.perf_counter()
                entries = asyncio.run(poll())
                return time.perf_counter() - started, entries
    finally:
        server.close()


def time_whole_cycle(pages: int, profile: bool) -> tuple[float, int, str]:
    server = ChildServer("pages", pages)
    try:
        with tempfile.TemporaryDirectory() as directory:
            config = bench_config(Path(directory), [f"{server.base_url}/feeds/pages.xml"])
            with SQLiteStore(config.store.path) as store:
                profiler = cProfile.Profile() if profile else None
                started = time.perf_counter()
                if profiler:
                    profiler.enable()
                report = run_cycle(config, store)
                if profiler:
                    profiler.disable()
                elapsed = time.perf_counter() - started
        text = ""
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
            text = out.getvalue()
        return elapsed, report.articles_indexed, text
    finally:
        server.close()


def time_extraction_floor(pages: int) -> float:
    bodies = page_bodies()
    htmls = [decode_html(bodies[n % len(bodies)], "text/html") for n in range(pages)]
    started = time.perf_counter()
    for html in htmls:
        extract(html)
    return pages / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--pages", type=int, default=543)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one whole cycle")
    args = parser.parse_args(argv)
    if not REAL_FEEDS.exists() or not PAGES.exists():
        print(f"skipped: {DATA} is absent (the real feeds and pages live beside the repo on dev and CI machines)")
        return 0
    runs = range(args.runs)

    not_modified = [time_304_cycle(args.feeds) for _ in runs]
    print(
        f"{args.feeds} feeds answering 304: cycle {statistics.median(not_modified):.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in not_modified)})"
    )

    for concurrency in (32, 16):
        changed = [time_changed_feeds(args.feeds, f"c{concurrency}r{run}-", concurrency) for run in runs]
        rates = [args.feeds / elapsed for elapsed, _ in changed]
        print(
            f"{args.feeds} changed feeds, {concurrency} connections: {statistics.median(rates):.0f} feeds/s "
            f"fetched+parsed, {changed[0][1]:,} new entries (runs: {', '.join(f'{r:.0f}' for r in rates)})"
        )

    whole = [time_whole_cycle(args.pages, profile=False) for _ in runs]
    cycle_rates = [indexed / elapsed for elapsed, indexed, _ in whole]
    floors = [time_extraction_floor(args.pages) for _ in runs]
    print(
        f"whole cycle over {args.pages} real pages: {statistics.median(cycle_rates):.1f} pages/s "
        f"(runs: {', '.join(f'{r:.1f}' for r in cycle_rates)}; indexed {whole[0][1]})"
    )
    print(
        f"trafilatura extraction alone, one process: {statistics.median(floors):.1f} pages/s "
        f"→ cycle/floor ratio {statistics.median(cycle_rates) / statistics.median(floors):.2f}"
    )
    if args.profile:
        print(time_whole_cycle(args.pages, profile=True)[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
