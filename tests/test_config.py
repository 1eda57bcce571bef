"""Config files: what is accepted, and the one-line errors (exit 2) for what is not."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import ConfigError, load_config

GOOD = """
store: {backend: sqlite, path: ./data/wirewatch.db}
feeds:
  - {url: "https://www.voanews.com/api/zmgqoe$moi", name: "VOA East Asia", interval: 5m}
speakers:
  - {name: Kim Yo Jong, aliases: [Kim Yo-jong], descriptors: ["Kim Jong Un's sister"], pronoun: she, alert: true}
topics:
  - {name: denuclearization, query: "denucleari*"}
alerts:
  {to: [analyst@example.org], from: wirewatch@example.org, smtp: {host: localhost, port: 1025}, outbox: ./outbox,
   max_age: 48h}
fetch: {allow_networks: ["127.0.0.0/8"]}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wirewatch.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_documented_schema_loads(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert config.feeds[0].interval == timedelta(minutes=5)
    assert config.alerts.max_age == timedelta(hours=48) and config.alerts.from_ == "wirewatch@example.org"
    assert config.store.path == tmp_path / "data" / "wirewatch.db"  # relative to the config file
    assert config.speakers[0].pronoun == "she" and config.speakers[0].alert


def test_config_path_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WIREWATCH_CONFIG", str(write(tmp_path, GOOD)))
    assert load_config().feeds[0].name == "VOA East Asia"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "feeds:\n  - {url: 'https://a.example/rss', interval: soon}\n",
            "feeds[0].interval: 'soon' is not a duration such as 30s, 5m, 48h or 7d",
        ),
        ("feeds:\n  - {url: 'ftp://a.example/rss'}\n", "feeds[0].url: 'ftp://a.example/rss' is not an http(s) URL"),
        (
            "store: {backend: postgres}\n",
            "store.backend: Invalid enum value 'postgres': expected 'sqlite' or 'elasticsearch'",
        ),
        (
            "alerts: {smtp: {security: tls}}\n",
            "alerts.smtp.security: Invalid enum value 'tls': expected 'plain' or 'starttls' or 'ssl'",
        ),
        (
            "speakers:\n  - {name: Kim Yo Jong, pronoun: her}\n",
            "speakers[0].pronoun: Invalid enum value 'her': expected 'he' or 'she' or 'they'",
        ),
        ("alerts: {max_age: 48h, too: [x]}\n", "alerts.too: unknown key"),
        (
            "fetch: {allow_networks: [localhost]}\n",
            "fetch.allow_networks[0]: 'localhost' is not a network such as 127.0.0.0/8",
        ),
        ("speakers:\n  - {aliases: [x]}\n", "speakers[0].name: required"),
        ("- just\n- a list\n", "the top level must be a mapping of keys, not list"),
        ("feeds: [unclosed\n", "not valid YAML at line 2"),
        ("", "the file is empty (wirewatch.example.yaml shows what goes in it)"),
        ("\n  \n", "the file is empty (wirewatch.example.yaml shows what goes in it)"),
        ("# only a comment\n", "the file has no settings (wirewatch.example.yaml shows what goes in it)"),
        (
            "feeds:\n  - {url: 'https://a.example/rss'}\n  - {url: 'https://b.example/rss'}\n"
            "  - {url: 'HTTPS://A.example/rss#top', name: again}\n",
            "feeds[2]: the same feed as feeds[0] (HTTPS://A.example/rss#top)",
        ),
        (
            "nlp: {model: xx_no_such_pipeline_sm}\n",
            "nlp.model: 'xx_no_such_pipeline_sm' is neither an installed spaCy pipeline nor a pipeline directory "
            "(install it, or set nlp.model: null to use the rules alone)",
        ),
        (
            "alerts: {to: [analyst.example.org]}\n",
            "alerts.to[0]: 'analyst.example.org' is not an email address such as analyst@example.org",
        ),
        (
            "alerts: {to: [a@example.org, 'b@@example.org']}\n",
            "alerts.to[1]: 'b@@example.org' is not an email address such as analyst@example.org",
        ),
        (
            "alerts: {from: 'wirewatch at example.org'}\n",
            "alerts.from: 'wirewatch at example.org' is not an email address such as analyst@example.org",
        ),
        (
            "store: {backend: elasticsearch}\n",
            "store: url is required for the elasticsearch backend (such as http://localhost:9200)",
        ),
    ],
)
def test_bad_configs_name_the_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == f"{path}: {message}"


def test_cli_exits_2_with_one_line_and_no_traceback(tmp_path):
    path = write(tmp_path, "feeds:\n  - {url: 'https://a.example/rss', intervall: 5m}\n")
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", "--config", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr == f"wirewatch: config error: {path}: feeds[0].intervall: unknown key\n"
    assert done.stdout == ""


def test_missing_config_file(tmp_path, capsys):
    assert main(["feeds", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert capsys.readouterr().err == f"wirewatch: config error: {tmp_path / 'nope.yaml'}: no such config file\n"


def test_addresses_with_display_names_and_installed_models_are_accepted(tmp_path):
    text = GOOD.replace("to: [analyst@example.org]", "to: ['Analyst <analyst@example.org>', desk@localhost]")
    trained = tmp_path / "my-pipeline"
    trained.mkdir()
    (trained / "config.cfg").write_text('[nlp]\nlang = "en"\n', encoding="utf-8")  # what spacy.load reads first
    config = load_config(write(tmp_path, text + f"nlp: {{model: '{trained}'}}\n"))
    assert config.alerts.to == ["Analyst <analyst@example.org>", "desk@localhost"]
    assert config.nlp.model == str(trained)


def test_a_store_override_replaces_only_the_keys_it_names(tmp_path):
    """An Airflow connection can name the store; the rest of the file, and the store path, stay as written."""
    from pipeline.orchestration import config_with_store

    path = write(tmp_path, GOOD)
    config = config_with_store(str(path), {"backend": "elasticsearch", "url": "http://es.example:9200"})
    assert (config.store.backend, config.store.url) == ("elasticsearch", "http://es.example:9200")
    assert config.store.path == tmp_path / "data" / "wirewatch.db"
    assert config.feeds[0].name == "VOA East Asia" and config.alerts.max_age == timedelta(hours=48)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"backend": "elasticsearch"}, "store override: url is required for the elasticsearch backend"),
        ({"bakend": "sqlite"}, "store override: bakend: unknown key"),
        ({"index_prefix": 7}, "store override: index_prefix: Expected `str`, got `int`"),
    ],
)
def test_a_bad_store_override_is_one_line_naming_the_key(tmp_path, override, message):
    from pipeline.orchestration import config_with_store

    with pytest.raises(ConfigError) as raised:
        config_with_store(str(write(tmp_path, GOOD)), override)
    assert str(raised.value).startswith(message)
