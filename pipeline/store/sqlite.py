"""The embedded store: one SQLite file, WAL, FTS5 with BM25.

Schema changes are numbered migrations applied in order and recorded in
`PRAGMA user_version`, so an old file opens under new code without losing data.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import struct
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.query import parse, to_fts5
from pipeline.records import (
    AlertRecord,
    Article,
    Entity,
    Entry,
    FeedState,
    Quote,
    Statement,
    StatementQuote,
    speaker_spellings,
)
from pipeline.store.base import (
    DedupRecord,
    EntryFailures,
    NewEntries,
    SearchHit,
    SearchQuery,
    SearchResult,
    Store,
)

MIGRATIONS: list[str] = [
    """
    CREATE TABLE feeds (
        url TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        last_polled TEXT,
        last_success TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        next_poll TEXT,
        entries_seen INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE entries (
        id TEXT PRIMARY KEY,
        feed_url TEXT NOT NULL,
        url TEXT NOT NULL,
        guid TEXT,
        title TEXT NOT NULL DEFAULT '',
        summary TEXT NOT NULL DEFAULT '',
        published TEXT,
        source TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        next_attempt TEXT,
        discovered TEXT NOT NULL
    );
    CREATE TABLE feed_guids (
        feed_url TEXT NOT NULL,
        guid TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        PRIMARY KEY (feed_url, guid)
    ) WITHOUT ROWID;
    CREATE INDEX entries_status ON entries (status, next_attempt);
    CREATE TABLE articles (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        url TEXT NOT NULL,
        feed_url TEXT NOT NULL,
        source TEXT NOT NULL,
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        author TEXT,
        published TEXT,
        language TEXT,
        sitename TEXT,
        from_feed INTEGER NOT NULL DEFAULT 0,
        fetched TEXT NOT NULL,
        cluster_id TEXT NOT NULL,
        duplicate_of TEXT,
        entities TEXT NOT NULL DEFAULT '[]',
        topics TEXT NOT NULL DEFAULT '[]',
        quotes TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX articles_source ON articles (source, published);
    CREATE INDEX articles_published ON articles (published);
    CREATE INDEX articles_cluster ON articles (cluster_id);
    CREATE TABLE article_tags (
        article_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (kind, value, article_id)
    ) WITHOUT ROWID;
    CREATE INDEX article_tags_article ON article_tags (article_id);
    CREATE VIRTUAL TABLE articles_fts USING fts5 (
        title, text, content='articles', content_rowid='rowid',
        tokenize='porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text);
    END;
    CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts (articles_fts, rowid, title, text)
        VALUES ('delete', old.rowid, old.title, old.text);
    END;
    CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles
    WHEN old.title IS NOT new.title OR old.text IS NOT new.text BEGIN
        INSERT INTO articles_fts (articles_fts, rowid, title, text)
        VALUES ('delete', old.rowid, old.title, old.text);
        INSERT INTO articles_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text);
    END;
    CREATE TABLE dedup (
        article_id TEXT PRIMARY KEY,
        body_hash TEXT NOT NULL,
        published TEXT NOT NULL,
        cluster_id TEXT NOT NULL,
        band_keys TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX dedup_published ON dedup (published);
    CREATE INDEX dedup_cluster ON dedup (cluster_id);
    -- each dedup row repeats its keys, so pruning finds band_keys rows by primary key;
    -- published is in microseconds here: the table has a row per key, so every byte counts
    CREATE TABLE band_keys (
        key TEXT NOT NULL,
        published INTEGER NOT NULL,
        article_id TEXT NOT NULL,
        PRIMARY KEY (key, published, article_id)
    ) WITHOUT ROWID;
    CREATE TABLE statements (
        id TEXT PRIMARY KEY,
        speaker TEXT NOT NULL COLLATE NOCASE,
        first_seen TEXT NOT NULL,
        updated TEXT NOT NULL,
        text TEXT NOT NULL,
        quotes TEXT NOT NULL
    );
    CREATE INDEX statements_speaker ON statements (speaker, first_seen);
    CREATE INDEX statements_first_seen ON statements (first_seen);
    CREATE TABLE alert_ledger (
        rule TEXT NOT NULL,
        statement_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        state TEXT NOT NULL,
        claimed_at TEXT NOT NULL,
        sent_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        next_attempt TEXT,
        PRIMARY KEY (rule, statement_id)
    );
    CREATE INDEX alert_ledger_state ON alert_ledger (state, claimed_at);
    """,
    # Articles stored before this migration went through every stage in the same run.
    """
    ALTER TABLE articles ADD COLUMN processed INTEGER NOT NULL DEFAULT 1;
    CREATE INDEX articles_unprocessed ON articles (fetched) WHERE processed = 0;
    """,
    # Statement identity (issue 12): how a statement was carried, when its first source
    # published it and on which day it was made. Older statements were direct quotes,
    # and their first_seen was the publication time.
    """
    ALTER TABLE statements ADD COLUMN kind TEXT NOT NULL DEFAULT 'direct';
    ALTER TABLE statements ADD COLUMN published TEXT;
    ALTER TABLE statements ADD COLUMN occasion TEXT;
    ALTER TABLE statements ADD COLUMN primary_url TEXT;
    UPDATE statements SET published = first_seen;
    """,
    # One query language on both stores (`pipeline.query`): no stemming, so a prefix such as
    # `denucleari*` finds "denuclearization" (a Porter index holds "denuclear"); an index of
    # 4-letter prefixes, so a short prefix reads one list instead of merging hundreds; a column
    # every row holds one private-use character in, a token no query can name, so NOT has a set
    # to subtract from; and the facts ranking needs per match, readable without the row's text.
    # The index is rebuilt from the articles.
    """
    ALTER TABLE articles ADD COLUMN every_article TEXT GENERATED ALWAYS AS (char(57344)) VIRTUAL;
    CREATE INDEX articles_hits ON articles (rowid, cluster_id, published, id);
    DROP TRIGGER articles_fts_insert;
    DROP TRIGGER articles_fts_delete;
    DROP TRIGGER articles_fts_update;
    DROP TABLE articles_fts;
    CREATE VIRTUAL TABLE articles_fts USING fts5 (
        title, text, every_article, content='articles', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 2', prefix='4'
    );
    CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts (rowid, title, text, every_article)
        VALUES (new.rowid, new.title, new.text, char(57344));
    END;
    CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts (articles_fts, rowid, title, text, every_article)
        VALUES ('delete', old.rowid, old.title, old.text, char(57344));
    END;
    CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles
    WHEN old.title IS NOT new.title OR old.text IS NOT new.text BEGIN
        INSERT INTO articles_fts (articles_fts, rowid, title, text, every_article)
        VALUES ('delete', old.rowid, old.title, old.text, char(57344));
        INSERT INTO articles_fts (rowid, title, text, every_article)
        VALUES (new.rowid, new.title, new.text, char(57344));
    END;
    INSERT INTO articles_fts (articles_fts) VALUES ('rebuild');
    """,
    # Alerts retried for a period of time, not a number of attempts.
    """
    ALTER TABLE alert_ledger ADD COLUMN retry_until TEXT;
    """,
    # Attribution kinds (issue 12) were tagged only on articles stored since: every quote an article
    # stored before them holds is a direct quote, so `search --kind direct` finds it too.
    """
    INSERT OR IGNORE INTO article_tags (article_id, kind, value)
    SELECT id, 'quote_kind', 'direct' FROM articles a
    WHERE json_array_length(a.quotes) > 0
      AND NOT EXISTS (SELECT 1 FROM article_tags t WHERE t.article_id = a.id AND t.kind = 'quote_kind');
    """,
    # A statement's reports in their own table (issue 15). The statement's row held every report (each copy's
    # quote and paragraph), so a story reprinted dozens of times had a row that grew with every copy (762 KB for
    # one at 800 pages), read whole whenever an article was matched against it. A report is one wording in one
    # article (`wording`: the text's `wording_key`), attached once, in rowid order. `statement_wordings` names
    # each wording's earliest report (by publication, else fetch time, then article id; a time that is missing
    # sorts last), which is what matching reads: one report per wording, whatever the number of copies.
    """
    CREATE TABLE statement_reports (
        statement_id TEXT NOT NULL,
        article_id TEXT NOT NULL,
        wording TEXT NOT NULL,
        text TEXT NOT NULL,
        article_url TEXT NOT NULL,
        source TEXT NOT NULL,
        title TEXT NOT NULL,
        published TEXT,
        context TEXT NOT NULL,
        kind TEXT NOT NULL,
        fetched TEXT,
        rule TEXT,
        UNIQUE (statement_id, article_id, wording)
    );
    CREATE TABLE statement_wordings (
        statement_id TEXT NOT NULL,
        wording TEXT NOT NULL,
        first_report INTEGER NOT NULL,
        first_order TEXT NOT NULL,
        PRIMARY KEY (statement_id, wording)
    ) WITHOUT ROWID;
    CREATE TRIGGER statement_reports_first AFTER INSERT ON statement_reports BEGIN
        INSERT INTO statement_wordings (statement_id, wording, first_report, first_order)
        VALUES (new.statement_id, new.wording, new.rowid,
                coalesce(new.published, new.fetched, '~') || char(31) || new.article_id)
        ON CONFLICT (statement_id, wording) DO UPDATE
        SET first_report = excluded.first_report, first_order = excluded.first_order
        WHERE excluded.first_order < statement_wordings.first_order;
    END;
    INSERT OR IGNORE INTO statement_reports (statement_id, article_id, wording, text, article_url, source, title,
                                             published, context, kind, fetched, rule)
    SELECT s.id, json_extract(q.value, '$.article_id'), wording_key(json_extract(q.value, '$.text')),
           json_extract(q.value, '$.text'), json_extract(q.value, '$.article_url'), json_extract(q.value, '$.source'),
           json_extract(q.value, '$.title'), json_extract(q.value, '$.published'),
           coalesce(json_extract(q.value, '$.context'), ''), coalesce(json_extract(q.value, '$.kind'), 'direct'),
           json_extract(q.value, '$.fetched'), json_extract(q.value, '$.rule')
    FROM statements s, json_each(s.quotes) q ORDER BY s.rowid, q.key;
    ALTER TABLE statements DROP COLUMN quotes;
    """,
    # The GUIDs a feed has claimed, keyed by a number for the feed (`feed_keys`) instead of its URL (issue 15): each
    # row repeated its feed's URL, and a poll of 2,000 changed bench feeds wrote 144 MiB (its WAL and checkpoints)
    # for 46,656 entries. Every row is kept, under its feed's number.
    """
    CREATE TABLE feed_keys (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE
    );
    INSERT INTO feed_keys (url) SELECT DISTINCT feed_url FROM feed_guids ORDER BY feed_url;
    CREATE TABLE feed_guids_keyed (
        feed INTEGER NOT NULL,
        guid TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        PRIMARY KEY (feed, guid)
    ) WITHOUT ROWID;
    INSERT INTO feed_guids_keyed (feed, guid, entry_id)
    SELECT k.id, g.guid, g.entry_id FROM feed_guids g JOIN feed_keys k ON k.url = g.feed_url;
    DROP TABLE feed_guids;
    ALTER TABLE feed_guids_keyed RENAME TO feed_guids;
    """,
    # Speaker tags by their lower-cased name (issue 15): statement grouping finds a speaker's grouped articles
    # however each outlet cased the name ("KIM YO JONG"), and the tags' own key is case-sensitive, so a case-blind
    # comparison would read every speaker's tags. Partial: only speaker tags pay for it on a write.
    """
    CREATE INDEX article_tags_speaker_folded ON article_tags (lower(value)) WHERE kind = 'speaker';
    """,
    # Band keys as integers (issue 15's dedup figure): a band key is 64 bits, stored as 16 hex digits it made the
    # index's keys twice as long and compared as text. The column declares no type, so it keeps each value as
    # given: a band key's signed 64-bit integer, and an article's self key ("@" and its id) as text.
    """
    CREATE TABLE band_keys_as_integers (
        key NOT NULL,
        published INTEGER NOT NULL,
        article_id TEXT NOT NULL,
        PRIMARY KEY (key, published, article_id)
    ) WITHOUT ROWID;
    INSERT INTO band_keys_as_integers SELECT band_key_value(key), published, article_id FROM band_keys;
    DROP TABLE band_keys;
    ALTER TABLE band_keys_as_integers RENAME TO band_keys;
    """,
]

# The page size of a store made new (SQLite's default is 4 KiB; a store made before keeps the size it was made
# with, as SQLite fixes it at the first write). Dedupe's band-key index takes some 16,500 keys a batch at random
# places, so nearly every leaf of it is rewritten at each commit: with pages twice as large the tree is a level
# shallower in places and the commit writes half as many WAL frames, each with its header and checksum. Replaying
# the Reuters bench's dedup store calls: 2.38-2.46 -> 2.15-2.28 s of CPU (16 KiB: 2.06-2.15).
PAGE_SIZE = 8192

_REPORT_COLUMNS = "article_id, text, article_url, source, title, published, context, kind, fetched, rule"

_SNIPPET_TOKENS = 24
_OPENING_CHARS = 200  # the snippet of a hit whose text did not match: its opening
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# BM25 ranks at most this many matches of one search (or `--limit`, if more): past it, the most
# recently stored RANK_WINDOW matches are ranked, so a search for "the" costs about what a rarer
# word does, and `total` is then a lower bound (`total_exact` false).
RANK_WINDOW = 500
# bm25 weights per FTS column: title, text, every_article
_BM25 = "bm25(articles_fts, 5.0, 1.0, 0.0)"


def ts(value: datetime | None) -> str | None:
    """UTC ISO-8601 with a fixed width, so string order is time order."""
    if value is None:
        return None
    if value.tzinfo is not UTC:  # the records' own times are in UTC already: nothing to convert
        value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if value.year < 1000:  # strftime's %Y does not pad these; kept as it always wrote them
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # The same text as strftime above, put together from a table of two-digit numbers: a poll writes one for
    # every entry it adds (46,656 for the bench's 2,000 changed feeds), and `isoformat`, which formats through
    # C's printf, took 2-3 times as long.
    two = _TWO_DIGITS
    return (
        f"{value.year}-{two[value.month]}-{two[value.day]}"
        f"T{two[value.hour]}:{two[value.minute]}:{two[value.second]}.{value.microsecond:06d}Z"
    )


_TWO_DIGITS = tuple(f"{number:02d}" for number in range(100))


def wording_key(text: str) -> str:
    """A report's words as a short key: one report per (statement, article, wording), however long the text."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def micros(value: datetime) -> int:
    """Microseconds since the epoch, exact (no float on the way)."""
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _from_ts(value: str) -> datetime:
    # fromisoformat reads the "…Z" that `ts` writes, about ten times faster than strptime: a cycle reads
    # tens of thousands of these.
    return datetime.fromisoformat(value).astimezone(UTC)


def parse_ts(value: str | None) -> datetime | None:
    return None if value is None else _from_ts(value)


def _article_from_row(row: sqlite3.Row) -> Article:
    return Article(
        id=row["id"],
        url=row["url"],
        feed_url=row["feed_url"],
        source=row["source"],
        title=row["title"],
        text=row["text"],
        author=row["author"],
        published=parse_ts(row["published"]),
        language=row["language"],
        sitename=row["sitename"],
        from_feed=bool(row["from_feed"]),
        fetched=parse_ts(row["fetched"]) or datetime.now(UTC),
        cluster_id=row["cluster_id"],
        duplicate_of=row["duplicate_of"],
        entities=[Entity(**item) for item in json.loads(row["entities"])],
        topics=json.loads(row["topics"]),
        quotes=[Quote(**item) for item in json.loads(row["quotes"])],
    )


def _entry_from_row(row: sqlite3.Row) -> Entry:
    return Entry(
        id=row["id"],
        feed_url=row["feed_url"],
        url=row["url"],
        guid=row["guid"],
        title=row["title"],
        summary=row["summary"],
        published=parse_ts(row["published"]),
        source=row["source"],
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        next_attempt=parse_ts(row["next_attempt"]),
        discovered=parse_ts(row["discovered"]) or datetime.now(UTC),
    )


def _entry_rows(entries: list[Entry], retries: bool) -> Iterator[tuple[Any, ...]]:
    """New entries as rows of `entries`. The entries of one feed body share one `discovered` moment, which is
    formatted once for them all; a time that is not set (a new entry's `next_attempt`) costs no call.

    `retries`: with each entry's `last_error` and `next_attempt` (`_ENTRY_COLUMNS`); without (`_NEW_ENTRY_COLUMNS`),
    they are left to their default, NULL. A poll's new entries have neither, and CPython's sqlite3 binds a None by
    looking for an adapter first: two an entry were 8 % of the instructions of a 2,000-feed poll's SQLite calls."""
    discovered: datetime | None = None
    discovered_text: str | None = None
    for entry in entries:
        if entry.discovered is not discovered:
            discovered, discovered_text = entry.discovered, ts(entry.discovered)
        published = None if entry.published is None else ts(entry.published)
        row = (entry.id, entry.feed_url, entry.url, entry.guid, entry.title, entry.summary, published, entry.source)
        if retries:
            next_attempt = entry.next_attempt
            retry = (entry.last_error, None if next_attempt is None else ts(next_attempt))
            yield (*row, entry.status, entry.attempts, *retry, discovered_text)
        else:
            yield (*row, entry.status, entry.attempts, discovered_text)


_NEW_ENTRY_COLUMNS = "id, feed_url, url, guid, title, summary, published, source, status, attempts, discovered"
# A feed's new entry (`add_new_entries`): its status and attempts are the columns' defaults, 'pending' and 0.
_FEED_ENTRY_COLUMNS = _NEW_ENTRY_COLUMNS.replace(" status, attempts,", "")
_ENTRY_COLUMNS = _NEW_ENTRY_COLUMNS.replace("discovered", "last_error, next_attempt, discovered")


def _feed_from_row(row: sqlite3.Row) -> FeedState:
    return FeedState(
        url=row["url"],
        name=row["name"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        last_polled=parse_ts(row["last_polled"]),
        last_success=parse_ts(row["last_success"]),
        failures=row["failures"],
        last_error=row["last_error"],
        next_poll=parse_ts(row["next_poll"]),
        entries_seen=row["entries_seen"],
    )


def _tags(article: Article) -> set[tuple[str, str]]:
    tags = {("entity", entity.canonical) for entity in article.entities}
    tags |= {("topic", topic) for topic in article.topics}
    tags |= {("speaker", quote.speaker) for quote in article.quotes if quote.speaker}
    tags |= {("quote_kind", quote.kind) for quote in article.quotes}
    return tags


class SQLiteStore(Store):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        # Before the journal mode: a new file takes the page size of its first write; an existing one keeps its own.
        self._db.execute(f"PRAGMA page_size={PAGE_SIZE}")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA cache_size=-65536")  # 64 MiB: the band-key index stays in memory
        self._db.execute("PRAGMA wal_autocheckpoint=8192")
        self._migrate()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE so concurrent writers queue, not deadlock.

        Inside `transaction` (this thread holds the lock, so the open transaction is its own) it is a savepoint
        instead: a write that fails is undone alone, as it was on its own, and the rest commit with the outer one."""
        with self._lock:
            if self._db.in_transaction:
                self._db.execute("SAVEPOINT tx")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK TO tx")
                    self._db.execute("RELEASE tx")
                    raise
                self._db.execute("RELEASE tx")
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The writes made inside, in this thread, as one transaction: each statement a batch groups was its own
        (533 commits for 200 articles of a bench cycle, each writing its pages to the WAL again). Others'
        writes queue for the lock meanwhile; reads inside see the writes made before them."""
        with self._tx():
            yield

    def _migrate(self) -> None:
        """Bring the schema up to date; a current store is only read, so a `search` opened while a run holds
        the write lock does not queue behind it."""
        if self.schema_version >= len(MIGRATIONS):
            return
        self._db.create_function("wording_key", 1, wording_key, deterministic=True)
        self._db.create_function("band_key_value", 1, band_key_value, deterministic=True)
        with self._tx() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _split_sql(script):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={number}")

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def release_memory(self) -> None:
        """Empty the page cache (the file's pages stay in the OS's cache): it grows with the database up to
        `cache_size`, and a 2,000-page cycle's main process grew by its 64 MiB while what it held stayed flat."""
        with self._lock:
            self._db.execute("PRAGMA shrink_memory")

    @contextmanager
    def cache_bounded(self, limit: int) -> Iterator[None]:
        """SQLite's page cache held to `limit` bytes inside (64 MiB otherwise, which dedupe's band-key lookups use),
        then set back.

        A cycle empties the cache after each step (`release_memory`), so the 64 MiB never lasts from one step to
        the next there; within a step it fills with every page the step touches, more of them as the store grows."""
        with self._lock:
            before = self._db.execute("PRAGMA cache_size").fetchone()[0]
            self._db.execute(f"PRAGMA cache_size=-{max(limit // 1024, 1)}")
        try:
            yield
        finally:
            with self._lock:
                self._db.execute(f"PRAGMA cache_size={before}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- feeds -------------------------------------------------------------
    def get_feed(self, url: str) -> FeedState | None:
        row = self._db.execute("SELECT * FROM feeds WHERE url = ?", (url,)).fetchone()
        return _feed_from_row(row) if row else None

    def get_feeds(self, urls: Iterable[str]) -> dict[str, FeedState]:
        return {row["url"]: _feed_from_row(row) for row in self._rows_in("SELECT * FROM feeds WHERE url IN ({})", urls)}

    def save_feed(self, state: FeedState) -> None:
        self.save_feeds([state])

    def save_feeds(self, states: Iterable[FeedState]) -> None:
        with self._tx() as db:
            db.executemany(
                """INSERT INTO feeds (url, name, etag, last_modified, body_hash, last_polled,
                       last_success, failures, last_error, next_poll, entries_seen)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (url) DO UPDATE SET name=excluded.name, etag=excluded.etag,
                       last_modified=excluded.last_modified, body_hash=excluded.body_hash,
                       last_polled=excluded.last_polled, last_success=excluded.last_success,
                       failures=excluded.failures, last_error=excluded.last_error,
                       next_poll=excluded.next_poll, entries_seen=excluded.entries_seen""",
                [
                    (
                        state.url,
                        state.name,
                        state.etag,
                        state.last_modified,
                        state.body_hash,
                        ts(state.last_polled),
                        ts(state.last_success),
                        state.failures,
                        state.last_error,
                        ts(state.next_poll),
                        state.entries_seen,
                    )
                    for state in states
                ],
            )

    def list_feeds(self) -> list[FeedState]:
        return [_feed_from_row(row) for row in self._db.execute("SELECT * FROM feeds ORDER BY url")]

    # -- entries -----------------------------------------------------------
    def add_entries(self, entries: Iterable[Entry]) -> list[Entry]:
        batch = list(entries)
        if not batch:
            return []
        with self._tx() as db:
            new = self._new_ones([(entry.feed_url, entry.guid, entry.id) for entry in batch])
            added = [entry for entry, fresh in zip(batch, new, strict=True) if fresh]
            retries = any(entry.last_error is not None or entry.next_attempt is not None for entry in added)
            columns = _ENTRY_COLUMNS if retries else _NEW_ENTRY_COLUMNS
            places = ", ".join("?" * (columns.count(",") + 1))
            db.executemany(f"INSERT OR IGNORE INTO entries ({columns}) VALUES ({places})", _entry_rows(added, retries))
        return added

    def add_new_entries(self, batches: Sequence[NewEntries]) -> list[int]:
        """The rows are made from the items as they came, no `Entry` built; a new entry is waiting and has never
        been tried, so its status and attempts are left to their defaults (`_FEED_ENTRY_COLUMNS`)."""
        keyed = [(batch.feed_url, item[2], item[0]) for batch in batches for item in batch.items]
        if not keyed:
            return [0] * len(batches)
        counts: list[int] = []
        rows: list[tuple[Any, ...]] = []
        with self._tx() as db:
            new = iter(self._new_ones(keyed))
            for batch in batches:
                feed_url, source, discovered = batch.feed_url, batch.source, ts(batch.discovered)
                before = len(rows)
                for entry_id, url, guid, title, summary, published in batch.items:
                    if next(new):
                        stamp = None if published is None else ts(published)
                        rows.append((entry_id, feed_url, url, guid, title, summary, stamp, source, discovered))
                counts.append(len(rows) - before)
            places = ", ".join("?" * (_FEED_ENTRY_COLUMNS.count(",") + 1))
            db.executemany(f"INSERT OR IGNORE INTO entries ({_FEED_ENTRY_COLUMNS}) VALUES ({places})", rows)
        return counts

    def _new_ones(self, keyed: list[tuple[str, str | None, str]]) -> list[bool]:
        """Which of these entries (feed URL, GUID, id) are new, in order, their GUIDs claimed; inside the caller's
        transaction.

        The GUIDs and ids already known are looked up in bulk and the claims written with `executemany`: two
        statements per entry were most of the store's time in a poll of changed feeds. The outcome is the
        one-by-one rule's: an entry whose GUID its feed already has, or whose id is known (from this batch too),
        is not new; a new GUID is claimed even when its entry's id is known.

        An entry whose GUID is known is passed over before its id matters, so only the other entries' ids are
        looked up: a changed feed's entries are mostly ones already stored, under their GUIDs."""
        keys, numbered = self._feed_keys({feed_url for feed_url, guid, _ in keyed if guid is not None})
        known_guids = self._known_guids(keyed, keys, numbered)
        unclaimed = [entry_id for feed_url, guid, entry_id in keyed if (feed_url, guid) not in known_guids]
        known_ids = self._known_ids(unclaimed)
        new: list[bool] = []
        claims: list[tuple[int, str, str]] = []
        for feed_url, guid, entry_id in keyed:
            if guid is not None:
                if (feed_url, guid) in known_guids:
                    new.append(False)
                    continue
                known_guids.add((feed_url, guid))
                claims.append((keys[feed_url], guid, entry_id))
            fresh = entry_id not in known_ids
            if fresh:
                known_ids.add(entry_id)
            new.append(fresh)
        self._db.executemany("INSERT OR IGNORE INTO feed_guids (feed, guid, entry_id) VALUES (?, ?, ?)", claims)
        return new

    def _feed_keys(self, urls: set[str]) -> tuple[dict[str, int], set[str]]:
        """Each feed's number in `feed_guids`, and the feeds numbered now, seen for the first time (inside the
        caller's transaction, so a batch that fails numbers none): those have no GUID to look up."""
        sql = "SELECT url, id FROM feed_keys WHERE url IN ({})"
        keys: dict[str, int] = dict(self._rows_in(sql, urls, plain=True))
        numbered = urls.difference(keys)
        for url in numbered:
            keys[url] = self._db.execute("INSERT INTO feed_keys (url) VALUES (?) RETURNING id", (url,)).fetchone()[0]
        return keys, numbered

    def _known_guids(
        self, keyed: list[tuple[str, str | None, str]], keys: dict[str, int], numbered: set[str]
    ) -> set[tuple[str, str | None]]:
        by_feed: dict[str, list[str]] = {}
        for feed_url, guid, _ in keyed:
            if guid is not None and feed_url not in numbered:
                by_feed.setdefault(feed_url, []).append(guid)
        known: set[tuple[str, str | None]] = set()
        for feed_url, guids in by_feed.items():
            # The feed's URL comes back with each GUID from SQLite: the rows are the set's pairs as they are.
            sql = "SELECT ?, guid FROM feed_guids WHERE feed = ? AND guid IN ({})"
            known.update(self._rows_in(sql, guids, feed_url, keys[feed_url], plain=True))
        return known

    def _known_ids(self, ids: list[str]) -> set[str]:
        return {row[0] for row in self._rows_in("SELECT id FROM entries WHERE id IN ({})", ids, plain=True)}

    def entries_due(self, now: datetime, limit: int | None = None) -> list[Entry]:
        rows = self._db.execute(
            """SELECT * FROM entries
               WHERE status = 'pending' OR (status = 'failed' AND next_attempt <= ?)
               ORDER BY discovered, id LIMIT ?""",
            (ts(now), -1 if limit is None else limit),
        )
        return [_entry_from_row(row) for row in rows]

    def _rows_by_id(self, table: str, ids: Iterable[str]) -> list[sqlite3.Row]:
        """Rows in the order of `ids`, unknown ids skipped, in chunks under SQLite's variable limit."""
        wanted = list(dict.fromkeys(ids))
        found = {row["id"]: row for row in self._rows_in(f"SELECT * FROM {table} WHERE id IN ({{}})", wanted)}
        return [found[key] for key in wanted if key in found]

    def _rows_in(self, sql: str, values: Iterable[str], *before: Any, plain: bool = False) -> Iterator[Any]:
        """The rows of `sql`, whose one `IN ({})` list takes the distinct `values` (after the parameters
        `before`), asked in chunks under SQLite's limit on variables. `plain`: as tuples, not `sqlite3.Row`s,
        for the lookups of known GUIDs and ids, which read a poll's every stored entry and no column by name."""
        distinct = list(dict.fromkeys(values))
        cursor = self._db.cursor()
        if plain:
            cursor.row_factory = None
        for start in range(0, len(distinct), 500):
            chunk = distinct[start : start + 500]
            yield from cursor.execute(sql.format(",".join("?" * len(chunk))), [*before, *chunk])

    def get_entries(self, ids: Iterable[str]) -> list[Entry]:
        return [_entry_from_row(row) for row in self._rows_by_id("entries", ids)]

    def save_entry(self, entry: Entry) -> None:
        self.save_entries([entry])

    def save_entries(self, entries: Iterable[Entry]) -> None:
        with self._tx() as db:
            db.executemany(
                """UPDATE entries SET status=?, attempts=?, last_error=?, next_attempt=?,
                       title=?, summary=?, published=? WHERE id=?""",
                [
                    (
                        entry.status,
                        entry.attempts,
                        entry.last_error,
                        ts(entry.next_attempt),
                        entry.title,
                        entry.summary,
                        ts(entry.published),
                        entry.id,
                    )
                    for entry in entries
                ],
            )

    def count_entries(self, status: str | None = None) -> int:
        if status is None:
            return int(self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
        return int(self._db.execute("SELECT COUNT(*) FROM entries WHERE status = ?", (status,)).fetchone()[0])

    def entry_failures(self, feed_url: str, recent: int = 3) -> EntryFailures:
        reasons = self._db.execute(
            """SELECT last_error, COUNT(*) FROM entries WHERE feed_url = ? AND last_error IS NOT NULL
               GROUP BY last_error ORDER BY COUNT(*) DESC, last_error""",
            (feed_url,),
        )
        latest = self._db.execute(
            """SELECT url, last_error FROM entries WHERE feed_url = ? AND last_error IS NOT NULL
               ORDER BY discovered DESC, id LIMIT ?""",
            (feed_url, recent),
        )
        return EntryFailures([(row[0], row[1]) for row in reasons], [(row[0], row[1]) for row in latest])

    # -- articles ----------------------------------------------------------
    def put_articles(self, articles: Iterable[Article]) -> int:
        created = 0
        with self._tx() as db:
            for article in articles:
                exists = db.execute("SELECT 1 FROM articles WHERE id = ?", (article.id,)).fetchone()
                db.execute(
                    """INSERT INTO articles (id, url, feed_url, source, title, text, author, published,
                           language, sitename, from_feed, fetched, cluster_id, duplicate_of,
                           entities, topics, quotes, processed)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
                       ON CONFLICT (id) DO UPDATE SET url=excluded.url, feed_url=excluded.feed_url,
                           source=excluded.source, title=excluded.title, text=excluded.text,
                           author=excluded.author, published=excluded.published,
                           language=excluded.language, sitename=excluded.sitename,
                           from_feed=excluded.from_feed, fetched=excluded.fetched,
                           cluster_id=articles.cluster_id, duplicate_of=articles.duplicate_of,
                           entities=excluded.entities, topics=excluded.topics, quotes=excluded.quotes""",
                    (
                        article.id,
                        article.url,
                        article.feed_url,
                        article.source,
                        article.title,
                        article.text,
                        article.author,
                        ts(article.published),
                        article.language,
                        article.sitename,
                        int(article.from_feed),
                        ts(article.fetched),
                        article.cluster_id or article.id,
                        article.duplicate_of,
                        json.dumps([vars(entity) for entity in article.entities]),
                        json.dumps(article.topics),
                        json.dumps([vars(quote) for quote in article.quotes]),
                    ),
                )
                db.execute("DELETE FROM article_tags WHERE article_id = ?", (article.id,))
                db.executemany(
                    "INSERT INTO article_tags (article_id, kind, value) VALUES (?, ?, ?)",
                    [(article.id, kind, value) for kind, value in sorted(_tags(article))],
                )
                created += exists is None
        return created

    def get_articles(self, ids: Iterable[str]) -> list[Article]:
        return [_article_from_row(row) for row in self._rows_by_id("articles", ids)]

    def count_articles(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def unprocessed_articles(self, fetched_before: datetime, limit: int) -> list[str]:
        rows = self._db.execute(
            "SELECT id FROM articles WHERE processed = 0 AND fetched < ? ORDER BY fetched, id LIMIT ?",
            (ts(fetched_before), limit),
        )
        return [row["id"] for row in rows]

    def mark_processed(self, ids: Iterable[str]) -> None:
        with self._tx() as db:
            db.executemany("UPDATE articles SET processed = 1 WHERE id = ?", [(article_id,) for article_id in ids])

    def search(self, query: SearchQuery) -> SearchResult:
        """Rank, collapse and count on rowids and scores; read rows and make snippets for the hits shown only."""
        node = parse(query.text)
        if node is None:
            return self._newest(query)
        match = to_fts5(node)
        filters, params = _filters(query)
        joined = "FROM articles_fts WHERE articles_fts MATCH ?"
        if filters:
            joined = (
                f"FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid WHERE articles_fts MATCH ?{filters}"
            )
        group = "cluster_id" if query.collapse else "rowid"
        window = max(RANK_WINDOW, query.limit)
        # One pass over the matches, newest first, stopping after the window and one more (to tell
        # whether there were more); ranking, collapsing and counting happen in SQL on the window.
        picked = self._db.execute(
            f"""WITH m AS MATERIALIZED (
                    SELECT articles_fts.rowid AS rowid, {_BM25} AS rank {joined}
                    ORDER BY articles_fts.rowid DESC LIMIT ?
                ),
                kept AS (
                    SELECT m.rank, m.rowid, a.published, a.id, a.cluster_id
                    FROM m JOIN articles a INDEXED BY articles_hits ON a.rowid = m.rowid
                    WHERE (SELECT COUNT(*) FROM m) <= ? OR m.rowid > (SELECT MIN(rowid) FROM m)
                ),
                picked AS (
                    -- a story ranks by its best-matching copy, which gives the snippet
                    SELECT *, ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY rank, published, id) AS pick
                    FROM kept
                )
                SELECT rowid, cluster_id, COUNT(*) OVER () AS total, (SELECT COUNT(*) FROM m) AS seen
                FROM picked WHERE pick = 1 ORDER BY rank, published DESC, id LIMIT ?""",
            [match, *params, window + 1, window, query.limit],
        ).fetchall()
        best = [row["rowid"] for row in picked]
        shown = self._shown(picked, query.collapse)
        rows = {row["rowid"]: row for row in self._rows_by_rowid(shown)}
        snippets = self._snippets(match, best)
        hits = [
            _hit(rows[rowid], snippets.get(matched) or rows[rowid]["text"][:_OPENING_CHARS])
            for rowid, matched in zip(shown, best, strict=True)
        ]
        total = picked[0]["total"] if picked else 0
        return SearchResult(total=total, hits=hits, total_exact=not picked or picked[0]["seen"] <= window)

    def _shown(self, picked: Sequence[sqlite3.Row], collapse: bool) -> list[int]:
        """The rowid each picked row is shown by: a folded story by its original, whether or not the
        original matched or fell inside the rank window (the cluster's root, else its earliest copy)."""
        if not collapse:
            return [row["rowid"] for row in picked]
        originals = self._originals([row["cluster_id"] for row in picked])
        return [originals.get(row["cluster_id"], row["rowid"]) for row in picked]

    def _originals(self, cluster_ids: Sequence[str]) -> dict[str, int]:
        if not cluster_ids:
            return {}
        rows = self._db.execute(
            f"""SELECT cluster_id, rowid FROM (
                    SELECT cluster_id, rowid, ROW_NUMBER() OVER (
                        PARTITION BY cluster_id ORDER BY id != cluster_id, published IS NULL, published, id
                    ) AS pick
                    FROM articles WHERE cluster_id IN ({",".join("?" * len(cluster_ids))})
                ) WHERE pick = 1""",
            list(cluster_ids),
        )
        return {row["cluster_id"]: row["rowid"] for row in rows}

    def _snippets(self, match: str, rowids: Sequence[int]) -> dict[int, str]:
        """Snippets of the hits shown, in one evaluation of the query (each costs a prefix's merge):
        the rowid range holding them is scanned, and only they get a snippet."""
        if not rowids:
            return {}
        marks = ",".join("?" * len(rowids))
        rows = self._db.execute(
            f"""SELECT rowid, CASE WHEN rowid IN ({marks}) THEN snippet(articles_fts, 1, '<b>', '</b>', '…', ?) END
                FROM articles_fts WHERE articles_fts MATCH ? AND rowid BETWEEN ? AND ?""",
            [*rowids, _SNIPPET_TOKENS, match, min(rowids), max(rowids)],
        )
        return {row[0]: row[1] for row in rows if row[1] is not None}

    def _rows_by_rowid(self, rowids: Sequence[int]) -> list[sqlite3.Row]:
        if not rowids:
            return []
        return self._db.execute(
            f"""SELECT a.*, (SELECT COUNT(*) FROM articles c WHERE c.cluster_id = a.cluster_id) AS copies
                FROM articles a WHERE a.rowid IN ({",".join("?" * len(rowids))})""",
            list(rowids),
        ).fetchall()

    def _newest(self, query: SearchQuery) -> SearchResult:
        """No words to search for: every article that passes the filters, newest first."""
        filters, params = _filters(query)
        group = "cluster_id" if query.collapse else "id"
        sql = f"""
            WITH ranked AS (
                SELECT rowid, published, id, cluster_id,
                    ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY published IS NULL, published, id) AS pick
                FROM articles a WHERE 1{filters}
            )
            SELECT rowid, cluster_id, COUNT(*) OVER () AS total FROM ranked WHERE pick = 1
            ORDER BY published DESC, id LIMIT ?"""
        picked = self._db.execute(sql, [*params, query.limit]).fetchall()
        shown = self._shown(picked, query.collapse)
        rows = {row["rowid"]: row for row in self._rows_by_rowid(shown)}
        hits = [_hit(rows[rowid], rows[rowid]["text"][:_OPENING_CHARS]) for rowid in shown]
        return SearchResult(total=picked[0]["total"] if picked else 0, hits=hits)

    # -- dedup -------------------------------------------------------------
    def dedup_candidates(self, band_keys: Iterable[str], since: datetime) -> list[DedupRecord]:
        """One query for the whole batch, the keys passed as one JSON array, one row per stored article with the
        keys it shares (a batch asks for about 18,000 keys; a row per key and article cost more in Python than
        the lookups did in SQLite). A band key stored as its integer comes back as its 16 hex digits (SQLite's
        printf writes a negative one in two's complement).

        The keys go in distinct and sorted, and the index is probed in their order (`CROSS JOIN` keeps SQLite
        from reordering the loops): the probes walk the index's pages in order, where `key IN (SELECT ...)` first
        built a temporary index of the keys to sort them. Replaying the Reuters bench's lookups: 0.45-0.50 ->
        0.20-0.25 s of CPU (the same keys in the order given, joined the same way: 0.46)."""
        numbers, texts = _band_key_parts(set(band_keys))
        numbers.sort()
        texts.sort()
        cursor = self._db.cursor()
        cursor.row_factory = None
        rows = cursor.execute(
            """SELECT d.article_id, d.cluster_id, d.published, d.body_hash,
                      group_concat(CASE typeof(b.key) WHEN 'integer' THEN printf('%016x', b.key) ELSE b.key END, ' ')
               FROM json_each(?) j
               CROSS JOIN band_keys b ON b.key = j.value
               CROSS JOIN dedup d ON d.article_id = b.article_id
               WHERE b.published >= ?
               GROUP BY d.article_id""",
            (json.dumps([*numbers, *texts]), micros(since)),
        ).fetchall()
        now = datetime.now(UTC)
        records = [
            DedupRecord(article_id, cluster_id, parse_ts(published) or now, body_hash, tuple(keys.split()))
            for article_id, cluster_id, published, body_hash, keys in rows
        ]
        return sorted(records, key=lambda record: (record.published, record.article_id))

    def save_dedup(self, records: Iterable[DedupRecord], duplicate_of: dict[str, str | None]) -> None:
        stamped = [(record, ts(record.published), micros(record.published)) for record in records]
        with self._tx() as db:
            db.executemany(
                """INSERT OR REPLACE INTO dedup (article_id, body_hash, published, cluster_id, band_keys)
                   VALUES (?, ?, ?, ?, ?)""",
                [(r.article_id, r.body_hash, when, r.cluster_id, " ".join(r.band_keys)) for r, when, _ in stamped],
            )
            # One statement per article, its keys as a JSON array: not a Python tuple per key.
            db.executemany(
                "INSERT OR IGNORE INTO band_keys (key, published, article_id) SELECT value, ?, ? FROM json_each(?)",
                [(at, r.article_id, _json_band_keys(r.band_keys)) for r, _, at in stamped],
            )
            # Most articles are their own cluster, as stored: rewriting those rows would copy their text for nothing.
            db.executemany(
                """UPDATE articles SET cluster_id = ?, duplicate_of = ?
                   WHERE id = ? AND (cluster_id IS NOT ? OR duplicate_of IS NOT ?)""",
                [
                    (
                        r.cluster_id,
                        duplicate_of.get(r.article_id),
                        r.article_id,
                        r.cluster_id,
                        duplicate_of.get(r.article_id),
                    )
                    for r, _, _ in stamped
                ],
            )

    def merge_clusters(self, into: str, others: Iterable[str]) -> None:
        with self._tx() as db:
            for other in others:
                if other != into:
                    db.execute("UPDATE articles SET cluster_id = ? WHERE cluster_id = ?", (into, other))
                    db.execute("UPDATE dedup SET cluster_id = ? WHERE cluster_id = ?", (into, other))

    def prune_dedup(self, before: datetime) -> int:
        with self._tx() as db:
            old = db.execute(
                "SELECT article_id, published, band_keys FROM dedup WHERE published < ?", (ts(before),)
            ).fetchall()
            db.executemany(
                "DELETE FROM band_keys WHERE key = ? AND published = ? AND article_id = ?",
                [
                    (band_key_value(key), micros(_from_ts(row["published"])), row["article_id"])
                    for row in old
                    for key in row["band_keys"].split()
                ],
            )
            return db.execute("DELETE FROM dedup WHERE published < ?", (ts(before),)).rowcount

    # -- statements --------------------------------------------------------
    def save_statement(self, statement: Statement) -> None:
        with self._tx() as db:
            db.execute(
                """INSERT INTO statements (id, speaker, first_seen, updated, text, kind, published, occasion,
                                          primary_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (id) DO UPDATE SET speaker=excluded.speaker, first_seen=excluded.first_seen,
                       kind=excluded.kind, published=excluded.published, occasion=excluded.occasion,
                       primary_url=excluded.primary_url, updated=excluded.updated, text=excluded.text""",
                (
                    statement.id,
                    statement.speaker,
                    ts(statement.first_seen),
                    ts(statement.updated),
                    statement.text,
                    statement.kind,
                    ts(statement.published),
                    statement.occasion.isoformat() if statement.occasion else None,
                    statement.primary_url,
                ),
            )
            db.executemany(
                f"""INSERT OR IGNORE INTO statement_reports (statement_id, wording, {_REPORT_COLUMNS})
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    (
                        statement.id,
                        wording_key(quote.text),
                        quote.article_id,
                        quote.text,
                        quote.article_url,
                        quote.source,
                        quote.title,
                        ts(quote.published),
                        quote.context,
                        quote.kind,
                        ts(quote.fetched),
                        quote.rule,
                    )
                    for quote in statement.quotes
                ],
            )

    def get_statement(self, statement_id: str) -> Statement | None:
        row = self._db.execute("SELECT * FROM statements WHERE id = ?", (statement_id,)).fetchone()
        if row is None:
            return None
        reports = self._db.execute(
            f"SELECT {_REPORT_COLUMNS} FROM statement_reports WHERE statement_id = ? ORDER BY rowid", (statement_id,)
        )
        return _statement_from_row(row, [_report_from_row(report) for report in reports])

    def _statement_rows(self, speaker: str | None, since: datetime | None, limit: int) -> list[sqlite3.Row]:
        clauses: list[str] = ["1"]
        params: list[Any] = []
        if speaker:
            spellings = speaker_spellings(speaker)  # "Moon Jae In" is "Moon Jae-in" (NOCASE folds the case)
            clauses.append(f"speaker IN ({', '.join('?' for _ in spellings)})")
            params.extend(spellings)
        if since:
            clauses.append("first_seen >= ?")
            params.append(ts(since))
        return self._db.execute(
            f"SELECT * FROM statements WHERE {' AND '.join(clauses)} ORDER BY first_seen DESC, id LIMIT ?",
            [*params, limit],
        ).fetchall()

    def _with_reports(self, rows: list[sqlite3.Row], reports: Iterable[sqlite3.Row]) -> list[Statement]:
        """Statements from their rows, each with its reports among `reports` (rows in the order attached)."""
        by_statement: dict[str, list[StatementQuote]] = {row["id"]: [] for row in rows}
        for report in reports:
            by_statement[report["statement_id"]].append(_report_from_row(report))
        return [_statement_from_row(row, by_statement[row["id"]]) for row in rows]

    def _with_every_report(self, rows: list[sqlite3.Row]) -> list[Statement]:
        """Statements from their rows, each with every report of its own in the order attached."""
        reports = self._db.execute(
            f"""SELECT statement_id, {_REPORT_COLUMNS} FROM statement_reports
                WHERE statement_id IN (SELECT value FROM json_each(?)) ORDER BY rowid""",
            (_json_strings(row["id"] for row in rows),),
        )
        return self._with_reports(rows, reports)

    def list_statements(
        self, speaker: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[Statement]:
        return self._with_every_report(self._statement_rows(speaker, since, limit))

    def statement_candidates(
        self, speaker: str, since: datetime | None, limit: int, article_id: str
    ) -> list[Statement]:
        rows = self._statement_rows(speaker, since, limit)
        if not rows:  # a speaker with no statement yet (550 of 1,614 groups in a 543-page cycle): no reports to read
            return []
        ids = _json_strings(row["id"] for row in rows)
        reports = self._db.execute(
            f"""SELECT statement_id, {_REPORT_COLUMNS} FROM statement_reports WHERE rowid IN (
                    SELECT first_report FROM statement_wordings WHERE statement_id IN (SELECT value FROM json_each(?))
                    UNION
                    SELECT rowid FROM statement_reports
                    WHERE statement_id IN (SELECT value FROM json_each(?)) AND article_id = ?
                ) ORDER BY rowid""",
            (ids, ids, article_id),
        )
        return self._with_reports(rows, reports)

    def speaker_articles(
        self, speakers: Iterable[str], since: datetime, until: datetime
    ) -> list[tuple[str, datetime, str]]:
        """Through the speaker tags' lower-cased index (`article_tags_speaker_folded`), one lookup a spelling:
        SQLite's `lower` folds ASCII letters only, as its NOCASE does, so a name is found in any ASCII casing. Named
        (`INDEXED BY`): the planner otherwise walks every speaker tag by the key's `kind`."""
        names = sorted({name for speaker in speakers for name in speaker_spellings(speaker)})
        rows = self._db.execute(
            """SELECT DISTINCT t.value, coalesce(a.published, a.fetched), a.id
               FROM article_tags t INDEXED BY article_tags_speaker_folded JOIN articles a ON a.id = t.article_id
               WHERE t.kind = 'speaker' AND lower(t.value) IN (SELECT lower(value) FROM json_each(?))
                 AND a.processed = 1 AND coalesce(a.published, a.fetched) BETWEEN ? AND ?""",
            (_json_strings(names), ts(since), ts(until)),
        )
        return sorted((speaker, _from_ts(appeared), article_id) for speaker, appeared, article_id in rows)

    def statements_reporting(self, speaker: str, article_ids: Iterable[str]) -> list[Statement]:
        spellings = speaker_spellings(speaker)
        rows = self._db.execute(
            f"""SELECT * FROM statements WHERE speaker IN ({", ".join("?" for _ in spellings)}) AND id IN (
                    SELECT statement_id FROM statement_reports
                    WHERE statement_id = statements.id AND article_id IN (SELECT value FROM json_each(?)))
                ORDER BY id""",
            [*spellings, _json_strings(article_ids)],
        ).fetchall()
        return self._with_every_report(rows)

    def delete_statements(self, statement_ids: Iterable[str]) -> list[AlertRecord]:
        ids = _json_strings(statement_ids)
        with self._tx() as db:
            for table in ("statement_wordings", "statement_reports"):
                db.execute(f"DELETE FROM {table} WHERE statement_id IN (SELECT value FROM json_each(?))", (ids,))
            db.execute("DELETE FROM statements WHERE id IN (SELECT value FROM json_each(?))", (ids,))
            claims = db.execute(
                """SELECT * FROM alert_ledger WHERE statement_id IN (SELECT value FROM json_each(?))
                   ORDER BY rule, statement_id""",
                (ids,),
            )
            return [_alert_from_row(row) for row in claims]

    # -- alert ledger ------------------------------------------------------
    def claim_alert(self, record: AlertRecord) -> bool:
        with self._tx() as db:
            cursor = db.execute(
                """INSERT OR IGNORE INTO alert_ledger (rule, statement_id, message_id, state, claimed_at, sent_at,
                       attempts, last_error, next_attempt, retry_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                _alert_row(record),
            )
            return bool(cursor.rowcount)

    def reclaim_alert(self, record: AlertRecord, now: datetime) -> bool:
        with self._tx() as db:
            cursor = db.execute(
                """UPDATE alert_ledger SET claimed_at = ?, state = 'pending'
                   WHERE rule = ? AND statement_id = ? AND claimed_at = ? AND state IN ('pending', 'failed')""",
                (ts(now), record.rule, record.statement_id, ts(record.claimed_at)),
            )
            if cursor.rowcount:
                record.claimed_at, record.state = now, "pending"
            return bool(cursor.rowcount)

    def revive_alert(self, record: AlertRecord, now: datetime) -> bool:
        with self._tx() as db:
            cursor = db.execute(
                """UPDATE alert_ledger SET claimed_at = ?, next_attempt = ?, state = 'failed', retry_until = NULL
                   WHERE rule = ? AND statement_id = ? AND claimed_at = ? AND state IN ('dead', 'failed')""",
                (ts(now), ts(now), record.rule, record.statement_id, ts(record.claimed_at)),
            )
            if cursor.rowcount:
                record.claimed_at, record.next_attempt, record.state, record.retry_until = now, now, "failed", None
            return bool(cursor.rowcount)

    def update_alert(self, record: AlertRecord) -> None:
        with self._tx() as db:
            db.execute(
                """UPDATE alert_ledger SET message_id=?, state=?, claimed_at=?, sent_at=?, attempts=?,
                       last_error=?, next_attempt=?, retry_until=? WHERE rule=? AND statement_id=?""",
                (*_alert_row(record)[2:], record.rule, record.statement_id),
            )

    def alerts_to_retry(self, now: datetime, stale_before: datetime) -> list[AlertRecord]:
        rows = self._db.execute(
            """SELECT * FROM alert_ledger
               WHERE (state = 'pending' AND claimed_at < ?) OR (state = 'failed' AND next_attempt <= ?)
               ORDER BY claimed_at, rule, statement_id""",
            (ts(stale_before), ts(now)),
        )
        return [_alert_from_row(row) for row in rows]

    def list_alerts(self, limit: int = 100) -> list[AlertRecord]:
        rows = self._db.execute(
            "SELECT * FROM alert_ledger ORDER BY claimed_at DESC, rule, statement_id LIMIT ?", (limit,)
        )
        return [_alert_from_row(row) for row in rows]


def _filters(query: SearchQuery) -> tuple[str, list[Any]]:
    """SQL conditions on `articles a` for a query's filters, each starting with AND, and their parameters."""
    where: list[str] = []
    params: list[Any] = []
    if query.source:
        where.append("a.source = ?")
        params.append(query.source)
    if query.since:
        where.append("a.published >= ?")
        params.append(ts(query.since))
    if query.until:
        where.append("a.published < ?")
        params.append(ts(query.until))
    tagged = (
        ("speaker", query.speaker),
        ("entity", query.entity),
        ("topic", query.topic),
        ("quote_kind", query.kind),
    )
    for kind, value in tagged:
        if value:
            where.append("a.id IN (SELECT article_id FROM article_tags WHERE kind = ? AND value = ? COLLATE NOCASE)")
            params += [kind, value]
    return "".join(f" AND {clause}" for clause in where), params


def _hit(row: sqlite3.Row, snippet: str) -> SearchHit:
    return SearchHit(
        id=row["id"],
        url=row["url"],
        title=row["title"],
        source=row["source"],
        published=parse_ts(row["published"]),
        snippet=snippet,
        cluster_id=row["cluster_id"] or row["id"],
        duplicates=max(row["copies"] - 1, 0),
        entities=sorted({item["canonical"] for item in json.loads(row["entities"])}),
        topics=json.loads(row["topics"]),
    )


def _alert_row(record: AlertRecord) -> tuple[Any, ...]:
    return (
        record.rule,
        record.statement_id,
        record.message_id,
        record.state,
        ts(record.claimed_at),
        ts(record.sent_at),
        record.attempts,
        record.last_error,
        ts(record.next_attempt),
        ts(record.retry_until),
    )


def _alert_from_row(row: sqlite3.Row) -> AlertRecord:
    return AlertRecord(
        rule=row["rule"],
        statement_id=row["statement_id"],
        message_id=row["message_id"],
        state=row["state"],
        claimed_at=parse_ts(row["claimed_at"]) or datetime.now(UTC),
        sent_at=parse_ts(row["sent_at"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        next_attempt=parse_ts(row["next_attempt"]),
        retry_until=parse_ts(row["retry_until"]),
    )


def _report_from_row(row: sqlite3.Row) -> StatementQuote:
    return StatementQuote(
        text=row["text"],
        article_id=row["article_id"],
        article_url=row["article_url"],
        source=row["source"],
        title=row["title"],
        published=parse_ts(row["published"]),
        context=row["context"],
        kind=row["kind"],
        fetched=parse_ts(row["fetched"]),
        rule=row["rule"],
    )


def _statement_from_row(row: sqlite3.Row, reports: list[StatementQuote]) -> Statement:
    return Statement(
        id=row["id"],
        speaker=row["speaker"],
        first_seen=parse_ts(row["first_seen"]) or datetime.now(UTC),
        text=row["text"],
        quotes=reports,
        updated=parse_ts(row["updated"]) or datetime.now(UTC),
        kind=row["kind"],
        published=parse_ts(row["published"]),
        occasion=date.fromisoformat(row["occasion"]) if row["occasion"] else None,
        primary_url=row["primary_url"],
    )


def band_key_value(key: str) -> int | str:
    """A key as `band_keys` stores it: a band key (16 lower-case hex digits, as `dedup.band_keys_of` writes them) as
    its signed 64-bit integer; any other key, such as an article's self key ("@" and its id), as it is."""
    if len(key) == 16 and key == key.lower():
        try:
            return int.from_bytes(bytes.fromhex(key), "big", signed=True)
        except ValueError:
            return key
    return key


def _band_key_parts(keys: Iterable[str]) -> tuple[list[int], list[str]]:
    """`band_key_value` of each key, as the integers and the keys kept as text; the band keys converted together,
    in C (bytes.fromhex, struct), not in a Python call a key: a batch stores some 18,000. Any key the bulk
    conversion cannot take sends all to the other."""
    band: list[str] = []
    texts: list[str] = []
    for key in keys:
        (band if len(key) == 16 and not key.startswith("@") else texts).append(key)
    digits = "".join(band)
    try:
        if digits != digits.lower():
            raise ValueError(digits)
        numbers: list[int] = list(struct.unpack(f">{len(band)}q", bytes.fromhex(digits)))
    except (ValueError, struct.error):
        numbers = []
        for value in map(band_key_value, band):
            if isinstance(value, int):
                numbers.append(value)
            else:
                texts.append(value)
    return numbers, texts


def _json_band_keys(keys: Iterable[str]) -> str:
    """Keys as `band_keys` stores them, as one JSON array for `json_each`. Stored as 16 hex digits, the keys made
    the Reuters bench's dedup stage 8-10 % slower by CPU: its index work (645,000 inserts of random keys, 720,000
    lookups) was 45 % of the stage."""
    numbers, texts = _band_key_parts(keys)
    return json.dumps([*numbers, *texts])


def _json_strings(items: Iterable[str]) -> str:
    """Strings as one JSON array, for `json_each`: one parameter however many there are."""
    return json.dumps(list(items))


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    current: list[str] = []
    for line in script.strip().splitlines():
        current.append(line)
        joined = "\n".join(current).strip()
        if joined.endswith(";") and sqlite3.complete_statement(joined):
            statements.append(joined)
            current = []
    return statements
