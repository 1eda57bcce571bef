"""Daily upkeep: hand due failed entries back to processing, finish articles a dead run left unprocessed,
prune the dedup window, name failing feeds."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException
from wirewatch_airflow import ENTRIES, WirewatchHook

from pipeline import orchestration


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5), "execution_timeout": timedelta(minutes=30)},
    tags=["wirewatch"],
)
def wirewatch_maintenance() -> None:
    @task(outlets=[ENTRIES])
    def retry_failed_entries() -> int:
        """Hand them to wirewatch_process: it refetches due failed entries and runs every later stage on them."""
        with WirewatchHook().session() as (_, store):
            due = orchestration.failed_entries_due(store)
        if not due:
            raise AirflowSkipException("no failed entries past their backoff")
        get_current_context()["outlet_events"][ENTRIES].extra = {"failed_entries_due": due}
        return due

    @task
    def finish_unprocessed() -> int:
        with WirewatchHook().session() as (config, store):
            return orchestration.finish_unprocessed(config, store)

    @task
    def prune_dedup() -> int:
        with WirewatchHook().session() as (config, store):
            return orchestration.prune_dedup(config, store)

    @task
    def failing_feeds() -> list[dict[str, str | int | None]]:
        with WirewatchHook().session() as (_, store):
            return orchestration.failing_feeds(store)

    retry_failed_entries()
    finish_unprocessed()
    prune_dedup()
    failing_feeds()


wirewatch_maintenance()
