"""What only the SQLite backend has: one file, WAL, numbered migrations, FTS5 query safety."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.records import Article, Entry, Quote
from pipeline.store import DedupRecord, SearchQuery
from pipeline.store import sqlite as backend
from pipeline.store.sqlite import SQLiteStore


@contextmanager
def raw_store_at_schema(path: Path, monkeypatch: pytest.MonkeyPatch, schema: int) -> Iterator[sqlite3.Connection]:
    """A store file made by the first `schema` migrations only, open raw to write rows as a store of that version
    did; `SQLiteStore` applies the later migrations when it opens the file next."""
    with monkeypatch.context() as patched:
        patched.setattr(backend, "MIGRATIONS", backend.MIGRATIONS[:schema])
        with SQLiteStore(path):
            pass
    raw = sqlite3.connect(path)
    try:
        with raw:  # committed when the test's writes are done
            yield raw
    finally:
        raw.close()


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


def test_a_current_store_opens_and_searches_while_a_run_holds_the_write_lock(tmp_path):
    with SQLiteStore(tmp_path / "w.db") as store:
        store.put_articles([Article(id="a1", url="u", feed_url="f", source="s", title="Summit", text="summit text")])
    writer = sqlite3.connect(tmp_path / "w.db", isolation_level=None, timeout=0)
    writer.execute("BEGIN IMMEDIATE")  # what a cycle holds while it writes a batch
    try:
        reader = sqlite3.connect(tmp_path / "w.db", timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            reader.execute("BEGIN IMMEDIATE")  # the lock is real: a second writer is refused at once
        reader.close()
        with SQLiteStore(tmp_path / "w.db") as store:
            assert [hit.id for hit in store.search(SearchQuery(text="summit")).hits] == ["a1"]
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_articles_stored_before_the_processed_mark_count_as_processed(tmp_path, monkeypatch):
    with raw_store_at_schema(tmp_path / "w.db", monkeypatch, 1) as raw:
        raw.execute(
            "INSERT INTO articles (id, url, feed_url, source, title, text, fetched, cluster_id)"
            " VALUES ('old', 'u', 'f', 's', 'Old', 'old text', '2020-07-10T06:00:00.000000Z', 'old')"
        )
    with SQLiteStore(tmp_path / "w.db") as store:
        store.put_articles([Article(id="new", url="v", feed_url="f", source="s", title="New", text="new text")])
        assert store.unprocessed_articles(datetime.now(UTC) + timedelta(days=1), 10) == ["new"]


def test_statements_stored_before_kinds_read_as_direct_published_when_first_seen(tmp_path, monkeypatch):
    quotes = (
        '[{"text": "no summit", "article_id": "a", "article_url": "u", "source": "VOA", "title": "t",'
        ' "published": "2020-07-10T06:00:00.000000Z", "context": ""},'
        ' {"text": "no summit", "article_id": "b", "article_url": "v", "source": "AP", "title": "t",'
        ' "published": "2020-07-10T05:00:00.000000Z", "context": ""}]'
    )
    with raw_store_at_schema(tmp_path / "w.db", monkeypatch, 2) as raw:
        raw.execute(
            "INSERT INTO statements (id, speaker, first_seen, updated, text, quotes) VALUES"
            " ('old', 'Kim Yo Jong', '2020-07-10T06:00:00.000000Z', '2020-07-10T06:00:00.000000Z', 'no summit', ?)",
            (quotes,),
        )
    with SQLiteStore(tmp_path / "w.db") as store:
        old = store.get_statement("old")
        assert old is not None
        assert (old.kind, old.published, old.occasion) == ("direct", datetime(2020, 7, 10, 6, tzinfo=UTC), None)
        assert [(quote.kind, quote.fetched, quote.rule) for quote in old.quotes] == [("direct", None, None)] * 2
        # the reports the row held, moved to their own table in order; matching reads the earliest of the wording
        assert [quote.article_id for quote in old.quotes] == ["a", "b"]
        (candidate,) = store.statement_candidates("Kim Yo Jong", None, 50, "c")
        assert [quote.article_id for quote in candidate.quotes] == ["b"]


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


def test_a_story_whose_original_fell_outside_the_rank_window_is_shown_by_it(tmp_path, monkeypatch):
    monkeypatch.setattr(backend, "RANK_WINDOW", 2)
    early = datetime(2020, 7, 10, 6, tzinfo=UTC)
    with SQLiteStore(tmp_path / "w.db") as store:
        # stored first, so the newest-stored window of matches holds only the reprint and two others
        store.put_articles([Article(id="orig", url="o", feed_url="f", source="VOA", title="Summit", text="summit",
                                    published=early)])  # fmt: skip
        store.put_articles(
            Article(id=f"n{n}", url=f"n{n}", feed_url="f", source="s", title="Summit", text="summit talks",
                    published=early + timedelta(hours=n))
            for n in (1, 2)
        )  # fmt: skip
        store.put_articles([Article(id="reprint", url="r", feed_url="f", source="AP", title="Summit",
                                    text="summit summit", published=early + timedelta(hours=3))])  # fmt: skip
        store.save_dedup(
            [
                DedupRecord("orig", "orig", early, "h1", ("k",)),
                DedupRecord("reprint", "orig", early + timedelta(hours=3), "h2", ("k",)),
            ],
            {"orig": None, "reprint": "orig"},
        )
        found = store.search(SearchQuery(text="summit", limit=2))
        shown = {hit.cluster_id: (hit.id, hit.source, hit.duplicates) for hit in found.hits}
        assert shown["orig"] == ("orig", "VOA", 1)  # not "reprint", the copy inside the window


def test_articles_stored_before_attribution_kinds_are_found_by_kind_direct(tmp_path, monkeypatch):
    monkeypatch.setattr(backend, "MIGRATIONS", backend.MIGRATIONS[:4])
    quoted = Article(id="quoted", url="q", feed_url="f", source="VOA", title="Summit", text="She said no summit.",
                     quotes=[Quote("no summit", 9, 18, "Kim Yo Jong", 0, 3, "said")])  # fmt: skip
    silent = Article(id="silent", url="s", feed_url="f", source="VOA", title="Summit", text="No quotes here.")
    with SQLiteStore(tmp_path / "w.db") as store:
        store.put_articles([quoted, silent])
    with sqlite3.connect(tmp_path / "w.db") as raw:  # as a store of that version wrote them: no kind tags
        raw.execute("DELETE FROM article_tags WHERE kind = 'quote_kind'")
    monkeypatch.undo()
    with SQLiteStore(tmp_path / "w.db") as store:
        assert [hit.id for hit in store.search(SearchQuery(kind="direct", collapse=False)).hits] == ["quoted"]
        assert store.search(SearchQuery(text="summit", kind="indirect")).total == 0


def test_guids_claimed_before_feed_numbers_are_kept_under_their_feeds_number(tmp_path, monkeypatch):
    """The GUIDs a store of schema 7 holds (keyed by the feed's URL) move to their feed's number, every one; a GUID
    a feed claimed stays claimed by that feed only, and a feed first seen after the migration gets a number too."""
    with raw_store_at_schema(tmp_path / "w.db", monkeypatch, 7) as raw:
        raw.executemany(
            "INSERT INTO feed_guids (feed_url, guid, entry_id) VALUES (?, ?, ?)",
            [("http://b.example/feed", "g1", "e-b1"), ("http://a.example/feed", "g1", "e-a1"),
             ("http://a.example/feed", "g2", "e-a2")],
        )  # fmt: skip
    with SQLiteStore(tmp_path / "w.db") as store:
        assert store.schema_version == len(backend.MIGRATIONS)
        rows = store._db.execute(
            "SELECT k.url, g.guid, g.entry_id FROM feed_guids g JOIN feed_keys k ON k.id = g.feed ORDER BY 1, 2"
        ).fetchall()
        assert [tuple(row) for row in rows] == [
            ("http://a.example/feed", "g1", "e-a1"),
            ("http://a.example/feed", "g2", "e-a2"),
            ("http://b.example/feed", "g1", "e-b1"),
        ]
        added = store.add_entries(
            [
                Entry(id="e-a1-again", feed_url="http://a.example/feed", url="http://a.example/1b", guid="g1"),
                Entry(id="e-a3", feed_url="http://a.example/feed", url="http://a.example/3", guid="g3"),
                Entry(id="e-b2", feed_url="http://b.example/feed", url="http://b.example/2", guid="g2"),
                Entry(id="e-c1", feed_url="http://c.example/feed", url="http://c.example/1", guid="g1"),
                Entry(id="e-c1-again", feed_url="http://c.example/feed", url="http://c.example/1b", guid="g1"),
            ]
        )
        assert [entry.id for entry in added] == ["e-a3", "e-b2", "e-c1"]
        keys = store._db.execute("SELECT url, id FROM feed_keys ORDER BY id").fetchall()
        assert [tuple(row) for row in keys] == [
            ("http://a.example/feed", 1),
            ("http://b.example/feed", 2),
            ("http://c.example/feed", 3),
        ]
        assert store.add_entries([Entry(id="e-c1-later", feed_url="http://c.example/feed", url="x", guid="g1")]) == []


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2020, 7, 10, 9, 5, 3, tzinfo=UTC), "2020-07-10T09:05:03.000000Z"),
        (datetime(2020, 7, 10, 9, 5, 3, 42, tzinfo=UTC), "2020-07-10T09:05:03.000042Z"),
        (datetime(2021, 1, 1, 8, 30, tzinfo=timezone(timedelta(hours=9))), "2020-12-31T23:30:00.000000Z"),
        (datetime(2020, 7, 10, 23, 59, 59, 999999), "2020-07-10T23:59:59.999999Z"),  # naive: taken as UTC
        (datetime(999, 1, 2, tzinfo=UTC), "999-01-02T00:00:00.000000Z"),  # strftime's unpadded year, as before
        (None, None),
    ],
)
def test_times_are_stored_as_fixed_width_utc_text(moment, text):
    assert backend.ts(moment) == text


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.just(UTC)))
def test_stored_times_read_as_the_standard_librarys_strftime_writes_them(moment):
    # `ts` builds the text by hand for speed; strftime is the format it must keep writing.
    assert backend.ts(moment) == moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_the_page_cache_is_bounded_inside_cache_bounded_and_set_back_after(tmp_path):
    with SQLiteStore(tmp_path / "w.db") as store:
        with store.cache_bounded(4 * 2**20):
            # SQLite's negative cache_size is in KiB: 4 MiB
            assert store._db.execute("PRAGMA cache_size").fetchone()[0] == -4096
            store.put_articles([Article(id="a1", url="u", feed_url="f", source="s", title="Kept", text="kept text")])
        assert store._db.execute("PRAGMA cache_size").fetchone()[0] == -65536  # the store's own 64 MiB
        assert [article.title for article in store.get_articles(["a1"])] == ["Kept"]


def test_a_bound_under_one_kib_still_leaves_the_cache_a_kib(tmp_path):
    with SQLiteStore(tmp_path / "w.db") as store, store.cache_bounded(100):
        assert store._db.execute("PRAGMA cache_size").fetchone()[0] == -1


def test_band_keys_stored_as_text_are_integers_after_the_migration_and_still_found(tmp_path, monkeypatch):
    """A store of schema 9 holds band keys as 16 hex digits; migrated, each is its signed 64-bit integer (a self
    key stays text), dedup finds the stored article by its keys as before, and pruning still removes its rows."""
    with raw_store_at_schema(tmp_path / "w.db", monkeypatch, 9) as raw:
        raw.execute(
            "INSERT INTO dedup (article_id, body_hash, published, cluster_id, band_keys) VALUES"
            " ('a', 'h', '2020-07-10T06:00:00.000000Z', 'a', 'ffffffffffffffff 0000000000000001 @a')"
        )
        raw.executemany(
            "INSERT INTO band_keys (key, published, article_id) VALUES (?, 1594360800000000, 'a')",
            [("ffffffffffffffff",), ("0000000000000001",), ("@a",)],
        )
    since = datetime(2020, 7, 9, tzinfo=UTC)
    with SQLiteStore(tmp_path / "w.db") as store:
        stored = store._db.execute("SELECT key, typeof(key) FROM band_keys ORDER BY 2, 1").fetchall()
        assert [tuple(row) for row in stored] == [(-1, "integer"), (1, "integer"), ("@a", "text")]
        (found,) = store.dedup_candidates(["0000000000000001", "ffffffffffffffff", "00000000000000ff"], since)
        assert (found.article_id, sorted(found.band_keys)) == ("a", ["0000000000000001", "ffffffffffffffff"])
        assert [record.article_id for record in store.dedup_candidates(["@a"], since)] == ["a"]
        assert store.prune_dedup(datetime(2020, 7, 11, tzinfo=UTC)) == 1
        assert store._db.execute("SELECT count(*) FROM band_keys").fetchone()[0] == 0


def test_a_band_key_keeps_its_hex_digits_through_the_store_and_any_other_key_stays_text(tmp_path):
    """Keys saved through `save_dedup`: a band key's top bit set (a negative integer) and clear come back as the
    same 16 digits; keys of other shapes (upper-case hex, 15 digits, a self key) are kept as text."""
    keys = ("8000000000000000", "7fffffffffffffff", "ABCDEF0123456789", "123456789012345", "@x")
    published = datetime(2020, 7, 10, 6, tzinfo=UTC)
    with SQLiteStore(tmp_path / "w.db") as store:
        store.save_dedup([DedupRecord("x", "x", published, "h", keys)], {})
        stored = store._db.execute("SELECT typeof(key) FROM band_keys ORDER BY key").fetchall()
        assert sorted(row[0] for row in stored) == ["integer", "integer", "text", "text", "text"]
        (found,) = store.dedup_candidates(keys, published - timedelta(days=1))
        assert sorted(found.band_keys) == sorted(keys)


def _dedup_round_trip(store: SQLiteStore) -> tuple[list[tuple[str, list[str]]], int]:
    """Save one article's dedup row and keys, find it by its band keys, prune it: what each page size must do alike."""
    published = datetime(2020, 7, 10, 6, tzinfo=UTC)
    keys = ("8000000000000000", "0000000000000001", "@x")
    store.save_dedup([DedupRecord("x", "x", published, "h", keys)], {})
    found = store.dedup_candidates(["0000000000000001", "8000000000000000"], published - timedelta(days=1))
    return [(record.article_id, sorted(record.band_keys)) for record in found], store.prune_dedup(
        published + timedelta(days=1)
    )


def test_a_new_store_is_made_with_8_kib_pages_and_keeps_them(tmp_path):
    with SQLiteStore(tmp_path / "w.db") as store:
        assert store._db.execute("PRAGMA page_size").fetchone()[0] == 8192
        assert _dedup_round_trip(store) == ([("x", ["0000000000000001", "8000000000000000"])], 1)
    with sqlite3.connect(tmp_path / "w.db") as raw:
        assert raw.execute("PRAGMA page_size").fetchone()[0] == 8192


def test_a_store_made_with_4_kib_pages_keeps_them_and_works(tmp_path, monkeypatch):
    """A store made before the page size changed (SQLite's default, 4 KiB) is opened as it is: SQLite fixed its page
    size at its first write, and the store reads, writes and migrates the same at either size."""
    with monkeypatch.context() as before:
        before.setattr(backend, "PAGE_SIZE", 4096)
        before.setattr(backend, "MIGRATIONS", backend.MIGRATIONS[:9])
        with SQLiteStore(tmp_path / "w.db") as store:
            store.put_articles([Article(id="a1", url="u", feed_url="f", source="s", title="Kept", text="kept text")])
    with SQLiteStore(tmp_path / "w.db") as store:
        assert store._db.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert store.schema_version == len(backend.MIGRATIONS)
        assert [article.title for article in store.get_articles(["a1"])] == ["Kept"]
        assert _dedup_round_trip(store) == ([("x", ["0000000000000001", "8000000000000000"])], 1)


def test_a_key_asked_for_twice_is_found_once(tmp_path):
    """The lookup joins the keys asked for to the index one by one, so it takes each distinct key once: a key given
    twice (or in two spellings of one value, never: a band key has one) still comes back once."""
    published = datetime(2020, 7, 10, 6, tzinfo=UTC)
    with SQLiteStore(tmp_path / "w.db") as store:
        store.save_dedup([DedupRecord("x", "x", published, "h", ("00000000000000ff", "@x"))], {})
        (found,) = store.dedup_candidates(["00000000000000ff", "@x", "00000000000000ff"], published)
        assert sorted(found.band_keys) == ["00000000000000ff", "@x"]
