"""A poll holds the feed bodies it has fetched and not yet parsed to a byte budget: when the workers fall behind,
the fetches wait for room rather than the bodies piling up in the main process (issue 16q)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from pipeline.budget import body_budget
from pipeline.demo.server import SiteServer, StaticRoute
from pipeline.poll import poll_feeds, poll_parser
from pipeline.records import utcnow
from pipeline.store.sqlite import SQLiteStore
from pipeline.web import WebClient
from pipeline.workers import FEEDS, Workers
from tests.conftest import make_config, traced_while_workers_busy

FEEDS_SERVED = 60
PADDING = 250_000  # bytes of each feed body beyond its one item
MB = 1_000_000
# 480 MB of ceiling, less the run's 450 MB and two workers' 12 x 1 MB, halved: 3 MB of bodies (`body_budget`).
SMALL_CEILING = {"max_bytes": MB, "memory_ceiling": 480_000_000}
NO_CEILING = {"max_bytes": MB, "memory_ceiling": 10**12}


def padded_feed(number: int, link: str) -> bytes:
    """A 250 kB feed of one item that parses quickly: the item, then a long comment."""
    item = f"<item><title>Padded {number}</title><link>{link}</link><guid>padded-{number}</guid></item>"
    head = f'<?xml version="1.0"?><rss version="2.0"><channel><title>P{number}</title>{item}<!-- '
    return head.encode() + b"x" * PADDING + b" --></channel></rss>"


def poll_while_the_workers_are_busy(tmp_path: Path, site: SiteServer, fetch: dict[str, int]) -> tuple[int, int, int]:
    """Peak bytes the main process allocated above its start in a poll of the padded feeds, begun while both
    workers sleep (the bodies that arrive meanwhile wait for them); then the feeds polled and the entries stored."""
    feeds = []
    for number in range(FEEDS_SERVED):
        path = f"/padded/{number}.xml"
        site.routes[path] = StaticRoute(padded_feed(number, site.url(f"/story/{number}")), "application/rss+xml")
        feeds.append({"url": site.url(path)})
    config = make_config(tmp_path, feeds, fetch=fetch)
    pool = Workers(2, FEEDS)

    async def poll() -> tuple[int, int, int]:
        async with WebClient(config.fetch) as client:
            polling = poll_feeds(config, store, client, utcnow(), list(config.feeds), pool=pool)
            report, peak = await traced_while_workers_busy(pool, 3, polling)
        assert report.failed == 0, report.errors[:3]
        return peak, report.polled, report.entries_new

    with SQLiteStore(config.store.path) as store:
        try:
            peak, polled, new = asyncio.run(poll())
        finally:
            pool.shutdown()
        stored = len(store.entries_due(utcnow()))  # every new entry is due for its page
    assert stored == new
    return peak, polled, new


def test_feed_bodies_wait_for_room_in_the_budget(tmp_path: Path, site: SiteServer) -> None:
    # 60 bodies of 250 kB fetched while both workers are busy: unbounded, every body waits at once (15 MB).
    bounded = poll_while_the_workers_are_busy(tmp_path / "bounded", site, SMALL_CEILING)
    unbounded = poll_while_the_workers_are_busy(tmp_path / "unbounded", site, NO_CEILING)
    print(f"peak above the start: {bounded[0] / MB:.1f} MB with a 3 MB budget, {unbounded[0] / MB:.1f} MB without")
    # The budget holds the bodies to 3 MB; their pickled copies on the way to a worker add some.
    assert bounded[0] < 8 * MB, bounded
    assert unbounded[0] > 15 * MB, unbounded
    # Every feed polled and its one entry stored, either way.
    assert bounded[1:] == (60, 60)
    assert unbounded[1:] == (60, 60)


def test_a_polls_budget_is_the_runs_body_budget_and_none_without_workers(tmp_path: Path) -> None:
    config = make_config(tmp_path, fetch=SMALL_CEILING)
    assert body_budget(config.fetch) == 3 * MB
    pool = Workers(2, FEEDS)  # not started: no process is made until a job is run
    parser = poll_parser(config, pool)
    assert parser is not None and parser.budget is not None
    assert (parser.budget.limit, parser.body_bytes) == (3 * MB, MB)
    assert poll_parser(config, None) is None  # the body is parsed as it arrives: none waits


def test_a_feed_cancelled_while_its_body_waits_gives_back_its_room_once(tmp_path: Path) -> None:
    """Both workers busy, seven jobs fill the parser's slots; two more bodies wait, holding 1 MB each. One feed
    is cancelled: its 1 MB goes back and its body is sent to no worker; the other is parsed, and all is given back."""
    config = make_config(tmp_path, fetch=SMALL_CEILING)
    pool = Workers(2, FEEDS)
    feed = "http://example.com/feed.xml"
    empty = b'<?xml version="1.0"?><rss version="2.0"><channel><title>E</title></channel></rss>'

    async def scenario() -> list[object]:
        parser = poll_parser(config, pool)
        assert parser is not None and parser.budget is not None
        budget = parser.budget
        await pool.run(int)
        busy = [asyncio.ensure_future(pool.run(time.sleep, 1)) for _ in range(2)]
        seen: list[object] = []

        async def one() -> None:
            async with parser.room() as keep:
                await parser.parse((feed, None, feed, empty, {}), keep)

        filling = [asyncio.ensure_future(parser.parse((feed, None, feed, empty, {}))) for _ in range(parser.limit)]
        waiting = [asyncio.ensure_future(one()) for _ in range(2)]
        await asyncio.sleep(0.1)
        seen.append(budget.used)  # two bodies waiting, 1 MB each
        waiting[0].cancel()
        await asyncio.gather(waiting[0], return_exceptions=True)
        seen.append(budget.used)
        await asyncio.gather(*busy, *filling, waiting[1])
        seen.append(budget.used)
        return seen

    try:
        assert asyncio.run(scenario()) == [2 * MB, MB, 0]
    finally:
        pool.shutdown()
