"""One contract, every backend: the same calls must give the same answers.

SQLite always runs. Elasticsearch runs when WIREWATCH_ES_URL points at a
server (credentials may sit in the URL, or in WIREWATCH_ES_USERNAME and
WIREWATCH_ES_PASSWORD); each test gets its own index prefix and removes it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import astuple, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pipeline.config import StoreConfig
from pipeline.records import AlertRecord, Article, Entity, Entry, FeedState, Quote, Statement, StatementQuote
from pipeline.store import DedupRecord, SearchQuery, Store, open_store
from pipeline.store.base import NewEntries

if TYPE_CHECKING:
    from pipeline.store.elasticsearch import ElasticsearchStore

T0 = datetime(2020, 7, 10, 6, 0, tzinfo=UTC)
FEED = "https://www.voanews.com/rss"
OTHER_FEED = "https://www.vice.com/rss"

SUMMIT = (
    "Kim Yo Jong, the powerful sister of North Korean leader Kim Jong Un, said a third summit between "
    "her brother and President Donald Trump would not happen this year. She said denuclearization talks "
    "would go nowhere unless Washington changed its hostile policy, but left the door open to diplomacy."
)
WEATHER = (
    "Heavy rain flooded parts of southern Japan for a third day on Friday, and the weather agency warned "
    "that rivers could burst their banks again as more storms moved across the island of Kyushu."
)


@pytest.fixture(params=["sqlite", "elasticsearch"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        with open_store(StoreConfig(backend="sqlite", path=tmp_path / "contract.db")) as opened:
            yield opened
        return
    with live_elasticsearch_store("the Elasticsearch half of the contract needs a live server") as live:
        yield live


@contextmanager
def live_elasticsearch_store(needs: str) -> Iterator[ElasticsearchStore]:
    """A store on the server WIREWATCH_ES_URL names, under its own index prefix, removed by name after;
    skipped, saying why (`needs`), when no server is set. Every suite needing a live server uses this."""
    url = os.environ.get("WIREWATCH_ES_URL")
    if not url:
        pytest.skip(f"WIREWATCH_ES_URL is not set: {needs}")
    prefix = f"wirewatch-test-{uuid.uuid4().hex[:10]}"
    config = StoreConfig(
        backend="elasticsearch",
        url=url,
        index_prefix=prefix,
        username=os.environ.get("WIREWATCH_ES_USERNAME"),
        password_env="WIREWATCH_ES_PASSWORD" if os.environ.get("WIREWATCH_ES_PASSWORD") else None,
    )
    from pipeline.store.elasticsearch import ElasticsearchStore

    opened = open_store(config)
    assert isinstance(opened, ElasticsearchStore)
    try:
        yield opened
    finally:
        delete_by_name(opened)
        opened.close()


def delete_by_name(store: ElasticsearchStore) -> None:
    """Drop a test prefix's indices and templates by their names.

    Elasticsearch refuses to delete indices by wildcard (`action.destructive_requires_name`,
    true by default since 8.0), so the names are listed first; listing by wildcard is allowed.
    """
    from pipeline.store.elasticsearch import INDICES

    listed = store.es.options(ignore_status=404).indices.get(index=f"{store.prefix}-*", expand_wildcards="all")
    names = sorted(name for name, body in listed.body.items() if isinstance(body, dict) and "settings" in body)
    if names:
        store.es.indices.delete(index=names)
    for spec in INDICES:
        store.es.options(ignore_status=404).indices.delete_index_template(name=store.alias(spec.kind))


def article(
    article_id: str,
    text: str = SUMMIT,
    *,
    source: str = "VOA",
    title: str = "Kim's sister says no summit this year",
    published: datetime = T0,
    speaker: str | None = "Kim Yo Jong",
    entities: tuple[str, ...] = ("Kim Yo Jong", "Donald Trump"),
    topics: tuple[str, ...] = ("diplomacy",),
) -> Article:
    return Article(
        id=article_id,
        url=f"https://example.org/{article_id}",
        feed_url=FEED,
        source=source,
        title=title,
        text=text,
        published=published,
        fetched=published + timedelta(minutes=1),
        entities=[Entity(name, "PERSON", 0, len(name), name) for name in entities],
        topics=list(topics),
        quotes=[Quote("would not happen this year", 10, 36, speaker, 0, 11, "said")] if speaker else [],
    )


def entry(entry_id: str, guid: str | None = None, feed: str = FEED, minutes: int = 0) -> Entry:
    return Entry(
        id=entry_id,
        feed_url=feed,
        url=f"https://example.org/{entry_id}",
        guid=guid,
        title=f"entry {entry_id}",
        source="VOA",
        discovered=T0 + timedelta(minutes=minutes),
    )


def dedup(article_id: str, cluster: str, keys: tuple[str, ...], published: datetime = T0) -> DedupRecord:
    return DedupRecord(article_id, cluster, published, f"hash-{article_id}", keys)


# -- articles ----------------------------------------------------------------
def test_putting_an_article_twice_leaves_one_document(store: Store) -> None:
    assert store.put_articles([article("a1")]) == 1
    assert store.put_articles([replace(article("a1"), title="Updated headline")]) == 0
    assert store.count_articles() == 1
    (stored,) = store.get_articles(["a1"])
    assert stored.title == "Updated headline"
    assert stored.cluster_id == "a1"
    assert [entity.canonical for entity in stored.entities] == ["Kim Yo Jong", "Donald Trump"]
    assert stored.quotes[0].speaker == "Kim Yo Jong"
    assert stored.published == T0


def test_re_storing_an_article_keeps_its_cluster(store: Store) -> None:
    store.put_articles([article("a1"), article("a2", published=T0 + timedelta(hours=1))])
    store.save_dedup([dedup("a1", "a1", ("k1",)), dedup("a2", "a1", ("k1",))], {"a1": None, "a2": "a1"})
    store.put_articles([article("a2", published=T0 + timedelta(hours=1))])
    (stored,) = store.get_articles(["a2"])
    assert (stored.cluster_id, stored.duplicate_of) == ("a1", "a1")


def test_articles_are_unprocessed_until_marked_and_storing_again_keeps_the_mark(store: Store) -> None:
    store.put_articles(
        [
            article("a1"),
            article("a2", published=T0 + timedelta(minutes=5)),
            article("a3", published=T0 + timedelta(hours=2)),
        ]
    )
    assert store.unprocessed_articles(T0 + timedelta(hours=1), 10) == ["a1", "a2"]
    assert store.unprocessed_articles(T0 + timedelta(hours=1), 1) == ["a1"]
    store.mark_processed(["a1", "missing"])
    store.put_articles([replace(article("a1"), title="Updated headline")])
    assert store.unprocessed_articles(T0 + timedelta(hours=3), 10) == ["a2", "a3"]


def test_get_articles_keeps_the_order_asked_and_skips_unknown_ids(store: Store) -> None:
    store.put_articles([article("a1"), article("a2")])
    assert [item.id for item in store.get_articles(["a2", "missing", "a1", "a2"])] == ["a2", "a1"]


# -- entries -----------------------------------------------------------------
def test_add_entries_skips_known_ids_and_known_guids_within_a_feed(store: Store) -> None:
    assert [item.id for item in store.add_entries([entry("e1", "g1"), entry("e2")])] == ["e1", "e2"]
    again = store.add_entries(
        [
            entry("e1", "g-other"),  # known id
            entry("e3", "g1"),  # known GUID in the same feed
            entry("e4", "g1", feed=OTHER_FEED),  # same GUID, another feed: new
            entry("e5", "g5"),
            entry("e6", "g5"),  # repeated GUID inside one batch: first wins
            entry("e7"),
            entry("e7"),  # repeated id inside one batch
        ]
    )
    assert [item.id for item in again] == ["e4", "e5", "e7"]
    assert store.count_entries() == 5
    assert store.add_entries([entry("e1", "g1")]) == []
    assert store.add_entries([entry("e8", "g-other")]) == []  # e1's copy above claimed the GUID g-other
    assert store.count_entries() == 5
    # An entry passed over for its known GUID hides neither its id's being new nor its being known from the next.
    passed_over = [entry("e9", "g1"), entry("e9", "g9"), entry("e2", "g1"), entry("e2", "g10")]
    assert [item.id for item in store.add_entries(passed_over)] == ["e9"]
    assert store.add_entries([entry("e11", "g10")]) == []  # e2's copy claimed g10 although e2 was known
    assert store.count_entries() == 6


def test_new_entries_of_several_bodies_are_counted_by_body_by_the_same_rule(store: Store) -> None:
    """A poll hands over each feed body's entries as plain items (`NewEntries`); the same entries as records come
    back, each new and waiting, and each body is told how many of its own were new."""
    store.add_entries([entry("e1", "g1")])
    first = NewEntries(FEED, "VOA", T0, [("e1", "https://example.org/e1", "g-other", "again", "", None)])  # known id
    first.items += [
        ("e3", "https://example.org/e3", "g1", "known GUID", "", None),
        ("e5", "https://example.org/e5", "g5", "five", "Its summary.", T0 - timedelta(hours=1)),
        ("e6", "https://example.org/e6", "g5", "repeated GUID", "", None),
    ]
    other = NewEntries(OTHER_FEED, "Reuters", T0 + timedelta(minutes=1))
    other.items += [
        ("e4", "https://example.org/e4", "g1", "four", "", None),
        ("e5", "https://e.org/5", None, "", "", None),
    ]
    empty = NewEntries(FEED, "VOA", T0)
    assert store.add_new_entries([first, empty, other]) == [1, 0, 1]
    assert store.count_entries() == 3
    stored = [astuple(item) for item in store.get_entries(["e5", "e4"])]
    # id, feed, url, guid, title, summary, published, source; status, attempts, last error, next attempt, discovered
    assert [row[:8] for row in stored] == [
        ("e5", FEED, "https://example.org/e5", "g5", "five", "Its summary.", T0 - timedelta(hours=1), "VOA"),
        ("e4", OTHER_FEED, "https://example.org/e4", "g1", "four", "", None, "Reuters"),
    ]
    assert [row[8:] for row in stored] == [
        ("pending", 0, None, None, T0),
        ("pending", 0, None, None, T0 + timedelta(minutes=1)),
    ]
    assert store.add_new_entries(
        [NewEntries(FEED, "VOA", T0, [("e8", "https://example.org/e8", "g-other", "", "", None)])]
    ) == [0]
    assert store.add_new_entries([]) == []


def test_an_entry_added_with_its_last_error_keeps_it_beside_new_ones(store: Store) -> None:
    """A batch with one entry that failed before (its error and next attempt) stores both; the new entries in the
    same batch, and in a batch of new entries alone, have neither."""
    failed = replace(entry("e1"), status="failed", attempts=2, last_error="HTTP 503", next_attempt=T0 + timedelta(1))
    assert [item.id for item in store.add_entries([entry("e0"), failed])] == ["e0", "e1"]
    assert [item.id for item in store.add_entries([entry("e2", minutes=5)])] == ["e2"]
    rows = [
        (item.status, item.attempts, item.last_error, item.next_attempt)
        for item in store.get_entries(["e0", "e1", "e2"])
    ]
    assert rows == [
        ("pending", 0, None, None),
        ("failed", 2, "HTTP 503", datetime(2020, 7, 11, 6, tzinfo=UTC)),
        ("pending", 0, None, None),
    ]


def test_entries_due_are_pending_or_failed_past_their_backoff(store: Store) -> None:
    store.add_entries([entry(f"e{n}", minutes=n) for n in range(4)])
    assert [item.id for item in store.entries_due(T0)] == ["e0", "e1", "e2", "e3"]
    assert [item.id for item in store.entries_due(T0, limit=2)] == ["e0", "e1"]

    (e0, e1, e2) = store.get_entries(["e0", "e1", "e2"])
    store.save_entry(replace(e0, status="done", attempts=1))
    store.save_entries(  # several at once, as a fetched batch saves them
        [
            replace(e1, status="failed", attempts=1, last_error="HTTP 503", next_attempt=T0 + timedelta(hours=1)),
            replace(e2, status="failed", attempts=2, last_error="timeout", next_attempt=T0 - timedelta(hours=1)),
        ]
    )

    assert [item.id for item in store.entries_due(T0)] == ["e2", "e3"]
    assert [item.id for item in store.entries_due(T0 + timedelta(hours=2))] == ["e1", "e2", "e3"]
    assert store.count_entries("failed") == 2
    assert store.count_entries("done") == 1
    (failed,) = store.get_entries(["e1"])
    assert (failed.attempts, failed.last_error, failed.next_attempt) == (1, "HTTP 503", T0 + timedelta(hours=1))


def test_entry_failures_count_reasons_and_show_the_latest(store: Store) -> None:
    store.add_entries([entry(f"e{n}", minutes=n) for n in range(5)] + [entry("x", feed=OTHER_FEED)])
    reasons = {"e0": "HTTP 404", "e1": "HTTP 404", "e2": "used the feed's text: HTTP 403", "e3": None, "e4": "HTTP 404"}
    for item in store.get_entries(list(reasons)):
        store.save_entry(replace(item, status="failed" if reasons[item.id] else "done", last_error=reasons[item.id]))
    (other,) = store.get_entries(["x"])
    store.save_entry(replace(other, status="failed", last_error="timed out after 20s"))
    failures = store.entry_failures(FEED, recent=2)
    assert failures.reasons == [("HTTP 404", 3), ("used the feed's text: HTTP 403", 1)]
    assert failures.recent == [("https://example.org/e4", "HTTP 404"), ("https://example.org/e2", reasons["e2"])]
    assert store.entry_failures("https://nowhere.example/rss").reasons == []


def test_saving_an_unknown_entry_adds_nothing(store: Store) -> None:
    store.save_entry(entry("ghost"))
    assert store.count_entries() == 0


# -- feeds -------------------------------------------------------------------
def test_feeds_round_trip_and_list_in_url_order(store: Store) -> None:
    store.save_feed(FeedState(url=OTHER_FEED, name="VICE"))
    state = FeedState(url=FEED, name="VOA", etag='W/"1"', failures=2, last_error="HTTP 500", next_poll=T0)
    store.save_feed(state)
    store.save_feed(replace(state, failures=3))
    assert store.get_feed(FEED) == replace(state, failures=3)
    assert store.get_feed("https://unknown.example/rss") is None
    assert [feed.url for feed in store.list_feeds()] == sorted([FEED, OTHER_FEED])


def test_feeds_are_read_and_saved_in_bulk_the_last_state_of_a_repeat_winning(store: Store) -> None:
    voa = FeedState(url=FEED, name="VOA", etag='W/"1"')
    store.save_feeds([voa, FeedState(url=OTHER_FEED, name="VICE"), replace(voa, failures=2, last_error="HTTP 500")])
    assert store.get_feeds([FEED, "https://unknown.example/rss", FEED]) == {
        FEED: FeedState(url=FEED, name="VOA", etag='W/"1"', failures=2, last_error="HTTP 500")
    }
    assert sorted(store.get_feeds([OTHER_FEED, FEED])) == sorted([FEED, OTHER_FEED])
    assert store.get_feeds([]) == {}


# -- search ------------------------------------------------------------------
@pytest.fixture
def newsroom(store: Store) -> Store:
    """The AP story and a later copy folded into one cluster, VICE's own story, and an unrelated one."""
    later = T0 + timedelta(hours=2)
    store.put_articles(
        [
            article("ap", source="VOA"),
            article("copy", source="Yonhap", published=later),
            article("vice", SUMMIT.replace("third summit", "third meeting"), source="VICE", published=later,
                    title="Kim Yo Jong rules out another Trump summit", topics=("diplomacy", "conflict")),
            article("rain", WEATHER, source="NHK", title="Floods in Kyushu", speaker=None,
                    entities=("Japan",), topics=("climate",), published=T0 + timedelta(hours=1)),
        ]
    )  # fmt: skip
    store.save_dedup(
        [dedup("ap", "ap", ("k1",)), dedup("copy", "ap", ("k1",), later)],
        {"ap": None, "copy": "ap"},
    )
    return store


