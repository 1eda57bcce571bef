"""Bytes of bodies a run holds at once, from the start of their download to the end of their parsing.

The cycle's page fetching and the poll's feed fetching both hold their bodies to a `ByteBudget`, so that
neither can take a run past its memory ceiling, however many pages or feeds it fetches; one budget class,
here, where both can import it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from pipeline.config import FetchConfig

# What a run weighs before any page (the main process and two workers with the parsers, extractor and
# analyser loaded), and what each byte of a page body in flight costs the main process: the body, and its
# pickled copy on the way to a worker. Estimates from the bench's 543-page runs (about 640 MiB PSS at peak,
# pages included), not fitted: `python -m bench.bench_cycle --only heavy` checks a run against the ceiling.
RUN_BASELINE_BYTES = 450_000_000
MAIN_BYTES_PER_BODY_BYTE = 2
# A worker extracting a page holds its decoded text and its parsed tree: this many times the body's size.
WORKER_BYTES_PER_BODY_BYTE = 12


def body_budget(fetch: FetchConfig, workers: int = 2) -> int:
    """Bytes of page bodies a run may hold at once so that it stays under `fetch.memory_ceiling`.

    Never less than one page of `fetch.max_bytes`, so a run always makes progress.
    """
    spare = fetch.memory_ceiling - RUN_BASELINE_BYTES - workers * WORKER_BYTES_PER_BODY_BYTE * fetch.max_bytes
    return max(spare // MAIN_BYTES_PER_BODY_BYTE, fetch.max_bytes)


class ByteBudget:
    """Bytes held by the pages of a run, from the start of their download to the end of their extraction.

    A download reserves the largest body it may bring (`fetch.max_bytes`) and keeps only what arrived,
    so the bodies in memory never exceed the budget, whatever the pages weigh; small pages still
    download `fetch.concurrency` at a time. Reservations are granted first come, first served, and a
    release wakes only the waiters it makes room for: waking every waiter on each release cost a
    200-page batch about 37,000 task wake-ups (one per waiting page per release), nearly all of them
    to wait again.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    def _fits(self, size: int) -> bool:
        return not self.used or self.used + size <= self.limit

    async def _acquire(self, size: int) -> None:
        if not self._waiting and self._fits(size):
            self.used += size
            return
        granted = asyncio.get_running_loop().create_future()
        self._waiting.append((size, granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release(size)  # granted just as it was cancelled: the bytes go back
            else:
                self._grant()  # a large reservation that gave up may have held back smaller ones
            raise

    def _release(self, size: int) -> None:
        self.used -= size
        self._grant()

    def _grant(self) -> None:
        while self._waiting:
            size, granted = self._waiting[0]
            if not granted.done() and not self._fits(size):
                return
            self._waiting.popleft()
            if not granted.done():  # a cancelled waiter is dropped
                self.used += size
                granted.set_result(None)

    def hold(self, size: int) -> Hold:
        """Reserve `size` bytes (`async with`); the function it gives lowers the reservation to what the body
        really holds."""
        return Hold(self, size)


class Hold:
    """One reservation in a `ByteBudget`, an async context manager of its own rather than a generator's: a poll
    takes one for each of its 2,000 feeds."""

    __slots__ = ("budget", "held")

    def __init__(self, budget: ByteBudget, size: int) -> None:
        self.budget = budget
        self.held = size

    async def __aenter__(self) -> Callable[[int], None]:
        await self.budget._acquire(self.held)
        return self.keep

    def keep(self, actual: int) -> None:
        if actual < self.held:
            self.budget._release(self.held - actual)
            self.held = actual

    async def __aexit__(self, *exc: object) -> None:
        self.budget._release(self.held)
        self.held = 0  # a `keep` after the end gives back nothing more
