"""The plain records that flow between stages and into the store."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from operator import attrgetter
from typing import Any


def iso(value: datetime | None) -> str | None:
    """A time as every output writes it (JSON views, Elasticsearch documents): UTC ISO-8601 ending in Z;
    a naive time is taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class FeedState:
    """What the store remembers about one feed between polls."""

    url: str
    name: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_polled: datetime | None = None
    last_success: datetime | None = None
    failures: int = 0
    last_error: str | None = None
    next_poll: datetime | None = None
    entries_seen: int = 0


@dataclass
class Entry:
    """One item of a feed; `id` is the canonical-URL hash, shared with its article."""

    id: str
    feed_url: str
    url: str
    guid: str | None = None
    title: str = ""
    summary: str = ""
    published: datetime | None = None
    source: str = ""
    status: str = "pending"  # pending | done | failed
    attempts: int = 0
    last_error: str | None = None
    next_attempt: datetime | None = None
    discovered: datetime = field(default_factory=utcnow)

    def __reduce__(self) -> tuple[type[Entry], tuple[Any, ...]]:
        """Pickled as its fields in order, rebuilt by its constructor. A poll's workers send back every entry of
        every changed feed (46,656 for the bench's 2,000 feeds); pickle's default for a dataclass (a bare object,
        then its attribute dict set) took the main process twice as long to unpickle."""
        return (type(self), _entry_fields(self))


# An entry's fields in the constructor's order, read in one call.
_entry_fields = attrgetter(*(item.name for item in fields(Entry)))


@dataclass
class Entity:
    text: str
    label: str
    start: int
    end: int
    canonical: str


@dataclass
class Quote:
    text: str
    start: int
    end: int
    speaker: str | None
    speaker_start: int | None = None
    speaker_end: int | None = None
    cue: str | None = None
    rule: str | None = None  # the attribution strategy that found the speaker (pipeline/enrich/quotes/strategies.py)
    # How the words are attributed: "direct" (in quotation marks), "indirect" (reported
    # speech, cued by a verb or noun of saying), "full_text" (the article body is the
    # speaker's own statement) or "stance" (an attitude, position or act attributed to a
    # source that is not an act of saying: "endorsed Sanders", "declined to comment";
    # kept and searchable, never a statement).
    kind: str = "direct"


@dataclass
class Article:
    id: str
    url: str
    feed_url: str
    source: str
    title: str
    text: str
    author: str | None = None
    published: datetime | None = None
    language: str | None = None
    sitename: str | None = None
    from_feed: bool = False
    fetched: datetime = field(default_factory=utcnow)
    cluster_id: str | None = None
    duplicate_of: str | None = None
    entities: list[Entity] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)


@dataclass
class Extracted:
    """What the extract stage learns from one page; fields map onto `Article`."""

    text: str
    title: str | None
    author: str | None
    published: datetime | None  # tz-aware, UTC
    sitename: str | None
    language: str | None  # lower-case ISO 639 primary subtag, e.g. "en"


@dataclass
class StatementQuote:
    text: str
    article_id: str
    article_url: str
    source: str
    title: str
    published: datetime | None
    context: str = ""
    kind: str = "direct"
    # When wirewatch first saw the article carrying it (its fetch time).
    fetched: datetime | None = None
    # The attribution strategy that found the speaker (the quote's `rule`); None on older statements.
    rule: str | None = None


@dataclass
class Statement:
    """One act of speaking (one speaker, one occasion), however many articles carry it.

    `id` is made from its first report (`statements.statement_key`), so the same articles give the same id in
    any batching; a report published earlier that arrives later can open it instead, and then the statement has
    that report's id (`statements.Grouping.carry_claims` keeps its alerts). `first_seen` is when wirewatch first
    saw it, `published` when its first source published it; `occasion` is the day it was made. `kind` is
    "full_text" once the statement's own text is known (then `text` is that text and `primary_url` where it was
    published), else the kind of the attributions that carried it.
    """

    id: str
    speaker: str
    first_seen: datetime
    text: str
    quotes: list[StatementQuote] = field(default_factory=list)
    updated: datetime = field(default_factory=utcnow)
    kind: str = "direct"
    published: datetime | None = None
    occasion: date | None = None
    primary_url: str | None = None

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys(quote.article_url for quote in self.quotes))


@dataclass
class AlertRecord:
    """One row of the alert ledger: a (rule, statement) pair claimed before its email is sent.

    States: `pending` (claimed, not yet confirmed sent), `sent`, `failed`
    (temporary failure, retried from `next_attempt` until `retry_until`), `dead`
    (refused for good, or still failing at `retry_until`; `alerts --retry` revives it).
    """

    rule: str
    statement_id: str
    message_id: str
    state: str = "pending"
    claimed_at: datetime = field(default_factory=utcnow)
    sent_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    next_attempt: datetime | None = None
    retry_until: datetime | None = None


# A name of more parts than this is looked up as written: its spellings would be too many to list.
_MAX_SPELLED_PARTS = 6


def speaker_spellings(name: str) -> list[str]:
    """Every spelling of a speaker's name that is the same speaker: "Moon Jae In", "Moon Jae-In", "Moon-Jae In" …
    (a hyphen or a space between any two of its parts), the name as given first. Outlets romanise and hyphenate
    one name differently ("Moon Jae-in", "Moon Jae In"), and statements are grouped and looked up by speaker, so
    the stores match a speaker by any of these (and, as they do for every speaker, whatever the case)."""
    parts = _name_parts(name)
    if not 1 < len(parts) <= _MAX_SPELLED_PARTS:
        return [name]
    spellings = [parts[0]]
    for part in parts[1:]:
        spellings = [f"{spelled}{joint}{part}" for spelled in spellings for joint in (" ", "-")]
    return [name, *(spelling for spelling in spellings if spelling != name)]


def speaker_key(name: str) -> str:
    """The form in which two spellings of one speaker's name are equal: case, hyphens and spaces folded."""
    return " ".join(_name_parts(name.casefold()))


def _name_parts(name: str) -> list[str]:
    """A name's parts, hyphens (either kind) and runs of spaces alike taken as the break between two."""
    return name.replace("‐", "-").replace("-", " ").split()


def aware(moment: datetime) -> datetime:
    """A time that compares with any other: a naive one is taken as UTC, as every store writes them."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def article_time(article: Article) -> datetime:
    """When an article appeared: its publication time, else when we fetched it."""
    return aware(article.published or article.fetched)


@dataclass
class StageError:
    """A recorded failure: what failed, at which stage, and why, in words."""

    url: str
    stage: str
    reason: str