def test_search_collapses_copies_and_counts_them(newsroom: Store) -> None:
    result = newsroom.search(SearchQuery(text="summit"))
    assert result.total == 2
    by_id = {hit.id: hit for hit in result.hits}
    assert set(by_id) == {"ap", "vice"}  # the earliest copy stands for its cluster
    assert by_id["ap"].duplicates == 1
    assert by_id["ap"].cluster_id == "ap"
    assert by_id["vice"].duplicates == 0
    assert "<b>" in by_id["ap"].snippet
    assert by_id["ap"].entities == ["Donald Trump", "Kim Yo Jong"]
    assert by_id["vice"].topics == ["diplomacy", "conflict"]


def test_search_without_collapsing_returns_every_copy(newsroom: Store) -> None:
    result = newsroom.search(SearchQuery(text="summit", collapse=False))
    assert result.total == 3
    assert {hit.id for hit in result.hits} == {"ap", "copy", "vice"}
    assert {hit.id: hit.duplicates for hit in result.hits} == {"ap": 1, "copy": 1, "vice": 0}


def test_search_without_text_lists_newest_first(newsroom: Store) -> None:
    result = newsroom.search(SearchQuery(collapse=False, limit=10))
    # newest first; "copy" and "vice" were published at the same time, so the id decides
    assert [hit.id for hit in result.hits] == ["copy", "vice", "rain", "ap"]
    assert result.total == 4
    assert all(hit.snippet for hit in result.hits)
    assert newsroom.search(SearchQuery(limit=2)).total == 3


