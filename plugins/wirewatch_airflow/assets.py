"""The asset that links polling to processing: an event on it means entries are waiting in the store."""

from airflow.sdk import Asset

ENTRIES = Asset(name="wirewatch_entries", uri="wirewatch://entries")
