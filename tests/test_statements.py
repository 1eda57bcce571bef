"""Statements across articles, and the CLI surfaces of who-said-what: analyze, statements, search filters."""

from __future__ import annotations

import io
import json
from importlib import resources

import pytest

from pipeline.cli import main
from pipeline.cycle import run_cycle, statements_stage
from pipeline.demo.site import feed_urls, sample_articles, sample_routes
from pipeline.records import utcnow
from pipeline.store import SearchQuery
from tests.conftest import all_articles, make_config
from tests.test_alert import ANOTHER_STATEMENT


def seed_text(name: str) -> str:
    return resources.files("pipeline.demo").joinpath("sample", name).read_text(encoding="utf-8")


def ingest(tmp_path, site, store, articles):
    site.routes.clear()
    site.routes.update(sample_routes(site.base_url, utcnow(), articles))
    config = make_config(tmp_path, [{"url": url, "name": name} for url, name in feed_urls(site.base_url)])
    return config, run_cycle(config, store, force=True)


def test_voa_vice_and_wire_copies_are_one_kim_yo_jong_statement(tmp_path, site, store):
    ingest(tmp_path, site, store, sample_articles())
    (statement,) = store.list_statements(speaker="Kim Yo Jong")
    assert len(statement.sources) == 4
    texts = " | ".join(quote.text for quote in statement.quotes)
    assert "not be useful to us" in texts  # VOA
    assert "I am of the view that" in texts  # VICE, another translation of the same statement
    assert statement.text.startswith("It is my personal opinion")


def test_a_statement_on_another_subject_is_a_new_statement(tmp_path, site, store):
    ingest(tmp_path, site, store, sample_articles()[:2])
    _, report = ingest(tmp_path, site, store, [*sample_articles()[:2], ANOTHER_STATEMENT])
    statements = store.list_statements(speaker="Kim Yo Jong")
    # hers, and the Unification Ministry's reported one ("The Unification Ministry in Seoul said it was …")
    assert report.statements_new == 2 and len(statements) == 2
    assert len(store.list_statements(speaker="The Unification Ministry")) == 1
    assert "dear price" in statements[0].text  # newest first


def test_statements_are_idempotent(tmp_path, site, store):
    config, _ = ingest(tmp_path, site, store, sample_articles())
    before = [(s.id, len(s.quotes), s.updated) for s in store.list_statements()]
    report = statements_stage(config, store, [article.id for article in all_articles(store)])
    assert report.new == [] and report.updated == []
    assert [(s.id, len(s.quotes), s.updated) for s in store.list_statements()] == before


def test_statements_json_and_search_filters(tmp_path, site, store, capsys):
    config, _ = ingest(tmp_path, site, store, sample_articles())
    path = tmp_path / "wirewatch.yaml"
    path.write_text(json.dumps({"store": {"path": str(config.store.path)}, "speakers": [{"name": "Kim Yo Jong"}]}))
    assert main(["statements", "--speaker", "kim yo jong", "--config", str(path), "--json"]) == 0
    (statement,) = json.loads(capsys.readouterr().out)
    assert set(statement) >= {"id", "speaker", "first_seen", "quotes", "sources"}
    assert statement["speaker"] == "Kim Yo Jong" and len(statement["sources"]) == 4
    assert {"text", "article_url"} <= set(statement["quotes"][0])

    assert main(["search", "summit", "--speaker", "Kim Yo Jong", "--all", "--config", str(path), "--json"]) == 0
    quoted = json.loads(capsys.readouterr().out)
    assert quoted["total"] == 4 and all("Kim Yo Jong" in hit["entities"] for hit in quoted["hits"])
    assert main(["search", "summit", "--topic", "denuclearization", "--config", str(path), "--json"]) == 0
    topical = json.loads(capsys.readouterr().out)
    assert topical["total"] >= 1 and all("denuclearization" in hit["topics"] for hit in topical["hits"])
    assert main(["search", "summit", "--entity", "Mike Pompeo", "--config", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] >= 1
    assert main(["search", "summit", "--speaker", "Nobody Atall", "--config", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"total": 0, "total_exact": True, "hits": []}


def test_search_collapses_wire_copies_by_default(tmp_path, site, store):
    ingest(tmp_path, site, store, sample_articles())
    collapsed = store.search(SearchQuery(text="Kim Yo Jong summit"))
    every = store.search(SearchQuery(text="Kim Yo Jong summit", collapse=False))
    assert every.total == 4 and collapsed.total == 2
    wire = next(hit for hit in collapsed.hits if hit.duplicates)
    assert wire.duplicates == 2 and wire.cluster_id == next(
        hit.id for hit in every.hits if "voa" in hit.url
    )  # the earliest copy names the cluster


@pytest.mark.parametrize("name", ["voa-2020-07-10-kim-yo-jong-summit.txt"])
def test_analyze_reads_stdin_and_prints_the_documented_json(name, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)  # no ./wirewatch.yaml: the default config, speakers found by rules alone
    text = seed_text(name)
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main(["analyze", "-", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"entities", "topics", "quotes"}
    quote = next(q for q in data["quotes"] if q["text"].startswith("It is my personal opinion"))
    assert set(quote) == {"text", "start", "end", "speaker", "speaker_start", "speaker_end", "cue", "rule", "kind"}
    assert text[quote["start"] : quote["end"]] == quote["text"]
    assert quote["speaker"] == "Kim Yo Jong" and quote["kind"] == "direct"
    assert not [q for q in data["quotes"] if q["kind"] == "full_text"]  # a news report, not a statement in full
    entity = data["entities"][0]
    assert set(entity) == {"text", "label", "start", "end", "canonical"}
    assert text[entity["start"] : entity["end"]] == entity["text"]
