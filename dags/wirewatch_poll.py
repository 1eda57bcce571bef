"""Poll the feeds that are due, one mapped task per feed, and announce new entries on an asset."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import TriggerRule, Variable, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException
from wirewatch_airflow import ENTRIES, WirewatchHook

from pipeline import orchestration


@dag(
    schedule=Variable.get("wirewatch_poll_schedule", default="*/5 * * * *"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"execution_timeout": timedelta(minutes=4)},
    tags=["wirewatch"],
)
def wirewatch_poll() -> None:
    @task
    def due_feeds() -> list[list[str]]:
        with WirewatchHook().session() as (config, store):
            return orchestration.due_feed_batches(config, store, int(Variable.get("wirewatch_feeds_per_task", 1)))

    @task(map_index_template="{{ feeds }}")
    def poll(feed_urls: list[str]) -> int:
        get_current_context()["feeds"] = " ".join(feed_urls)  # type: ignore[typeddict-unknown-key]
        with WirewatchHook().session() as (config, store):
            return orchestration.poll_batch(config, store, feed_urls)

    @task(outlets=[ENTRIES], trigger_rule=TriggerRule.ALL_DONE)
    def announce(new_entries: list[int]) -> int:
        total = sum(new_entries)
        if not total:
            raise AirflowSkipException("no new entries: wirewatch_process is not triggered")
        get_current_context()["outlet_events"][ENTRIES].extra = {"new_entries": total}
        return total

    announce(poll.expand(feed_urls=due_feeds()))  # type: ignore[arg-type]  # resolved to the list at run time


wirewatch_poll()