def test_a_folded_story_is_shown_by_its_original_even_when_only_a_copy_matches(store: Store) -> None:
    later = T0 + timedelta(hours=3)
    store.put_articles(
        [
            article("orig", SUMMIT.replace("third summit", "third meeting"), title="Kim's sister speaks"),
            article("reprint", source="Yonhap", title="Kim's sister speaks", published=later),
        ]
    )
    store.save_dedup([dedup("orig", "orig", ("k1",)), dedup("reprint", "orig", ("k1",), later)],
                     {"orig": None, "reprint": "orig"})  # fmt: skip
    result = store.search(SearchQuery(text="summit"))
    assert result.total == 1
    (hit,) = result.hits
    assert (hit.id, hit.source, hit.cluster_id, hit.duplicates) == ("orig", "VOA", "orig", 1)
    assert "<b>summit</b>" in hit.snippet  # the snippet comes from the copy that matched


def test_a_copy_stored_before_its_original_still_shows_the_earliest_copy(store: Store) -> None:
    """The cluster's root ("wire") is not stored: the earliest published copy stands for it."""
    late, early = T0 + timedelta(hours=5), T0 + timedelta(hours=1)
    store.put_articles([article("late", source="Yonhap", published=late)])
    store.put_articles([article("early", source="VOA", published=early)])
    records = [dedup("late", "wire", ("k1",), late), dedup("early", "wire", ("k1",), early)]
    store.save_dedup(records, {"late": "wire", "early": "wire"})
    for query in (SearchQuery(text="summit"), SearchQuery()):
        result = store.search(query)
        assert [(hit.id, hit.cluster_id, hit.duplicates) for hit in result.hits] == [("early", "wire", 1)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (SearchQuery(source="VICE"), {"vice"}),
        (SearchQuery(since=T0 + timedelta(minutes=30)), {"rain", "copy", "vice"}),
        (SearchQuery(until=T0 + timedelta(minutes=30)), {"ap"}),
        (SearchQuery(speaker="kim yo jong"), {"ap", "copy", "vice"}),
        (SearchQuery(entity="JAPAN"), {"rain"}),
        (SearchQuery(topic="Climate"), {"rain"}),
        (SearchQuery(text="summit", topic="conflict"), {"vice"}),
        (SearchQuery(text="flooded OR denuclearization", source="NHK"), {"rain"}),
        (SearchQuery(text="summit NOT meeting"), {"ap", "copy"}),
        (SearchQuery(text='"third summit"'), {"ap", "copy"}),
        (SearchQuery(kind="direct"), {"ap", "copy", "vice"}),  # quotes stored without a kind are direct
        (SearchQuery(kind="full_text"), set()),
    ],
)
def test_search_filters(newsroom: Store, query: SearchQuery, expected: set[str]) -> None:
    result = newsroom.search(replace(query, collapse=False, limit=10))
    assert {hit.id for hit in result.hits} == expected
    assert result.total == len(expected)


