"""The Elasticsearch backend without a server: the requests it builds and how it reads answers.

Requests go through the real client and transport; only the last hop is
replaced, by `ScriptedNode`, a node class of `elastic_transport` that records
each request and answers from the test's script (with the product-check header a
real server sends). What a live cluster does with these requests is the contract
suite's job (tests/test_store_contract.py with WIREWATCH_ES_URL).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote

import pytest
from elastic_transport import ApiResponseMeta, BaseNode, HttpHeaders, NodeConfig
from elastic_transport._node import NodeApiResponse
from elasticsearch import Elasticsearch

from pipeline.records import AlertRecord, Article, Entity, Entry, FeedState, Quote, Statement, StatementQuote
from pipeline.store import SearchQuery, StoreWriteError
from pipeline.store.elasticsearch import (
    INDICES,
    RETRY_STATUSES,
    SPECS,
    ElasticsearchStore,
    IndicesNotReadyError,
    _key,
    index_template,
    percolate_topics,
    search_request,
    sync_topic_queries,
)

T0 = datetime(2020, 7, 10, 6, 0, tzinfo=UTC)


@dataclass
class Sent:
    method: str
    path: str
    params: dict[str, str]
    body: Any


Answer = Callable[[Sent], tuple[int, Any]]


class ScriptedNode(BaseNode):
    """Records every request and answers from `answer`, which each test sets."""

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.sent: list[Sent] = []
        self.answer: Answer = lambda sent: (200, {})

    def perform_request(
        self, method: str, target: str, body: bytes | None = None, headers: Any = None, request_timeout: Any = None
    ) -> NodeApiResponse:
        path, _, query = target.partition("?")
        text = body.decode("utf-8") if body else ""
        if headers is not None and "ndjson" in headers.get("content-type", ""):
            parsed: Any = [json.loads(line) for line in text.splitlines() if line]
        else:
            parsed = json.loads(text) if text else None
        sent = Sent(method, unquote(path), dict(parse_qsl(query)), parsed)
        self.sent.append(sent)
        status, payload = self.answer(sent)
        headers_out = HttpHeaders(
            {
                "content-type": "application/vnd.elasticsearch+json;compatible-with=9",
                "x-elastic-product": "Elasticsearch",
            }
        )
        meta = ApiResponseMeta(status=status, http_version="1.1", headers=headers_out, duration=0.0, node=self.config)
        return NodeApiResponse(meta, json.dumps(payload).encode("utf-8"))


Scripted = tuple[ElasticsearchStore, ScriptedNode]


@pytest.fixture
def es() -> Iterator[Scripted]:
    client = Elasticsearch(
        "http://es.invalid:9200", node_class=ScriptedNode, retry_on_status=RETRY_STATUSES, max_retries=3
    )
    (node,) = client.transport.node_pool.all()
    assert isinstance(node, ScriptedNode)
    store = ElasticsearchStore(client, prefix="ww", chunk_size=500, initial_backoff=0)
    yield store, node
    node.answer = lambda sent: (200, {"_shards": {"total": 1, "successful": 1, "failed": 0}})  # close() refreshes
    store.close()


def bulk_pairs(sent: Sent) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(op, metadata, body) per action of a `_bulk` request."""
    lines = sent.body
    return [(*next(iter(lines[i].items())), lines[i + 1]) for i in range(0, len(lines), 2)]


ERRORS = {
    400: {"type": "document_parsing_exception", "reason": "[1:2] failed to parse field [published] of type [date]"},
    404: {"type": "document_missing_exception", "reason": "document missing"},
    409: {"type": "version_conflict_engine_exception", "reason": "document already exists"},
    429: {"type": "es_rejected_execution_exception", "reason": "rejected execution of coordinating operation"},
}


def bulk_answer(sent: Sent, status_of: Callable[[str, str], int]) -> tuple[int, Any]:
    items = []
    for op, meta, _ in bulk_pairs(sent):
        status = status_of(op, meta["_id"])
        item: dict[str, Any] = {"_index": "ww-x-v1", "_id": meta["_id"], "status": status}
        if status >= 300:
            item["error"] = ERRORS[status]
        else:
            item["result"] = "created" if status == 201 else "updated"
        items.append({op: item})
    return 200, {"took": 1, "errors": any(item[op]["status"] >= 300 for item in items for op in item), "items": items}


def article(article_id: str, published: datetime = T0) -> Article:
    return Article(
        id=article_id,
        url=f"https://example.org/{article_id}",
        feed_url="https://example.org/rss",
        source="VOA",
        title="Kim's sister says no summit",
        text="Kim Yo Jong said a third summit would not happen.",
        published=published,
        fetched=published,
        entities=[Entity("Kim Yo Jong", "PERSON", 0, 11, "Kim Yo Jong")],
        topics=["diplomacy"],
        quotes=[Quote("would not happen", 30, 46, "Kim Yo Jong", 0, 11, "said")],
    )


