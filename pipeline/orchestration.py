"""What the Airflow DAGs ask of the pipeline, as plain functions of (config, store).

The DAG files only wire these into tasks, so everything here is tested without
Airflow. Each function is safe to re-run with the same arguments: Airflow
retries and clears tasks, and a re-run must neither lose nor double anything.
XCom carries only what these return (ids and counts); the state stays in the store.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import msgspec

from pipeline import cycle
from pipeline.alert import Sender, alert_stage
from pipeline.config import Config, StoreConfig, load_config, parse_config
from pipeline.cycle import BATCH_SIZE, CycleReport, fetch_stage, poll_stage
from pipeline.poll import PollReport, is_feed_due
from pipeline.records import FeedState, StageError, utcnow
from pipeline.store import Store

log = logging.getLogger(__name__)

FAILING_AFTER = 3
# Longer than a process run with all its retries (3 tries of up to 20 minutes per task, a few batches deep).
UNPROCESSED_GRACE = timedelta(hours=6)


class FeedPollError(Exception):
    """Raised after the store has recorded the failures, so the task shows red but nothing is lost."""

    def __init__(self, errors: Sequence[StageError]) -> None:
        super().__init__("; ".join(f"{error.url}: {error.reason}" for error in errors))


class AlertsFailedError(Exception):
    """Raised after the ledger has recorded every outcome: the failed alerts wait there for their next attempt."""


def batches(ids: Sequence[str], size: int) -> list[list[str]]:
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


def by_reason(errors: Sequence[StageError]) -> str:
    """Errors counted by reason, most frequent first: one line for a task log however many feeds failed."""
    counts = Counter(error.reason for error in errors)
    return "; ".join(f"{count} × {reason}" if count > 1 else reason for reason, count in counts.most_common())


def backoff_reason(state: FeedState) -> str:
    when = state.next_poll.strftime("%Y-%m-%d %H:%M:%S UTC") if state.next_poll else "now"
    return f"backing off after {state.failures} failed polls, next poll {when}; last error: {state.last_error}"


@dataclass
class PollPlan:
    """What one scheduled poll run does with each configured feed."""

    due: list[str] = field(default_factory=list)
    # Shown as skipped mapped tasks with this reason, so a failing feed stays visible while it backs off.
    backing_off: dict[str, str] = field(default_factory=dict)
    waiting: int = 0  # healthy feeds whose next poll falls after this slot

    def batches(self, size: int) -> list[list[str]]:
        return batches(self.due, size) + batches(list(self.backing_off), size)


def poll_plan(config: Config, store: Store, now: datetime, until: datetime | None = None) -> PollPlan:
    """Sort the feeds for the slot ending at `until`: due, backing off (failing), or waiting for their interval."""
    plan = PollPlan()
    for feed in config.feeds:
        state = store.get_feed(feed.url)
        if is_feed_due(state, now, until):
            plan.due.append(feed.url)
        elif state is not None and state.failures:
            plan.backing_off[feed.url] = backoff_reason(state)
        else:
            plan.waiting += 1
    log.info(
        "%d feeds due before %s, %d backing off, %d not due until a later slot",
        len(plan.due),
        (until or now).isoformat(timespec="seconds"),
        len(plan.backing_off),
        plan.waiting,
    )
    for url, reason in plan.backing_off.items():
        log.info("%s: %s", url, reason)
    return plan


@dataclass
class PollOutcome:
    report: PollReport
    skipped: dict[str, str] = field(default_factory=dict)  # feed URL -> why it was not polled


def poll_batch(
    config: Config,
    store: Store,
    feed_urls: Sequence[str],
    now: datetime | None = None,
    until: datetime | None = None,
    force: bool = False,
) -> PollOutcome:
    """Poll these feeds: all of them when `force` (a retried or cleared task), else those due in the slot.

    Feeds that fail are backed off in the store first; raising afterwards turns
    the task red without a retry being needed, since the backoff already decides
    when the feed is tried again. With several feeds to a task, a failure also
    drops the others' count from this run's asset event; their entries still
    wait in the store for the next process run.
    """
    now = now or utcnow()
    configured = {feed.url for feed in config.feeds}
    outcome = PollOutcome(PollReport())
    polling = []
    for url in feed_urls:
        state = store.get_feed(url)
        if url not in configured:
            outcome.skipped[url] = "no longer in the config"
        elif force or is_feed_due(state, now, until):
            polling.append(url)
        else:
            outcome.skipped[url] = backoff_reason(state) if state and state.failures else "not due in this slot"
    for url, reason in outcome.skipped.items():
        log.info("skipped %s: %s", url, reason)
    if polling:
        # Only their number is reported and logged: the entries themselves wait in the store for the fetch tasks.
        outcome.report = poll_stage(config, store, now=now, force=True, feed_urls=polling)
    report = outcome.report
    log.info(
        "polled %d feeds%s: %d new entries, %d not modified, %d unchanged, %d failed",
        report.polled,
        " (a retried task polls its feeds whatever their backoff)" if force and polling else "",
        report.entries_new,
        report.not_modified,
        report.unchanged,
        report.failed,
    )
    if report.errors:
        log.warning("poll problems by reason: %s", by_reason(report.errors))
    if report.failed:
        raise FeedPollError(report.errors)
    return outcome


def due_entry_batches(store: Store, now: datetime | None = None, size: int = BATCH_SIZE) -> list[list[str]]:
    """Every entry waiting to be fetched (new, or failed and past its backoff), in batches."""
    due = [entry.id for entry in store.entries_due(now or utcnow())]
    found = batches(due, size)
    log.info("%d entries due for fetching, in %d batches of up to %d", len(due), len(found), size)
    return found


def failed_entries_due(store: Store, now: datetime | None = None) -> int:
    return sum(entry.status == "failed" for entry in store.entries_due(now or utcnow()))


def fetch_batch(config: Config, store: Store, entry_ids: Sequence[str]) -> list[str]:
    """Fetch the batch; return the ids of all its articles now in the store.

    Returning every stored article of the batch, not only those this attempt
    fetched, is what makes a retry after a crash mid-batch hand the later
    stages the whole batch rather than just its remainder.
    """
    report = fetch_stage(config, store, entry_ids)
    stored = [article.id for article in store.get_articles(entry_ids)]
    log.info(
        "%d entries: %d articles indexed now, %d of the batch stored in all, %d problems",
        len(entry_ids),
        report.indexed,
        len(stored),
        len(report.errors),
    )
    log_errors(report.errors)
    return stored


def enrich_batch(config: Config, store: Store, article_ids: Sequence[str]) -> int:
    report = cycle.enrich_stage(config, store, article_ids)
    log.info("%d of %d articles analysed (entities, topics, quotes)", report.analysed, len(article_ids))
    log_errors(report.errors)
    return report.analysed


def dedupe_batch(config: Config, store: Store, article_ids: Sequence[str]) -> int:
    report = cycle.dedupe_stage(config, store, article_ids)
    log.info(
        "%d articles: %d duplicates (%d exact, %d near), %d clusters merged, %d too short to fold, %d done before",
        len(article_ids),
        report.duplicates,
        report.exact,
        report.near,
        report.merged,
        report.too_short,
        report.skipped,
    )
    return report.duplicates


def statements_batch(config: Config, store: Store, article_ids: Sequence[str]) -> int:
    report = cycle.statements_stage(config, store, article_ids)
    log.info("%d articles: %d new statements, %d updated", len(article_ids), len(report.new), len(report.updated))
    return len(report.new)


def log_errors(errors: Sequence[StageError]) -> None:
    """Each error on its own line (URL and reason), then the count by reason."""
    for error in errors:
        log.warning("%s: %s: %s", error.stage, error.url, error.reason)
    if len(errors) > 1:
        log.warning("by reason: %s", by_reason(errors))


def send_alerts(config: Config, store: Store, sender: Sender | None) -> int:
    """Run the alert stage; raise when any alert is still undelivered at its end, so the task shows red.

    The ledger already holds each failure and its next attempt (or `dead`), so
    the raise loses nothing: a later process or maintenance run retries it.
    """
    report = alert_stage(config, store, sender=sender)
    log.info("alerts: %d sent, %d not delivered", report.sent, report.failed)
    log_errors(report.errors)
    undelivered = report.failed or any(error.url == "alerts.to" for error in report.errors)
    if undelivered:
        raise AlertsFailedError(
            f"{report.failed} alerts not delivered this run: {by_reason(report.errors)} (see `wirewatch alerts`)"
        )
    return report.sent


def finish_unprocessed(config: Config, store: Store, now: datetime | None = None) -> int:
    """Articles whose process run died after indexing, taken through the later stages.

    Only those indexed over six hours ago, so a process run still under way (or retrying) finishes its own.
    """
    report = CycleReport()
    finished = cycle.finish_unprocessed(config, store, (now or utcnow()) - UNPROCESSED_GRACE, report)
    log.info("%d articles left unprocessed by a dead run taken through the later stages", finished)
    log_errors(report.errors)
    return finished


def prune_dedup(config: Config, store: Store, now: datetime | None = None) -> int:
    before = (now or utcnow()) - config.dedup.window
    pruned = store.prune_dedup(before)
    log.info("%d dedup records older than %s pruned", pruned, before.isoformat(timespec="seconds"))
    return pruned


def failing_feeds(store: Store, threshold: int = FAILING_AFTER) -> list[dict[str, str | int | None]]:
    """Feeds that failed `threshold` polls in a row, worst first, logged and as JSON for XCom."""
    failing = sorted((feed for feed in store.list_feeds() if feed.failures >= threshold), key=lambda f: -f.failures)
    for feed in failing:
        log.warning("%s has failed %d polls in a row: %s", feed.url, feed.failures, feed.last_error)
    if not failing:
        log.info("no feed has failed %d polls in a row", threshold)
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
    current = msgspec.to_builtins(config.store, enc_hook=str)  # the store path as the string a file holds
    settings = parse_config({**current, **store}, StoreConfig, "store override")
    return msgspec.structs.replace(config, store=settings)