def test_search_keeps_articles_holding_a_stance_by_its_kind(store: Store) -> None:
    """A stance ("declined to comment on the talks") is stored and found by `--kind stance`, and by no other kind."""
    stance = replace(
        article("stance", speaker=None),
        quotes=[
            Quote("comment on the talks", 20, 40, "Kim Yo Jong", 0, 11, "declined", "learned_cue_object", "stance")
        ],
    )
    store.put_articles([stance, article("ap")])
    assert {hit.id for hit in store.search(SearchQuery(kind="stance", collapse=False)).hits} == {"stance"}
    assert {hit.id for hit in store.search(SearchQuery(kind="direct", collapse=False)).hits} == {"ap"}


# -- dedup -------------------------------------------------------------------
def test_dedup_candidates_share_band_keys_within_the_window(store: Store) -> None:
    old = T0 - timedelta(days=10)
    store.put_articles([article("old", published=old), article("a1"), article("a2")])
    store.save_dedup(
        [dedup("old", "old", ("k1", "k2"), old), dedup("a1", "a1", ("k1", "k3")), dedup("a2", "a1", ("k4",))],
        {"old": None, "a1": None, "a2": "a1"},
    )
    found = store.dedup_candidates(["k1", "k4", "k9"], since=T0 - timedelta(days=7))
    assert [(record.article_id, record.cluster_id, set(record.band_keys)) for record in found] == [
        ("a1", "a1", {"k1"}),
        ("a2", "a1", {"k4"}),
    ]
    assert found[0].published == T0
    assert found[0].body_hash == "hash-a1"
    assert [record.article_id for record in store.dedup_candidates(["k2"], since=old)] == ["old"]


