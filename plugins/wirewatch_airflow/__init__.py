"""Airflow-only glue for wirewatch: the entries asset, a hook for config and store, SMTP delivery."""

from wirewatch_airflow.assets import ENTRIES
from wirewatch_airflow.hooks import WirewatchHook
from wirewatch_airflow.smtp import smtp_sender

__all__ = ["ENTRIES", "WirewatchHook", "smtp_sender"]
