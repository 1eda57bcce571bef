"""The production store: Elasticsearch, shared by every Airflow worker.

Each kind of record lives in its own index behind an alias
(`wirewatch-articles` -> `wirewatch-articles-v1`), created from a composable
index template. Code only ever names the alias, so a mapping change that needs a
reindex is a new versioned index plus an atomic alias swap, done by
`ensure_indices(migrate=True)` (`wirewatch setup`), never a rename in code.

Consistency: every operation that must be safe across workers is keyed by a
document id and so is real-time in Elasticsearch (`op_type=create` for entries,
GUIDs and alert claims; `if_seq_no`/`if_primary_term` for every change to a
ledger row, so a worker whose lease expired cannot overwrite the state of the
worker that took its claim over). Searches are near-real-time, so this store
refreshes an index before searching it whenever it wrote to that index since
the last refresh: a worker always reads its own writes. Under Airflow the next
task is another process with another store, so what it must find by search is
made searchable before this one ends: the once-per-task bulk writes the next
task reads (dedup records, clusters) are sent with `refresh="wait_for"`, and
whatever else this store wrote without it (entries one per feed, statuses one
per entry, statements, the ledger) is refreshed once, index by index, when the
store closes. `merge_clusters` refreshes before its `update_by_query`, whoever
wrote the records it must relabel.

Dedup band keys have their own small index (one document per article: its
keys, body hash, time and cluster) rather than a keyword array on the articles:
pruning old keys is then a `delete_by_query` over ~1 kB documents instead of an
`update_by_query` that rewrites and re-analyses every old article's full text,
a candidate lookup reads no article text, and the articles index that analysts
browse in Kibana carries no opaque hashes. The cluster id is kept on both, as
the SQLite backend does, and `merge_clusters` relabels both in one request.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any

from elastic_transport import ObjectApiResponse
from elasticsearch import ApiError, ConflictError, Elasticsearch, TransportError, helpers
from elasticsearch.dsl import (
    Boolean,
    Date,
    Document,
    Index,
    InnerDoc,
    Integer,
    Keyword,
    MetaField,
    Object,
    Percolator,
    Q,
    Search,
    Text,
    analyzer,
    tokenizer,
)
from elasticsearch.dsl.query import Query

from pipeline.config import StoreConfig
from pipeline.query import check_rule, parse, to_elasticsearch
from pipeline.records import (
    AlertRecord,
    Article,
    Entity,
    Entry,
    FeedState,
    Quote,
    Statement,
    StatementQuote,
    iso,
    speaker_key,
    speaker_spellings,
    utcnow,
)
from pipeline.store.base import (
    DedupRecord,
    EntryFailures,
    SearchHit,
    SearchQuery,
    SearchResult,
    Store,
    StoreWriteError,
)

log = logging.getLogger(__name__)

SNIPPET_CHARS = 200
# Highlighting analyses at most this much of a text: past Elasticsearch's own limit
# (`index.highlight.max_analyzed_offset`, 1,000,000) a search would fail as a whole.
HIGHLIGHT_CHARS = 100_000
# Queries search the `folded` subfields; snippets come from the text's, titles count too.
SNIPPET_FIELD = "text.folded"
HIGHLIGHT = {
    "pre_tags": ["<b>"],
    "post_tags": ["</b>"],
    "fragment_size": 160,
    "number_of_fragments": 1,
    "require_field_match": False,
    "no_match_size": SNIPPET_CHARS,
}
PAGE = 1000
FAILURE_SCAN = 10_000  # failed entries of one feed counted for `wirewatch feeds`
# Elasticsearch's default `index.max_terms_count`; a dedup batch of 500 articles sends ~18 000 keys.
MAX_TERMS = 65_536
RETRY_STATUSES = (429, 502, 503, 504)
# The collapsed total is a cardinality aggregation, exact up to this many clusters.
CLUSTER_PRECISION = 40_000


# Words as `pipeline.query` and SQLite's `unicode61 remove_diacritics 2` see them: runs of
# letters and digits, lower-cased, diacritics removed, not stemmed. Every search and topic rule runs here.
FOLDED = analyzer(
    "folded",
    tokenizer=tokenizer("letters_and_digits", "pattern", pattern=r"[^\p{L}\p{N}]+"),
    filter=["lowercase", "asciifolding"],
)


def _english_text() -> Text:
    """English stemming for Kibana's free-text search; the `folded` subfield for wirewatch's query language."""
    return Text(analyzer="english", fields={"exact": Text(analyzer="standard"), "folded": Text(analyzer=FOLDED)})


def _title() -> Text:
    """As `_english_text`, plus a keyword for showing one headline per bucket in Kibana tables."""
    return Text(
        analyzer="english",
        fields={
            "exact": Text(analyzer="standard"),
            "folded": Text(analyzer=FOLDED),
            "keyword": Keyword(ignore_above=512),
        },
    )


class _Strict(Document):
    class Meta:
        # A typo'd field name is a bug to report at write time, not a new field in every index.
        dynamic = MetaField("strict")


class EntityMention(InnerDoc):
    text = Keyword(index=False)
    label = Keyword()
    start = Integer(index=False)
    end = Integer(index=False)
    canonical = Keyword()


class QuoteDoc(InnerDoc):
    text = Text(analyzer="english")
    start = Integer(index=False)
    end = Integer(index=False)
    speaker = Keyword()
    speaker_start = Integer(index=False)
    speaker_end = Integer(index=False)
    cue = Keyword()
    rule = Keyword()
    kind = Keyword()


class ArticleDoc(_Strict):
    id = Keyword()
    url = Keyword(ignore_above=2048)
    feed_url = Keyword(ignore_above=2048)
    source = Keyword()
    title = _title()
    text = _english_text()
    author = Keyword()
    published = Date()
    language = Keyword()
    sitename = Keyword()
    from_feed = Boolean()
    fetched = Date()
    # `published` when known, else `fetched`: the one time field Kibana can rely on.
    timestamp = Date()
    cluster_id = Keyword()
    duplicate_of = Keyword()
    # False from indexing until enrich, dedupe and statements have all run; absent on older documents (done).
    processed = Boolean()
    entities = Keyword()
    speakers = Keyword()
    # the kinds of attribution the article holds (issue 12); absent on older documents (direct)
    quote_kinds = Keyword()
    topics = Keyword()
    entity_mentions = Object(EntityMention)
    quotes = Object(QuoteDoc)


class EntryDoc(_Strict):
    id = Keyword()
    feed_url = Keyword(ignore_above=2048)
    url = Keyword(ignore_above=2048)
    guid = Keyword(ignore_above=2048)
    title = Text(analyzer="english")
    summary = Text(analyzer="english")
    published = Date()
    source = Keyword()
    status = Keyword()
    attempts = Integer()
    last_error = Text()
    next_attempt = Date()
    discovered = Date()


class GuidDoc(_Strict):
    """Claims a (feed, GUID) pair with `op_type=create`, as SQLite's primary key does."""

    feed_url = Keyword(ignore_above=2048)
    guid = Keyword(ignore_above=2048)
    entry_id = Keyword()


