"""The one YAML config file, validated with msgspec.

A bad file must produce one line naming the key and the problem (exit 2), so
every section forbids unknown keys and `config_from_dict` turns msgspec's error
into `ConfigError` with a dotted key path.

msgspec rather than pydantic because every command validates the file before it
does anything: importing pydantic and building these models cost about 0.5 G
instructions, most of what `wirewatch search` spent (README, "Search").
Values that need more than a type check (durations, URLs, addresses, networks,
topic queries, paths) are small `str`/`timedelta` subclasses that `_decode`
builds, so an error names the exact key.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
from datetime import timedelta
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import msgspec
import yaml

from pipeline.query import check_rule
from pipeline.urls import canonical_url

DEFAULT_CONFIG_PATH = "wirewatch.yaml"
CONFIG_ENV_VAR = "WIREWATCH_CONFIG"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class ConfigError(Exception):
    """A config file that cannot be used; the message names the key."""


class Duration(timedelta):
    """A positive span written `90`, `90s`, `5m`, `48h` or `7d` (bare numbers are seconds)."""

    @classmethod
    def parse(cls, value: Any) -> Duration:
        if isinstance(value, bool) or not isinstance(value, int | float | str | timedelta):
            raise ValueError("expected a duration such as 30s, 5m, 48h or 7d")
        if isinstance(value, timedelta):
            seconds = value.total_seconds()
        elif isinstance(value, int | float):
            seconds = float(value)
        else:
            match = _DURATION.match(value)
            if not match:
                raise ValueError(f"{value!r} is not a duration such as 30s, 5m, 48h or 7d")
            seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
        if seconds <= 0:
            raise ValueError("a duration must be positive")
        return cls(seconds=seconds)


class HttpUrl(str):
    """An http(s) URL with a host."""

    @classmethod
    def parse(cls, value: str) -> HttpUrl:
        if not re.match(r"^https?://[^/\s]+", value, re.IGNORECASE):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return cls(value)


_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


class EmailAddress(str):
    """`name@domain`, or `Display Name <name@domain>`, as RFC 5322 allows in To and From."""

    @classmethod
    def parse(cls, value: str) -> EmailAddress:
        import email.utils  # only configs that send email pay for importing the email package

        _, address = email.utils.parseaddr(value)
        if not address or not _ADDRESS.match(address) or ".." in address:
            raise ValueError(f"{value!r} is not an email address such as analyst@example.org")
        return cls(value)


class Network(str):
    """An IP network such as `127.0.0.0/8` (host bits allowed)."""

    @classmethod
    def parse(cls, value: str) -> Network:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a network such as 127.0.0.0/8") from exc
        return cls(value)


class TopicQuery(str):
    """A topic rule in the query language (`pipeline.query`), checked to have something to search for."""

    @classmethod
    def parse(cls, value: str) -> TopicQuery:
        check_rule(value)
        return cls(value)


_CHECKED_STRINGS: dict[type, Any] = {
    HttpUrl: HttpUrl.parse,
    EmailAddress: EmailAddress.parse,
    Network: Network.parse,
    TopicQuery: TopicQuery.parse,
}


def _decode(kind: type, value: Any) -> Any:
    """msgspec's hook for the types it does not know: each is built, and checked, by its own `parse`."""
    if kind is Duration:
        return Duration.parse(value)
    if kind is Path:
        if not isinstance(value, str):
            raise ValueError(f"expected a path, not {type(value).__name__}")
        return Path(value)
    parse = _CHECKED_STRINGS.get(kind)
    if parse is None:
        raise NotImplementedError(kind)
    if not isinstance(value, str):
        raise ValueError(f"expected a string, not {type(value).__name__}")
    return parse(value)


