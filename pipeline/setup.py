"""`wirewatch setup`: make the configured backend ready, idempotently.

Run once per deploy (the compose stack's setup jobs do it on every `up`), not
by each worker: it is the one place that migrates Elasticsearch indices to a new
version, rewrites the percolator's topic rules from the config, creates the
pipeline's least-privilege user, and loads the Kibana data views, saved searches
and dashboard. The Elasticsearch part and the Kibana part can run apart
(`only`), so Kibana trouble never holds up ingestion, and each can wait for its
service to answer, retrying within a deadline, so a start-up race is not a failure.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import httpx

from pipeline.config import Config
from pipeline.enrich.topics import topic_queries
from pipeline.store import open_store

SAVED_OBJECTS = Path(__file__).resolve().parents[1] / "kibana" / "saved_objects.ndjson"
# The data views in the NDJSON name the default prefix; another prefix is substituted on import.
DEFAULT_PREFIX = "wirewatch"
RETRY_PAUSE = 2.0

T = TypeVar("T")


class NotReadyError(RuntimeError):
    """The service answered that it is still starting (a 5xx), or did not answer: worth waiting for."""


@dataclass(frozen=True)
class PipelineUser:
    """The user the pipeline's workers log in as, created by setup with a role limited to this prefix's indices."""

    username: str
    password_env: str

    def password(self) -> str:
        value = os.environ.get(self.password_env, "")
        if not value:
            raise ValueError(f"setup: environment variable {self.password_env} (pipeline user's password) is not set")
        return value


def until_ready(what: str, wait: float, attempt: Callable[[], T], pause: float = RETRY_PAUSE) -> T:
    """Run `attempt`, again after each `NotReadyError` until `wait` seconds have passed; then the last error stands."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return attempt()
        except NotReadyError as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise NotReadyError(f"{what} not ready after {wait:g}s: {exc}") from None
            print(f"wirewatch setup: {what} not ready ({exc}); retrying", file=sys.stderr)
            time.sleep(min(pause, left))


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


def setup_backend(
    config: Config,
    only: Literal["elasticsearch", "kibana"] | None = None,
    wait: float = 0.0,
    pipeline_user: PipelineUser | None = None,
) -> dict[str, Any]:
    """Prepare the store (and Kibana, when configured); return what was done, for `--json` output.

    `only` runs one part; `wait` is how long each part retries a service that is still starting.
    """
    report: dict[str, Any] = {"backend": config.store.backend}
    if config.store.backend == "sqlite":
        # Opening applies any pending migration; Kibana has nothing to show without Elasticsearch.
        with open_store(config.store):
            report["path"] = str(config.store.path)
        return report
    if only != "kibana":
        report.update(until_ready("Elasticsearch", wait, lambda: setup_elasticsearch(config, pipeline_user)))
    if only != "elasticsearch" and config.kibana is not None:
        kibana = config.kibana
        report["kibana"] = until_ready("Kibana", wait, lambda: import_saved_objects(kibana, config.store.index_prefix))
    return report


def setup_elasticsearch(config: Config, pipeline_user: PipelineUser | None = None) -> dict[str, Any]:
    """Indices, percolator topics and the pipeline's user; a connection failure or a 5xx is `NotReadyError`."""
    from elasticsearch import ApiError, TransportError

    from pipeline.store.elasticsearch import ElasticsearchStore, ensure_pipeline_user, sync_topic_queries

    password = pipeline_user.password() if pipeline_user else None
    report: dict[str, Any] = {}
    try:
        with ElasticsearchStore.from_config(config.store) as store:
            report["indices"] = store.ensure_indices(migrate=True)
            report["topics"] = sync_topic_queries(store, topic_queries(config.topics))
            if pipeline_user and password:
                report["pipeline_user"] = ensure_pipeline_user(store, pipeline_user.username, password)
    except TransportError as exc:
        raise NotReadyError(f"Elasticsearch unreachable: {exc}") from None
    except ApiError as exc:
        if exc.meta.status < 500:
            raise
        raise NotReadyError(f"Elasticsearch answered {exc.meta.status}: {exc.message}") from None
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
    try:
        response = httpx.post(
            f"{base}/api/saved_objects/_import",
            params={"overwrite": "true"},
            headers={"kbn-xsrf": "wirewatch"},
            files={"file": ("wirewatch.ndjson", saved_objects(prefix, path), "application/ndjson")},
            auth=auth,
            timeout=timeout,
        )
    except httpx.TransportError as exc:
        raise NotReadyError(f"Kibana unreachable: {exc}") from None
    if response.status_code >= 500:
        raise NotReadyError(f"kibana import: HTTP {response.status_code}: {response.text[:200]}")
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
