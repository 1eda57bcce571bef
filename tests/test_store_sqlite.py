"""What only the SQLite backend has: one file, WAL, numbered migrations, FTS5 query safety."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.records import Article
from pipeline.store import SearchQuery
from pipeline.store import sqlite as backend
from pipeline.store.sqlite import SQLiteStore, fts_query


def test_a_new_file_is_at_the_latest_schema_in_wal_mode(tmp_path):
    with SQLiteStore(tmp_path / "w.db") as store:
        assert store.schema_version == len(backend.MIGRATIONS)
    with sqlite3.connect(tmp_path / "w.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_old_file_is_migrated_forward_keeping_its_data(tmp_path, monkeypatch):
    with SQLiteStore(tmp_path / "w.db") as store:
        store.put_articles([Article(id="a1", url="u", feed_url="f", source="s", title="Kept", text="kept text")])
    later = [*backend.MIGRATIONS, "ALTER TABLE articles ADD COLUMN reviewed INTEGER NOT NULL DEFAULT 0;"]
    monkeypatch.setattr(backend, "MIGRATIONS", later)
    with SQLiteStore(tmp_path / "w.db") as store:
        assert store.schema_version == len(later)
        assert [article.title for article in store.get_articles(["a1"])] == ["Kept"]
    with SQLiteStore(tmp_path / "w.db") as store:  # opening again applies nothing twice
        assert store.schema_version == len(later)


def test_articles_stored_before_the_processed_mark_count_as_processed(tmp_path, monkeypatch):
    monkeypatch.setattr(backend, "MIGRATIONS", backend.MIGRATIONS[:1])
    with SQLiteStore(tmp_path / "w.db"):
        pass
    with sqlite3.connect(tmp_path / "w.db") as raw:
        raw.execute(
            "INSERT INTO articles (id, url, feed_url, source, title, text, fetched, cluster_id)"
            " VALUES ('old', 'u', 'f', 's', 'Old', 'old text', '2020-07-10T06:00:00.000000Z', 'old')"
        )
    monkeypatch.undo()
    with SQLiteStore(tmp_path / "w.db") as store:
        store.put_articles([Article(id="new", url="v", feed_url="f", source="s", title="New", text="new text")])
        assert store.unprocessed_articles(datetime.now(UTC) + timedelta(days=1), 10) == ["new"]


def test_statements_stored_before_kinds_read_as_direct_published_when_first_seen(tmp_path, monkeypatch):
    monkeypatch.setattr(backend, "MIGRATIONS", backend.MIGRATIONS[:2])
    with SQLiteStore(tmp_path / "w.db"):
        pass
    quotes = '[{"text": "no summit", "article_id": "a", "article_url": "u", "source": "VOA", "title": "t",' \
        ' "published": "2020-07-10T06:00:00.000000Z", "context": ""}]'
    with sqlite3.connect(tmp_path / "w.db") as raw:
        raw.execute(
            "INSERT INTO statements (id, speaker, first_seen, updated, text, quotes) VALUES"
            " ('old', 'Kim Yo Jong', '2020-07-10T06:00:00.000000Z', '2020-07-10T06:00:00.000000Z', 'no summit', ?)",
            (quotes,),
        )
    monkeypatch.undo()
    with SQLiteStore(tmp_path / "w.db") as store:
        old = store.get_statement("old")
        assert old is not None
        assert (old.kind, old.published, old.occasion) == ("direct", datetime(2020, 7, 10, 6, tzinfo=UTC), None)
        assert [(quote.kind, quote.fetched) for quote in old.quotes] == [("direct", None)]


@pytest.mark.parametrize(
    ("typed", "query"),
    [
        ("kim-yo jong", '"kim-yo" "jong"'),
        ('"kim yo jong" AND summit', '"kim yo jong" AND "summit"'),
        ("denucleari*", '"denucleari"*'),
        ("summit OR", '"summit"'),
        ("(talks OR summit", '( "talks" OR "summit" )'),
        ("NOT", ""),
        ("foo:bar ^ )", '"foo:bar" "^"'),
    ],
)
def test_what_users_type_becomes_a_valid_fts5_query(typed, query, tmp_path):
    assert fts_query(typed) == query
    with SQLiteStore(tmp_path / "w.db") as store:
        store.search(SearchQuery(text=typed))  # never an FTS5 syntax error
