"""What the analyst is shown of a statement: reports in a total order."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.records import Statement, StatementQuote
from pipeline.statement_view import reports

T0 = datetime(2020, 7, 10, 6, 0, tzinfo=UTC)


def quote(url: str, published: datetime | None, fetched: datetime | None, kind: str = "direct") -> StatementQuote:
    return StatementQuote("no summit this year", url, f"https://example.org/{url}", "VOA", "t", published,
                          kind=kind, fetched=fetched)  # fmt: skip


def test_reports_are_ordered_when_only_some_quotes_have_a_publication_or_fetch_time() -> None:
    statement = Statement(
        id="s1",
        speaker="Kim Yo Jong",
        first_seen=T0,
        updated=T0,
        text="no summit this year",
        quotes=[
            quote("no-times", None, None),
            quote("fetched-late", None, T0.replace(hour=9)),
            quote("published", T0.replace(hour=8), None),
            quote("fetched-early", None, T0.replace(hour=7)),
            quote("published-early", T0, T0.replace(hour=10)),
        ],
    )
    # published first (by publication), then fetched only (by fetch time), then neither
    assert [report.article_id for report in reports(statement)] == [
        "published-early",
        "published",
        "fetched-early",
        "fetched-late",
        "no-times",
    ]
