"""`wirewatch demo`: the main job on the embedded default, with nothing to set up.

It serves the bundled sample on loopback, runs one cycle into a fresh SQLite
file, and shows what a user would look at next: the run summary, the feeds'
health and a search.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import Config, config_from_dict
from pipeline.cycle import run_cycle
from pipeline.demo.server import serve
from pipeline.demo.site import feed_urls, sample_routes
from pipeline.records import utcnow
from pipeline.statement_view import statement_json
from pipeline.store import SearchQuery, open_store
from pipeline.views import alerts_json, command_name, feeds_json, search_json, snippet_line

DEMO_QUERY = "summit"


def demo_settings(directory: Path) -> dict[str, Any]:
    """The demo's config without its feeds, which live only as long as the demo's server."""
    return {
        "store": {"backend": "sqlite", "path": str(directory.resolve() / "wirewatch.db")},
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
        "alerts": {"to": ["analyst@example.org"], "outbox": str(directory.resolve() / "outbox")},
        "fetch": {"allow_networks": ["127.0.0.0/8"]},
    }


def demo_config(base_url: str, directory: Path) -> Config:
    feeds = [{"url": url, "name": name, "interval": "5m"} for url, name in feed_urls(base_url)]
    return config_from_dict({**demo_settings(directory), "feeds": feeds}, "demo config")


def run_demo(directory: str | Path, as_json: bool = False) -> int:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("wirewatch.db*"):
        stale.unlink()
    (directory / "wirewatch.yaml").write_text(yaml.safe_dump(demo_settings(directory), sort_keys=False))
    now = utcnow()
    with serve({}) as server:
        server.routes.update(sample_routes(server.base_url, now))
        config = demo_config(server.base_url, directory)
        with open_store(config.store) as store:
            report = run_cycle(config, store, now=now).as_json()
            found = search_json(store, SearchQuery(text=DEMO_QUERY, limit=5))
            feeds = feeds_json(store)
            statements = [statement_json(item) for item in store.list_statements("Kim Yo Jong", None, 5)]
            alerts = alerts_json(store, 5)
    result: dict[str, Any] = {
        "run": report,
        "feeds": feeds,
        "search": {"query": DEMO_QUERY, **found},
        "statements": statements,
        "alerts": alerts,
    }
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    print(f"Sample site served at {server.base_url}; store: {config.store.path}")
    print(
        f"Run: polled {report['feeds_polled']} feeds ({report['feeds_failed']} failed), "
        f"{report['entries_new']} new entries, {report['articles_indexed']} articles indexed, "
        f"{report['duplicates']} wire copies folded, {report['statements_new']} new statements, "
        f"alerts sent: {report['alerts_sent']} (latency {report['alert_latency_s']} s)"
    )
    for error in report["errors"]:
        print(f"  {error['stage']}: {error['url']}: {error['reason']}")
    for feed in feeds:
        print(f"Feed {feed['name']}: {feed['entries_seen']} entries, failures {feed['failures']}")
    print(f'\nwirewatch search "{DEMO_QUERY}" → {found["total"]} results')
    for hit in found["hits"]:
        copies = f" (+{hit['duplicates']} copies)" if hit["duplicates"] else ""
        print(f"- {hit['title']} — {hit['source']}{copies}")
        print(f"  {snippet_line(hit['snippet'])}")
    for statement in statements:
        print(f"\nStatement by {statement['speaker']}: “{statement['text']}”")
        outlets = len({outlet for quote in statement["quotes"] for outlet in quote["outlets"]})
        reports = len(statement["reports"])
        print(f"  {len(statement['quotes'])} distinct quotes from {outlets} outlets, {reports} reports")
    for alert in alerts:
        print(f"\nAlert {alert['state']}: {alert['rule']} → {config.alerts.outbox}/ (Message-ID {alert['message_id']})")
    settings = directory / "wirewatch.yaml"
    command = command_name()
    print(f"\nTry: {command} search denuclearization --config {settings}")
    print(f"     {command} statements --speaker 'Kim Yo Jong' --config {settings}")
    return 0
