"""`wirewatch setup`: make the configured backend ready, idempotently.

Run once per deploy (the compose stack's `init` job does it on every `up`), not
by each worker: it is the one place that migrates Elasticsearch indices to a new
version, rewrites the percolator's topic rules from the config, and loads the
Kibana data views, saved searches and dashboard.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol

import httpx

from pipeline.config import Config
from pipeline.enrich.topics import topic_queries
from pipeline.store import open_store

SAVED_OBJECTS = Path(__file__).resolve().parents[1] / "kibana" / "saved_objects.ndjson"
# The data views in the NDJSON name the default prefix; another prefix is substituted on import.
DEFAULT_PREFIX = "wirewatch"


class KibanaTarget(Protocol):
    """What the import needs from the `kibana:` config section."""

    @property
    def url(self) -> str: ...

    @property
    def space(self) -> str | None: ...

    @property
    def username(self) -> str | None: ...

    @property
    def password_env(self) -> str | None: ...


def setup_backend(config: Config) -> dict[str, Any]:
    """Prepare the store (and Kibana, when configured); return what was done, for `--json` output."""
    report: dict[str, Any] = {"backend": config.store.backend}
    if config.store.backend == "sqlite":
        # Opening applies any pending migration; Kibana has nothing to show without Elasticsearch.
        with open_store(config.store):
            report["path"] = str(config.store.path)
        return report

    from pipeline.store.elasticsearch import ElasticsearchStore, sync_topic_queries

    with ElasticsearchStore.from_config(config.store) as store:
        report["indices"] = store.ensure_indices(migrate=True)
        report["topics"] = sync_topic_queries(store, topic_queries(config.topics))
    if config.kibana is not None:
        report["kibana"] = import_saved_objects(config.kibana, config.store.index_prefix)
    return report


def saved_objects(prefix: str, path: Path = SAVED_OBJECTS) -> bytes:
    """The NDJSON to import, with data views pointed at this install's index prefix."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path}: Kibana saved objects not found (install wirewatch from its source tree, e.g. pip install -e .)"
        ) from None
    objects = [json.loads(line) for line in lines if line.strip()]
    for item in objects:
        if item["type"] == "index-pattern" and prefix != DEFAULT_PREFIX:
            title = item["attributes"]["title"]
            item["attributes"]["title"] = prefix + title.removeprefix(DEFAULT_PREFIX)
    return "".join(json.dumps(item, sort_keys=True) + "\n" for item in objects).encode("utf-8")


def import_saved_objects(
    kibana: KibanaTarget, prefix: str, path: Path = SAVED_OBJECTS, timeout: float = 60.0
) -> dict[str, Any]:
    """Import with overwrite, so re-running setup updates the dashboard instead of duplicating it."""
    base = kibana.url.rstrip("/") + (f"/s/{kibana.space}" if kibana.space else "")
    auth: tuple[str, str] | None = None
    if kibana.username:
        password = ""
        if kibana.password_env:
            password = os.environ.get(kibana.password_env, "")
            if not password:
                raise ValueError(f"kibana: environment variable {kibana.password_env} is not set")
        auth = (kibana.username, password)
    response = httpx.post(
        f"{base}/api/saved_objects/_import",
        params={"overwrite": "true"},
        headers={"kbn-xsrf": "wirewatch"},
        files={"file": ("wirewatch.ndjson", saved_objects(prefix, path), "application/ndjson")},
        auth=auth,
        timeout=timeout,
    )
    if response.status_code != 200:
        raise RuntimeError(f"kibana import: HTTP {response.status_code}: {response.text[:500]}")
    body = response.json()
    if not body.get("success"):
        problems = "; ".join(
            f"{error.get('type')} {error.get('id')}: {error.get('error', {}).get('type')}"
            for error in body.get("errors", [])
        )
        raise RuntimeError(f"kibana import: {problems or body}")
    return {"url": base, "imported": int(body.get("successCount", 0))}
