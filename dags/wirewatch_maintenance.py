"""Hourly upkeep: retry due alerts, hand due failed entries back to processing, finish articles a dead run
left unprocessed, prune the dedup window, name failing feeds.

Parsing this file imports Airflow and the wirewatch plugin only; the
pipeline is imported when a task runs.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task
from wirewatch_airflow import ENTRIES, tasks


@dag(
    schedule="@hourly",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5), "execution_timeout": timedelta(minutes=30)},
    tags=["wirewatch"],
)
def wirewatch_maintenance() -> None:
    @task
    def retry_alerts() -> int:
        """Failed deliveries past their next attempt, sent again without waiting for new entries."""
        return tasks.send_alerts()

    @task(outlets=[ENTRIES])
    def retry_failed_entries() -> int:
        return tasks.retry_failed_entries()

    @task
    def finish_unprocessed() -> int:
        return tasks.finish_unprocessed()

    @task
    def prune_dedup() -> int:
        return tasks.prune_dedup()

    @task
    def failing_feeds() -> list[dict[str, str | int | None]]:
        return tasks.failing_feeds()

    retry_alerts()
    retry_failed_entries()
    finish_unprocessed()
    prune_dedup()
    failing_feeds()


wirewatch_maintenance()
