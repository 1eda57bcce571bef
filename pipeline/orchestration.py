"""What the Airflow DAGs ask of the pipeline, as plain functions of (config, store).

The DAG files only wire these into tasks, so everything here is tested without
Airflow. Each function is safe to re-run with the same arguments: Airflow
retries and clears tasks, and a re-run must neither lose nor double anything.
XCom carries only what these return (ids and counts); the state stays in the store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import ValidationError

from pipeline import cycle
from pipeline.alert import Sender, alert_stage
from pipeline.config import Config, ConfigError, StoreConfig, load_config
from pipeline.cycle import BATCH_SIZE, CycleReport, fetch_stage, poll_stage
from pipeline.poll import feeds_due
from pipeline.records import StageError, utcnow
from pipeline.store import Store

log = logging.getLogger(__name__)

FAILING_AFTER = 3
# Longer than a process run with all its retries (3 tries of up to 20 minutes per task, a few batches deep).
UNPROCESSED_GRACE = timedelta(hours=6)


class FeedPollError(Exception):
    """Raised after the store has recorded the failures, so the task shows red but nothing is lost."""

    def __init__(self, errors: Sequence[StageError]) -> None:
        super().__init__("; ".join(f"{error.url}: {error.reason}" for error in errors))


def batches(ids: Sequence[str], size: int) -> list[list[str]]:
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


def due_feed_batches(config: Config, store: Store, size: int, now: datetime | None = None) -> list[list[str]]:
    """The due feeds, `size` to a task: a bad feed then fails only its own task."""
    return batches([feed.url for feed in feeds_due(config, store, now or utcnow())], size)


def poll_batch(config: Config, store: Store, feed_urls: Sequence[str]) -> int:
    """Poll these feeds (those still due) and return how many new entries they had.

    Feeds that fail are backed off in the store first; raising afterwards turns
    the task red without a retry being needed, since the backoff already decides
    when the feed is tried again. With several feeds to a task, a failure also
    drops the others' count from this run's asset event; their entries still
    wait in the store for the next process run.
    """
    report = poll_stage(config, store, feed_urls=feed_urls)
    if report.failed:
        raise FeedPollError(report.errors)
    for error in report.errors:
        log.warning("%s: %s", error.url, error.reason)
    return len(report.new_entries)


def due_entry_batches(store: Store, now: datetime | None = None, size: int = BATCH_SIZE) -> list[list[str]]:
    """Every entry waiting to be fetched (new, or failed and past its backoff), in batches."""
    return batches([entry.id for entry in store.entries_due(now or utcnow())], size)


def failed_entries_due(store: Store, now: datetime | None = None) -> int:
    return sum(entry.status == "failed" for entry in store.entries_due(now or utcnow()))


def fetch_batch(config: Config, store: Store, entry_ids: Sequence[str]) -> list[str]:
    """Fetch the batch; return the ids of all its articles now in the store.

    Returning every stored article of the batch, not only those this attempt
    fetched, is what makes a retry after a crash mid-batch hand the later
    stages the whole batch rather than just its remainder.
    """
    report = fetch_stage(config, store, entry_ids)
    for error in report.errors:
        log.warning("%s: %s", error.url, error.reason)
    return [article.id for article in store.get_articles(entry_ids)]


def send_alerts(config: Config, store: Store, sender: Sender | None) -> int:
    """Run the alert stage; failed deliveries stay in the ledger for the next run, so they are logged, not raised."""
    report = alert_stage(config, store, sender=sender)
    for error in report.errors:
        log.warning("%s: %s", error.url, error.reason)
    return report.sent


def finish_unprocessed(config: Config, store: Store, now: datetime | None = None) -> int:
    """Articles whose process run died after indexing, taken through the later stages.

    Only those indexed over six hours ago, so a process run still under way (or retrying) finishes its own.
    """
    report = CycleReport()
    finished = cycle.finish_unprocessed(config, store, (now or utcnow()) - UNPROCESSED_GRACE, report)
    for error in report.errors:
        log.warning("%s: %s", error.url, error.reason)
    return finished


def prune_dedup(config: Config, store: Store, now: datetime | None = None) -> int:
    return store.prune_dedup((now or utcnow()) - config.dedup.window)


def failing_feeds(store: Store, threshold: int = FAILING_AFTER) -> list[dict[str, str | int | None]]:
    """Feeds that failed `threshold` polls in a row, worst first, logged and as JSON for XCom."""
    failing = sorted((feed for feed in store.list_feeds() if feed.failures >= threshold), key=lambda f: -f.failures)
    for feed in failing:
        log.warning("%s has failed %d polls in a row: %s", feed.url, feed.failures, feed.last_error)
    return [
        {
            "url": feed.url,
            "name": feed.name,
            "failures": feed.failures,
            "last_error": feed.last_error,
            "next_poll": feed.next_poll.isoformat() if feed.next_poll else None,
        }
        for feed in failing
    ]


def config_with_store(path: str | None, store: dict[str, object] | None = None) -> Config:
    """The config file at `path` (else `$WIREWATCH_CONFIG`), its store settings overridden by `store`.

    The override lets one config file serve deployments whose store differs,
    with the store named by an Airflow connection rather than by the file.
    """
    config = load_config(path)
    if not store:
        return config
    try:
        settings = StoreConfig.model_validate({**config.store.model_dump(), **store})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"store override: store.{where}: {first['msg']}") from None
    return config.model_copy(update={"store": settings})
