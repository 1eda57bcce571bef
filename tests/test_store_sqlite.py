"""What only the SQLite backend has: one file, WAL, numbered migrations, FTS5 query safety."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.records import Article
from pipeline.store import SearchQuery
from pipeline.store import sqlite as backend
from pipeline.store.sqlite import SQLiteStore


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
    ("typed", "titles"),
    [
        ("kim-yo jong", ["Kim-Yo Jong speaks"]),
        ('"kim yo jong" AND summit', []),
        ("denucleari*", ["Denuclearization stalls"]),
        ("summit OR", ["Summit off"]),
        ("(talks OR summit", ["Summit off"]),
        ("NOT", []),
        ("foo:bar ^ )", []),
        ("NOT summit", ["Café in Zürich", "Denuclearization stalls", "Kim-Yo Jong speaks"]),
        ("Zurich", ["Café in Zürich"]),
        ("café", ["Café in Zürich"]),
    ],
)
def test_what_users_type_is_never_an_fts5_error(typed, titles, tmp_path):
    """Operators without operands are dropped, punctuation is literal, case and diacritics fold."""
    with SQLiteStore(tmp_path / "w.db") as store:
        store.put_articles(
            Article(id=title, url=title, feed_url="f", source="s", title=title, text="")
            for title in ("Kim-Yo Jong speaks", "Summit off", "Denuclearization stalls", "Café in Zürich")
        )
        found = store.search(SearchQuery(text=typed, limit=10))
    if typed == "NOT":  # nothing to search for: every article, newest first
        assert found.total == 4
        return
    assert sorted(hit.title for hit in found.hits) == titles


def test_a_search_ranks_the_newest_matches_past_the_window_and_says_its_total_is_a_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(backend, "RANK_WINDOW", 3)
    with SQLiteStore(tmp_path / "w.db") as store:
        # stored in this order: the last three stored are the newest matches
        store.put_articles(
            Article(id=f"a{n}", url=f"u{n}", feed_url="f", source="s", title="Summit", text="summit " * n)
            for n in range(1, 6)
        )
        store.put_articles([Article(id="other", url="o", feed_url="f", source="s", title="Talks", text="talks")])
        windowed = store.search(SearchQuery(text="summit", limit=2))
        assert (windowed.total, windowed.total_exact) == (3, False)
        assert len(windowed.hits) == 2 and {hit.id for hit in windowed.hits} <= {"a3", "a4", "a5"}
        # a limit past the window widens it: every match, counted exactly
        wide = store.search(SearchQuery(text="summit", limit=5))
        assert (wide.total, wide.total_exact) == (5, True)
        exact = store.search(SearchQuery(text="talks"))
        assert (exact.total, exact.total_exact, [hit.id for hit in exact.hits]) == (1, True, ["other"])
