"""Where wirewatch keeps its state; `open_store` picks the backend from config.

Opening is where a user's mistakes surface (a store path that is a directory,
a directory that cannot be created, an unreachable Elasticsearch), so it turns
each into one sentence: `ConfigError` for a path the config names, `StoreError`
for a store that is there but cannot be used now.
"""

from __future__ import annotations

import sqlite3
import sys
from types import ModuleType

from pipeline.config import ConfigError, StoreConfig
from pipeline.store.base import (
    DedupRecord,
    EntryFailures,
    SearchHit,
    SearchQuery,
    SearchResult,
    Store,
    StoreError,
    StoreWriteError,
)

__all__ = [
    "DedupRecord",
    "EntryFailures",
    "SearchHit",
    "SearchQuery",
    "SearchResult",
    "Store",
    "StoreError",
    "StoreWriteError",
    "backend_errors",
    "open_store",
    "unavailable_errors",
]


def backend_errors() -> tuple[type[Exception], ...]:
    """What the backends raise when the store itself fails, for callers that must tell it from a bug."""
    errors: list[type[Exception]] = [StoreError, sqlite3.Error]
    client = _elasticsearch_client()
    if client is not None:
        errors += [client.ApiError, client.TransportError]
    return tuple(errors)


def unavailable_errors() -> tuple[type[Exception], ...]:
    """The store itself failing — locked, unreachable, full, read-only, gone — as opposed to refusing one
    document: what stops a run instead of being recorded against a feed or an article."""
    errors: list[type[Exception]] = [StoreError, sqlite3.OperationalError]
    client = _elasticsearch_client()
    if client is not None:
        errors.append(client.TransportError)  # connection refused, timed out, TLS
    return tuple(errors)


def _elasticsearch_client() -> ModuleType | None:
    """The Elasticsearch client if this process has imported it, else None: none of its errors can have been
    raised before it is imported, and importing it to name them cost an interrupted SQLite run seconds of a
    loaded machine (over a second on a quiet one) between Ctrl-C and its exit."""
    return sys.modules.get("elasticsearch")


def open_store(config: StoreConfig) -> Store:
    if config.backend == "elasticsearch":
        return _open_elasticsearch(config)
    from pipeline.store.sqlite import SQLiteStore

    path = config.path
    if path.is_dir():
        raise ConfigError(f"store.path: {path} is a directory, not a database file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"store.path: cannot create {path.parent}: {exc.strerror or exc}") from None
    try:
        return SQLiteStore(path)
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            raise StoreError(f"{path}: {exc}") from None
        raise ConfigError(f"store.path: cannot open {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"store.path: {path}: {exc}") from None


def _open_elasticsearch(config: StoreConfig) -> Store:
    # Imported here so the embedded default needs no Elasticsearch client installed.
    from pipeline.store.elasticsearch import ElasticsearchStore

    try:
        store = ElasticsearchStore.from_config(config)
    except ValueError as exc:  # a missing url or password variable
        raise ConfigError(str(exc)) from None
    try:
        store.ensure_indices()
    except BaseException as exc:
        store.close()
        if isinstance(exc, backend_errors()):
            raise StoreError(f"cannot use Elasticsearch at {config.url}: {_first_line(exc)}") from exc
        raise
    return store


def _first_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:300]
