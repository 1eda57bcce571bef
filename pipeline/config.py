"""The one YAML config file, validated with pydantic.

A bad file must produce one line naming the key and the problem (exit 2), so
every model forbids unknown keys and `load_config` turns pydantic's error list
into `ConfigError` with a dotted key path.
"""

from __future__ import annotations

import email.utils
import importlib.util
import ipaddress
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.query import check_rule
from pipeline.urls import canonical_url

DEFAULT_CONFIG_PATH = "wirewatch.yaml"
CONFIG_ENV_VAR = "WIREWATCH_CONFIG"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class ConfigError(Exception):
    """A config file that cannot be used; the message names the key."""


def parse_duration(value: Any) -> timedelta:
    """Accept `90`, `90s`, `5m`, `48h`, `7d` (bare numbers are seconds)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m, 48h or 7d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration such as 30s, 5m, 48h or 7d")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreConfig(_Strict):
    backend: Literal["sqlite", "elasticsearch"] = "sqlite"
    path: Path = Path("wirewatch.db")
    url: str | None = None
    index_prefix: str = "wirewatch"
    api_key_env: str | None = None
    username: str | None = None
    password_env: str | None = None

    @model_validator(mode="after")
    def _url_for_elasticsearch(self) -> StoreConfig:
        if self.backend == "elasticsearch" and not self.url:
            raise ValueError("url is required for the elasticsearch backend (such as http://localhost:9200)")
        return self


class FeedConfig(_Strict):
    url: str
    name: str | None = None
    interval: Duration = timedelta(minutes=5)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value, re.IGNORECASE):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @property
    def label(self) -> str:
        return self.name or self.url


class SpeakerConfig(_Strict):
    name: str
    aliases: list[str] = []
    descriptors: list[str] = []
    pronoun: Literal["he", "she", "they"] | None = None
    titles: list[str] = []
    alert: bool = False


class TopicConfig(_Strict):
    name: str
    query: str
    alert: bool = False

    @field_validator("query")
    @classmethod
    def _parses(cls, value: str) -> str:
        check_rule(value)
        return value


class SmtpConfig(_Strict):
    host: str = "localhost"
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["plain", "starttls", "ssl"] = "plain"
    username: str | None = None
    password_env: str | None = None
    timeout: Duration = timedelta(seconds=10)


_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def _email_address(value: str) -> str:
    """`name@domain`, or `Display Name <name@domain>`, as RFC 5322 allows in To and From."""
    _, address = email.utils.parseaddr(value)
    if not address or not _ADDRESS.match(address) or ".." in address:
        raise ValueError(f"{value!r} is not an email address such as analyst@example.org")
    return value


class AlertsConfig(_Strict):
    to: list[str] = []
    from_: str = Field(default="wirewatch@localhost", alias="from")
    smtp: SmtpConfig | None = None
    outbox: Path = Path("outbox")
    max_age: Duration = timedelta(hours=48)
    # How long an email that fails for a reason that may pass (an outage) is retried before it is dead.
    retry_for: Duration = timedelta(hours=48)

    @field_validator("to")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        return [_email_address(address) for address in value]

    @field_validator("from_")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _email_address(value)


class FetchConfig(_Strict):
    allow_networks: list[str] = []
    timeout: Duration = timedelta(seconds=20)
    # Queueing for a connection slot (many feeds on one host) is not slowness: it has its own limit.
    slot_wait: Duration = timedelta(minutes=5)
    max_bytes: int = Field(default=10_000_000, gt=0)
    max_redirects: int = Field(default=5, ge=0, le=20)
    concurrency: int = Field(default=16, ge=1)
    per_host: int = Field(default=4, ge=1)
    user_agent: str = "wirewatch/0.1 (+https://github.com/wirewatch/wirewatch)"
    min_text_chars: int = Field(default=250, ge=0)
    max_backoff: Duration = timedelta(hours=6)
    # What a run's processes (main and workers) may weigh together; page bodies in flight are budgeted from it.
    memory_ceiling: int = Field(default=1_000_000_000, gt=0)

    @field_validator("allow_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ValueError(f"{network!r} is not a network such as 127.0.0.0/8") from exc
        return value


class DedupConfig(_Strict):
    window: Duration = timedelta(days=7)


class NlpConfig(_Strict):
    model: str | None = None


def check_model(model: str | None) -> None:
    """A configured model that cannot load would quietly leave the rules alone to do its work: say so.

    Checked when a config file is loaded (not on every `NlpConfig`), without importing spaCy: an installed
    pipeline is an importable package, a trained one on disk a directory holding `config.cfg`.
    """
    if model is None:
        return
    if (Path(model).expanduser() / "config.cfg").is_file() or importlib.util.find_spec(model.replace("-", "_")):
        return
    raise ValueError(
        f"{model!r} is neither an installed spaCy pipeline nor a pipeline directory "
        "(install it, or set nlp.model: null to use the rules alone)"
    )


class KibanaConfig(_Strict):
    url: str
    space: str | None = None
    username: str | None = None
    password_env: str | None = None


class Config(_Strict):
    store: StoreConfig = StoreConfig()
    feeds: list[FeedConfig] = []
    speakers: list[SpeakerConfig] = []
    topics: list[TopicConfig] = []
    alerts: AlertsConfig = AlertsConfig()
    fetch: FetchConfig = FetchConfig()
    dedup: DedupConfig = DedupConfig()
    nlp: NlpConfig = NlpConfig()
    kibana: KibanaConfig | None = None

    @field_validator("feeds")
    @classmethod
    def _distinct_feeds(cls, feeds: list[FeedConfig]) -> list[FeedConfig]:
        """The same feed twice would be polled twice and its state shared: almost always a pasting slip."""
        seen: dict[str, int] = {}
        for number, feed in enumerate(feeds):
            key = canonical_url(feed.url)
            if key in seen:
                raise ValueError(f"feeds[{number}] is the same feed as feeds[{seen[key]}] ({feed.url})")
            seen[key] = number
        return feeds


def _key_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def config_from_dict(data: Any, source: str = "config") -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys, not {type(data).__name__}")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        raise ConfigError(f"{source}: {_key_path(first['loc'])}: {message}") from None


def resolve_config_path(path: str | os.PathLike[str] | None) -> Path:
    return Path(path or os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load and validate; relative store/outbox paths are taken from the file's directory."""
    config_path = resolve_config_path(path)
    try:
        raw = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config_path}: cannot read: {exc}") from None
    if not raw.strip():
        raise ConfigError(f"{config_path}: the file is empty (wirewatch.example.yaml shows what goes in it)")
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{config_path}: not valid YAML{where}") from None
    if data is None:
        raise ConfigError(f"{config_path}: the file has no settings (wirewatch.example.yaml shows what goes in it)")
    config = config_from_dict(data, str(config_path))
    try:
        check_model(config.nlp.model)
    except ValueError as exc:
        raise ConfigError(f"{config_path}: nlp.model: {exc}") from None
    base = config_path.parent
    store = config.store
    alerts = config.alerts
    if not store.path.is_absolute():
        store = store.model_copy(update={"path": base / store.path})
    if not alerts.outbox.is_absolute():
        alerts = alerts.model_copy(update={"outbox": base / alerts.outbox})
    return config.model_copy(update={"store": store, "alerts": alerts})
