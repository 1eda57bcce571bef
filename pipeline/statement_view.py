"""What the analyst is shown of a statement: its words once, then the reports that carried them.

A wire story reprinted by four outlets repeats the same quotes four times; the
analyst wants each wording once, with the outlets that carried it, and every
report attached listed separately. Both the CLI and the alert email read this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.config import Config
from pipeline.enrich.statements import words
from pipeline.records import Statement, StatementQuote
from pipeline.store import Store


@dataclass
class Wording:
    """One distinct wording of a statement's words, and where it appeared."""

    text: str
    kind: str
    outlets: list[str] = field(default_factory=list)
    article_urls: list[str] = field(default_factory=list)


def wordings(statement: Statement) -> list[Wording]:
    """Quotes counted once per wording (case, glyphs and punctuation aside), in first-seen order."""
    found: dict[str, Wording] = {}
    for quote in statement.quotes:
        key = f"{quote.kind}\n{' '.join(words(quote.text))}"
        wording = found.setdefault(key, Wording(quote.text, quote.kind))
        if quote.source not in wording.outlets:
            wording.outlets.append(quote.source)
        if quote.article_url not in wording.article_urls:
            wording.article_urls.append(quote.article_url)
    return list(found.values())


def reports(statement: Statement) -> list[StatementQuote]:
    """One entry per article attached, earliest publication first: what carried the statement."""
    first: dict[str, StatementQuote] = {}
    for quote in statement.quotes:
        known = first.get(quote.article_url)
        if known is None or (known.kind != "full_text" and quote.kind == "full_text"):
            first[quote.article_url] = quote
    return sorted(
        first.values(), key=lambda quote: (quote.published is None, quote.published or quote.fetched, quote.article_url)
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def statement_json(statement: Statement) -> dict[str, Any]:
    return {
        "id": statement.id,
        "speaker": statement.speaker,
        "kind": statement.kind,
        "first_seen": _iso(statement.first_seen),
        "published": _iso(statement.published),
        "occasion": statement.occasion.isoformat() if statement.occasion else None,
        "primary_url": statement.primary_url,
        "text": statement.text,
        "quotes": [
            {
                "text": wording.text,
                "kind": wording.kind,
                "article_url": wording.article_urls[0],
                "outlets": wording.outlets,
                "articles": wording.article_urls,
            }
            for wording in wordings(statement)
        ],
        "reports": [
            {
                "article_url": report.article_url,
                "source": report.source,
                "title": report.title,
                "kind": report.kind,
                "published": _iso(report.published),
                "fetched": _iso(report.fetched),
            }
            for report in reports(statement)
        ],
        "sources": statement.sources,
    }


def tracked_statements(
    store: Store, config: Config, speaker: str | None, since: datetime | None, limit: int, every_speaker: bool
) -> list[Statement]:
    """The tracked speakers' statements (or one speaker's, or everyone's), newest first."""
    if speaker or every_speaker:
        return store.list_statements(speaker, since, limit)
    found = {
        statement.id: statement
        for tracked in config.speakers
        for statement in store.list_statements(tracked.name, since, limit)
    }
    newest = sorted(found.values(), key=lambda statement: (statement.first_seen, statement.id), reverse=True)
    return newest[:limit]