def test_prune_drops_old_band_keys_but_keeps_articles(store: Store) -> None:
    old = T0 - timedelta(days=10)
    store.put_articles([article("old", published=old), article("a1")])
    store.save_dedup([dedup("old", "old", ("k1",), old), dedup("a1", "a1", ("k1",))], {"old": None, "a1": None})
    assert store.prune_dedup(T0 - timedelta(days=7)) == 1
    assert store.prune_dedup(T0 - timedelta(days=7)) == 0
    assert [record.article_id for record in store.dedup_candidates(["k1"], since=old)] == ["a1"]
    assert store.count_articles() == 2


def test_merge_clusters_relabels_every_member(store: Store) -> None:
    store.put_articles([article(name) for name in ("a", "b", "c", "d")])
    store.save_dedup(
        [dedup("a", "a", ("k1",)), dedup("b", "b", ("k2",)), dedup("c", "b", ("k2",)), dedup("d", "d", ("k3",))],
        {"a": None, "b": None, "c": "b", "d": None},
    )
    store.merge_clusters("a", ["b", "a"])
    assert {item.id: item.cluster_id for item in store.get_articles(["a", "b", "c", "d"])} == {
        "a": "a",
        "b": "a",
        "c": "a",
        "d": "d",
    }
    assert {record.article_id: record.cluster_id for record in store.dedup_candidates(["k2"], T0)} == {
        "b": "a",
        "c": "a",
    }