class FeedDoc(_Strict):
    url = Keyword(ignore_above=2048)
    name = Keyword()
    etag = Keyword(index=False)
    last_modified = Keyword(index=False)
    body_hash = Keyword(index=False)
    last_polled = Date()
    last_success = Date()
    failures = Integer()
    last_error = Text()
    next_poll = Date()
    entries_seen = Integer()


class StatementQuoteDoc(InnerDoc):
    text = Text(analyzer="english")
    article_id = Keyword()
    article_url = Keyword(ignore_above=2048)
    source = Keyword()
    title = Text(analyzer="english")
    published = Date()
    context = Text(analyzer="english")
    kind = Keyword()
    fetched = Date()
    rule = Keyword()  # additive: the attribution strategy that found the quote's speaker


class StatementDoc(_Strict):
    id = Keyword()
    speaker = Keyword()
    first_seen = Date()
    updated = Date()
    text = _english_text()
    quotes = Object(StatementQuoteDoc)
    # issue 12, additive: absent on older statements (direct quotes, published = first_seen)
    kind = Keyword()
    published = Date()
    occasion = Date(format="strict_date")
    primary_url = Keyword(ignore_above=2048)


class StatementReportDoc(_Strict, StatementQuoteDoc):
    """One report of a statement: one wording (the quote's text) in one article, a document of its own (issue 15).
    Its report fields are `StatementQuoteDoc`'s, the same record that v1 statement documents hold inside.

    Statement documents held every report, so one reprinted dozens of times grew with each copy and was read
    whole at every match; v1 documents keep the reports they held (read with these, moved here when saved).
    """

    statement_id = Keyword()
    wording = Keyword()  # the statement and the words: what matching collapses to one report each
    reported = Date()  # published, else fetched: the earliest report of a wording is the one matching reads
    attached = Date()  # when it was attached, and its place among the reports attached with it: their order
    position = Integer()
    report_id = Keyword()  # its document id, the sort's unique last key


class AlertDoc(_Strict):
    rule = Keyword()
    statement_id = Keyword()
    message_id = Keyword()
    state = Keyword()
    claimed_at = Date()
    sent_at = Date()
    attempts = Integer()
    last_error = Text()
    next_attempt = Date()
    retry_until = Date()


class DedupDoc(_Strict):
    article_id = Keyword()
    cluster_id = Keyword()
    body_hash = Keyword()
    published = Date()
    band_keys = Keyword()


class TopicDoc(_Strict):
    """A topic rule as a percolator query; title/text are mapped as on articles so queries parse alike."""

    name = Keyword()
    order = Integer()
    query = Percolator()
    title = _title()
    text = _english_text()


@dataclass(frozen=True)
class IndexSpec:
    kind: str
    version: int
    document: type[Document]
    # Painless run on each document copied from the previous version, for fields it lacked.
    reindex_script: str | None = None


# Articles of v1 predate attribution kinds: every quote they hold is a direct quote.
QUOTE_KINDS_BACKFILL = (
    "if (ctx._source.quote_kinds == null && ctx._source.quotes != null && !ctx._source.quotes.isEmpty()) "
    "{ ctx._source.quote_kinds = ['direct']; }"
)


# Bump a version when a mapping change is not additive; `ensure_indices(migrate=True)` reindexes.
# articles and topics v2: the `folded` subfields, whose analyzer an open index cannot take in place.
INDICES: tuple[IndexSpec, ...] = (
    IndexSpec("articles", 2, ArticleDoc, QUOTE_KINDS_BACKFILL),
    IndexSpec("entries", 1, EntryDoc),
    IndexSpec("guids", 1, GuidDoc),
    IndexSpec("feeds", 1, FeedDoc),
    IndexSpec("statements", 1, StatementDoc),
    IndexSpec("statement_reports", 1, StatementReportDoc),
    IndexSpec("alerts", 1, AlertDoc),
    IndexSpec("dedup", 1, DedupDoc),
    IndexSpec("topics", 2, TopicDoc),
)
SPECS = {spec.kind: spec for spec in INDICES}


def index_template(prefix: str, spec: IndexSpec) -> dict[str, Any]:
    """The composable template body for one kind; matches every version of its index."""
    index = Index(f"{prefix}-{spec.kind}-v{spec.version}")
    index.document(spec.document)
    # 0 replicas on a laptop's single node (green, not yellow), 1 as soon as a second node joins.
    index.settings(number_of_shards=1, auto_expand_replicas="0-1")
    body = index.as_composable_template(f"{prefix}-{spec.kind}", f"{prefix}-{spec.kind}-v*", priority=500).to_dict()
    body["version"] = spec.version
    body["_meta"] = {"managed_by": "wirewatch", "kind": spec.kind}
    return body


@dataclass(frozen=True)
class BulkOutcome:
    id: str
    status: int
    result: str | None
    error: str | None


class IndicesNotReadyError(RuntimeError):
    """An alias points at an older index version: only `wirewatch setup` may migrate it."""


