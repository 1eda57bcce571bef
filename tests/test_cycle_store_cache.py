"""A batch is stored with SQLite's page cache held to 4 MiB (`cycle.store_pages`, `STORE_CACHE_BYTES`): the cache
held 6 MiB at the storing moments of a 543-page bench cycle and 8.6-12.9 MiB late in a 2,000-page one, part of the
main process's peak there (issue 16m's diagnostic cycles); dedupe's band-key lookups keep the 64 MiB after."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from pipeline.cycle import FetchedPages, store_pages
from pipeline.records import Entry
from pipeline.store.sqlite import SQLiteStore


class CacheReadingStore(SQLiteStore):
    """A real store that reads SQLite's cache size as each batch's entries are saved."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.cache_sizes: list[int] = []

    def save_entries(self, entries: Iterable[Entry]) -> None:
        self.cache_sizes.append(self._db.execute("PRAGMA cache_size").fetchone()[0])
        super().save_entries(entries)


def test_a_batch_is_stored_with_the_cache_held_to_4_mib_and_the_64_set_back_after(tmp_path: Path) -> None:
    with CacheReadingStore(tmp_path / "s.db") as store:
        store_pages(store, FetchedPages(), datetime(2026, 11, 27, tzinfo=UTC))
        assert store.cache_sizes == [-4096]  # KiB, as SQLite reads a negative size
        assert store._db.execute("PRAGMA cache_size").fetchone()[0] == -65536