# -- statements --------------------------------------------------------------
def statement(statement_id: str, speaker: str, first_seen: datetime, *quoted_in: str) -> Statement:
    quotes = [
        StatementQuote("would not happen this year", name, f"https://example.org/{name}", "VOA", "t", first_seen)
        for name in quoted_in
    ]
    return Statement(statement_id, speaker, first_seen, "would not happen this year", quotes, updated=first_seen)


def test_statements_save_list_and_filter(store: Store) -> None:
    store.save_statement(statement("s1", "Kim Yo Jong", T0, "ap"))
    store.save_statement(statement("s2", "Donald Trump", T0 + timedelta(hours=1), "vice"))
    store.save_statement(statement("s3", "Kim Yo Jong", T0 + timedelta(hours=2), "vice"))
    grown = statement("s1", "Kim Yo Jong", T0, "ap", "copy")
    store.save_statement(grown)

    assert store.get_statement("s1") == grown
    assert store.get_statement("missing") is None
    assert [item.id for item in store.list_statements()] == ["s3", "s2", "s1"]
    assert [item.id for item in store.list_statements(speaker="kim yo jong")] == ["s3", "s1"]
    assert [item.id for item in store.list_statements(since=T0 + timedelta(minutes=30))] == ["s3", "s2"]
    assert [item.id for item in store.list_statements(limit=1)] == ["s3"]
    assert store.list_statements(speaker="Nobody") == []


def test_statements_by_speaker_fold_hyphens_and_spaces_in_the_name(store: Store) -> None:
    """One speaker spelled two ways by two outlets is one speaker to look up."""
    store.save_statement(statement("m1", "Moon Jae-in", T0, "yonhap"))
    store.save_statement(statement("m2", "Moon Jae In", T0 + timedelta(hours=1), "voa"))
    store.save_statement(statement("m3", "Moon Jaein", T0 + timedelta(hours=2), "other"))  # no joint: not folded
    assert [item.id for item in store.list_statements(speaker="moon jae in")] == ["m2", "m1"]
    assert [item.id for item in store.list_statements(speaker="Moon-Jae-In")] == ["m2", "m1"]
    assert [item.id for item in store.list_statements(speaker="Moon Jaein")] == ["m3"]


def test_a_statement_published_in_full_keeps_its_kind_times_and_reports(store: Store) -> None:
    later = T0 + timedelta(hours=5)
    primary = StatementQuote(
        "Today I was informed that the talks are off.\nWe have nothing to discuss.",
        "kcna",
        "https://example.org/kcna",
        "KCNA",
        "Press Statement of Kim Yo Jong",
        T0,
        "",
        "full_text",
        later,
        "full_text:lead_released_statement",
    )
    report = StatementQuote("the talks are off", "voa", "https://example.org/voa", "VOA", "t", later, "", "indirect")
    saved = Statement(
        "s9",
        "Kim Yo Jong",
        later,
        primary.text,
        [primary, report],
        updated=later,
        kind="full_text",
        published=T0,
        occasion=T0.date(),
        primary_url="https://example.org/kcna",
    )
    store.save_statement(saved)
    assert store.get_statement("s9") == saved
    (listed,) = store.list_statements(speaker="Kim Yo Jong")
    assert (listed.kind, listed.published, listed.occasion) == ("full_text", T0, T0.date())
    assert [(quote.kind, quote.fetched, quote.rule) for quote in listed.quotes] == [
        ("full_text", later, "full_text:lead_released_statement"),
        ("indirect", None, None),
    ]


def report(text: str, article: str, published: datetime | None, fetched: datetime | None = None) -> StatementQuote:
    return StatementQuote(
        text, article, f"https://example.org/{article}", article.upper(), "t", published, "", "direct", fetched
    )


