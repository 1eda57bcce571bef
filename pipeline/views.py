"""What the CLI and the demo show, as JSON-ready data: one shape per command, shared by both.

Kept out of `cli.py` so the demo can show what the commands show without importing the
CLI (which imports the demo), and so each command imports only the store it reads.
"""

from __future__ import annotations

import shutil
import sys
from datetime import datetime
from typing import Any

from pipeline.config import Config
from pipeline.failures import count_kinds
from pipeline.store import SearchQuery, Store


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def snippet_line(snippet: str) -> str:
    """A highlighted snippet for a terminal: one line, matches in [brackets]."""
    return " ".join(snippet.replace("<b>", "[").replace("</b>", "]").split())


def command_name() -> str:
    """How the user can run wirewatch again: by name when it is on PATH, else by the path they used."""
    return "wirewatch" if shutil.which("wirewatch") else sys.argv[0]


def search_json(store: Store, query: SearchQuery) -> dict[str, Any]:
    result = store.search(query)
    return {
        "total": result.total,
        "total_exact": result.total_exact,
        "hits": [
            {
                "id": hit.id,
                "url": hit.url,
                "title": hit.title,
                "source": hit.source,
                "published": _iso(hit.published),
                "snippet": hit.snippet,
                "cluster_id": hit.cluster_id,
                "duplicates": hit.duplicates,
                "entities": hit.entities,
                "topics": hit.topics,
            }
            for hit in result.hits
        ],
    }


RECENT_FAILURES = 3


def feeds_json(store: Store, config: Config | None = None, show_all: bool = False) -> list[dict[str, Any]]:
    """Each feed's health and its pages' failures; only the feeds of `config` unless `show_all`."""
    configured = {feed.url for feed in config.feeds} if config is not None else None
    rows = []
    for feed in store.list_feeds():
        in_config = configured is None or feed.url in configured
        if not in_config and not show_all:
            continue
        failures = store.entry_failures(feed.url, RECENT_FAILURES)
        rows.append(
            {
                "url": feed.url,
                "name": feed.name,
                "in_config": in_config,
                "last_success": _iso(feed.last_success),
                "last_polled": _iso(feed.last_polled),
                "failures": feed.failures,
                "next_poll": _iso(feed.next_poll),
                "last_error": feed.last_error,
                "entries_seen": feed.entries_seen,
                "page_failures": count_kinds(failures.reasons),
                "recent_page_failures": [{"url": url, "reason": reason} for url, reason in failures.recent],
            }
        )
    return rows


def alerts_json(store: Store, limit: int) -> list[dict[str, Any]]:
    return [
        {
            "rule": record.rule,
            "statement_id": record.statement_id,
            "state": record.state,
            "message_id": record.message_id,
            "claimed_at": _iso(record.claimed_at),
            "sent_at": _iso(record.sent_at),
            "attempts": record.attempts,
            "last_error": record.last_error,
            "next_attempt": _iso(record.next_attempt),
            "retry_until": _iso(record.retry_until),
        }
        for record in store.list_alerts(limit)
    ]
