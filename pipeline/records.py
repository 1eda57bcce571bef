"""The plain records that flow between stages and into the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


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
class StageError:
    """A recorded failure: what failed, at which stage, and why, in words."""

    url: str
    stage: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"url": self.url, "stage": self.stage, "reason": self.reason}