def _dt(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _appeared(source: Mapping[str, Any]) -> datetime:
    """When an article appeared, as `article_time` reads it: published, else fetched."""
    appeared = _dt(source.get("published") or source["fetched"])
    assert appeared is not None  # every article has its fetch time
    return appeared


def _field_paths(mapping: Mapping[str, Any], prefix: str = "") -> set[str]:
    """Every field's dotted path in a mapping, objects' own fields included: a field added inside an
    object (a strict mapping refuses it until mapped) is additive too."""
    paths: set[str] = set()
    for name, body in mapping.get("properties", {}).items():
        paths.add(prefix + name)
        paths |= _field_paths(body, f"{prefix}{name}.")
    return paths


def _key(*parts: str) -> str:
    """A document id for a composite or long key (feed URLs, (rule, statement)); `_id` is capped at 512 bytes."""
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()


def _reason(error: Any) -> str:
    if isinstance(error, dict):
        caused = error.get("caused_by")
        reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        return f"{reason} (caused by {_reason(caused)})" if isinstance(caused, dict) else reason
    return str(error)


# Never the text itself (pages can be megabytes): the snippet is a highlight, or the text's opening.
SHOWN_FIELDS: list[Any] = ["id", "url", "title", "source", "published", "cluster_id", "entities", "topics"]
EARLIEST: list[Any] = [{"published": {"order": "asc", "missing": "_last"}}, {"id": "asc"}]


def _ci_term(field: str, value: str) -> Query:
    """Speakers, entities and topics match case-insensitively (as SQLite's NOCASE) yet aggregate as written."""
    return Q("term", **{field: {"value": value, "case_insensitive": True}})


def search_request(query: SearchQuery) -> Search:
    """The search body for `query`; a collapsed cluster ranks by its best match and shows its earliest copy."""
    search = Search()
    node = parse(query.text)
    relevance: list[Any] = []
    if node is not None:  # like SQLite, text with nothing to search for lists everything
        search = search.query(to_elasticsearch(node))
        relevance = ["_score"]
    if query.source:
        search = search.filter("term", source=query.source)
    if query.since or query.until:
        bounds = {"gte": iso(query.since), "lt": iso(query.until)}
        search = search.filter("range", published={key: value for key, value in bounds.items() if value})
    tagged = (
        ("speakers", query.speaker),
        ("entities", query.entity),
        ("topics", query.topic),
        ("quote_kinds", query.kind),
    )
    for field, value in tagged:
        if value:
            search = search.filter(_ci_term(field, value))
    newest = [*relevance, {"published": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
    shown = SHOWN_FIELDS
    highlight = {"max_analyzed_offset": HIGHLIGHT_CHARS, "fields": {SNIPPET_FIELD: HIGHLIGHT}}
    search = search.sort(*newest).source(shown).extra(size=query.limit, track_total_hits=True)
    if query.collapse:
        # The cluster's best-matching copy, highlighted once: its snippet stands for the story, which
        # is shown by its original (see `originals_request`).
        inner: dict[str, Any] = {"name": "first", "size": 1, "sort": [*relevance, *EARLIEST], "_source": shown}
        inner["highlight"] = highlight
        search = search.collapse("cluster_id", inner_hits=inner)
    else:
        search = search.extra(highlight=highlight)
    if query.collapse:
        search.aggs.metric("clusters", "cardinality", field="cluster_id", precision_threshold=CLUSTER_PRECISION)
    return search


def unprocessed_request(fetched_before: datetime) -> Search:
    search = Search().filter("term", processed=False).filter("range", fetched={"lt": iso(fetched_before)})
    return search.sort("fetched", "id").source(["id"])


def cluster_sizes_request(cluster_ids: Collection[str], originals: bool = False) -> Search:
    """How many copies each cluster holds; with `originals`, also the article each is shown by: its
    root (the article whose id is the cluster id), else its earliest published copy."""
    ids = sorted(cluster_ids)
    search = Search().filter("terms", cluster_id=ids).extra(size=0)
    sizes = search.aggs.bucket("sizes", "terms", field="cluster_id", size=max(len(ids), 1))
    if originals:
        sizes.metric("earliest", "top_hits", size=1, sort=EARLIEST, _source=SHOWN_FIELDS)
        # Within a cluster's bucket only its root has an id among the clusters' ids (a merge relabels a
        # root's members with it); mid-merge, anything else falls back to the earliest copy.
        root = sizes.bucket("root", "filter", terms={"id": ids})
        root.metric("hit", "top_hits", size=1, sort=EARLIEST, _source=SHOWN_FIELDS)
    return search


def _original(bucket: Mapping[str, Any]) -> dict[str, Any]:
    """The source of the article a cluster's bucket is shown by (see `cluster_sizes_request`)."""
    for hit in bucket["root"]["hit"]["hits"]["hits"]:
        if hit["_source"]["id"] == bucket["key"]:
            return dict(hit["_source"])
    return dict(bucket["earliest"]["hits"]["hits"][0]["_source"])


def _article_source(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "url": article.url,
        "feed_url": article.feed_url,
        "source": article.source,
        "title": article.title,
        "text": article.text,
        "author": article.author,
        "published": iso(article.published),
        "language": article.language,
        "sitename": article.sitename,
        "from_feed": article.from_feed,
        "fetched": iso(article.fetched),
        "timestamp": iso(article.published or article.fetched),
        "entities": sorted({entity.canonical for entity in article.entities}),
        "speakers": sorted({quote.speaker for quote in article.quotes if quote.speaker}),
        "quote_kinds": sorted({quote.kind for quote in article.quotes}),
        "topics": list(article.topics),
        "entity_mentions": [vars(entity) for entity in article.entities],
        "quotes": [vars(quote) for quote in article.quotes],
    }


def _article(source: Mapping[str, Any]) -> Article:
    return Article(
        id=source["id"],
        url=source["url"],
        feed_url=source["feed_url"],
        source=source["source"],
        title=source["title"],
        text=source["text"],
        author=source.get("author"),
        published=_dt(source.get("published")),
        language=source.get("language"),
        sitename=source.get("sitename"),
        from_feed=bool(source.get("from_feed")),
        fetched=_dt(source.get("fetched")) or datetime.now(UTC),
        cluster_id=source.get("cluster_id") or source["id"],
        duplicate_of=source.get("duplicate_of"),
        entities=[Entity(**item) for item in source.get("entity_mentions", [])],
        topics=list(source.get("topics", [])),
        quotes=[Quote(**item) for item in source.get("quotes", [])],
    )


def _entry_source(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "feed_url": entry.feed_url,
        "url": entry.url,
        "guid": entry.guid,
        "title": entry.title,
        "summary": entry.summary,
        "published": iso(entry.published),
        "source": entry.source,
        "status": entry.status,
        "attempts": entry.attempts,
        "last_error": entry.last_error,
        "next_attempt": iso(entry.next_attempt),
        "discovered": iso(entry.discovered),
    }


def _entry(source: Mapping[str, Any]) -> Entry:
    return Entry(
        id=source["id"],
        feed_url=source["feed_url"],
        url=source["url"],
        guid=source.get("guid"),
        title=source.get("title", ""),
        summary=source.get("summary", ""),
        published=_dt(source.get("published")),
        source=source.get("source", ""),
        status=source.get("status", "pending"),
        attempts=source.get("attempts", 0),
        last_error=source.get("last_error"),
        next_attempt=_dt(source.get("next_attempt")),
        discovered=_dt(source.get("discovered")) or datetime.now(UTC),
    )


def _feed_source(state: FeedState) -> dict[str, Any]:
    return {
        "url": state.url,
        "name": state.name,
        "etag": state.etag,
        "last_modified": state.last_modified,
        "body_hash": state.body_hash,
        "last_polled": iso(state.last_polled),
        "last_success": iso(state.last_success),
        "failures": state.failures,
        "last_error": state.last_error,
        "next_poll": iso(state.next_poll),
        "entries_seen": state.entries_seen,
    }


def _feed(source: Mapping[str, Any]) -> FeedState:
    return FeedState(
        url=source["url"],
        name=source["name"],
        etag=source.get("etag"),
        last_modified=source.get("last_modified"),
        body_hash=source.get("body_hash"),
        last_polled=_dt(source.get("last_polled")),
        last_success=_dt(source.get("last_success")),
        failures=source.get("failures", 0),
        last_error=source.get("last_error"),
        next_poll=_dt(source.get("next_poll")),
        entries_seen=source.get("entries_seen", 0),
    )


def _statement_source(statement: Statement) -> dict[str, Any]:
    """The statement's own fields; its reports are documents of their own (`_report_source`)."""
    return {
        "id": statement.id,
        "speaker": statement.speaker,
        "first_seen": iso(statement.first_seen),
        "updated": iso(statement.updated),
        "text": statement.text,
        "kind": statement.kind,
        "published": iso(statement.published),
        "occasion": statement.occasion.isoformat() if statement.occasion else None,
        "primary_url": statement.primary_url,
    }


def _report_id(statement_id: str, quote: StatementQuote) -> str:
    return _key(statement_id, quote.article_id, quote.text)


def _report_source(statement_id: str, quote: StatementQuote, attached: str | None, position: int) -> dict[str, Any]:
    return {
        **vars(quote),
        "published": iso(quote.published),
        "fetched": iso(quote.fetched),
        "statement_id": statement_id,
        "wording": _key(statement_id, quote.text),
        "reported": iso(quote.published or quote.fetched),
        "attached": attached,
        "position": position,
        "report_id": _report_id(statement_id, quote),
    }


_REPORT_FIELDS = [item.name for item in fields(StatementQuote)]


def _report(source: Mapping[str, Any]) -> StatementQuote:
    """A report from its document, or from a v1 statement document's `quotes` (those may lack later fields)."""
    found = {name: source[name] for name in _REPORT_FIELDS if name in source}
    return StatementQuote(**{**found, "published": _dt(found.get("published")), "fetched": _dt(found.get("fetched"))})


def _report_order(source: Mapping[str, Any]) -> tuple[str, int, str]:
    """The order reports were attached in (their documents' `attached`, `position`, `report_id`)."""
    return source["attached"] or "", source["position"], source["report_id"]


def _statement(source: Mapping[str, Any], reports: list[StatementQuote]) -> Statement:
    """A statement from its document and its report documents; a v1 document's own reports come first (they
    were attached first), each once."""
    held = [_report(item) for item in source.get("quotes", [])]
    known = {(quote.article_id, quote.text) for quote in held}
    return Statement(
        id=source["id"],
        speaker=source["speaker"],
        first_seen=_dt(source["first_seen"]) or datetime.now(UTC),
        text=source["text"],
        quotes=held + [quote for quote in reports if (quote.article_id, quote.text) not in known],
        updated=_dt(source.get("updated")) or datetime.now(UTC),
        kind=source.get("kind", "direct"),
        published=_dt(source.get("published") or source["first_seen"]),
        occasion=date.fromisoformat(source["occasion"][:10]) if source.get("occasion") else None,
        primary_url=source.get("primary_url"),
    )


def _alert_source(record: AlertRecord) -> dict[str, Any]:
    return {
        "rule": record.rule,
        "statement_id": record.statement_id,
        "message_id": record.message_id,
        "state": record.state,
        "claimed_at": iso(record.claimed_at),
        "sent_at": iso(record.sent_at),
        "attempts": record.attempts,
        "last_error": record.last_error,
        "next_attempt": iso(record.next_attempt),
        "retry_until": iso(record.retry_until),
    }


def _alert(source: Mapping[str, Any]) -> AlertRecord:
    return AlertRecord(
        rule=source["rule"],
        statement_id=source["statement_id"],
        message_id=source["message_id"],
        state=source["state"],
        claimed_at=_dt(source["claimed_at"]) or datetime.now(UTC),
        sent_at=_dt(source.get("sent_at")),
        attempts=source.get("attempts", 0),
        last_error=source.get("last_error"),
        next_attempt=_dt(source.get("next_attempt")),
        retry_until=_dt(source.get("retry_until")),
    )


def _secret(variable: str | None) -> str | None:
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise ValueError(f"store: environment variable {variable} is not set")
    return value


def client_from_config(config: StoreConfig) -> Elasticsearch:
    """One client per store; it retries 429/5xx itself and keeps connections alive between calls."""
    if not config.url:
        raise ValueError("store.url is required for the elasticsearch backend")
    auth: dict[str, Any] = {}
    api_key = _secret(config.api_key_env)
    if api_key:
        auth["api_key"] = api_key
    elif config.username:
        auth["basic_auth"] = (config.username, _secret(config.password_env) or "")
    return Elasticsearch(
        config.url, retry_on_status=RETRY_STATUSES, max_retries=3, retry_on_timeout=True, request_timeout=30, **auth
    )


class ElasticsearchStore(Store):
    def __init__(
        self,
        client: Elasticsearch,
        prefix: str = "wirewatch",
        chunk_size: int = 500,
        max_retries: int = 5,
        initial_backoff: float = 1.0,
    ) -> None:
        self.es = client
        self.prefix = prefix
        self.chunk_size = chunk_size
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self._unrefreshed: set[str] = set()
        # Alert id -> (_seq_no, _primary_term) of the ledger row as this store last wrote or read it.
        self._alert_versions: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: StoreConfig) -> ElasticsearchStore:
        return cls(client_from_config(config), config.index_prefix)

    def alias(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"

    def concrete(self, kind: str) -> str:
        return f"{self.alias(kind)}-v{SPECS[kind].version}"

    def match_topics(self, article: Article, rules: Mapping[str, str]) -> list[str]:
        """Through the percolator: the rules `wirewatch setup` stored (`rules` is what it stored), matched there."""
        return percolate_topics(self, article)

    def close(self) -> None:
        """Make this store's unrefreshed writes searchable, then close: the next task is another process."""
        with self._lock:
            stale = sorted(self._unrefreshed)
            self._unrefreshed.clear()
        try:
            if stale:
                # An index deleted meanwhile (a test's teardown) has nothing left to make searchable.
                self.es.options(ignore_status=404).indices.refresh(index=[self.alias(kind) for kind in stale])
        except (ApiError, TransportError) as exc:  # the writes stand; they turn searchable within a second anyway
            log.warning("refreshing %s on close failed: %s", ", ".join(stale), exc)
        finally:
            self.es.close()

    # -- indices -----------------------------------------------------------
    def ensure_indices(self, migrate: bool = False) -> dict[str, str]:
        """Make every alias point at its current index version; say what was done per kind.

        Missing indices are created (safe for many workers at once: creation is
        idempotent). Additive mapping changes (a new top-level field) are applied in
        place by whoever opens the store first, since the strict mapping would refuse
        documents carrying the field until then. An alias on an
        older version is reindexed into the new one and swapped atomically, but
        only when `migrate` is set, so one `wirewatch setup` does it rather than
        every worker that happens to open the store. Pause the DAGs while it runs:
        writes that reach the old index after its copy began are not carried over.
        """
        current = self._aliased()
        done: dict[str, str] = {}
        for spec in INDICES:
            alias, target = self.alias(spec.kind), self.concrete(spec.kind)
            behind, mapped = current.get(alias, (None, set()))
            template = index_template(self.prefix, spec)
            if behind == target and not migrate and _field_paths(template["template"]["mappings"]) <= mapped:
                continue
            self.es.indices.put_index_template(name=alias, body=template)
            if behind is None:
                self._create(target, alias)
                done[spec.kind] = f"created {target}"
            elif behind == target:
                self.es.indices.put_mapping(index=target, body=template["template"]["mappings"])
                done[spec.kind] = f"up to date ({target})"
            elif not migrate:
                raise IndicesNotReadyError(
                    f"{alias} points at {behind}, this version needs {target}: run `wirewatch setup`"
                )
            else:
                self._create(target, None)
                # Synchronous, so the alias moves only once every document is copied; hours for big indices.
                self.es.options(request_timeout=6 * 3600).reindex(
                    source={"index": behind},
                    dest={"index": target, "op_type": "create"},
                    conflicts="proceed",
                    wait_for_completion=True,
                    refresh=True,
                    script={"source": spec.reindex_script, "lang": "painless"} if spec.reindex_script else None,
                )
                self.es.indices.update_aliases(
                    actions=[
                        {"remove": {"index": behind, "alias": alias}},
                        {"add": {"index": target, "alias": alias, "is_write_index": True}},
                    ]
                )
                done[spec.kind] = f"migrated {behind} -> {target} ({behind} kept; delete it when satisfied)"
        return done

    def _create(self, index: str, alias: str | None) -> None:
        """Create from the template; another worker creating it first is fine, the alias is still ensured."""
        aliases = {alias: {"is_write_index": True}} if alias else None
        response = self.es.options(ignore_status=400).indices.create(index=index, aliases=aliases)
        if response.meta.status == 400:
            error = response.body.get("error", {})
            if error.get("type") != "resource_already_exists_exception":
                raise RuntimeError(f"creating {index}: {_reason(error)}")
            if alias:
                self.es.indices.put_alias(index=index, name=alias, is_write_index=True)

    def _aliased(self) -> dict[str, tuple[str, set[str]]]:
        """alias -> (the index it points at, that index's field paths), for this prefix's aliases."""
        response = self.es.options(ignore_status=404).indices.get(
            index=f"{self.prefix}-*", features=["aliases", "mappings"]
        )
        found: dict[str, tuple[str, set[str]]] = {}
        for index, body in response.body.items():
            if not isinstance(body, dict):
                continue  # a 404 body carries "error"/"status" keys, not indices
            fields = _field_paths(body.get("mappings", {}))
            for alias in body.get("aliases", {}):
                found[alias] = (index, fields)
        return found

    # -- plumbing ----------------------------------------------------------
    def _wrote(self, *kinds: str) -> None:
        with self._lock:
            self._unrefreshed.update(kinds)

    def _fresh(self, *kinds: str) -> None:
        """Refresh the indices this store wrote since it last refreshed them, so searches see those writes."""
        with self._lock:
            stale = [kind for kind in kinds if kind in self._unrefreshed]
            self._unrefreshed.difference_update(stale)
        if stale:
            self.es.indices.refresh(index=[self.alias(kind) for kind in stale])

    def _bulk(
        self,
        kind: str,
        actions: Iterable[dict[str, Any]],
        expected: Collection[int] = (),
        wait_for_refresh: bool = False,
    ) -> list[BulkOutcome]:
        """Send actions in chunks; 429s are retried with backoff, other failures reported per document.

        Statuses in `expected` (409 for create-if-absent, 404 for update-if-present)
        are outcomes, not errors. Every document that can be written is written
        before `StoreWriteError` names the ones that could not. `wait_for_refresh`
        returns only once the writes are searchable, for writes another task reads next.
        """
        index = self.alias(kind)
        outcomes: list[BulkOutcome] = []
        failures: dict[str, str] = {}
        stream = helpers.streaming_bulk(
            self.es,
            ({"_index": index, **action} for action in actions),
            chunk_size=self.chunk_size,
            max_retries=self.max_retries,
            initial_backoff=self.initial_backoff,
            max_backoff=60,
            raise_on_error=False,
            raise_on_exception=False,
            refresh="wait_for" if wait_for_refresh else None,
        )
        for ok, item in stream:
            (info,) = item.values()
            outcome = BulkOutcome(
                id=str(info.get("_id")),
                status=int(info.get("status", 0)),
                result=info.get("result"),
                error=None if ok else _reason(info.get("error", info.get("exception"))),
            )
            outcomes.append(outcome)
            if not ok and outcome.status not in expected:
                failures[outcome.id] = outcome.error or f"status {outcome.status}"
        if not wait_for_refresh:
            self._wrote(kind)
        if failures:
            raise StoreWriteError(index, failures)
        return outcomes

    def _get(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        response = self.es.options(ignore_status=404).get(index=self.alias(kind), id=doc_id)
        return dict(response.body) if response.body.get("found") else None

    def _mget(self, kind: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), PAGE):
            response = self.es.mget(index=self.alias(kind), ids=ids[start : start + PAGE])
            for doc in response["docs"]:
                if doc.get("found"):
                    found[doc["_id"]] = doc["_source"]
        return found

    def _all(self, kind: str, search: Search, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Every hit of `search` in sort order, paged with `search_after` (the sort ends on a unique key)."""
        self._fresh(kind)
        body = search.to_dict()
        after: list[Any] | None = None
        returned = 0
        while limit is None or returned < limit:
            size = PAGE if limit is None else min(PAGE, limit - returned)
            page = {**body, "size": size, **({"search_after": after} if after else {})}
            hits = self.es.search(index=self.alias(kind), body=page)["hits"]["hits"]
            for hit in hits:
                yield hit["_source"]
            returned += len(hits)
            if len(hits) < size:
                return
            after = hits[-1]["sort"]

    # -- feeds -------------------------------------------------------------
    def get_feed(self, url: str) -> FeedState | None:
        found = self._get("feeds", _key(url))
        return _feed(found["_source"]) if found else None

    def get_feeds(self, urls: Iterable[str]) -> dict[str, FeedState]:
        """One `mget` per page of URLs, not one `get` per feed: a poll of 2,000 feeds reads 4 pages."""
        found = self._mget("feeds", [_key(url) for url in dict.fromkeys(urls)])
        return {state.url: state for state in map(_feed, found.values())}

    def save_feed(self, state: FeedState) -> None:
        self.es.index(index=self.alias("feeds"), id=_key(state.url), document=_feed_source(state))
        self._wrote("feeds")

    def save_feeds(self, states: Iterable[FeedState]) -> None:
        """One bulk request per chunk; a feed saved twice in the batch keeps its last state, as in SQLite."""
        latest = {state.url: state for state in states}
        self._bulk("feeds", ({"_id": _key(url), "_source": _feed_source(state)} for url, state in latest.items()))

    def list_feeds(self) -> list[FeedState]:
        return [_feed(source) for source in self._all("feeds", Search().sort("url"))]

    # -- entries -----------------------------------------------------------
    def add_entries(self, entries: Iterable[Entry]) -> list[Entry]:
        """Claim GUIDs, then create entries, both with `op_type=create`: a 409 means seen before.

        Repeats inside the batch are dropped first (the first copy wins, as in
        SQLite), so every bulk outcome maps back to exactly one entry by id even
        when retried items come back out of order.
        """
        by_guid: dict[str, Entry] = {}
        kept: list[Entry] = []
        for entry in entries:
            if entry.guid is not None:
                guid_key = _key(entry.feed_url, entry.guid)
                if guid_key in by_guid:
                    continue
                by_guid[guid_key] = entry
            kept.append(entry)
        if by_guid:
            claims = self._bulk(
                "guids",
                (
                    {
                        "_op_type": "create",
                        "_id": guid_key,
                        "_source": {"feed_url": entry.feed_url, "guid": entry.guid, "entry_id": entry.id},
                    }
                    for guid_key, entry in by_guid.items()
                ),
                expected={409},
            )
            seen = {id(by_guid[claim.id]) for claim in claims if claim.status == 409}
            kept = [entry for entry in kept if id(entry) not in seen]
        fresh: list[Entry] = []
        ids: set[str] = set()
        for entry in kept:
            if entry.id not in ids:
                ids.add(entry.id)
                fresh.append(entry)
        if not fresh:
            return []
        outcomes = self._bulk(
            "entries",
            ({"_op_type": "create", "_id": entry.id, "_source": _entry_source(entry)} for entry in fresh),
            expected={409},
        )
        created = {outcome.id for outcome in outcomes if outcome.result == "created"}
        return [entry for entry in fresh if entry.id in created]

    def entries_due(self, now: datetime, limit: int | None = None) -> list[Entry]:
        due = Q("term", status="pending") | (Q("term", status="failed") & Q("range", next_attempt={"lte": iso(now)}))
        search = Search().filter(due).sort("discovered", "id")
        return [_entry(source) for source in self._all("entries", search, limit)]

    def entry_failures(self, feed_url: str, recent: int = 3) -> EntryFailures:
        """Counted over the latest FAILURE_SCAN failed entries: `last_error` is full text, not aggregatable."""
        search = (
            Search()
            .filter("term", feed_url=feed_url)
            .filter("exists", field="last_error")
            .sort({"discovered": {"order": "desc"}}, "id")
        )
        failures = [(source["url"], source["last_error"]) for source in self._all("entries", search, FAILURE_SCAN)]
        counts = Counter(reason for _, reason in failures)
        return EntryFailures(sorted(counts.items(), key=lambda item: (-item[1], item[0])), failures[:recent])

    def get_entries(self, ids: Iterable[str]) -> list[Entry]:
        wanted = list(dict.fromkeys(ids))
        found = self._mget("entries", wanted)
        return [_entry(found[entry_id]) for entry_id in wanted if entry_id in found]

    def save_entry(self, entry: Entry) -> None:
        source = _entry_source(entry)
        fields = ("status", "attempts", "last_error", "next_attempt", "title", "summary", "published")
        self.es.options(ignore_status=404).update(
            index=self.alias("entries"),
            id=entry.id,
            doc={field: source[field] for field in fields},
            retry_on_conflict=3,
        )
        self._wrote("entries")

    def count_entries(self, status: str | None = None) -> int:
        self._fresh("entries")
        query = {"term": {"status": status}} if status is not None else None
        return int(self.es.count(index=self.alias("entries"), query=query)["count"])

    # -- articles ----------------------------------------------------------
    def put_articles(self, articles: Iterable[Article]) -> int:
        """Upsert; a re-stored article keeps the cluster dedup gave it, as in SQLite."""

        def actions() -> Iterator[dict[str, Any]]:
            for article in articles:
                source = _article_source(article)
                yield {
                    "_op_type": "update",
                    "_id": article.id,
                    "retry_on_conflict": 3,
                    "doc": source,
                    "upsert": {
                        **source,
                        "cluster_id": article.cluster_id or article.id,
                        "duplicate_of": article.duplicate_of,
                        "processed": False,
                    },
                }

        return sum(outcome.result == "created" for outcome in self._bulk("articles", actions()))

    def get_articles(self, ids: Iterable[str]) -> list[Article]:
        wanted = list(dict.fromkeys(ids))
        found = self._mget("articles", wanted)
        return [_article(found[article_id]) for article_id in wanted if article_id in found]

    def count_articles(self) -> int:
        self._fresh("articles")
        return int(self.es.count(index=self.alias("articles"))["count"])

    def unprocessed_articles(self, fetched_before: datetime, limit: int) -> list[str]:
        return [source["id"] for source in self._all("articles", unprocessed_request(fetched_before), limit)]

    def mark_processed(self, ids: Iterable[str]) -> None:
        self._bulk(
            "articles",
            (
                {"_op_type": "update", "_id": article_id, "retry_on_conflict": 3, "doc": {"processed": True}}
                for article_id in ids
            ),
            expected=(404,),
        )

    def search(self, query: SearchQuery) -> SearchResult:
        self._fresh("articles")
        response = self.es.search(index=self.alias("articles"), body=search_request(query).to_dict())
        picked = [
            (hit["inner_hits"]["first"]["hits"]["hits"][0] if query.collapse else hit)
            for hit in response["hits"]["hits"]
        ]
        sizes, originals = self._cluster_sizes(
            {hit["_source"].get("cluster_id") or hit["_id"] for hit in picked}, originals=query.collapse
        )
        hits = []
        for hit in picked:
            cluster = hit["_source"].get("cluster_id") or hit["_source"]["id"]
            source = originals.get(cluster, hit["_source"])
            fragments = hit.get("highlight", {}).get(SNIPPET_FIELD)
            hits.append(
                SearchHit(
                    id=source["id"],
                    url=source["url"],
                    title=source["title"],
                    source=source["source"],
                    published=_dt(source.get("published")),
                    snippet=fragments[0] if fragments else "",
                    cluster_id=cluster,
                    duplicates=max(sizes.get(cluster, 1) - 1, 0),
                    entities=list(source.get("entities", [])),
                    topics=list(source.get("topics", [])),
                )
            )
        if query.collapse:  # a cardinality count, exact up to its precision threshold
            total = int(response["aggregations"]["clusters"]["value"])
            exact = total <= CLUSTER_PRECISION
        else:
            total = int(response["hits"]["total"]["value"])
            exact = response["hits"]["total"].get("relation", "eq") == "eq"
        return SearchResult(total=total, hits=hits, total_exact=exact)

    def _cluster_sizes(
        self, cluster_ids: Collection[str], originals: bool
    ) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
        """Each cluster's size and, with `originals`, the source of the article it is shown by."""
        if not cluster_ids:
            return {}, {}
        body = cluster_sizes_request(cluster_ids, originals).to_dict()
        buckets = self.es.search(index=self.alias("articles"), body=body)["aggregations"]["sizes"]["buckets"]
        sizes = {bucket["key"]: int(bucket["doc_count"]) for bucket in buckets}
        return sizes, ({bucket["key"]: _original(bucket) for bucket in buckets} if originals else {})

    # -- dedup -------------------------------------------------------------
    def dedup_candidates(self, band_keys: Iterable[str], since: datetime) -> list[DedupRecord]:
        keys = list(dict.fromkeys(band_keys))
        wanted = set(keys)
        found: dict[str, DedupRecord] = {}
        for start in range(0, len(keys), MAX_TERMS):
            search = (
                Search()
                .filter("terms", band_keys=keys[start : start + MAX_TERMS])
                .filter("range", published={"gte": iso(since)})
                .sort("published", "article_id")
            )
            for source in self._all("dedup", search):
                found.setdefault(
                    source["article_id"],
                    DedupRecord(
                        article_id=source["article_id"],
                        cluster_id=source["cluster_id"],
                        published=_dt(source["published"]) or datetime.now(UTC),
                        body_hash=source["body_hash"],
                        band_keys=tuple(key for key in source["band_keys"] if key in wanted),
                    ),
                )
        return sorted(found.values(), key=lambda record: (record.published, record.article_id))

    def save_dedup(self, records: Iterable[DedupRecord], duplicate_of: dict[str, str | None]) -> None:
        records = list(records)
        self._bulk(
            "dedup",
            (
                {
                    "_id": record.article_id,
                    "_source": {
                        "article_id": record.article_id,
                        "cluster_id": record.cluster_id,
                        "body_hash": record.body_hash,
                        "published": iso(record.published),
                        "band_keys": list(record.band_keys),
                    },
                }
                for record in records
            ),
            wait_for_refresh=True,  # the next batch's dedupe task, another process, looks these keys up
        )
        self._bulk(
            "articles",
            (
                {
                    "_op_type": "update",
                    "_id": record.article_id,
                    "retry_on_conflict": 3,
                    "doc": {"cluster_id": record.cluster_id, "duplicate_of": duplicate_of.get(record.article_id)},
                }
                for record in records
            ),
            expected={404},
            wait_for_refresh=True,  # a later merge relabels these by query
        )

    def merge_clusters(self, into: str, others: Iterable[str]) -> None:
        """Relabel articles and dedup records by query; a document changed meanwhile is a version
        conflict, so go again until there is none."""
        merged = sorted({other for other in others if other != into})
        if not merged:
            return
        indices = [self.alias("articles"), self.alias("dedup")]
        for _ in range(5):
            # Unconditionally: the records to relabel may be another task's, written since the last refresh.
            self.es.indices.refresh(index=indices)
            with self._lock:
                self._unrefreshed.difference_update(("articles", "dedup"))
            response = self.es.update_by_query(
                index=indices,
                query={"terms": {"cluster_id": merged}},
                script={"source": "ctx._source.cluster_id = params.into", "params": {"into": into}},
                conflicts="proceed",
                refresh=True,
            )
            if not response.get("version_conflicts"):
                return
        raise RuntimeError(f"merging clusters into {into}: documents kept changing under update_by_query")

    def prune_dedup(self, before: datetime) -> int:
        self._fresh("dedup")
        response = self.es.delete_by_query(
            index=self.alias("dedup"),
            query={"range": {"published": {"lt": iso(before)}}},
            conflicts="proceed",
            refresh=True,
        )
        return int(response["deleted"])

    # -- statements --------------------------------------------------------
    def save_statement(self, statement: Statement) -> None:
        """The reports first (created once: one stored already keeps its place), then the statement, so a
        statement is never found without the reports it was saved with."""
        attached = iso(utcnow())
        self._bulk(
            "statement_reports",
            (
                {
                    "_op_type": "create",
                    "_id": _report_id(statement.id, quote),
                    "_source": _report_source(statement.id, quote, attached, position),
                }
                for position, quote in enumerate(statement.quotes)
            ),
            expected=(409,),
        )
        self.es.index(index=self.alias("statements"), id=statement.id, document=_statement_source(statement))
        self._wrote("statements", "statement_reports")

    def get_statement(self, statement_id: str) -> Statement | None:
        found = self._get("statements", statement_id)
        if not found:
            return None
        return _statement(found["_source"], self._reports(Search().filter("term", statement_id=statement_id)))

    def _statement_sources(self, speaker: str | None, since: datetime | None, limit: int) -> list[dict[str, Any]]:
        search = Search().sort({"first_seen": {"order": "desc"}}, "id")
        if speaker:
            # any spelling of the name ("Moon Jae In" is "Moon Jae-in"), as SQLite matches it
            spellings = [_ci_term("speaker", spelling) for spelling in speaker_spellings(speaker)]
            search = search.filter(Q("bool", should=spellings, minimum_should_match=1))
        if since:
            search = search.filter("range", first_seen={"gte": iso(since)})
        return list(self._all("statements", search, limit))

    def _reports(self, search: Search) -> list[StatementQuote]:
        """Every report `search` finds, in the order attached."""
        found = self._all("statement_reports", search.sort("attached", "position", "report_id"))
        return [_report(source) for source in found]

    def _with_reports(self, sources: list[dict[str, Any]], reports: list[dict[str, Any]]) -> list[Statement]:
        by_statement: dict[str, list[StatementQuote]] = {source["id"]: [] for source in sources}
        for report in sorted(reports, key=_report_order):
            by_statement[report["statement_id"]].append(_report(report))
        return [_statement(source, by_statement[source["id"]]) for source in sources]

    def _with_every_report(self, sources: list[dict[str, Any]]) -> list[Statement]:
        """These statements, each with every report of its own in the order attached."""
        if not sources:
            return []
        search = Search().filter("terms", statement_id=[source["id"] for source in sources])
        return self._with_reports(sources, list(self._all("statement_reports", search.sort("report_id"))))

    def list_statements(
        self, speaker: str | None = None, since: datetime | None = None, limit: int = 100
    ) -> list[Statement]:
        return self._with_every_report(self._statement_sources(speaker, since, limit))

    def statement_candidates(
        self, speaker: str, since: datetime | None, limit: int, article_id: str
    ) -> list[Statement]:
        """The earliest report of each wording through `collapse` (the server picks them, however many copies
        there are), paged with `from`, which collapse allows; then the article's own reports."""
        sources = self._statement_sources(speaker, since, limit)
        if not sources:
            return []
        of_these = Search().filter("terms", statement_id=[source["id"] for source in sources])
        earliest = of_these.sort({"reported": {"order": "asc", "missing": "_last"}}, "article_id").collapse("wording")
        reports = {report["report_id"]: report for report in self._collapsed(earliest)}
        own = of_these.filter("term", article_id=article_id).sort("report_id")
        reports.update((report["report_id"], report) for report in self._all("statement_reports", own))
        return self._with_reports(sources, list(reports.values()))

    def speaker_articles(
        self, speakers: Iterable[str], since: datetime, until: datetime
    ) -> list[tuple[str, datetime, str]]:
        bounds = {"gte": iso(since), "lte": iso(until)}
        published = Q("range", published=bounds)
        unpublished = Q("bool", must_not=[Q("exists", field="published")], filter=[Q("range", fetched=bounds)])
        names = {spelling for speaker in speakers for spelling in speaker_spellings(speaker)}
        spellings = [_ci_term("speakers", spelling) for spelling in sorted(names)]
        search = (
            Search()
            .filter(Q("bool", should=spellings, minimum_should_match=1))
            .filter(published | unpublished)
            .filter("term", processed=True)
            .sort("id")
            .source(["id", "published", "fetched", "speakers"])
        )
        folded = {speaker_key(name) for name in names}
        return sorted(
            (speaker, _appeared(source), source["id"])
            for source in self._all("articles", search)
            for speaker in source["speakers"]
            if speaker_key(speaker) in folded
        )

    def statements_reporting(self, speaker: str, article_ids: Iterable[str]) -> list[Statement]:
        reporting = Search().filter("terms", article_id=list(article_ids)).sort("report_id").source(["statement_id"])
        ids = sorted({report["statement_id"] for report in self._all("statement_reports", reporting)})
        if not ids:
            return []
        spellings = [_ci_term("speaker", spelling) for spelling in speaker_spellings(speaker)]
        chosen = Search().filter("terms", id=ids).filter(Q("bool", should=spellings, minimum_should_match=1))
        return self._with_every_report(list(self._all("statements", chosen.sort("id"))))

    def delete_statements(self, statement_ids: Iterable[str]) -> list[AlertRecord]:
        ids = list(statement_ids)
        self._fresh("statements", "statement_reports")
        for kind, field in (("statement_reports", "statement_id"), ("statements", "id")):
            self.es.delete_by_query(
                index=self.alias(kind), query={"terms": {field: ids}}, conflicts="proceed", refresh=True
            )
        claims = Search().filter("terms", statement_id=ids).sort("rule", "statement_id")
        return [_alert(source) for source in self._all("alerts", claims)]

    def _collapsed(self, search: Search) -> Iterator[dict[str, Any]]:
        self._fresh("statement_reports")
        start = 0
        while True:
            body = {**search.to_dict(), "from": start, "size": PAGE}
            hits = self.es.search(index=self.alias("statement_reports"), body=body)["hits"]["hits"]
            for hit in hits:
                yield hit["_source"]
            if len(hits) < PAGE:
                return
            start += PAGE

    # -- alert ledger ------------------------------------------------------
    def _alert_id(self, record: AlertRecord) -> str:
        return _key(record.rule, record.statement_id)

    def _remember(self, alert_id: str, response: ObjectApiResponse[Any]) -> None:
        self._alert_versions[alert_id] = (int(response["_seq_no"]), int(response["_primary_term"]))

    def claim_alert(self, record: AlertRecord) -> bool:
        alert_id = self._alert_id(record)
        try:
            response = self.es.create(index=self.alias("alerts"), id=alert_id, document=_alert_source(record))
        except ConflictError:
            return False
        self._remember(alert_id, response)
        self._wrote("alerts")
        return True

    def reclaim_alert(self, record: AlertRecord, now: datetime) -> bool:
        alert_id = self._alert_id(record)
        found = self._get("alerts", alert_id)
        if found is None:
            return False
        source = found["_source"]
        if _dt(source["claimed_at"]) != _dt(iso(record.claimed_at)) or source["state"] not in ("pending", "failed"):
            return False
        try:
            response = self.es.index(
                index=self.alias("alerts"),
                id=alert_id,
                document={**source, "claimed_at": iso(now), "state": "pending"},
                if_seq_no=found["_seq_no"],
                if_primary_term=found["_primary_term"],
            )
        except ConflictError:
            return False
        self._remember(alert_id, response)
        self._wrote("alerts")
        record.claimed_at, record.state = now, "pending"
        return True

    def revive_alert(self, record: AlertRecord, now: datetime) -> bool:
        found = self._get("alerts", self._alert_id(record))
        if found is None:
            return False
        source = found["_source"]
        if _dt(source["claimed_at"]) != _dt(iso(record.claimed_at)) or source["state"] not in ("dead", "failed"):
            return False
        revived = {**source, "claimed_at": iso(now), "next_attempt": iso(now), "state": "failed", "retry_until": None}
        try:
            self.es.index(
                index=self.alias("alerts"),
                id=self._alert_id(record),
                document=revived,
                if_seq_no=found["_seq_no"],
                if_primary_term=found["_primary_term"],
            )
        except ConflictError:
            return False
        self._wrote("alerts")
        record.claimed_at, record.next_attempt, record.state, record.retry_until = now, now, "failed", None
        return True

    def update_alert(self, record: AlertRecord) -> None:
        """Record the outcome of this worker's claim, only if the row is still as its claim left it.

        A worker whose lease expired finds the row changed by the one that took
        it over (`if_seq_no` fails with a conflict) and leaves that worker's state alone.
        """
        alert_id = self._alert_id(record)
        version = self._alert_versions.get(alert_id)
        if version is None:  # a row this store did not claim: compare against what it reads now
            found = self._get("alerts", alert_id)
            if found is None:
                return
            version = (int(found["_seq_no"]), int(found["_primary_term"]))
        source = _alert_source(record)
        del source["rule"], source["statement_id"]
        try:
            response = self.es.options(ignore_status=404).update(
                index=self.alias("alerts"), id=alert_id, doc=source, if_seq_no=version[0], if_primary_term=version[1]
            )
        except ConflictError:
            self._alert_versions.pop(alert_id, None)
            log.warning("alert %s: changed by another worker since this one claimed it; its state is kept", alert_id)
            return
        if response.meta.status != 404:
            self._remember(alert_id, response)
        self._wrote("alerts")

    def alerts_to_retry(self, now: datetime, stale_before: datetime) -> list[AlertRecord]:
        stale = Q("term", state="pending") & Q("range", claimed_at={"lt": iso(stale_before)})
        due = Q("term", state="failed") & Q("range", next_attempt={"lte": iso(now)})
        search = Search().filter(stale | due).sort("claimed_at", "rule", "statement_id")
        return [_alert(source) for source in self._all("alerts", search)]

    def list_alerts(self, limit: int = 100) -> list[AlertRecord]:
        search = Search().sort({"claimed_at": {"order": "desc"}}, "rule", "statement_id")
        return [_alert(source) for source in self._all("alerts", search, limit)]


# What the pipeline's workers do, and nothing more: read and write documents, read the
# mappings and aliases (`ensure_indices` checks them on open), refresh. Creating,
# migrating and templating indices is left to `wirewatch setup`, which runs as an admin.
PIPELINE_INDEX_PRIVILEGES = ("read", "write", "view_index_metadata", "maintenance")


def pipeline_role(prefix: str) -> dict[str, Any]:
    return {
        "cluster": [],
        "indices": [{"names": [f"{prefix}-*"], "privileges": list(PIPELINE_INDEX_PRIVILEGES)}],
        "metadata": {"managed_by": "wirewatch setup"},
    }


def ensure_pipeline_user(store: ElasticsearchStore, username: str, password: str) -> dict[str, str]:
    """Create or update the role `username` (this prefix's indices only) and the user `username` holding it.

    Idempotent: both are PUTs, so setup can run on every start. The password is
    set each time, which is how a changed password reaches Elasticsearch.
    """
    role = pipeline_role(store.prefix)
    store.es.security.put_role(
        name=username, cluster=role["cluster"], indices=role["indices"], metadata=role["metadata"]
    )
    store.es.security.put_user(
        username=username, password=password, roles=[username], full_name="wirewatch pipeline", enabled=True
    )
    return {"user": username, "role": username, "indices": f"{store.prefix}-*"}


def topic_query(query: str) -> dict[str, Any]:
    """A topic rule as the percolator stores it: the bool query `search` would run for the same text."""
    check_rule(query)
    node = parse(query)
    assert node is not None  # check_rule refuses a rule with nothing to search for
    return dict(to_elasticsearch(node).to_dict())


def sync_topic_queries(store: ElasticsearchStore, topics: Mapping[str, str]) -> int:
    """Make the percolator hold exactly `topics` (name -> rule), in the order given; return how many."""
    rendered: dict[str, dict[str, Any]] = {}
    for name, query in topics.items():  # every rule checked (once) before anything is sent
        try:
            rendered[name] = topic_query(query)
        except ValueError as exc:
            raise ValueError(f"topic {name!r}: {exc}") from None
    store._bulk(
        "topics",
        (
            {"_id": name, "_source": {"name": name, "order": order, "query": query}}
            for order, (name, query) in enumerate(rendered.items())
        ),
    )
    store.es.delete_by_query(
        index=store.alias("topics"),
        query={"bool": {"must_not": [{"ids": {"values": list(topics)}}]}},
        conflicts="proceed",
        refresh=True,
    )
    return len(topics)


def percolate_topics(store: ElasticsearchStore, article: Article) -> list[str]:
    """The stored topic rules this article matches, in their configured order."""
    store._fresh("topics")
    search = (
        Search()
        .query("percolate", field="query", document={"title": article.title, "text": article.text})
        .sort("order")
        .source(["name"])
        .extra(size=PAGE)
    )
    hits = store.es.search(index=store.alias("topics"), body=search.to_dict())["hits"]["hits"]
    return [hit["_source"]["name"] for hit in hits]
