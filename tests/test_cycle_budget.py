"""A run holds page bodies up to a byte budget, not a page count: heavy pages wait for room (issue 14, item 3)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from pipeline.budget import ByteBudget, body_budget
from pipeline.config import FetchConfig
from pipeline.cycle import fetch_async, poll_stage
from pipeline.demo.server import SiteServer, StaticRoute
from pipeline.records import utcnow
from pipeline.store.sqlite import SQLiteStore
from pipeline.web import WebClient
from pipeline.workers import Workers
from tests.conftest import make_config, traced_while_workers_busy

PAGES = 24
HEAVY = 1_000_000  # bytes of each page body
MB = 1_000_000


def heavy_page(number: int) -> bytes:
    """A 1 MB page that parses quickly: a short story and a long comment."""
    head = f"<html><head><title>Heavy {number}</title></head><body><p>Page {number}.</p><!-- ".encode()
    return head + b"x" * HEAVY + b" --></body></html>"


def peak_during_fetch(tmp_path: Path, site: SiteServer, budget: ByteBudget) -> int:
    """Peak bytes the main process allocated above its start while fetching and extracting the heavy pages."""
    paths = [f"/heavy/{number}.html" for number in range(PAGES)]
    for number, path in enumerate(paths):
        site.routes[path] = StaticRoute(heavy_page(number))
    items = "".join(f"<item><title>Heavy {path}</title><link>{site.url(path)}</link></item>" for path in paths)
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
    site.routes["/heavy.xml"] = StaticRoute(feed.encode(), "application/rss+xml")
    config = make_config(tmp_path, [{"url": site.url("/heavy.xml")}], fetch={"max_bytes": 3 * MB})
    pool = Workers(2)
    with SQLiteStore(config.store.path) as store:
        poll_stage(config, store)
        now = utcnow()
        entries = store.entries_due(now)

        async def fetch() -> int:
            async with WebClient(config.fetch) as client:
                # Both workers busy for a while, as with slow pages: the bodies that arrive meanwhile queue up.
                fetching = fetch_async(config, store, client, now, entries, pool, budget=budget)
                report, peak = await traced_while_workers_busy(pool, 5, fetching)
            assert report.indexed == 0 and len(report.errors) == PAGES  # too little text, every one
            return peak

        try:
            return asyncio.run(fetch())
        finally:
            pool.shutdown()


def test_heavy_pages_wait_for_room_in_the_budget(tmp_path: Path, site: SiteServer) -> None:
    # 24 pages of 1 MB while both workers are busy: unbounded, most bodies are held at once (24 MB in all).
    bounded = peak_during_fetch(tmp_path / "bounded", site, ByteBudget(3 * MB))
    unbounded = peak_during_fetch(tmp_path / "unbounded", site, ByteBudget(10**12))
    print(f"peak above the start: {bounded / MB:.1f} MB with a 3 MB budget, {unbounded / MB:.1f} MB without")
    # The budget holds the bodies to 3 MB; their copies on the way to a worker and the one being read add a few.
    assert bounded < 8 * MB, bounded
    assert unbounded > 10 * MB, unbounded


def test_budget_from_the_ceiling_never_below_one_page() -> None:
    # 1 GB ceiling, 450 MB for the processes, 2 workers x 12 x 10 MB for the pages they parse: 310 MB, halved
    # because each body in flight also has its pickled copy.
    assert body_budget(FetchConfig()) == 155_000_000
    assert body_budget(FetchConfig(memory_ceiling=2_000_000_000)) == 655_000_000
    assert body_budget(FetchConfig(memory_ceiling=100_000_000)) == 10_000_000  # one page of max_bytes


def test_a_reservation_waits_until_there_is_room_and_keeps_only_what_arrived() -> None:
    async def scenario() -> list[str]:
        budget = ByteBudget(10)
        order: list[str] = []

        async def page(name: str, reserve: int, actual: int, pause: float) -> None:
            async with budget.hold(reserve) as keep:
                order.append(f"{name} in, {budget.used} used")
                keep(actual)
                await asyncio.sleep(pause)
            order.append(f"{name} out")

        await asyncio.gather(page("a", 8, 8, 0.05), page("b", 8, 1, 0.0), page("c", 20, 5, 0.0))
        assert budget.used == 0
        return order

    # b waits for a; c (larger than the whole budget) waits until nothing is held, then goes alone.
    assert asyncio.run(scenario()) == ["a in, 8 used", "a out", "b in, 8 used", "b out", "c in, 20 used", "c out"]


def test_reservations_are_granted_in_arrival_order_and_one_that_gives_up_lets_the_next_in() -> None:
    async def scenario() -> list[str]:
        budget = ByteBudget(10)
        order: list[str] = []
        release_a = asyncio.Event()

        async def page(name: str, reserve: int, until: asyncio.Event | None = None) -> None:
            async with budget.hold(reserve):
                order.append(f"{name} in, {budget.used} used")
                if until is not None:
                    await until.wait()
            order.append(f"{name} out")

        a = asyncio.create_task(page("a", 8, release_a))
        await asyncio.sleep(0)
        big = asyncio.create_task(page("big", 20))  # waits until nothing is held
        await asyncio.sleep(0)
        small = asyncio.create_task(page("small", 2))  # would fit beside a, but big came first
        await asyncio.sleep(0.01)
        order.append(f"waiting, {budget.used} used")
        big.cancel()
        await asyncio.gather(big, return_exceptions=True)
        await small  # big gave up: small goes in beside a
        release_a.set()
        await a
        assert budget.used == 0
        return order

    assert asyncio.run(scenario()) == [
        "a in, 8 used",
        "waiting, 8 used",
        "small in, 10 used",
        "small out",
        "a out",
    ]


def test_pages_wait_to_download_while_the_workers_have_enough_queued(tmp_path: Path, site: SiteServer) -> None:
    """Both workers busy: of 40 pages a batch downloads only as many as its connections plus four queued per
    worker (4 + 2 x 4 = 12), and the rest as the workers take them; on loopback, unbounded, all 40 came at once
    and waited in the main process."""
    paths = [f"/small/{number}.html" for number in range(40)]
    for number, path in enumerate(paths):
        site.routes[path] = StaticRoute(f"<html><body><p>Small page {number}.</p></body></html>".encode())
    items = "".join(f"<item><title>Small {path}</title><link>{site.url(path)}</link></item>" for path in paths)
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
    site.routes["/small.xml"] = StaticRoute(feed.encode(), "application/rss+xml")
    config = make_config(tmp_path, [{"url": site.url("/small.xml")}], fetch={"concurrency": 4, "per_host": 4})
    pool = Workers(2)

    def downloaded() -> int:
        return sum(site.hits.get(path, 0) for path in paths)

    with SQLiteStore(config.store.path) as store:
        poll_stage(config, store)
        now = utcnow()
        entries = store.entries_due(now)

        async def fetch() -> tuple[int, int]:
            async with WebClient(config.fetch) as client:
                await pool.run(int)  # workers up first
                busy = [asyncio.ensure_future(pool.run(time.sleep, 8)) for _ in range(2)]
                fetching = asyncio.ensure_future(fetch_async(config, store, client, now, entries, pool))
                while downloaded() < 12:
                    await asyncio.sleep(0.05)
                await asyncio.sleep(1)  # time for more downloads, were they allowed
                held = downloaded()
                await asyncio.gather(*busy)
                report = await fetching
                return held, len(report.errors) + report.indexed

        try:
            held, settled = asyncio.run(fetch())
        finally:
            pool.shutdown()
    assert held == 12
    assert (settled, downloaded()) == (40, 40)
