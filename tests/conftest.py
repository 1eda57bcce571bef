"""Shared fixtures: a real HTTP server on loopback, configs, stores, and the shared data sets."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import time
import tracemalloc
from collections.abc import Awaitable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiosmtpd.controller import Controller

from pipeline.config import Config, config_from_dict
from pipeline.demo.server import SiteServer, serve
from pipeline.records import Article, utcnow
from pipeline.store import SearchQuery, Store
from pipeline.store.sqlite import SQLiteStore
from pipeline.workers import Workers

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

KIM_YO_JONG = {
    "name": "Kim Yo Jong",
    "aliases": ["Kim Yo-jong"],
    "descriptors": ["Kim Jong Un's sister"],
    "pronoun": "she",
    "alert": True,
}


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or a skip that says why (a user's clone has no ../shared)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the real-world data sets live beside the repo only on dev and CI machines")
    return path


@pytest.fixture
def site() -> Iterator[SiteServer]:
    with serve({}) as server:
        yield server


T = TypeVar("T")

# For a script run in a fresh interpreter (`python -c SCRIPT MODE PATH`): in mode "cycle", one whole cycle with no
# feeds on a store at PATH, as the command line runs it, for what a cycle leaves set in its process.
EMPTY_CYCLE = """
if sys.argv[1] == "cycle":
    from pipeline.config import config_from_dict
    from pipeline.cycle import run_cycle
    from pipeline.store.sqlite import SQLiteStore
    with SQLiteStore(sys.argv[2]) as store:
        run_cycle(config_from_dict({"store": {"path": sys.argv[2]}, "feeds": []}), store)
"""


async def traced_while_workers_busy(pool: Workers, seconds: float, work: Awaitable[T]) -> tuple[T, int]:
    """`work`'s result and the peak bytes the process allocated above its start while it ran (tracemalloc), begun
    once every worker of `pool` is up and then asleep for `seconds`: what arrives meanwhile waits in this process."""
    await pool.run(int)  # workers up before measuring: their start is not what is measured
    busy = [asyncio.ensure_future(pool.run(time.sleep, seconds)) for _ in range(pool.size)]
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        result = await work
        return result, tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
        await asyncio.gather(*busy)


def make_config(tmp_path: Path, feeds: list[dict[str, Any]] | None = None, **sections: Any) -> Config:
    data: dict[str, Any] = {
        "store": {"backend": "sqlite", "path": str(tmp_path / "wirewatch.db")},
        "feeds": feeds or [],
        "speakers": [KIM_YO_JONG],
        "topics": [{"name": "denuclearization", "query": "denucleari*"}],
        "alerts": {"to": ["analyst@example.org"], "outbox": str(tmp_path / "outbox")},
        # Generous: a loaded CI machine must not turn a loopback answer into a timeout. Tests of the deadline set
        # their own, and prove it with servers slower than it (a lower bound that load cannot break).
        "fetch": {"allow_networks": ["127.0.0.0/8"], "timeout": "30s"},
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return config_from_dict(data, "test config")


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts and can answer with scripted failures."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.replies: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        if self.replies:
            return self.replies.pop(0)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on loopback: what it accepted, and its port."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def stored_urls(store: Store) -> list[str]:
    """The URLs of every entry in the store, sorted: a poll's report only counts its new entries, which wait here
    (pending) for the fetch."""
    return sorted(entry.url for entry in store.entries_due(utcnow()))


def all_articles(store: Store) -> list[Article]:
    return store.get_articles(hit.id for hit in store.search(SearchQuery(limit=10_000, collapse=False)).hits)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "wirewatch.db") as opened:
        yield opened
