"""Where wirewatch keeps its state; `open_store` picks the backend from config."""

from __future__ import annotations

from pipeline.config import StoreConfig
from pipeline.store.base import DedupRecord, SearchHit, SearchQuery, SearchResult, Store

__all__ = ["DedupRecord", "SearchHit", "SearchQuery", "SearchResult", "Store", "open_store"]


def open_store(config: StoreConfig) -> Store:
    if config.backend == "sqlite":
        from pipeline.store.sqlite import SQLiteStore

        return SQLiteStore(config.path)
    raise NotImplementedError("the elasticsearch backend is not built yet; use backend: sqlite")
