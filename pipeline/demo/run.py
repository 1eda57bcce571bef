"""`wirewatch demo`: the main job on the embedded default, with nothing to set up.

It serves the bundled sample on loopback, runs one cycle into a fresh SQLite
file, and shows what a user would look at next: the run summary, the feeds'
health and a search.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.cli import feeds_json, search_json
from pipeline.config import Config, config_from_dict
from pipeline.cycle import run_cycle
from pipeline.demo.server import serve
from pipeline.demo.site import feed_urls, sample_routes
from pipeline.records import utcnow
from pipeline.store import SearchQuery, open_store

DEMO_QUERY = "summit"


def demo_config(base_url: str, directory: Path) -> Config:
    return config_from_dict(
        {
            "store": {"backend": "sqlite", "path": str(directory / "wirewatch.db")},
            "feeds": [{"url": url, "name": name, "interval": "5m"} for url, name in feed_urls(base_url)],
            "speakers": [
                {
                    "name": "Kim Yo Jong",
                    "aliases": ["Kim Yo-jong"],
                    "descriptors": ["Kim Jong Un's sister"],
                    "pronoun": "she",
                    "alert": True,
                }
            ],
            "topics": [{"name": "denuclearization", "query": "denucleari*"}],
            "alerts": {"to": ["analyst@example.org"], "outbox": str(directory / "outbox")},
            "fetch": {"allow_networks": ["127.0.0.0/8"]},
        },
        "demo config",
    )


def run_demo(directory: str | Path, as_json: bool = False) -> int:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("wirewatch.db*"):
        stale.unlink()
    now = utcnow()
    with serve({}) as server:
        server.routes.update(sample_routes(server.base_url, now))
        config = demo_config(server.base_url, directory)
        with open_store(config.store) as store:
            report = run_cycle(config, store, now=now).as_json()
            found = search_json(store, SearchQuery(text=DEMO_QUERY, limit=5))
            feeds = feeds_json(store)
    result: dict[str, Any] = {"run": report, "feeds": feeds, "search": {"query": DEMO_QUERY, **found}}
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    print(f"Sample site served at {server.base_url}; store: {config.store.path}")
    print(
        f"Run: polled {report['feeds_polled']} feeds ({report['feeds_failed']} failed), "
        f"{report['entries_new']} new entries, {report['articles_indexed']} articles indexed"
    )
    for error in report["errors"]:
        print(f"  {error['stage']}: {error['url']}: {error['reason']}")
    for feed in feeds:
        print(f"Feed {feed['name']}: {feed['entries_seen']} entries, failures {feed['failures']}")
    print(f'\nwirewatch search "{DEMO_QUERY}" → {found["total"]} results')
    for hit in found["hits"]:
        copies = f" (+{hit['duplicates']} copies)" if hit["duplicates"] else ""
        print(f"- {hit['title']} — {hit['source']}{copies}")
        print(f"  {hit['snippet'].replace('<b>', '[').replace('</b>', ']')}")
    print(f"\nTry: wirewatch search denuclearization --config {directory / 'wirewatch.yaml'}")
    return 0