def test_a_statement_is_matched_against_one_report_per_wording_and_the_article_s_own(store: Store) -> None:
    """Thirty copies of one wording come back as its earliest copy; a fetch time stands in for a missing
    publication time; the article being matched gets every report of its own (it is attached already)."""
    copies = [report("no summit this year", f"copy{n:02}", T0 + timedelta(hours=n)) for n in range(30, 0, -1)]
    other = report("nothing to discuss with them", "late", None, fetched=T0 + timedelta(minutes=30))
    reworded = report("no summit at all this year", "copy07", T0 + timedelta(hours=7))
    saved = Statement("s1", "Kim Yo Jong", T0, "no summit this year", [*copies, other, reworded], updated=T0)
    store.save_statement(saved)
    store.save_statement(statement("s2", "Kim Yo Jong", T0 + timedelta(hours=1), "ap"))

    found = store.statement_candidates("kim yo jong", T0 - timedelta(days=1), 50, "copy07")
    assert [item.id for item in found] == ["s2", "s1"]
    assert [(quote.article_id, quote.text) for quote in found[1].quotes] == [  # in the order attached
        ("copy07", "no summit this year"),
        ("copy01", "no summit this year"),  # the earliest published of the thirty
        ("late", "nothing to discuss with them"),
        ("copy07", "no summit at all this year"),
    ]
    assert [quote.article_id for quote in found[0].quotes] == ["ap"]
    assert [item.id for item in store.statement_candidates("Kim Yo Jong", T0 + timedelta(minutes=30), 50, "x")] == [
        "s2"
    ]
    assert store.statement_candidates("Nobody", None, 50, "copy07") == []


def test_a_statement_saved_with_some_of_its_reports_keeps_the_others(store: Store) -> None:
    """What matching reads is a statement with a bounded set of its reports; saving it with one more adds that
    one, and saving it again adds nothing."""
    copies = [report("no summit this year", f"copy{n}", T0 + timedelta(hours=n)) for n in range(1, 6)]
    store.save_statement(Statement("s1", "Kim Yo Jong", T0, "no summit this year", copies, updated=T0))
    (bounded,) = store.statement_candidates("Kim Yo Jong", None, 50, "new")
    assert [quote.article_id for quote in bounded.quotes] == ["copy1"]
    bounded.quotes.append(report("no summit this year", "new", T0 + timedelta(hours=9)))
    bounded.updated = T0 + timedelta(hours=9)
    store.save_statement(bounded)
    store.save_statement(bounded)
    kept = store.get_statement("s1")
    assert kept is not None and kept.updated == T0 + timedelta(hours=9)
    assert [quote.article_id for quote in kept.quotes] == ["copy1", "copy2", "copy3", "copy4", "copy5", "new"]
    (listed,) = store.list_statements("Kim Yo Jong")
    assert listed == kept


# -- alert ledger ------------------------------------------------------------
def test_an_alert_is_claimed_once(store: Store) -> None:
    assert store.claim_alert(AlertRecord("kim", "s1", "<m1@wirewatch>", claimed_at=T0)) is True
    assert store.claim_alert(AlertRecord("kim", "s1", "<m2@wirewatch>", claimed_at=T0)) is False
    assert store.claim_alert(AlertRecord("kim", "s2", "<m3@wirewatch>", claimed_at=T0)) is True
    assert [(item.statement_id, item.message_id) for item in store.list_alerts()] == [
        ("s1", "<m1@wirewatch>"),
        ("s2", "<m3@wirewatch>"),
    ]


def test_two_reclaims_of_one_stale_claim_have_one_winner(store: Store) -> None:
    stale = AlertRecord("kim", "s1", "<m1@wirewatch>", claimed_at=T0)
    store.claim_alert(stale)
    later = T0 + timedelta(minutes=10)
    workers = [replace(stale), replace(stale)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda record: store.reclaim_alert(record, later), workers))
    assert sorted(outcomes) == [False, True]
    winner = workers[outcomes.index(True)]
    assert winner.claimed_at == later
    assert store.reclaim_alert(replace(stale), later + timedelta(minutes=1)) is False
    (row,) = store.list_alerts()
    assert row.claimed_at == later


def test_alerts_to_retry_and_updates(store: Store) -> None:
    store.claim_alert(AlertRecord("kim", "stale", "<a@w>", claimed_at=T0))
    store.claim_alert(AlertRecord("kim", "fresh", "<b@w>", claimed_at=T0 + timedelta(minutes=9)))
    failed = AlertRecord("kim", "failed", "<c@w>", claimed_at=T0)
    store.claim_alert(failed)
    store.update_alert(
        replace(failed, state="failed", attempts=1, last_error="421", next_attempt=T0 + timedelta(minutes=5))
    )
    sent = AlertRecord("kim", "sent", "<d@w>", claimed_at=T0)
    store.claim_alert(sent)
    store.update_alert(replace(sent, state="sent", sent_at=T0 + timedelta(seconds=2), attempts=1))

    now = T0 + timedelta(minutes=10)
    due = store.alerts_to_retry(now, stale_before=T0 + timedelta(minutes=5))
    assert [(item.statement_id, item.state) for item in due] == [("failed", "failed"), ("stale", "pending")]
    assert due[0].last_error == "421" and due[0].attempts == 1
    assert [item.statement_id for item in store.alerts_to_retry(T0, stale_before=T0)] == []
    (row,) = [item for item in store.list_alerts() if item.statement_id == "sent"]
    assert (row.state, row.sent_at) == ("sent", T0 + timedelta(seconds=2))
    assert store.reclaim_alert(replace(sent), now) is False  # sent is final


