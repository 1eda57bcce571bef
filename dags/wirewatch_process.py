"""Fetch the waiting entries and take their articles through every later stage, on each entries event."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import TriggerRule, dag, task
from wirewatch_airflow import ENTRIES, WirewatchHook, smtp_sender

from pipeline import orchestration
from pipeline.cycle import dedupe_stage, enrich_stage, statements_stage


@dag(
    schedule=[ENTRIES],
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1), "execution_timeout": timedelta(minutes=20)},
    tags=["wirewatch"],
)
def wirewatch_process() -> None:
    @task
    def due_entries() -> list[list[str]]:
        with WirewatchHook().session() as (_, store):
            return orchestration.due_entry_batches(store)

    @task
    def fetch(entry_ids: list[str]) -> list[str]:
        with WirewatchHook().session() as (config, store):
            return orchestration.fetch_batch(config, store, entry_ids)

    @task
    def enrich(article_ids: list[str]) -> int:
        with WirewatchHook().session() as (config, store):
            return enrich_stage(config, store, article_ids).analysed

    @task(max_active_tis_per_dagrun=1)
    def dedupe(article_ids: list[str]) -> int:
        with WirewatchHook().session() as (config, store):
            return dedupe_stage(config, store, article_ids).duplicates

    @task(max_active_tis_per_dagrun=1)
    def statements(article_ids: list[str]) -> int:
        with WirewatchHook().session() as (config, store):
            return len(statements_stage(config, store, article_ids).new)

    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def alert() -> int:
        with WirewatchHook().session() as (config, store):
            return orchestration.send_alerts(config, store, smtp_sender())

    articles = fetch.expand(entry_ids=due_entries())
    enriched = enrich.expand(article_ids=articles)
    deduped = dedupe.expand(article_ids=articles)
    stated = statements.expand(article_ids=articles)
    enriched >> deduped >> stated >> alert()


wirewatch_process()