Section = TypeVar("Section", bound="_Section")


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One section of the file: immutable, and a misspelt key is an error rather than silently ignored."""


class StoreConfig(_Section, frozen=True):
    backend: Literal["sqlite", "elasticsearch"] = "sqlite"
    path: Path = Path("wirewatch.db")
    url: str | None = None
    index_prefix: str = "wirewatch"
    api_key_env: str | None = None
    username: str | None = None
    password_env: str | None = None

    def __post_init__(self) -> None:
        if self.backend == "elasticsearch" and not self.url:
            raise ValueError("url is required for the elasticsearch backend (such as http://localhost:9200)")


class FeedConfig(_Section, frozen=True):
    url: HttpUrl
    name: str | None = None
    interval: Duration = Duration(minutes=5)

    @property
    def label(self) -> str:
        return self.name or self.url


class SpeakerConfig(_Section, frozen=True):
    name: str
    aliases: list[str] = []
    descriptors: list[str] = []
    pronoun: Literal["he", "she", "they"] | None = None
    titles: list[str] = []
    alert: bool = False


class TopicConfig(_Section, frozen=True):
    name: str
    query: TopicQuery
    alert: bool = False


class SmtpConfig(_Section, frozen=True):
    host: str = "localhost"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 25
    security: Literal["plain", "starttls", "ssl"] = "plain"
    username: str | None = None
    password_env: str | None = None
    timeout: Duration = Duration(seconds=10)


class AlertsConfig(_Section, frozen=True):
    to: list[EmailAddress] = []
    from_: EmailAddress = msgspec.field(default=EmailAddress("wirewatch@localhost"), name="from")
    smtp: SmtpConfig | None = None
    outbox: Path = Path("outbox")
    max_age: Duration = Duration(hours=48)
    # How long an email that fails for a reason that may pass (an outage) is retried before it is dead.
    retry_for: Duration = Duration(hours=48)


_Positive = Annotated[int, msgspec.Meta(gt=0)]


class FetchConfig(_Section, frozen=True):
    allow_networks: list[Network] = []
    timeout: Duration = Duration(seconds=20)
    # Queueing for a connection slot (many feeds on one host) is not slowness: it has its own limit.
    slot_wait: Duration = Duration(minutes=5)
    max_bytes: _Positive = 10_000_000
    max_redirects: Annotated[int, msgspec.Meta(ge=0, le=20)] = 5
    concurrency: _Positive = 16
    per_host: _Positive = 4
    user_agent: str = "wirewatch/0.1 (+https://github.com/wirewatch/wirewatch)"
    min_text_chars: Annotated[int, msgspec.Meta(ge=0)] = 250
    max_backoff: Duration = Duration(hours=6)
    # What a run's processes (main and workers) may weigh together; page bodies in flight are budgeted from it.
    memory_ceiling: _Positive = 1_000_000_000


class DedupConfig(_Section, frozen=True):
    window: Duration = Duration(days=7)


class NlpConfig(_Section, frozen=True):
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


class KibanaConfig(_Section, frozen=True):
    url: str
    space: str | None = None
    username: str | None = None
    password_env: str | None = None


class Config(_Section, frozen=True):
    store: StoreConfig = msgspec.field(default_factory=StoreConfig)
    feeds: list[FeedConfig] = []
    speakers: list[SpeakerConfig] = []
    topics: list[TopicConfig] = []
    alerts: AlertsConfig = msgspec.field(default_factory=AlertsConfig)
    fetch: FetchConfig = msgspec.field(default_factory=FetchConfig)
    dedup: DedupConfig = msgspec.field(default_factory=DedupConfig)
    nlp: NlpConfig = msgspec.field(default_factory=NlpConfig)
    kibana: KibanaConfig | None = None

    def __post_init__(self) -> None:
        """The same feed twice would be polled twice and its state shared: almost always a pasting slip."""
        seen: dict[str, int] = {}
        for number, feed in enumerate(self.feeds):
            key = canonical_url(feed.url)
            if key in seen:
                raise ValueError(f"feeds[{number}]: the same feed as feeds[{seen[key]}] ({feed.url})")
            seen[key] = number


_ERROR_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_ERROR_FIELD = re.compile(r"^Object (?P<problem>contains unknown|missing required) field `(?P<field>[^`]*)`$")


def _one_line(error: msgspec.ValidationError, kind: type) -> str:
    """msgspec's `<message> - at `$.feeds[0].url`` as `feeds[0].url: <message>`, the way the README shows it."""
    parts = _ERROR_AT.match(str(error))
    assert parts is not None  # the pattern matches any text
    message, path = parts["message"], (parts["path"] or "").removeprefix(".")
    field = _ERROR_FIELD.match(message)
    if field:
        path = f"{path}.{field['field']}" if path else field["field"]
        message = "unknown key" if field["problem"] == "contains unknown" else "required"
    elif message.startswith("Invalid enum value"):
        message += ": expected " + " or ".join(repr(choice) for choice in _choices(kind, path))
    return f"{path}: {message}" if path else message


def _choices(kind: type, path: str) -> tuple[Any, ...]:
    """The values a `Literal` key takes, found by following the error's key path through the sections."""
    annotation: Any = kind
    for key in (part for part in re.split(r"[.\[\]]+", path) if part and not part.isdigit()):
        fields = msgspec.structs.fields(_inner(annotation))
        annotation = next(field.type for field in fields if field.encode_name == key)
    return get_args(_inner(annotation))


def _inner(annotation: Any) -> Any:
    """The type inside a list or an optional: `list[FeedConfig]` and `SmtpConfig | None` lead to the section."""
    while get_origin(annotation) in (list, Union, UnionType):
        annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
    return annotation


def parse_config(data: Any, kind: type[Section], source: str) -> Section:
    """Validate plain data (as YAML gives it) into one config section, or raise `ConfigError`."""
    try:
        return msgspec.convert(data, kind, strict=False, dec_hook=_decode)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {_one_line(exc, kind)}") from None


def config_from_dict(data: Any, source: str = "config") -> Config:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys, not {type(data).__name__}")
    return parse_config(data, Config, source)


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
        store = msgspec.structs.replace(store, path=base / store.path)
    if not alerts.outbox.is_absolute():
        alerts = msgspec.structs.replace(alerts, outbox=base / alerts.outbox)
    return msgspec.structs.replace(config, store=store, alerts=alerts)
