"""Fetch the waiting entries and take their articles through every later stage, on each entries event.

Parsing this file imports Airflow and the wirewatch plugin only; the
pipeline is imported when a task runs.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, TriggerRule, dag, task
from wirewatch_airflow import ENTRIES, tasks

ENTRIES_PER_TASK = "{{ var.value.get('wirewatch_entries_per_task', params.entries_per_task) }}"


@dag(
    schedule=[ENTRIES],
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1), "execution_timeout": timedelta(minutes=20)},
    params={"entries_per_task": Param(200, type="integer", minimum=1, description="entries fetched by one task")},
    tags=["wirewatch"],
)
def wirewatch_process() -> None:
    @task
    def due_entries(entries_per_task: int | str) -> list[list[str]]:
        return tasks.due_entries(entries_per_task)

    @task
    def fetch(entry_ids: list[str]) -> list[str]:
        return tasks.fetch(entry_ids)

    @task
    def enrich(article_ids: list[str]) -> int:
        return tasks.enrich(article_ids)

    @task(max_active_tis_per_dagrun=1)
    def dedupe(article_ids: list[str]) -> int:
        return tasks.dedupe(article_ids)

    @task(max_active_tis_per_dagrun=1)
    def statements(article_ids: list[str]) -> int:
        return tasks.statements(article_ids)

    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def alert() -> int:
        return tasks.send_alerts()

    articles = fetch.expand(entry_ids=due_entries(ENTRIES_PER_TASK))
    enriched = enrich.expand(article_ids=articles)
    deduped = dedupe.expand(article_ids=articles)
    stated = statements.expand(article_ids=articles)
    enriched >> deduped >> stated >> alert()


wirewatch_process()
