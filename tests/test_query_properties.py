"""The query language, by property: random queries over random small documents.

- SQLite's hits equal the Python predicate's (`pipeline.query.matcher`), through the
  whole `search` path: text -> parse -> FTS5 MATCH -> hits.
- No text a user can type raises anywhere: parsing, SQLite, the predicate, the
  Elasticsearch request (sent through the real client).
- The Elasticsearch rendering of every tree is a well-formed query of the kinds it
  may use, sent through the client's own serialisation, and it means what the tree
  means: a small interpreter of the JSON sent gives the predicate's answer on every
  document. With WIREWATCH_ES_URL set, a live cluster's hits equal SQLite's.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch.dsl import Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config import StoreConfig
from pipeline.query import And, Document, Node, Not, Or, Term, describe, matcher, parse, to_fts5, words
from pipeline.records import Article
from pipeline.store import SearchQuery, open_store
from pipeline.store.sqlite import SQLiteStore
from tests.test_store_es_requests import ScriptedNode

# Words with case and diacritic variants, shared prefixes and a stop word, so that
# random queries hit, miss and fold often.
VOCABULARY = [
    "Kim", "kim", "summit", "Summit", "summits", "talks", "nuclear", "denuclearization", "Café", "cafe",
    "Zürich", "zurich", "bank", "banks", "banking", "rate", "rates", "interest", "the", "U.S.", "naïve",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", ", ", ". ", "-", "\n", "'", " (", ") "]
FOLDED = sorted({token for word in VOCABULARY for token in words(word)})
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    # the scripted client is reused across examples on purpose: each example reads only its own requests
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@st.composite
def texts(draw: st.DrawFn, most: int) -> str:
    chosen = draw(st.lists(st.sampled_from(VOCABULARY), max_size=most))
    glue = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(chosen), max_size=len(chosen)))
    return "".join(word + sep for word, sep in zip(chosen, glue, strict=True))


documents = st.lists(st.tuples(texts(4), texts(12)), min_size=1, max_size=8)


@st.composite
def terms(draw: st.DrawFn) -> Term:
    tokens = draw(st.lists(st.sampled_from(FOLDED), min_size=1, max_size=3))
    prefix = draw(st.booleans())
    if prefix:  # a prefix of the last word, sometimes the whole word
        last = tokens[-1]
        tokens[-1] = last[: draw(st.integers(min_value=1, max_value=len(last)))]
    return Term(tuple(tokens), prefix)


trees: st.SearchStrategy[Node] = st.recursive(
    terms(),
    lambda children: st.one_of(
        children.map(Not),
        st.lists(children, min_size=2, max_size=3).map(lambda parts: And(tuple(parts))),
        st.lists(children, min_size=2, max_size=3).map(lambda parts: Or(tuple(parts))),
    ),
    max_leaves=6,
)

# What a user might type: words, operators in any place, quotes, parentheses, FTS5 and Lucene syntax.
SYNTAX = ["AND", "OR", "NOT", "(", ")", '"', "*", "-", ":", "^", "~", "{", "}", "NEAR", "+", "é", " "]
typed = st.lists(st.sampled_from([*VOCABULARY, *SYNTAX]), max_size=12).map(" ".join) | st.text(max_size=30)


def store_with(docs: list[tuple[str, str]]) -> SQLiteStore:
    store = SQLiteStore(":memory:")
    store.put_articles(
        Article(id=f"d{i}", url=f"u{i}", feed_url="f", source="s", title=title, text=text)
        for i, (title, text) in enumerate(docs)
    )
    return store


def expected_hits(node: Node, docs: list[tuple[str, str]]) -> set[str]:
    predicate = matcher(node)
    return {f"d{i}" for i, (title, text) in enumerate(docs) if predicate(Document(title, text))}


@SETTINGS
@given(tree=trees, docs=documents)
def test_sqlite_hits_equal_the_python_predicate(tree: Node, docs: list[tuple[str, str]]) -> None:
    node = parse(describe(tree))  # the tree as a user would type it, read back
    assert node is not None
    store = store_with(docs)
    found = store.search(SearchQuery(text=describe(tree), collapse=False, limit=100))
    assert {hit.id for hit in found.hits} == expected_hits(node, docs)
    assert found.total == len(found.hits) and found.total_exact


@SETTINGS
@given(tree=trees)
def test_a_tree_written_out_reads_back_as_the_same_query(tree: Node) -> None:
    again = parse(describe(tree))
    assert again is not None and describe(parse(describe(again))) == describe(again)


@pytest.fixture
def scripted() -> Iterator[tuple[Any, ScriptedNode]]:
    from elasticsearch import Elasticsearch

    from pipeline.store.elasticsearch import ElasticsearchStore

    client = Elasticsearch("http://es.invalid:9200", node_class=ScriptedNode)
    (node,) = client.transport.node_pool.all()
    assert isinstance(node, ScriptedNode)
    answer = {"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}, "aggregations": {"clusters": {"value": 0}}}
    node.answer = lambda sent: (200, answer)
    store = ElasticsearchStore(client, prefix="ww")
    yield store, node
    store.close()


@SETTINGS
@given(text=typed, docs=documents)
def test_no_typed_query_raises_anywhere(text: str, docs: list[tuple[str, str]], scripted) -> None:
    es_store, _ = scripted
    node = parse(text)
    store = store_with(docs)
    found = store.search(SearchQuery(text=text, limit=100))
    es_store.search(SearchQuery(text=text))
    if node is None:  # nothing to search for: every document is listed
        assert found.total == len(docs)
        return
    to_fts5(node)
    assert {hit.id for hit in store.search(SearchQuery(text=text, collapse=False, limit=100)).hits} == expected_hits(
        node, docs
    )


ES_FIELDS = {"title.folded", "text.folded"}


def es_matches(query: dict[str, Any], document: Document) -> bool:
    """What Elasticsearch answers for the few query kinds the rendering uses, over folded tokens."""
    ((kind, body),) = query.items()
    if kind == "bool":
        assert set(body) <= {"must", "should", "must_not", "filter", "minimum_should_match"}
        must = all(es_matches(part, document) for part in body.get("must", []))
        must_not = any(es_matches(part, document) for part in body.get("must_not", []))
        if "should" in body:
            assert body["minimum_should_match"] == 1
            return must and not must_not and any(es_matches(part, document) for part in body["should"])
        return must and not must_not
    if kind == "multi_match":
        assert {field.split("^")[0] for field in body["fields"]} == ES_FIELDS
        assert body["type"] in {"phrase", "phrase_prefix"}
        return document.has_term(Term(tuple(words(body["query"])), body["type"] == "phrase_prefix"))
    assert kind == "prefix", kind
    ((field, spec),) = body.items()
    assert field in ES_FIELDS
    return any(token.startswith(spec["value"]) for token in _field_tokens(document, field))


def _field_tokens(document: Document, field: str) -> list[str]:
    return document.fields[0 if field.startswith("title") else 1]


@SETTINGS
@given(tree=trees, docs=documents)
def test_the_elasticsearch_rendering_is_a_valid_query_meaning_the_same(tree: Node, docs, scripted) -> None:
    store, node = scripted
    node.sent.clear()
    store.search(SearchQuery(text=describe(tree)))
    (sent,) = [request for request in node.sent if request.path == "/ww-articles/_search"]
    query = sent.body["query"]  # JSON as the client serialised it
    assert Q(query).to_dict() == query  # elasticsearch.dsl reads it back unchanged
    parsed = parse(describe(tree))
    assert parsed is not None
    predicate = matcher(parsed)
    for title, text in docs:
        document = Document(title, text)
        assert es_matches(query, document) == predicate(document)


@pytest.fixture
def live_store() -> Iterator[Any]:
    url = os.environ.get("WIREWATCH_ES_URL")
    if not url:
        pytest.skip("WIREWATCH_ES_URL is not set: comparing hits with a live Elasticsearch needs a server")
    prefix = f"wirewatch-test-{uuid.uuid4().hex[:10]}"
    config = StoreConfig(
        backend="elasticsearch",
        url=url,
        index_prefix=prefix,
        username=os.environ.get("WIREWATCH_ES_USERNAME"),
        password_env="WIREWATCH_ES_PASSWORD" if os.environ.get("WIREWATCH_ES_PASSWORD") else None,
    )
    opened = open_store(config)
    try:
        yield opened
    finally:
        es = opened.es  # type: ignore[attr-defined]
        es.options(ignore_status=404).indices.delete(index=f"{prefix}-*", expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-*")
        opened.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(tree=trees, docs=documents)
def test_live_elasticsearch_hits_equal_sqlite(tree: Node, docs: list[tuple[str, str]], live_store) -> None:
    articles = [
        Article(id=f"d{i}", url=f"u{i}", feed_url="f", source="s", title=title, text=text)
        for i, (title, text) in enumerate(docs)
    ]
    live_store.es.delete_by_query(index=live_store.alias("articles"), query={"match_all": {}}, refresh=True)
    live_store.put_articles(articles)
    query = SearchQuery(text=describe(tree), collapse=False, limit=100)
    sqlite = store_with(docs)
    assert {hit.id for hit in live_store.search(query).hits} == {hit.id for hit in sqlite.search(query).hits}
