"""Config and store for a task, named the Airflow way: a connection, a Variable, or an env var.

Tasks build both afresh: nothing of the store lives in a worker between
tasks, so any worker can run any task. `pipeline` is imported inside the
methods: Airflow imports every plugin module in its scheduler, API server and
DAG processor, which must not pay for the pipeline's imports.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook, Variable
from airflow.sdk.exceptions import AirflowNotFoundException

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.store import Store

CONFIG_VARIABLE = "wirewatch_config"


class WirewatchHook(BaseHook):
    """Where wirewatch's config and store are, first match wins.

    1. the `wirewatch_store` connection's extra: `{"config": "/path/wirewatch.yaml",
       "store": {"backend": "sqlite", "path": "/data/wirewatch.db"}}` (both optional);
    2. the `wirewatch_config` Variable: the config file's path;
    3. `$WIREWATCH_CONFIG`, then `wirewatch.yaml` in the working directory.
    """

    conn_name_attr = "wirewatch_conn_id"
    default_conn_name = "wirewatch_store"
    conn_type = "wirewatch"
    hook_name = "wirewatch"

    def __init__(self, wirewatch_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.wirewatch_conn_id = wirewatch_conn_id

    def _extra(self) -> dict[str, Any]:
        try:
            return dict(self.get_connection(self.wirewatch_conn_id).extra_dejson)
        except AirflowNotFoundException:
            return {}

    def get_config(self) -> Config:
        from pipeline.orchestration import config_with_store

        extra = self._extra()
        path = extra.get("config") or Variable.get(CONFIG_VARIABLE, default=None)
        return config_with_store(path, extra.get("store"))

    @contextmanager
    def session(self) -> Iterator[tuple[Config, Store]]:
        from pipeline.store import open_store

        config = self.get_config()
        with open_store(config.store) as store:
            yield config, store
