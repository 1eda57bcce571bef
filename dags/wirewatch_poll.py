"""Poll the feeds due in this slot, one mapped task per feed, and announce new entries on an asset.

Parsing this file imports Airflow and the wirewatch plugin only; the
pipeline is imported when a task runs. The schedule is the one setting read
at parse time, from the environment (never a Variable: no database at parse).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Param, TriggerRule, dag, task
from wirewatch_airflow import ENTRIES, tasks

# Also the slot length: a feed is due when its next poll falls before the next run.
SCHEDULE = os.environ.get("WIREWATCH_POLL_SCHEDULE", "*/5 * * * *")
FEEDS_PER_TASK = "{{ var.value.get('wirewatch_feeds_per_task', params.feeds_per_task) }}"


@dag(
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"execution_timeout": timedelta(minutes=4)},
    params={"feeds_per_task": Param(1, type="integer", minimum=1, description="feeds polled by one mapped task")},
    tags=["wirewatch"],
)
def wirewatch_poll() -> None:
    @task
    def due_feeds(feeds_per_task: int | str) -> list[list[str]]:
        return tasks.due_feeds(feeds_per_task)

    @task(map_index_template="{{ feeds }}")
    def poll(feed_urls: list[str]) -> int:
        return tasks.poll(feed_urls)

    @task(outlets=[ENTRIES], trigger_rule=TriggerRule.ALL_DONE)
    def announce(new_entries: list[int]) -> int:
        return tasks.announce(new_entries)

    announce(poll.expand(feed_urls=due_feeds(FEEDS_PER_TASK)))  # type: ignore[arg-type]  # resolved at run time


wirewatch_poll()
