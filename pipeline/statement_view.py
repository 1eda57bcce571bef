"""What the analyst is shown of a statement: its words once, then the reports that carried them.

A wire story reprinted by four outlets repeats the same quotes four times; the
analyst wants each wording once, with the outlets that carried it, and every
report attached listed separately. Both the CLI and the alert email read this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.config import Config
from pipeline.enrich.statements import words
from pipeline.records import Statement, StatementQuote, iso
from pipeline.store import Store


@dataclass
class Wording:
    """One distinct wording of a statement's words, and where it appeared."""

    text: str
    kind: str
    rule: str | None  # the strategy that attributed its first appearance
    outlets: list[str] = field(default_factory=list)
    article_urls: list[str] = field(default_factory=list)


def wordings(statement: Statement) -> list[Wording]:
    """Quotes counted once per wording (case, glyphs and punctuation aside), in first-seen order.

    A quoted fragment of a reported clause in the same article ("she said the talks were 'over'") is already
    shown, in its context, by that clause: listing it again on its own reads as a second quote the speaker
    never made."""
    clauses = _reported_clauses(statement.quotes)
    found: dict[str, Wording] = {}
    for quote in statement.quotes:
        said = " ".join(words(quote.text))
        if quote.kind == "direct" and any(f" {said} " in clause for clause in clauses.get(quote.article_url, ())):
            continue
        wording = found.setdefault(f"{quote.kind}\n{said}", Wording(quote.text, quote.kind, quote.rule))
        if quote.source not in wording.outlets:
            wording.outlets.append(quote.source)
        if quote.article_url not in wording.article_urls:
            wording.article_urls.append(quote.article_url)
    return list(found.values())


def _reported_clauses(quotes: list[StatementQuote]) -> dict[str, list[str]]:
    """Each article's reported clauses as their words, space-padded so a fragment matches whole words only;
    made once per statement, not once per quote."""
    clauses: dict[str, list[str]] = {}
    for quote in quotes:
        if quote.kind == "indirect":
            clauses.setdefault(quote.article_url, []).append(f" {' '.join(words(quote.text))} ")
    return clauses


def reports(statement: Statement) -> list[StatementQuote]:
    """One entry per article attached, earliest publication first: what carried the statement."""
    first: dict[str, StatementQuote] = {}
    for quote in statement.quotes:
        known = first.get(quote.article_url)
        if known is None or (known.kind != "full_text" and quote.kind == "full_text"):
            first[quote.article_url] = quote
    return sorted(first.values(), key=_report_order)


_NEVER = datetime.min.replace(tzinfo=UTC)


def _report_order(quote: StatementQuote) -> tuple[bool, bool, datetime, str]:
    """Published reports by publication, then unpublished ones by fetch time, then those with neither;
    a total order, so a missing time is never compared with a present one."""
    when = quote.published or quote.fetched
    return quote.published is None, when is None, when or _NEVER, quote.article_url


def statement_json(statement: Statement) -> dict[str, Any]:
    return {
        "id": statement.id,
        "speaker": statement.speaker,
        "kind": statement.kind,
        "first_seen": iso(statement.first_seen),
        "published": iso(statement.published),
        "occasion": statement.occasion.isoformat() if statement.occasion else None,
        "primary_url": statement.primary_url,
        "text": statement.text,
        "quotes": [
            {
                "text": wording.text,
                "kind": wording.kind,
                "rule": wording.rule,
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
                "rule": report.rule,
                "published": iso(report.published),
                "fetched": iso(report.fetched),
            }
            for report in reports(statement)
        ],
        "sources": statement.sources,
    }


def carried_line(shown: dict[str, Any]) -> str:
    """How widely a statement (as `statement_json` shows it) was carried: the CLI and the demo say it alike."""
    outlets = len({outlet for quote in shown["quotes"] for outlet in quote["outlets"]})
    quotes, reports = len(shown["quotes"]), len(shown["reports"])
    return f"{_counted(quotes, 'distinct quote')} from {_counted(outlets, 'outlet')}, {_counted(reports, 'report')}"


def _counted(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


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
