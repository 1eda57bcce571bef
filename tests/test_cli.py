"""The CLI's commands and JSON shapes, which other tools and checks rely on."""

from __future__ import annotations

import json

import pytest
import yaml

from pipeline.cli import main
from pipeline.demo.site import feed_urls, sample_routes
from pipeline.records import utcnow


def write_config(tmp_path, site) -> str:
    site.routes.update(sample_routes(site.base_url, utcnow()))
    config = {
        "store": {"path": str(tmp_path / "w.db")},
        "feeds": [{"url": url, "name": name} for url, name in feed_urls(site.base_url)],
        "fetch": {"allow_networks": ["127.0.0.0/8"]},
    }
    path = tmp_path / "wirewatch.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return str(path)


def run_json(capsys, *argv: str):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_run_search_and_feeds_json(tmp_path, site, capsys):
    config = write_config(tmp_path, site)
    first = run_json(capsys, "run", "--config", config)
    assert {"feeds_polled", "feeds_failed", "entries_new", "articles_indexed", "errors"} <= set(first)
    assert (first["feeds_polled"], first["feeds_failed"], first["entries_new"], first["articles_indexed"]) == (
        3,
        0,
        4,
        4,
    )
    again = run_json(capsys, "run", "--config", config, "--force")
    assert (again["entries_new"], again["articles_indexed"]) == (0, 0)

    found = run_json(capsys, "search", "Pompeo hopeful", "--config", config, "--source", "VICE News")
    assert found["total"] == 1
    hit = found["hits"][0]
    assert {"id", "url", "title", "source", "published", "snippet"} <= set(hit)
    assert hit["source"] == "VICE News" and "<b>" in hit["snippet"]

    future = run_json(capsys, "search", "summit", "--config", config, "--since", "2999-01-01")
    assert future == {"total": 0, "total_exact": True, "hits": []}

    feeds = run_json(capsys, "feeds", "--config", config)
    assert sorted(feed["name"] for feed in feeds) == ["VICE News", "VOA East Asia", "Wire desk"]
    assert all(feed["failures"] == 0 and feed["last_success"] for feed in feeds)


def test_run_prints_a_human_summary(tmp_path, site, capsys):
    config = write_config(tmp_path, site)
    assert main(["run", "--config", config]) == 0
    assert "polled 3 feeds (0 failed), 4 new entries, 4 articles indexed" in capsys.readouterr().out


def test_demo_runs_end_to_end(tmp_path, capsys):
    result = run_json(capsys, "demo", "--dir", str(tmp_path / "demo"))
    assert result["run"]["articles_indexed"] == 4 and result["run"]["errors"] == []
    assert result["search"]["total"] >= 1


@pytest.mark.parametrize("limit", ["0", "-5", "ten", "10001"])
def test_a_limit_outside_what_every_store_can_answer_exits_2_naming_it(limit, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["search", "summit", "--limit", limit])
    assert stopped.value.code == 2
    assert f"argument --limit: {limit!r} is not a number from 1 to 10,000" in capsys.readouterr().err
