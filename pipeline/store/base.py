"""The store interface: the only state wirewatch keeps.

Every write is idempotent and keyed by something stable (canonical-URL hashes,
(rule, statement) pairs), so stages can be re-run, retried or run by several
workers without changing the outcome. Both backends pass one contract suite
(`tests/test_store_contract.py`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Self

from pipeline.query import Document, compile_query
from pipeline.records import AlertRecord, Article, Entry, FeedState, Statement


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    speaker: str | None = None
    entity: str | None = None
    topic: str | None = None
    # articles holding an attribution of this kind: "direct", "indirect", "full_text" or "stance"
    kind: str | None = None
    collapse: bool = True
    limit: int = 10


@dataclass
class SearchHit:
    id: str
    url: str
    title: str
    source: str
    published: datetime | None
    snippet: str
    cluster_id: str
    duplicates: int = 0
    entities: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)


@dataclass
class SearchResult:
    """`total` counts matches (clusters when collapsed); when `total_exact` is false it is a lower bound."""

    total: int
    hits: list[SearchHit]
    total_exact: bool = True


@dataclass(frozen=True)
class DedupRecord:
    """What dedup keeps per article so later copies can be compared with it."""

    article_id: str
    cluster_id: str
    published: datetime
    body_hash: str
    band_keys: tuple[str, ...]


# One entry of a feed body as a poll's worker hands it over (`NewEntries.items`): id, url, guid, title, summary,
# published.
EntryItem = tuple[str, str, str | None, str, str, datetime | None]


@dataclass
class NewEntries:
    """The entries of one feed body, as a poll's worker hands them to the store (`Store.add_new_entries`): what
    they share (their feed, source and moment of discovery) once, and each entry's own fields as a plain tuple.

    A poll of 2,000 changed bench feeds hands over 52,200 entries. As `Entry` records, the main process rebuilt
    each from its pickle (its dataclass constructor) and then took it apart again into the row it inserts; tuples
    unpickle as they are, and every entry is new and waiting (`Entry`'s defaults), so the store writes them as
    they come."""

    feed_url: str
    source: str
    discovered: datetime
    items: list[EntryItem] = field(default_factory=list)

    def entries(self) -> list[Entry]:
        """The same entries as `Entry` records, for a store that adds those."""
        return [
            Entry(
                id=entry_id,
                feed_url=self.feed_url,
                url=url,
                guid=guid,
                title=title,
                summary=summary,
                published=published,
                source=self.source,
                discovered=self.discovered,
            )
            for entry_id, url, guid, title, summary, published in self.items
        ]


class StoreWriteError(Exception):
    """Some documents of a batch were rejected; every other document of the batch was written."""

    def __init__(self, index: str, failures: Mapping[str, str]) -> None:
        self.index = index
        self.failures = dict(failures)
        shown = "; ".join(f"{doc_id}: {reason}" for doc_id, reason in list(self.failures.items())[:5])
        more = f" (and {len(self.failures) - 5} more)" if len(self.failures) > 5 else ""
        super().__init__(f"{index}: {len(self.failures)} document(s) rejected: {shown}{more}")


@dataclass
class EntryFailures:
    """The pages of one feed that did not give an article: each distinct reason with how many, and the
    latest few (url, reason). Pages that fell back to the feed's text count, with that said in the reason."""

    reasons: list[tuple[str, int]] = field(default_factory=list)
    recent: list[tuple[str, str]] = field(default_factory=list)


class StoreError(Exception):
    """The store itself failed (locked, unreachable, full, not a database): the run stops here.

    Raised in place of whatever the backend raised, so a caller that polls or fetches on the store's
    behalf can tell "the store failed" from "this feed failed" and never blames a feed for it.
    """


class Store(ABC):
    # -- feeds -------------------------------------------------------------
    @abstractmethod
    def get_feed(self, url: str) -> FeedState | None: ...

    @abstractmethod
    def save_feed(self, state: FeedState) -> None: ...

    @abstractmethod
    def list_feeds(self) -> list[FeedState]: ...

    def get_feeds(self, urls: Iterable[str]) -> dict[str, FeedState]:
        """The states of these feeds by URL, unknown ones left out: one read for a whole poll."""
        return {url: state for url in urls if (state := self.get_feed(url)) is not None}

    def save_feeds(self, states: Iterable[FeedState]) -> None:
        """Save several feeds' states at once (SQLite: one transaction, not one per feed)."""
        for state in states:
            self.save_feed(state)

    # -- entries -----------------------------------------------------------
    @abstractmethod
    def add_entries(self, entries: Iterable[Entry]) -> list[Entry]:
        """Insert entries not seen before (by id, nor by GUID within their feed); return those."""

    def add_new_entries(self, batches: Sequence[NewEntries]) -> list[int]:
        """`add_entries` of several feed bodies' entries together; how many of each body's were new."""
        entries = [batch.entries() for batch in batches]
        added = set(map(id, self.add_entries([entry for group in entries for entry in group])))
        return [sum(map(added.__contains__, map(id, group))) for group in entries]

    @abstractmethod
    def entries_due(self, now: datetime, limit: int | None = None) -> list[Entry]:
        """Entries still to fetch: new ones, and failed ones whose backoff has passed."""

    @abstractmethod
    def get_entries(self, ids: Iterable[str]) -> list[Entry]: ...

    @abstractmethod
    def save_entry(self, entry: Entry) -> None: ...

    def save_entries(self, entries: Iterable[Entry]) -> None:
        """Every entry of a batch; a backend that can writes them together (SQLite: one transaction)."""
        for entry in entries:
            self.save_entry(entry)

    @abstractmethod
    def count_entries(self, status: str | None = None) -> int: ...

    @abstractmethod
    def entry_failures(self, feed_url: str, recent: int = 3) -> EntryFailures:
        """Why this feed's pages failed (entries with a `last_error`), for `wirewatch feeds`."""

    # -- articles ----------------------------------------------------------
    @abstractmethod
    def put_articles(self, articles: Iterable[Article]) -> int:
        """Upsert by id; return how many ids were new."""

    @abstractmethod
    def get_articles(self, ids: Iterable[str]) -> list[Article]: ...

    @abstractmethod
    def count_articles(self) -> int: ...

    @abstractmethod
    def unprocessed_articles(self, fetched_before: datetime, limit: int) -> list[str]:
        """Ids of stored articles whose later stages never finished (a run that died after indexing), oldest
        first. A stored article counts as unprocessed until `mark_processed`; storing it again keeps its mark."""

    @abstractmethod
    def mark_processed(self, ids: Iterable[str]) -> None: ...

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResult: ...

    # -- dedup -------------------------------------------------------------
    @abstractmethod
    def dedup_candidates(self, band_keys: Iterable[str], since: datetime) -> list[DedupRecord]:
        """Stored articles in the window sharing at least one LSH band key.

        Each record's `band_keys` holds the keys it shares with the query, so one call
        can serve a whole batch and the caller can tell which article matched what.
        """

    @abstractmethod
    def save_dedup(self, records: Iterable[DedupRecord], duplicate_of: dict[str, str | None]) -> None:
        """Store band keys and cluster assignment; `duplicate_of` maps article id to its original."""

    @abstractmethod
    def merge_clusters(self, into: str, others: Iterable[str]) -> None:
        """Relabel every article of `others` clusters as members of `into`."""

    @abstractmethod
    def prune_dedup(self, before: datetime) -> int:
        """Drop band keys of articles published before `before`; the articles stay."""

    # -- statements --------------------------------------------------------
    @abstractmethod
    def save_statement(self, statement: Statement) -> None:
        """Upsert the statement by id, and add the reports it carries (`quotes`) to the ones stored.

        A report is one wording (the quote's text) in one article, stored apart from the statement and never
        rewritten or removed: a statement read with only some of its reports (`statement_candidates`) saves
        without losing the others, and saving the same reports again changes nothing.
        """

    @abstractmethod
    def get_statement(self, statement_id: str) -> Statement | None:
        """The statement with every report attached to it, in the order they were attached."""

    @abstractmethod
    def list_statements(
        self, speaker: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[Statement]:
        """Newest first (by first_seen), each with every report; `since` filters on first_seen, speaker
        case-insensitively."""

    @abstractmethod
    def statement_candidates(
        self, speaker: str, since: datetime | None, limit: int, article_id: str
    ) -> list[Statement]:
        """`list_statements(speaker, since, limit)`, each statement carrying a bounded set of its reports: the
        earliest of each distinct wording (by publication time, else fetch time, then article id), and every
        report from the article `article_id`, in the order they were attached.

        That is all that matching one article against a speaker's statements reads (the words a statement was
        carried in, its first report, whether this article is attached to it already), and it does not grow
        with the number of copies that carried a statement: a wire story is reprinted dozens of times in the
        same words.
        """

    @abstractmethod
    def speaker_articles(
        self, speakers: Iterable[str], since: datetime, until: datetime
    ) -> list[tuple[str, datetime, str]]:
        """The processed articles (their statements grouped) carrying an attribution to any of `speakers` (any
        spelling, any case) that appeared (published, else fetched) from `since` to `until`, both included: the
        speaker as the article names them, when the article appeared and its id, one row for each.

        What statement grouping replays when an article arrives after later ones by the same speaker were grouped:
        they include attributions that joined no statement, which no statement records."""

    @abstractmethod
    def statements_reporting(self, speaker: str, article_ids: Iterable[str]) -> list[Statement]:
        """`speaker`'s statements (any spelling) holding a report from any of these articles, each with every
        report, in the order they were attached."""

    @abstractmethod
    def delete_statements(self, statement_ids: Iterable[str]) -> list[AlertRecord]:
        """Remove these statements and their reports; the claims the alert ledger holds for them stay, and are
        returned, so that grouping can carry them to whichever statement their reports join instead."""

    # -- alert ledger ------------------------------------------------------
    @abstractmethod
    def claim_alert(self, record: AlertRecord) -> bool:
        """Insert if no row has this (rule, statement_id); True when this call inserted it."""

    @abstractmethod
    def reclaim_alert(self, record: AlertRecord, now: datetime) -> bool:
        """Take over a stale claim: succeeds only while the row still has `record.claimed_at`.

        Two workers retrying the same stale row race on this compare-and-set;
        exactly one wins, and the winner's `record.claimed_at` becomes `now`.
        """

    @abstractmethod
    def revive_alert(self, record: AlertRecord, now: datetime) -> bool:
        """Make a dead (or failed) alert due at `now` with a fresh retry period, for `alerts --retry`.

        A compare-and-set like `reclaim_alert`: succeeds only while the row is still dead or failed with
        `record.claimed_at`; then the row is `failed`, `next_attempt` and `claimed_at` are `now`, and
        `retry_until` is cleared (so is the record).
        """

    @abstractmethod
    def update_alert(self, record: AlertRecord) -> None: ...

    @abstractmethod
    def alerts_to_retry(self, now: datetime, stale_before: datetime) -> list[AlertRecord]:
        """Pending claims older than `stale_before` and failed ones whose `next_attempt` has come."""

    @abstractmethod
    def list_alerts(self, limit: int = 100) -> list[AlertRecord]:
        """Newest claims first."""

    # -- topics ------------------------------------------------------------
    def match_topics(self, article: Article, rules: Mapping[str, str]) -> list[str]:
        """The topics (name -> rule) an article belongs to, in order; a backend with a percolator matches there."""
        document = Document(article.title, article.text)
        return [name for name, rule in rules.items() if compile_query(rule)(document)]

    # -- lifecycle ---------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The writes made inside committed together, or none of them if it raises (SQLite: one transaction).
        A backend without transactions (Elasticsearch) writes each as it comes, as outside; nothing by default."""
        yield

    def release_memory(self) -> None:
        """Give back the caches the store filled (a long run calls it between batches); nothing by default."""
        return

    @contextmanager
    def cache_bounded(self, limit: int) -> Iterator[None]:
        """The cache the store fills held to about `limit` bytes inside, as it was after; nothing by default."""
        yield

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
