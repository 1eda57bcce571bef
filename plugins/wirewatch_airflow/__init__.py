"""Airflow-only glue for wirewatch: the entries asset, a hook for config and store, the task bodies, SMTP delivery.

Light to import (Airflow imports every plugin module in each of its
processes, and the DAG files import this one): the pipeline is imported by
the functions that need it, when a task runs.
"""

from wirewatch_airflow import tasks
from wirewatch_airflow.assets import ENTRIES
from wirewatch_airflow.hooks import WirewatchHook

__all__ = ["ENTRIES", "WirewatchHook", "tasks"]
