"""Where wirewatch keeps its state; `open_store` picks the backend from config."""

from __future__ import annotations

from pipeline.config import StoreConfig
from pipeline.store.base import (
    DedupRecord,
    SearchHit,
    SearchQuery,
    SearchResult,
    Store,
    StoreError,
    StoreWriteError,
)

__all__ = ["DedupRecord", "SearchHit", "SearchQuery", "SearchResult", "Store", "StoreError", "StoreWriteError", "open_store"]


def open_store(config: StoreConfig) -> Store:
    if config.backend == "elasticsearch":
        # Imported here so the embedded default needs no Elasticsearch client installed.
        from pipeline.store.elasticsearch import ElasticsearchStore

        store = ElasticsearchStore.from_config(config)
        try:
            store.ensure_indices()
        except BaseException:
            store.close()
            raise
        return store
    from pipeline.store.sqlite import SQLiteStore

    return SQLiteStore(config.path)