def test_reviving_a_dead_alert_is_a_compare_and_set(store: Store) -> None:
    dead = AlertRecord("kim", "s1", "<m1@wirewatch>", claimed_at=T0)
    store.claim_alert(dead)
    store.update_alert(replace(dead, state="dead", attempts=3, last_error="550", retry_until=T0 + timedelta(hours=1)))
    later = T0 + timedelta(days=3)
    tries = [replace(dead), replace(dead)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda record: store.revive_alert(record, later), tries))
    assert sorted(outcomes) == [False, True]
    (row,) = store.list_alerts()
    assert (row.state, row.claimed_at, row.next_attempt, row.retry_until, row.attempts) == (
        "failed",
        later,
        later,
        None,
        3,
    )
    assert [item.statement_id for item in store.alerts_to_retry(later, stale_before=T0)] == ["s1"]
    sent = AlertRecord("kim", "s2", "<m2@wirewatch>", claimed_at=T0)
    store.claim_alert(sent)
    store.update_alert(replace(sent, state="sent", sent_at=T0))
    assert store.revive_alert(replace(sent), later) is False  # sent is final


def test_a_speakers_grouped_articles_are_found_in_any_spelling_within_their_time_window(store: Store) -> None:
    """What statement grouping regroups when an article arrives late: the processed articles naming the speaker,
    hyphenated, spaced or upper-cased, in the window, both ends included; an unprocessed one is not grouped yet."""
    store.put_articles(
        [
            article("yonhap", speaker="Moon Jae-in"),
            article("shout", speaker="MOON JAE IN", published=T0 + timedelta(hours=2)),
            article("late", speaker="Moon Jae-in", published=T0 + timedelta(hours=5)),
            article("voa", speaker="Kim Yo Jong", published=T0 + timedelta(hours=1)),
            article("waiting", speaker="Moon Jae-in", published=T0 + timedelta(hours=1)),
        ]
    )
    store.mark_processed(["yonhap", "shout", "late", "voa"])
    assert store.speaker_articles(["Moon Jae In"], T0, T0 + timedelta(hours=2)) == [
        ("MOON JAE IN", T0 + timedelta(hours=2), "shout"),
        ("Moon Jae-in", T0, "yonhap"),
    ]
    assert store.speaker_articles(
        ["Moon Jae-in", "Kim Yo Jong"], T0 + timedelta(minutes=1), T0 + timedelta(hours=5)
    ) == [
        ("Kim Yo Jong", T0 + timedelta(hours=1), "voa"),
        ("MOON JAE IN", T0 + timedelta(hours=2), "shout"),
        ("Moon Jae-in", T0 + timedelta(hours=5), "late"),
    ]
    assert store.speaker_articles(["Nobody"], T0, T0 + timedelta(days=1)) == []


def test_statements_reporting_articles_are_removed_with_their_reports_and_their_claims_returned(store: Store) -> None:
    """A rewind reads the speaker's statements holding reports of its later articles, removes them, and gets back
    the alert claims they held (kept in the ledger) to carry to wherever their reports go."""
    store.save_statement(statement("s1", "Moon Jae-in", T0, "yonhap", "shout"))
    store.save_statement(statement("s2", "Moon Jae In", T0 + timedelta(hours=1), "late"))
    store.save_statement(statement("s3", "Kim Yo Jong", T0, "shout"))
    store.claim_alert(AlertRecord("speaker:Moon Jae-in", "s1", "<s1@wirewatch>"))

    reporting = store.statements_reporting("moon jae in", ["shout", "late"])
    assert [(item.id, [quote.article_id for quote in item.quotes]) for item in reporting] == [
        ("s1", ["yonhap", "shout"]),  # every report, in the order attached, not only the articles asked for
        ("s2", ["late"]),
    ]
    assert store.statements_reporting("Moon Jae-in", ["voa"]) == []

    (claim,) = store.delete_statements(["s1", "s2"])
    assert (claim.rule, claim.statement_id, claim.message_id) == ("speaker:Moon Jae-in", "s1", "<s1@wirewatch>")
    assert [item.id for item in store.list_statements()] == ["s3"]
    assert store.statements_reporting("Moon Jae-in", ["shout", "late"]) == []
    assert store.claim_alert(AlertRecord("speaker:Moon Jae-in", "s1", "<again@wirewatch>")) is False  # kept
    assert store.delete_statements(["s1"]) == [claim]  # nothing left to remove; the claim still stands
