"""What each wirewatch task does, between Airflow's context and `pipeline.orchestration`.

The DAG files wire these into TaskFlow tasks and import nothing else, so
parsing them costs only Airflow's own imports; the pipeline (spaCy,
trafilatura, numpy behind it) is imported here, inside the functions, when a
task runs. Each function reads what it needs of the run from the current
context: the slot the run stands for, and whether this is a retry or a clear.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pendulum
from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowSkipException

from wirewatch_airflow.assets import ENTRIES
from wirewatch_airflow.hooks import WirewatchHook

log = logging.getLogger(__name__)


def slot_end(context: Any) -> datetime:
    """When the run after this one is due: a feed whose next poll comes before then is polled now.

    Read from the DAG's own timetable (a cron expression or a fixed delta), so a
    changed schedule changes the slot with it. A run without a periodic schedule
    has no slot: only feeds already due are polled.
    """
    run_after: datetime = context["dag_run"].run_after
    timetable = context["dag"].timetable
    delta = getattr(timetable, "delta", None)
    if isinstance(delta, timedelta):
        return run_after + delta
    expression = getattr(timetable, "expression", None)
    if isinstance(expression, str):
        from croniter import croniter

        local = pendulum.instance(run_after).in_timezone(getattr(timetable, "timezone", "UTC"))
        following: datetime = croniter(expression, local).get_next(datetime)
        return following.astimezone(pendulum.UTC)
    return run_after


def is_rerun(context: Any) -> bool:
    """A retry or a clear: Airflow counts tries, and both start the task's second or later one."""
    return int(context["ti"].try_number) > 1


# -- wirewatch_poll ------------------------------------------------------------------------------------------
def due_feeds(feeds_per_task: int | str) -> list[list[str]]:
    from pipeline.orchestration import poll_plan
    from pipeline.records import utcnow

    context = get_current_context()
    with WirewatchHook().session() as (config, store):
        plan = poll_plan(config, store, utcnow(), slot_end(context))
    return plan.batches(int(feeds_per_task))


def poll(feed_urls: Sequence[str]) -> int:
    """Poll the batch; skipped, with the reason, when none of its feeds is due (they are backing off)."""
    from pipeline.orchestration import poll_batch

    context = get_current_context()
    context["feeds"] = " ".join(feed_urls)  # type: ignore[typeddict-unknown-key]  # the map index label
    with WirewatchHook().session() as (config, store):
        outcome = poll_batch(config, store, feed_urls, until=slot_end(context), force=is_rerun(context))
    if not outcome.report.polled:
        raise AirflowSkipException("; ".join(f"{url}: {reason}" for url, reason in outcome.skipped.items()))
    return outcome.report.entries_new


def announce(new_entries: Sequence[int]) -> int:
    """Emit the entries event with the total, or skip (and trigger nothing) when the polls found none."""
    # One slice request for the mapped values: iterating would ask for one past the last and log "XCom not found".
    counts = list(new_entries[:])
    total = sum(counts)
    if not total:
        raise AirflowSkipException(f"no new entries from {len(counts)} polled tasks: wirewatch_process not triggered")
    get_current_context()["outlet_events"][ENTRIES].extra = {"new_entries": total}
    log.info("%d new entries from %d poll tasks: wirewatch_process is triggered", total, len(counts))
    return total


# -- wirewatch_process ---------------------------------------------------------------------------------------
def due_entries(entries_per_task: int | str) -> list[list[str]]:
    from pipeline.orchestration import due_entry_batches

    with WirewatchHook().session() as (_, store):
        return due_entry_batches(store, size=int(entries_per_task))


def fetch(entry_ids: Sequence[str]) -> list[str]:
    from pipeline.orchestration import fetch_batch

    with WirewatchHook().session() as (config, store):
        return fetch_batch(config, store, entry_ids)


def enrich(article_ids: Sequence[str]) -> int:
    from pipeline.orchestration import enrich_batch

    with WirewatchHook().session() as (config, store):
        return enrich_batch(config, store, article_ids)


def dedupe(article_ids: Sequence[str]) -> int:
    from pipeline.orchestration import dedupe_batch

    with WirewatchHook().session() as (config, store):
        return dedupe_batch(config, store, article_ids)


def statements(article_ids: Sequence[str]) -> int:
    from pipeline.orchestration import statements_batch

    with WirewatchHook().session() as (config, store):
        return statements_batch(config, store, article_ids)


def send_alerts() -> int:
    """Send what is new and retry what is due; red when any alert is still undelivered (the ledger keeps it)."""
    from pipeline.orchestration import send_alerts
    from wirewatch_airflow.smtp import smtp_sender

    with WirewatchHook().session() as (config, store):
        return send_alerts(config, store, smtp_sender())


# -- wirewatch_maintenance -----------------------------------------------------------------------------------
def retry_failed_entries() -> int:
    """Hand due failed entries to wirewatch_process, which refetches them and runs every later stage."""
    from pipeline.orchestration import failed_entries_due

    with WirewatchHook().session() as (_, store):
        due = failed_entries_due(store)
    if not due:
        raise AirflowSkipException("no failed entries past their backoff")
    get_current_context()["outlet_events"][ENTRIES].extra = {"failed_entries_due": due}
    log.info("%d failed entries are past their backoff: wirewatch_process is triggered", due)
    return due


def finish_unprocessed() -> int:
    from pipeline.orchestration import finish_unprocessed

    with WirewatchHook().session() as (config, store):
        return finish_unprocessed(config, store)


def prune_dedup() -> int:
    from pipeline.orchestration import prune_dedup

    with WirewatchHook().session() as (config, store):
        return prune_dedup(config, store)


def failing_feeds() -> list[dict[str, str | int | None]]:
    from pipeline.orchestration import failing_feeds

    with WirewatchHook().session() as (_, store):
        return failing_feeds(store)