# -- templates and mappings --------------------------------------------------
def test_article_template_maps_text_for_people_and_fields_for_filters() -> None:
    template = index_template("wirewatch", SPECS["articles"])
    assert template["index_patterns"] == ["wirewatch-articles-v*"]
    assert template["priority"] == 500
    assert template["version"] == 2
    mappings = template["template"]["mappings"]
    assert mappings["dynamic"] == "strict"
    fields = mappings["properties"]
    for name in ("title", "text"):
        assert fields[name]["type"] == "text"
        assert fields[name]["analyzer"] == "english"
        assert fields[name]["fields"]["exact"] == {"type": "text", "analyzer": "standard"}
        assert fields[name]["fields"]["folded"] == {"type": "text", "analyzer": "folded"}
    assert fields["title"]["fields"]["keyword"] == {"type": "keyword", "ignore_above": 512}
    for name in ("id", "source", "entities", "speakers", "topics", "cluster_id", "duplicate_of"):
        assert fields[name]["type"] == "keyword", name
    for name in ("published", "fetched", "timestamp"):
        assert fields[name]["type"] == "date", name
    assert fields["quotes"]["properties"]["speaker"]["type"] == "keyword"
    assert template["template"]["settings"] == {
        "number_of_shards": 1,
        "auto_expand_replicas": "0-1",
        # words as SQLite's `unicode61 remove_diacritics 2` sees them: letters and digits, folded, unstemmed
        "analysis": {
            "analyzer": {
                "folded": {"type": "custom", "tokenizer": "letters_and_digits", "filter": ["lowercase", "asciifolding"]}
            },
            "tokenizer": {"letters_and_digits": {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"}},
        },
    }


def test_every_index_is_strict_and_its_own_template() -> None:
    patterns = set()
    for spec in INDICES:
        template = index_template("ww", spec)
        assert template["template"]["mappings"]["dynamic"] == "strict", spec.kind
        patterns.update(template["index_patterns"])
    assert patterns == {f"ww-{spec.kind}-v*" for spec in INDICES}
    assert {"entries", "feeds", "statements", "alerts", "dedup", "topics"} <= set(SPECS)


def test_topic_percolator_sees_title_and_text_mapped_as_on_articles() -> None:
    topics = index_template("ww", SPECS["topics"])["template"]["mappings"]["properties"]
    articles = index_template("ww", SPECS["articles"])["template"]["mappings"]["properties"]
    assert topics["query"] == {"type": "percolator"}
    assert topics["title"] == articles["title"] and topics["text"] == articles["text"]


def test_dedup_index_keeps_band_keys_as_keywords() -> None:
    fields = index_template("ww", SPECS["dedup"])["template"]["mappings"]["properties"]
    assert fields["band_keys"]["type"] == "keyword"
    assert fields["published"]["type"] == "date"


# -- setup -------------------------------------------------------------------
def test_ensure_indices_creates_templates_then_indices_behind_write_aliases(es: Scripted) -> None:
    store, node = es
    node.answer = lambda sent: (404, {"error": "alias [ww-*] missing", "status": 404}) if sent.method == "GET" else (
        200, {"acknowledged": True}
    )  # fmt: skip
    done = store.ensure_indices()
    assert set(done) == set(SPECS)
    assert node.sent[0].method == "GET" and node.sent[0].path == "/ww-*"
    assert node.sent[0].params["features"] == "aliases,mappings"
    templates = [sent for sent in node.sent if sent.path.startswith("/_index_template/")]
    creates = [sent for sent in node.sent if sent.method == "PUT" and sent.path.startswith("/ww-")]
    assert [sent.path for sent in templates] == [f"/_index_template/ww-{spec.kind}" for spec in INDICES]
    assert [sent.path for sent in creates] == [f"/ww-{spec.kind}-v{spec.version}" for spec in INDICES]
    assert creates[0].body == {"aliases": {"ww-articles": {"is_write_index": True}}}
    assert templates[0].body["template"]["mappings"]["dynamic"] == "strict"


def current_indices(leave_out: str | None = None) -> dict[str, Any]:
    """What `GET /ww-*` answers when every alias points at its current version with the current mapping."""
    answer = {}
    for spec in INDICES:
        mappings = index_template("ww", spec)["template"]["mappings"]
        fields = {name: body for name, body in mappings["properties"].items() if name != leave_out}
        answer[f"ww-{spec.kind}-v{spec.version}"] = {
            "aliases": {f"ww-{spec.kind}": {}},
            "mappings": {**mappings, "properties": fields},
        }
    return answer


def test_ensure_indices_is_one_request_when_everything_is_current(es: Scripted) -> None:
    store, node = es
    node.answer = lambda sent: (200, current_indices())
    assert store.ensure_indices() == {}
    assert len(node.sent) == 1


def test_a_field_added_to_a_current_mapping_is_put_without_setup(es: Scripted) -> None:
    store, node = es
    indices = current_indices(leave_out="processed")
    node.answer = lambda sent: (200, indices if sent.method == "GET" else {"acknowledged": True})
    assert store.ensure_indices() == {"articles": "up to date (ww-articles-v2)"}
    (mapping,) = [sent for sent in node.sent if sent.path.endswith("/_mapping")]
    assert mapping.path == "/ww-articles-v2/_mapping" and mapping.body["properties"]["processed"] == {"type": "boolean"}


def test_statement_kinds_and_times_are_put_additively_on_older_indices(es: Scripted) -> None:
    store, node = es
    indices = current_indices(leave_out="kind")  # statements before issue 12 had no kind, published, occasion
    del indices["ww-articles-v2"]["mappings"]["properties"]["quote_kinds"]
    del indices["ww-statement_reports-v1"]  # nor reports apart from their statements (issue 15)
    node.answer = lambda sent: (200, indices if sent.method == "GET" else {"acknowledged": True})
    assert store.ensure_indices() == {
        "articles": "up to date (ww-articles-v2)",
        "statements": "up to date (ww-statements-v1)",
        "statement_reports": "created ww-statement_reports-v1",
    }
    mappings = {sent.path: sent.body for sent in node.sent if sent.path.endswith("/_mapping")}
    articles, statements = mappings["/ww-articles-v2/_mapping"], mappings["/ww-statements-v1/_mapping"]
    assert articles["properties"]["quote_kinds"] == {"type": "keyword"}
    assert articles["properties"]["quotes"]["properties"]["kind"] == {"type": "keyword"}
    assert statements["properties"]["kind"] == {"type": "keyword"}
    assert statements["properties"]["published"] == {"type": "date"}
    assert statements["properties"]["occasion"] == {"type": "date", "format": "strict_date"}


def test_a_field_added_inside_an_object_is_put_additively(es: Scripted) -> None:
    store, node = es
    indices = current_indices()
    del indices["ww-statements-v1"]["mappings"]["properties"]["quotes"]["properties"]["rule"]  # before rules
    node.answer = lambda sent: (200, indices if sent.method == "GET" else {"acknowledged": True})
    assert store.ensure_indices() == {"statements": "up to date (ww-statements-v1)"}
    (put,) = [sent for sent in node.sent if sent.path.endswith("/_mapping")]
    assert put.path == "/ww-statements-v1/_mapping"
    assert put.body["properties"]["quotes"]["properties"]["rule"] == {"type": "keyword"}


def test_search_by_attribution_kind_filters_on_quote_kinds() -> None:
    body = search_request(SearchQuery(kind="full_text", collapse=False)).to_dict()
    expected = {"term": {"quote_kinds": {"value": "full_text", "case_insensitive": True}}}
    assert body["query"]["bool"]["filter"] == [expected]


def test_an_older_index_version_is_migrated_only_by_setup(es: Scripted) -> None:
    store, node = es
    aliases = current_indices()
    aliases["ww-articles-v1"] = {**aliases.pop("ww-articles-v2"), "aliases": {"ww-articles": {"is_write_index": True}}}
    node.answer = lambda sent: (200, aliases if sent.method == "GET" else {"acknowledged": True})
    with pytest.raises(IndicesNotReadyError, match="wirewatch setup"):
        store.ensure_indices()

    node.sent.clear()
    done = store.ensure_indices(migrate=True)
    assert done["articles"].startswith("migrated ww-articles-v1 -> ww-articles-v2")
    assert done["entries"] == "up to date (ww-entries-v1)"
    (reindex,) = [sent for sent in node.sent if sent.path == "/_reindex"]
    assert reindex.body == {
        "source": {"index": "ww-articles-v1"},
        "dest": {"index": "ww-articles-v2", "op_type": "create"},
        "conflicts": "proceed",
        # articles stored before attribution kinds held direct quotes only
        "script": {
            "source": "if (ctx._source.quote_kinds == null && ctx._source.quotes != null"
            " && !ctx._source.quotes.isEmpty()) { ctx._source.quote_kinds = ['direct']; }",
            "lang": "painless",
        },
    }
    assert reindex.params["wait_for_completion"] == "true"
    (swap,) = [sent for sent in node.sent if sent.path == "/_aliases"]
    assert swap.body["actions"] == [
        {"remove": {"index": "ww-articles-v1", "alias": "ww-articles"}},
        {"add": {"index": "ww-articles-v2", "alias": "ww-articles", "is_write_index": True}},
    ]
    mapping_updates = [sent.path for sent in node.sent if sent.path.endswith("/_mapping")]
    assert "/ww-entries-v1/_mapping" in mapping_updates


# -- search bodies -----------------------------------------------------------
def test_search_body_for_text_uses_both_fields_highlights_and_collapses() -> None:
    body = search_request(SearchQuery(text="summit OR talks", limit=5)).to_dict()
    fields = ["title.folded^5", "text.folded"]
    assert body["query"] == {
        "bool": {
            "should": [
                {"multi_match": {"query": "summit", "fields": fields, "type": "phrase"}},
                {"multi_match": {"query": "talks", "fields": fields, "type": "phrase"}},
            ],
            "minimum_should_match": 1,
        }
    }
    assert body["size"] == 5
    assert body["track_total_hits"] is True
    assert body["sort"][0] == "_score"
    collapse = body["collapse"]
    assert collapse["field"] == "cluster_id"
    assert collapse["inner_hits"]["size"] == 1
    # the inner hit is the cluster's best-matching copy (its snippet); the story is shown by its original
    assert collapse["inner_hits"]["sort"] == [
        "_score",
        {"published": {"order": "asc", "missing": "_last"}},
        {"id": "asc"},
    ]
    # highlighted once per cluster shown (the inner hit), analysing no more than 100,000 characters of a text
    assert "highlight" not in body
    highlight = collapse["inner_hits"]["highlight"]
    assert highlight["max_analyzed_offset"] == 100_000
    assert (highlight["fields"]["text.folded"]["pre_tags"], highlight["fields"]["text.folded"]["post_tags"]) == (
        ["<b>"],
        ["</b>"],
    )
    assert body["aggs"]["clusters"] == {"cardinality": {"field": "cluster_id", "precision_threshold": 40000}}
    assert "text" not in body["_source"]


def test_search_body_filters() -> None:
    query = SearchQuery(
        source="VOA",
        since=T0,
        until=T0 + timedelta(days=1),
        speaker="Kim Yo Jong",
        entity="Donald Trump",
        topic="diplomacy",
        collapse=False,
    )
    body = search_request(query).to_dict()
    assert "must" not in body["query"]["bool"]
    assert body["query"]["bool"]["filter"] == [
        {"term": {"source": "VOA"}},
        {"range": {"published": {"gte": "2020-07-10T06:00:00Z", "lt": "2020-07-11T06:00:00Z"}}},
        {"term": {"speakers": {"value": "Kim Yo Jong", "case_insensitive": True}}},
        {"term": {"entities": {"value": "Donald Trump", "case_insensitive": True}}},
        {"term": {"topics": {"value": "diplomacy", "case_insensitive": True}}},
    ]
    assert "collapse" not in body and "aggs" not in body
    assert body["sort"] == [{"published": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
    assert "text" not in body["_source"]  # the snippet is the highlighter's opening of the text, not the whole text
    assert body["highlight"]["fields"]["text.folded"]["no_match_size"] == 200


def test_search_text_of_operators_only_lists_everything() -> None:
    assert "query" not in search_request(SearchQuery(text=" OR AND ")).to_dict()


def test_search_body_with_one_bound_only() -> None:
    body = search_request(SearchQuery(since=T0)).to_dict()
    assert body["query"]["bool"]["filter"] == [{"range": {"published": {"gte": "2020-07-10T06:00:00Z"}}}]


def test_search_reads_collapsed_hits_cluster_sizes_and_total(es: Scripted) -> None:
    store, node = es

    def hit(article_id: str, cluster: str, snippet: str) -> dict[str, Any]:
        source = {"id": article_id, "url": f"https://x/{article_id}", "title": "t", "source": "VOA",
                  "published": "2020-07-10T06:00:00Z", "cluster_id": cluster, "entities": ["Kim Yo Jong"],
                  "topics": ["diplomacy"]}  # fmt: skip
        return {"_id": article_id, "_source": source, "highlight": {"text.folded": [snippet]}}

    def shown_by(article_id: str, cluster: str) -> dict[str, Any]:
        return {"hits": {"hits": [hit(article_id, cluster, "")]}}

    def answer(sent: Sent) -> tuple[int, Any]:
        if "aggs" in sent.body and "sizes" in sent.body["aggs"]:
            buckets = [
                # the root "ap" did not match; "vice" has no root stored, so its earliest copy "vice-1" shows it
                {"key": "ap", "doc_count": 31, "earliest": shown_by("ap", "ap"), "root": {"hit": shown_by("ap", "ap")}},
                {"key": "vice", "doc_count": 2, "earliest": shown_by("vice-1", "vice"),
                 "root": {"hit": shown_by("x", "ap")}},
            ]  # fmt: skip
            return 200, {"hits": {"hits": []}, "aggregations": {"sizes": {"buckets": buckets}}}
        outer = hit("copy", "ap", "newest")
        outer["inner_hits"] = {"first": {"hits": {"hits": [hit("copy", "ap", "a <b>summit</b>")]}}}
        alone = hit("vice", "vice", "<b>summit</b>")
        alone["inner_hits"] = {"first": {"hits": {"hits": [hit("vice", "vice", "<b>summit</b>")]}}}
        return 200, {
            "hits": {"total": {"value": 32}, "hits": [outer, alone]},
            "aggregations": {"clusters": {"value": 2}},
        }

    node.answer = answer
    result = store.search(SearchQuery(text="summit"))
    assert result.total == 2
    assert [(hit.id, hit.duplicates, hit.snippet) for hit in result.hits] == [
        ("ap", 30, "a <b>summit</b>"),  # shown by its root, with the snippet of the copy that matched
        ("vice-1", 1, "<b>summit</b>"),
    ]
    assert result.hits[0].published == T0
    sizes = node.sent[-1]
    assert sizes.body["query"] == {"bool": {"filter": [{"terms": {"cluster_id": ["ap", "vice"]}}]}}
    assert sizes.body["size"] == 0
    earliest = [{"published": {"order": "asc", "missing": "_last"}}, {"id": "asc"}]
    shown = ["id", "url", "title", "source", "published", "cluster_id", "entities", "topics"]
    assert sizes.body["aggs"]["sizes"]["aggs"] == {
        "earliest": {"top_hits": {"size": 1, "sort": earliest, "_source": shown}},
        "root": {
            "filter": {"terms": {"id": ["ap", "vice"]}},
            "aggs": {"hit": {"top_hits": {"size": 1, "sort": earliest, "_source": shown}}},
        },
    }


# -- bulk writes -------------------------------------------------------------
def test_put_articles_upserts_by_id_and_keeps_the_cluster_of_stored_copies(es: Scripted) -> None:
    store, node = es
    node.answer = lambda sent: bulk_answer(sent, lambda op, doc_id: 201 if doc_id == "a1" else 200)
    assert store.put_articles([article("a1"), article("a2")]) == 1
    (sent,) = node.sent
    assert sent.path == "/_bulk"
    actions = bulk_pairs(sent)
    assert [(op, meta["_index"], meta["_id"]) for op, meta, _ in actions] == [
        ("update", "ww-articles", "a1"),
        ("update", "ww-articles", "a2"),
    ]
    _, meta, body = actions[0]
    assert meta["retry_on_conflict"] == 3
    assert "cluster_id" not in body["doc"]  # an update never moves a stored article out of its cluster
    assert body["upsert"]["cluster_id"] == "a1"
    assert body["doc"]["speakers"] == ["Kim Yo Jong"]
    assert body["doc"]["entities"] == ["Kim Yo Jong"]
    assert body["doc"]["published"] == "2020-07-10T06:00:00Z"


def test_add_entries_claims_guids_then_creates_entries(es: Scripted) -> None:
    store, node = es
    taken_guid = _key("https://example.org/rss", "g-old")
    node.answer = lambda sent: bulk_answer(sent, lambda op, doc_id: 409 if doc_id in (taken_guid, "e-old") else 201)
    entries = [
        Entry("e1", "https://example.org/rss", "https://x/1", guid="g1"),
        Entry("e2", "https://example.org/rss", "https://x/2", guid="g-old"),
        Entry("e-old", "https://example.org/rss", "https://x/3"),
        Entry("e4", "https://example.org/rss", "https://x/4"),
    ]
    assert [entry.id for entry in store.add_entries(entries)] == ["e1", "e4"]
    guids, created = node.sent
    assert [(op, meta["_index"], meta["_id"]) for op, meta, _ in bulk_pairs(guids)] == [
        ("create", "ww-guids", _key("https://example.org/rss", "g1")),
        ("create", "ww-guids", taken_guid),
    ]
    assert [(op, meta["_id"]) for op, meta, _ in bulk_pairs(created)] == [
        ("create", "e1"),
        ("create", "e-old"),
        ("create", "e4"),
    ]


def test_feed_states_are_read_with_one_mget_and_saved_with_one_bulk(es: Scripted) -> None:
    store, node = es
    voa, vice = "https://voa.example/rss", "https://vice.example/rss"
    stored = {"url": voa, "name": "VOA", "etag": 'W/"7"', "failures": 1, "last_polled": "2020-07-10T06:00:00+00:00"}

    def answer(sent: Sent) -> tuple[int, Any]:
        if sent.path.endswith("/_mget"):
            return 200, {
                "docs": [
                    {"_index": "ww-feeds-v1", "_id": _key(voa), "found": True, "_source": stored},
                    {"_index": "ww-feeds-v1", "_id": _key(vice), "found": False},
                ]
            }
        return bulk_answer(sent, lambda op, doc_id: 200)

    node.answer = answer
    assert store.get_feeds([voa, vice, voa]) == {
        voa: FeedState(url=voa, name="VOA", etag='W/"7"', failures=1, last_polled=T0)
    }
    store.save_feeds([FeedState(url=vice, name="VICE"), FeedState(url=vice, name="VICE", failures=2)])
    mget, bulk = node.sent
    assert (mget.method, mget.path, mget.body) == ("POST", "/ww-feeds/_mget", {"ids": [_key(voa), _key(vice)]})
    assert [(op, meta["_index"], meta["_id"], body["failures"]) for op, meta, body in bulk_pairs(bulk)] == [
        ("index", "ww-feeds", _key(vice), 2)
    ]


def test_repeats_inside_one_batch_are_dropped_before_sending(es: Scripted) -> None:
    store, node = es
    node.answer = lambda sent: bulk_answer(sent, lambda op, doc_id: 201)
    feed = "https://example.org/rss"
    entries = [
        Entry("a", feed, "https://x/a"),
        Entry("b", feed, "https://x/b", guid="g"),
        Entry("c", feed, "https://x/c", guid="g"),  # same GUID as b: b wins
        Entry("a", feed, "https://x/a-again"),  # same id as the first: the first wins
        Entry("d", feed, "https://x/d"),
    ]
    added = store.add_entries(entries)
    assert [(entry.id, entry.url) for entry in added] == [
        ("a", "https://x/a"),
        ("b", "https://x/b"),
        ("d", "https://x/d"),
    ]
    guids, created = node.sent
    assert [meta["_id"] for _, meta, _ in bulk_pairs(guids)] == [_key(feed, "g")]
    assert [meta["_id"] for _, meta, _ in bulk_pairs(created)] == ["a", "b", "d"]


def test_a_rejected_429_document_is_retried_and_written(es: Scripted) -> None:
    store, node = es
    rejected = {"a2"}

    def status(op: str, doc_id: str) -> int:
        if doc_id in rejected:
            rejected.discard(doc_id)
            return 429
        return 201

    node.answer = lambda sent: bulk_answer(sent, status)
    assert store.put_articles([article("a1"), article("a2"), article("a3")]) == 3
    first, retry = node.sent
    assert [meta["_id"] for _, meta, _ in bulk_pairs(first)] == ["a1", "a2", "a3"]
    assert [meta["_id"] for _, meta, _ in bulk_pairs(retry)] == ["a2"]


def test_a_whole_request_429_is_retried_by_the_transport(es: Scripted) -> None:
    store, node = es
    answers = iter([(429, {"error": ERRORS[429], "status": 429})])
    node.answer = lambda sent: next(answers, None) or bulk_answer(sent, lambda op, doc_id: 201)
    assert store.put_articles([article("a1")]) == 1
    assert [sent.path for sent in node.sent] == ["/_bulk", "/_bulk"]


def test_one_bad_document_is_reported_by_id_and_the_rest_are_written(es: Scripted) -> None:
    store, node = es
    node.answer = lambda sent: bulk_answer(sent, lambda op, doc_id: 400 if doc_id == "bad" else 201)
    with pytest.raises(StoreWriteError) as caught:
        store.put_articles([article("a1"), article("bad"), article("a3")])
    assert caught.value.index == "ww-articles"
    assert list(caught.value.failures) == ["bad"]
    assert "document_parsing_exception" in caught.value.failures["bad"]
    assert "bad: document_parsing_exception" in str(caught.value)
    (sent,) = node.sent
    assert [meta["_id"] for _, meta, _ in bulk_pairs(sent)] == ["a1", "bad", "a3"]


def test_save_dedup_writes_keys_then_relabels_articles_ignoring_missing_ones(es: Scripted) -> None:
    from pipeline.store import DedupRecord

    store, node = es
    node.answer = lambda sent: bulk_answer(sent, lambda op, doc_id: 404 if op == "update" and doc_id == "gone" else 201)
    records = [DedupRecord("a1", "a1", T0, "h1", ("k1", "k2")), DedupRecord("gone", "a1", T0, "h2", ("k1",))]
    store.save_dedup(records, {"a1": None, "gone": "a1"})
    keys, relabel = node.sent
    assert next((op, meta["_index"], meta["_id"], body) for op, meta, body in bulk_pairs(keys)) == (
        "index",
        "ww-dedup",
        "a1",
        {
            "article_id": "a1",
            "cluster_id": "a1",
            "body_hash": "h1",
            "published": "2020-07-10T06:00:00Z",
            "band_keys": ["k1", "k2"],
        },
    )
    assert [(op, meta["_id"], body) for op, meta, body in bulk_pairs(relabel)] == [
        ("update", "a1", {"doc": {"cluster_id": "a1", "duplicate_of": None}}),
        ("update", "gone", {"doc": {"cluster_id": "a1", "duplicate_of": "a1"}}),
    ]
    # The next batch's dedupe task is another process: it must find these keys, so both wait for a refresh.
    assert (keys.params["refresh"], relabel.params["refresh"]) == ("wait_for", "wait_for")


def test_writes_the_next_task_searches_are_refreshed_once_when_the_store_closes() -> None:
    """Entries are written one feed at a time without waiting; closing refreshes each written index once."""
    client = Elasticsearch("http://es.invalid:9200", node_class=ScriptedNode)
    (node,) = client.transport.node_pool.all()
    assert isinstance(node, ScriptedNode)
    store = ElasticsearchStore(client, prefix="ww")
    node.answer = lambda sent: (
        bulk_answer(sent, lambda op, doc_id: 201) if sent.path == "/_bulk" else (200, {"_shards": {"failed": 0}})
    )
    store.add_entries([Entry("e1", "https://example.org/rss", "https://x/1", guid="g1")])
    store.add_entries([Entry("e2", "https://example.org/rss", "https://x/2", guid="g2")])
    assert all("refresh" not in sent.params for sent in node.sent)  # a feed's poll never waits on a refresh
    node.sent.clear()
    store.close()
    assert [(sent.method, sent.path) for sent in node.sent] == [("POST", "/ww-entries,ww-guids/_refresh")]


def test_a_store_that_wrote_nothing_closes_without_a_request(es: Scripted) -> None:
    store, node = es
    store.close()
    assert node.sent == []


def test_new_articles_are_upserted_unprocessed_and_marked_by_partial_update(es: Scripted) -> None:
    store, node = es
    node.answer = lambda sent: bulk_answer(sent, lambda op, doc_id: 404 if doc_id == "gone" else 200)
    store.put_articles([article("a1")])
    store.mark_processed(["a1", "gone"])
    upsert, marks = node.sent
    _, _, body = bulk_pairs(upsert)[0]
    assert body["upsert"]["processed"] is False and "processed" not in body["doc"]
    assert [(op, meta["_id"], meta["retry_on_conflict"], body) for op, meta, body in bulk_pairs(marks)] == [
        ("update", "a1", 3, {"doc": {"processed": True}}),
        ("update", "gone", 3, {"doc": {"processed": True}}),
    ]


def test_unprocessed_articles_query(es: Scripted) -> None:
    store, node = es
    node.answer = lambda sent: (200, {"hits": {"hits": [{"_source": {"id": "a1"}, "sort": [1, "a1"]}]}})
    assert store.unprocessed_articles(T0, 50) == ["a1"]
    (sent,) = node.sent
    assert sent.body["query"]["bool"]["filter"] == [
        {"term": {"processed": False}},
        {"range": {"fetched": {"lt": "2020-07-10T06:00:00Z"}}},
    ]
    assert sent.body["sort"] == ["fetched", "id"] and sent.body["size"] == 50


# -- reads after writes ------------------------------------------------------
def test_a_search_after_a_write_refreshes_that_index_once(es: Scripted) -> None:
    store, node = es
    node.answer = lambda sent: (
        bulk_answer(sent, lambda op, doc_id: 201) if sent.path == "/_bulk" else (200, {"count": 1, "_shards": {}})
    )
    store.put_articles([article("a1")])
    assert store.count_articles() == 1
    assert store.count_articles() == 1
    assert [(sent.method, sent.path) for sent in node.sent] == [
        ("PUT", "/_bulk"),
        ("POST", "/ww-articles/_refresh"),
        ("POST", "/ww-articles/_count"),
        ("POST", "/ww-articles/_count"),
    ]


def test_dedup_candidates_query_band_keys_in_the_window(es: Scripted) -> None:
    store, node = es
    sources = [
        {"article_id": "a2", "cluster_id": "a1", "body_hash": "h2", "published": "2020-07-10T07:00:00Z",
         "band_keys": ["k2", "k8"]},
        {"article_id": "a1", "cluster_id": "a1", "body_hash": "h1", "published": "2020-07-10T06:00:00Z",
         "band_keys": ["k1", "k7", "k2"]},
    ]  # fmt: skip
    node.answer = lambda sent: (
        200,
        {"hits": {"hits": [{"_source": src, "sort": [0, src["article_id"]]} for src in sources]}},
    )
    found = store.dedup_candidates(["k1", "k2", "k1"], since=T0 - timedelta(days=7))
    assert [(record.article_id, record.cluster_id, record.band_keys) for record in found] == [
        ("a1", "a1", ("k1", "k2")),
        ("a2", "a1", ("k2",)),
    ]
    assert found[0].published == T0 and found[0].body_hash == "h1"
    (search,) = node.sent
    assert search.path == "/ww-dedup/_search"
    assert search.body["query"]["bool"]["filter"] == [
        {"terms": {"band_keys": ["k1", "k2"]}},
        {"range": {"published": {"gte": "2020-07-03T06:00:00Z"}}},
    ]
    assert search.body["sort"] == ["published", "article_id"]


def test_merge_refreshes_then_relabels_articles_and_dedup_records_in_one_request(es: Scripted) -> None:
    """The refresh comes first even though this store wrote nothing: the records may be another task's."""
    store, node = es
    node.answer = lambda sent: (200, {"updated": 3, "version_conflicts": 0})
    store.merge_clusters("a", ["b", "a", "c"])
    refresh, sent = node.sent
    assert (refresh.method, refresh.path) == ("POST", "/ww-articles,ww-dedup/_refresh")
    assert sent.path == "/ww-articles,ww-dedup/_update_by_query"
    assert sent.body["query"] == {"terms": {"cluster_id": ["b", "c"]}}
    assert sent.body["script"]["params"] == {"into": "a"}
    assert (sent.body["conflicts"], sent.params["refresh"]) == ("proceed", "true")


def test_merge_goes_again_while_documents_change_under_it(es: Scripted) -> None:
    store, node = es
    answers = iter([(200, {"updated": 1, "version_conflicts": 2}), (200, {"updated": 2, "version_conflicts": 0})])
    node.answer = lambda sent: next(answers) if "_update_by_query" in sent.path else (200, {"_shards": {}})
    store.merge_clusters("a", ["b"])
    assert [sent.path for sent in node.sent] == [
        "/ww-articles,ww-dedup/_refresh",
        "/ww-articles,ww-dedup/_update_by_query",
        "/ww-articles,ww-dedup/_refresh",
        "/ww-articles,ww-dedup/_update_by_query",
    ]


def test_prune_deletes_old_keys_by_query(es: Scripted) -> None:
    store, node = es
    node.answer = lambda sent: (200, {"deleted": 4})
    assert store.prune_dedup(T0) == 4
    (sent,) = node.sent
    assert sent.path == "/ww-dedup/_delete_by_query"
    assert sent.body == {"query": {"range": {"published": {"lt": "2020-07-10T06:00:00Z"}}}}
    assert sent.params["refresh"] == "true"


# -- alert ledger ------------------------------------------------------------
def test_claim_creates_once_and_a_conflict_means_another_worker_has_it(es: Scripted) -> None:
    store, node = es
    answers = iter([(201, {"result": "created", "_seq_no": 0, "_primary_term": 1}), (409, {"error": ERRORS[409]})])
    node.answer = lambda sent: next(answers)
    record = AlertRecord("kim", "s1", "<m@w>", claimed_at=T0)
    assert store.claim_alert(record) is True
    assert store.claim_alert(record) is False
    assert [sent.path for sent in node.sent] == [f"/ww-alerts/_create/{_key('kim', 's1')}"] * 2
    assert node.sent[0].method == "PUT"
    assert node.sent[0].body["claimed_at"] == "2020-07-10T06:00:00Z"


def test_reclaim_is_a_compare_and_set_on_seq_no(es: Scripted) -> None:
    store, node = es
    stored = {"rule": "kim", "statement_id": "s1", "message_id": "<m@w>", "state": "pending",
              "claimed_at": "2020-07-10T06:00:00.000000Z", "attempts": 0}  # fmt: skip
    got = {"found": True, "_id": "x", "_seq_no": 7, "_primary_term": 2, "_source": stored}
    writes = iter([(200, {"result": "updated", "_seq_no": 8, "_primary_term": 2}), (409, {"error": ERRORS[409]})])
    node.answer = lambda sent: (200, got) if sent.method == "GET" else next(writes)

    winner = AlertRecord("kim", "s1", "<m@w>", claimed_at=T0)
    later = T0 + timedelta(minutes=10)
    assert store.reclaim_alert(winner, later) is True
    assert winner.claimed_at == later
    write = node.sent[1]
    assert write.method == "PUT" and write.path == f"/ww-alerts/_doc/{_key('kim', 's1')}"
    assert (write.params["if_seq_no"], write.params["if_primary_term"]) == ("7", "2")
    assert write.body["claimed_at"] == "2020-07-10T06:10:00Z"

    loser = AlertRecord("kim", "s1", "<m@w>", claimed_at=T0)
    assert store.reclaim_alert(loser, later) is False
    assert loser.claimed_at == T0

    node.sent.clear()
    moved_on = AlertRecord("kim", "s1", "<m@w>", claimed_at=T0 - timedelta(minutes=1))
    assert store.reclaim_alert(moved_on, later) is False
    assert [sent.method for sent in node.sent] == ["GET"]  # a different claimed_at: no write at all


def test_revive_is_a_compare_and_set_on_seq_no_from_dead(es: Scripted) -> None:
    store, node = es
    stored = {"rule": "kim", "statement_id": "s1", "message_id": "<m@w>", "state": "dead", "attempts": 3,
              "claimed_at": "2020-07-10T06:00:00.000000Z", "retry_until": "2020-07-12T06:00:00Z"}  # fmt: skip
    got = {"found": True, "_id": "x", "_seq_no": 9, "_primary_term": 1, "_source": stored}
    node.answer = lambda sent: (200, got) if sent.method == "GET" else (200, {"result": "updated"})
    record = AlertRecord("kim", "s1", "<m@w>", state="dead", claimed_at=T0)
    later = T0 + timedelta(days=3)
    assert store.revive_alert(record, later) is True
    write = node.sent[1]
    assert (write.params["if_seq_no"], write.params["if_primary_term"]) == ("9", "1")
    assert {key: write.body[key] for key in ("state", "claimed_at", "next_attempt", "retry_until", "attempts")} == {
        "state": "failed",
        "claimed_at": "2020-07-13T06:00:00Z",
        "next_attempt": "2020-07-13T06:00:00Z",
        "retry_until": None,
        "attempts": 3,
    }
    node.sent.clear()
    got["_source"] = {**stored, "state": "sent"}
    assert store.revive_alert(AlertRecord("kim", "s1", "<m@w>", claimed_at=T0), later) is False
    assert [sent.method for sent in node.sent] == ["GET"]  # sent is final: no write at all


def test_entry_failures_query_and_counts(es: Scripted) -> None:
    store, node = es
    failed = [("https://example.org/e3", "HTTP 404"), ("https://example.org/e2", "HTTP 404"),
              ("https://example.org/e1", "timed out after 20s")]  # fmt: skip
    hits = [{"_source": {"url": url, "last_error": reason}, "sort": [n, url]} for n, (url, reason) in enumerate(failed)]
    node.answer = lambda sent: (200, {"hits": {"hits": hits}})
    failures = store.entry_failures("https://example.org/rss", recent=2)
    assert failures.reasons == [("HTTP 404", 2), ("timed out after 20s", 1)]
    assert failures.recent == failed[:2]
    (sent,) = node.sent
    assert sent.path == "/ww-entries/_search"
    assert sent.body["query"]["bool"]["filter"] == [
        {"term": {"feed_url": "https://example.org/rss"}},
        {"exists": {"field": "last_error"}},
    ]
    assert sent.body["sort"] == [{"discovered": {"order": "desc"}}, "id"]


def test_alerts_to_retry_query(es: Scripted) -> None:
    store, node = es
    node.answer = lambda sent: (200, {"hits": {"hits": []}})
    assert store.alerts_to_retry(T0, stale_before=T0 - timedelta(minutes=5)) == []
    (sent,) = node.sent
    assert sent.body["query"]["bool"]["filter"] == [
        {
            "bool": {
                "should": [
                    {"bool": {"must": [{"term": {"state": "pending"}},
                                       {"range": {"claimed_at": {"lt": "2020-07-10T05:55:00Z"}}}]}},
                    {"bool": {"must": [{"term": {"state": "failed"}},
                                       {"range": {"next_attempt": {"lte": "2020-07-10T06:00:00Z"}}}]}},
                ]
            }
        }
    ]  # fmt: skip
    assert sent.body["sort"] == ["claimed_at", "rule", "statement_id"]


# -- topics through the percolator -------------------------------------------
def test_topic_queries_are_stored_as_percolator_queries_and_stale_ones_removed(es: Scripted) -> None:
    store, node = es
    node.answer = lambda sent: (
        bulk_answer(sent, lambda op, doc_id: 201) if sent.path == "/_bulk" else (200, {"deleted": 1})
    )
    assert sync_topic_queries(store, {"denuclearization": "denucleari*", "summits": '"summit talks" OR summit*'}) == 2
    bulk, cleanup = node.sent
    (op, meta, body), _ = bulk_pairs(bulk)
    assert (op, meta["_index"], meta["_id"]) == ("index", "ww-topics", "denuclearization")
    assert body == {
        "name": "denuclearization",
        "order": 0,
        "query": {
            "bool": {
                "should": [
                    {"prefix": {"title.folded": {"value": "denucleari"}}},
                    {"prefix": {"text.folded": {"value": "denucleari"}}},
                ],
                "minimum_should_match": 1,
            }
        },
    }
    assert cleanup.path == "/ww-topics/_delete_by_query"
    assert cleanup.body == {"query": {"bool": {"must_not": [{"ids": {"values": ["denuclearization", "summits"]}}]}}}


def test_a_bad_topic_query_is_refused_before_anything_is_sent(es: Scripted) -> None:
    store, node = es
    with pytest.raises(ValueError, match="topic 'broken'"):
        sync_topic_queries(store, {"broken": "() OR"})
    assert node.sent == []


def test_percolate_sends_the_article_and_returns_topic_names_in_order(es: Scripted) -> None:
    store, node = es
    hits = [{"_source": {"name": "diplomacy"}}, {"_source": {"name": "denuclearization"}}]
    node.answer = lambda sent: (200, {"hits": {"hits": hits}})
    assert percolate_topics(store, article("a1")) == ["diplomacy", "denuclearization"]
    (sent,) = node.sent
    assert sent.path == "/ww-topics/_search"
    assert sent.body["query"] == {
        "percolate": {
            "field": "query",
            "document": {
                "title": "Kim's sister says no summit",
                "text": "Kim Yo Jong said a third summit would not happen.",
            },
        }
    }
    assert sent.body["sort"] == ["order"]


# -- least privilege ---------------------------------------------------------
def test_setup_creates_a_pipeline_role_limited_to_the_prefix_and_a_user_holding_it(es: Scripted) -> None:
    from pipeline.store.elasticsearch import ensure_pipeline_user

    store, node = es
    node.answer = lambda sent: (200, {"role": {"created": True}} if "/role/" in sent.path else {"created": True})
    assert ensure_pipeline_user(store, "wirewatch", "s3cret-pw") == {
        "user": "wirewatch",
        "role": "wirewatch",
        "indices": "ww-*",
    }
    role, user = node.sent
    assert (role.method, role.path) == ("PUT", "/_security/role/wirewatch")
    assert role.body == {
        "cluster": [],
        "indices": [{"names": ["ww-*"], "privileges": ["read", "write", "view_index_metadata", "maintenance"]}],
        "metadata": {"managed_by": "wirewatch setup"},
    }
    assert (user.method, user.path) == ("PUT", "/_security/user/wirewatch")
    assert user.body == {
        "password": "s3cret-pw",
        "roles": ["wirewatch"],
        "full_name": "wirewatch pipeline",
        "enabled": True,
    }


def test_the_contract_suite_deletes_its_indices_by_name_never_by_wildcard(es: Scripted) -> None:
    """`action.destructive_requires_name` (the default since 8.0) refuses DELETE of `prefix-*`."""
    from tests.test_store_contract import delete_by_name

    store, node = es
    listed: dict[str, Any] = {
        "ww-articles-v3": {"aliases": {}, "mappings": {}, "settings": {}},
        "ww-alerts-v1": {"aliases": {}, "mappings": {}, "settings": {}},
    }
    node.answer = lambda sent: (200, listed) if sent.method == "GET" else (200, {"acknowledged": True})
    delete_by_name(store)
    listing, delete, *templates = node.sent
    assert (listing.method, listing.path) == ("GET", "/ww-*")
    assert (delete.method, delete.path) == ("DELETE", "/ww-alerts-v1,ww-articles-v3")
    assert {(sent.method, sent.path) for sent in templates} == {
        ("DELETE", f"/_index_template/ww-{spec.kind}") for spec in INDICES
    }
    assert not any("*" in sent.path for sent in [delete, *templates])


# -- alert ledger: conditional updates ------------------------------------------
def test_every_ledger_update_is_conditional_on_the_claims_seq_no(es: Scripted) -> None:
    store, node = es
    answers = iter(
        [
            (201, {"result": "created", "_seq_no": 4, "_primary_term": 1}),
            (200, {"result": "updated", "_seq_no": 5, "_primary_term": 1}),
            (200, {"result": "updated", "_seq_no": 6, "_primary_term": 1}),
        ]
    )
    node.answer = lambda sent: next(answers)
    record = AlertRecord("kim", "s1", "<m@w>", claimed_at=T0)
    assert store.claim_alert(record) is True
    record.state, record.attempts = "failed", 1
    store.update_alert(record)
    record.state = "sent"
    store.update_alert(record)
    claim, first, second = node.sent
    assert claim.path == f"/ww-alerts/_create/{_key('kim', 's1')}"
    assert (first.method, first.path) == ("POST", f"/ww-alerts/_update/{_key('kim', 's1')}")
    assert (first.params["if_seq_no"], first.params["if_primary_term"]) == ("4", "1")
    assert (second.params["if_seq_no"], second.params["if_primary_term"]) == ("5", "1")  # the first update's
    assert "retry_on_conflict" not in first.params  # Elasticsearch refuses it beside if_seq_no
    doc = first.body["doc"]
    assert {key: doc[key] for key in ("state", "attempts", "claimed_at")} == {
        "state": "failed",
        "attempts": 1,
        "claimed_at": "2020-07-10T06:00:00Z",
    }
    assert "rule" not in doc and "statement_id" not in doc  # the row's identity is never rewritten


def test_a_worker_whose_claim_was_taken_over_leaves_the_new_owners_state_alone(es: Scripted) -> None:
    store, node = es
    answers = iter(
        [
            (201, {"result": "created", "_seq_no": 4, "_primary_term": 1}),
            (409, {"error": ERRORS[409], "status": 409}),  # another worker reclaimed it: seq_no moved on
        ]
    )
    node.answer = lambda sent: next(answers)
    record = AlertRecord("kim", "s1", "<m@w>", claimed_at=T0)
    assert store.claim_alert(record) is True
    record.state = "sent"
    store.update_alert(record)  # no exception: the late worker's outcome is dropped, the row stays the other's
    assert [sent.method for sent in node.sent] == ["PUT", "POST"]
    assert node.sent[1].params["if_seq_no"] == "4"


def test_an_update_of_a_row_this_store_never_claimed_compares_against_what_it_reads(es: Scripted) -> None:
    store, node = es
    stored = {"rule": "kim", "statement_id": "s1", "message_id": "<m@w>", "state": "failed",
              "claimed_at": "2020-07-10T06:00:00Z", "attempts": 2}  # fmt: skip
    node.answer = lambda sent: (
        (200, {"found": True, "_id": "x", "_seq_no": 9, "_primary_term": 3, "_source": stored})
        if sent.method == "GET"
        else (200, {"result": "updated", "_seq_no": 10, "_primary_term": 3})
    )
    store.update_alert(AlertRecord("kim", "s1", "<m@w>", state="dead", claimed_at=T0, attempts=2))
    read, write = node.sent
    assert read.method == "GET"
    assert (write.params["if_seq_no"], write.params["if_primary_term"]) == ("9", "3")


def test_statements_by_speaker_match_any_hyphen_or_space_spelling(es: Scripted) -> None:
    """ "Moon Jae In" finds the statements stored as "Moon Jae-in" too, case folded, as SQLite matches them."""
    store, node = es
    node.answer = lambda sent: (200, {"hits": {"hits": []}})
    assert store.list_statements(speaker="Moon Jae In") == []
    (sent,) = [sent for sent in node.sent if sent.path.endswith("/_search")]
    (speaker_filter,) = sent.body["query"]["bool"]["filter"]
    spelled = [term["term"]["speaker"] for term in speaker_filter["bool"]["should"]]
    assert spelled == [
        {"value": "Moon Jae In", "case_insensitive": True},
        {"value": "Moon Jae-In", "case_insensitive": True},
        {"value": "Moon-Jae In", "case_insensitive": True},
        {"value": "Moon-Jae-In", "case_insensitive": True},
    ]
    assert speaker_filter["bool"]["minimum_should_match"] == 1


# -- statements and their reports (issue 15) ----------------------------------
V1_STATEMENT = {  # a statement document from before reports had an index of their own: it holds them
    "id": "s1",
    "speaker": "Kim Yo Jong",
    "first_seen": "2020-07-10T06:00:00Z",
    "updated": "2020-07-10T06:00:00Z",
    "text": "no summit this year",
    "quotes": [
        {"text": "no summit this year", "article_id": "ap", "article_url": "https://example.org/ap", "source": "AP",
         "title": "t", "published": "2020-07-10T06:00:00Z", "context": ""},
    ],
}  # fmt: skip


def report_doc(article_id: str, position: int, attached: str = "2020-07-10T08:00:00Z") -> dict[str, Any]:
    return {
        "statement_id": "s1", "wording": "w", "reported": "2020-07-10T07:00:00Z", "attached": attached,
        "position": position, "report_id": f"r-{article_id}", "text": "no summit this year",
        "article_id": article_id, "article_url": f"https://example.org/{article_id}", "source": article_id.upper(),
        "title": "t", "published": "2020-07-10T07:00:00Z", "context": "", "kind": "direct",
        "fetched": None, "rule": "said",
    }  # fmt: skip


def test_a_statement_is_saved_as_its_reports_created_once_then_its_own_fields(es: Scripted) -> None:
    store, node = es
    stored = _key("s1", "ap", "no summit")
    node.answer = lambda sent: (
        bulk_answer(sent, lambda op, doc_id: 409 if doc_id == stored else 201)
        if sent.path == "/_bulk"
        else (201, {"_id": "s1", "result": "created"})
    )
    quotes = [
        StatementQuote("no summit", "ap", "https://example.org/ap", "AP", "t", T0),
        StatementQuote("no summit", "vice", "https://example.org/vice", "VICE", "t", None, "", "direct", T0),
    ]
    store.save_statement(Statement("s1", "Kim Yo Jong", T0, "no summit", quotes, updated=T0))
    bulk, put = node.sent
    assert (bulk.path, put.method, put.path) == ("/_bulk", "PUT", "/ww-statements/_doc/s1")
    created = bulk_pairs(bulk)
    assert [(op, meta["_index"], meta["_id"]) for op, meta, _ in created] == [
        ("create", "ww-statement_reports", _key("s1", "ap", "no summit")),  # stored already (409): kept as it was
        ("create", "ww-statement_reports", _key("s1", "vice", "no summit")),
    ]
    doc = created[1][2]
    assert (doc["statement_id"], doc["wording"], doc["position"]) == ("s1", _key("s1", "no summit"), 1)
    assert (doc["published"], doc["reported"], doc["report_id"]) == (None, "2020-07-10T06:00:00Z", created[1][1]["_id"])
    assert "quotes" not in put.body and put.body["text"] == "no summit"


def test_candidates_take_the_earliest_report_of_each_wording_from_collapse_and_the_article_s_own(
    es: Scripted,
) -> None:
    store, node = es

    def answer(sent: Sent) -> tuple[int, Any]:
        if sent.path == "/ww-statements/_search":
            return 200, {"hits": {"hits": [{"_source": V1_STATEMENT, "sort": [0, "s1"]}]}}
        if "collapse" in sent.body:
            return 200, {"hits": {"hits": [{"_source": report_doc("copy1", 3)}]}}
        return 200, {"hits": {"hits": [{"_source": report_doc("mine", 0), "sort": ["r-mine"]}]}}

    node.answer = answer
    (found,) = store.statement_candidates("Kim Yo Jong", None, 50, "mine")
    # the v1 document's own report first, then the others in the order they were attached
    assert [quote.article_id for quote in found.quotes] == ["ap", "mine", "copy1"]
    assert found.quotes[1].rule == "said" and found.quotes[0].rule is None
    collapsed, own = [sent for sent in node.sent if sent.path == "/ww-statement_reports/_search"]
    assert collapsed.body["collapse"] == {"field": "wording"}
    assert collapsed.body["sort"] == [{"reported": {"order": "asc", "missing": "_last"}}, "article_id"]
    assert collapsed.body["query"]["bool"]["filter"] == [{"terms": {"statement_id": ["s1"]}}]
    assert (collapsed.body["from"], collapsed.body["size"]) == (0, 1000)
    assert own.body["query"]["bool"]["filter"] == [
        {"terms": {"statement_id": ["s1"]}},
        {"term": {"article_id": "mine"}},
    ]


def test_a_listed_statement_shows_every_report_once_with_a_v1_document_s_own_first(es: Scripted) -> None:
    store, node = es

    def answer(sent: Sent) -> tuple[int, Any]:
        if sent.path == "/ww-statements/_search":
            return 200, {"hits": {"hits": [{"_source": V1_STATEMENT, "sort": [0, "s1"]}]}}
        moved = report_doc("ap", 0, "2020-07-10T09:00:00Z")  # saved since: its report was moved out, once
        docs = [report_doc("b", 1), moved, report_doc("a", 0)]
        return 200, {"hits": {"hits": [{"_source": doc, "sort": [doc["report_id"]]} for doc in docs]}}

    node.answer = answer
    (listed,) = store.list_statements("Kim Yo Jong")
    assert [quote.article_id for quote in listed.quotes] == ["ap", "a", "b"]


# -- regrouping a speaker's later articles (statements independent of batching) ------------------------------
def test_a_speakers_grouped_articles_are_one_paged_search_over_every_spelling_case_blind(es: Scripted) -> None:
    store, node = es
    hits = [
        {"_source": {"id": "a1", "published": None, "fetched": "2020-07-10T07:00:00Z", "speakers": ["MOON JAE-IN"]},
         "sort": ["a1"]},
        {"_source": {"id": "a2", "published": "2020-07-10T06:30:00Z", "fetched": "2020-07-10T09:00:00Z",
                     "speakers": ["Kim Yo Jong", "Moon Jae In"]}, "sort": ["a2"]},
    ]  # fmt: skip
    node.answer = lambda sent: (200, {"hits": {"hits": hits}})
    found = store.speaker_articles(["Moon Jae-in"], T0, T0 + timedelta(hours=5))
    assert found == [  # the speaker as each article names them; Kim Yo Jong, also named in a2, is not asked for
        ("MOON JAE-IN", T0 + timedelta(hours=1), "a1"),  # no publication time: its fetch time
        ("Moon Jae In", T0 + timedelta(minutes=30), "a2"),
    ]
    (sent,) = node.sent
    assert sent.path == "/ww-articles/_search"
    spellings, window, processed = sent.body["query"]["bool"]["filter"]
    assert [term["term"]["speakers"] for term in spellings["bool"]["should"]] == [
        {"value": "Moon Jae in", "case_insensitive": True},
        {"value": "Moon Jae-in", "case_insensitive": True},
        {"value": "Moon-Jae in", "case_insensitive": True},
        {"value": "Moon-Jae-in", "case_insensitive": True},
    ]
    bounds = {"gte": "2020-07-10T06:00:00Z", "lte": "2020-07-10T11:00:00Z"}
    published = {"range": {"published": bounds}}
    unpublished = {
        "bool": {"must_not": [{"exists": {"field": "published"}}], "filter": [{"range": {"fetched": bounds}}]}
    }
    assert window["bool"]["should"] in ([published, unpublished], [unpublished, published])  # either order
    assert processed == {"term": {"processed": True}}
    assert sent.body["sort"] == ["id"] and sent.body["_source"] == ["id", "published", "fetched", "speakers"]


def test_removing_statements_deletes_reports_then_statements_and_reads_back_their_claims(es: Scripted) -> None:
    store, node = es
    claim = {"rule": "speaker:Kim Yo Jong", "statement_id": "s1", "message_id": "<m@wirewatch>", "state": "sent",
             "claimed_at": "2020-07-10T06:00:00Z", "attempts": 1}  # fmt: skip
    node.answer = lambda sent: (
        (200, {"hits": {"hits": [{"_source": claim, "_seq_no": 4, "_primary_term": 1, "sort": ["r", "s1"]}]}})
        if sent.path.endswith("/_search")
        else (200, {"deleted": 1, "failures": []})
    )
    (found,) = store.delete_statements(["s1", "s2"])
    assert (found.rule, found.statement_id, found.message_id, found.state) == (
        "speaker:Kim Yo Jong", "s1", "<m@wirewatch>", "sent"
    )  # fmt: skip
    reports, statements, claims = node.sent
    assert [(sent.path, sent.body["query"]) for sent in (reports, statements)] == [
        ("/ww-statement_reports/_delete_by_query", {"terms": {"statement_id": ["s1", "s2"]}}),
        ("/ww-statements/_delete_by_query", {"terms": {"id": ["s1", "s2"]}}),
    ]
    assert reports.params == {"conflicts": "proceed", "refresh": "true"}
    assert claims.path == "/ww-alerts/_search"
    assert claims.body["query"]["bool"]["filter"] == [{"terms": {"statement_id": ["s1", "s2"]}}]
