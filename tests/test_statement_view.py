"""What the analyst is shown of a statement: reports in a total order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from pipeline.records import Statement, StatementQuote
from pipeline.statement_view import carried_line, reports, statement_json

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


def test_statement_json_says_which_strategy_attributed_each_quote_and_report() -> None:
    first = quote("voa", T0, None)
    first.rule = "cue_before_quote"
    again = quote("vice", T0.replace(hour=7), None)
    again.rule = "name_before_colon"
    statement = Statement("s1", "Kim Yo Jong", T0, "no summit this year", [first, again], updated=T0)
    shown = statement_json(statement)
    # one wording, carried twice: the rule of its first appearance
    assert [(q["text"], q["rule"]) for q in shown["quotes"]] == [("no summit this year", "cue_before_quote")]
    assert [(r["article_url"], r["rule"]) for r in shown["reports"]] == [
        ("https://example.org/voa", "cue_before_quote"),
        ("https://example.org/vice", "name_before_colon"),
    ]


def test_the_carried_line_counts_distinct_wordings_outlets_and_reports_and_times_end_in_z() -> None:
    voa = quote("voa", T0, None)
    vice = replace(quote("vice", T0.replace(hour=7), None), source="VICE")
    other = replace(quote("voa", T0, None), text="Washington must change course")
    shown = statement_json(Statement("s1", "Kim Yo Jong", T0, "no summit this year", [voa, vice, other], updated=T0))
    # two wordings ("no summit this year" twice, once more from VICE), two outlets, two articles
    assert carried_line(shown) == "2 distinct quotes from 2 outlets, 2 reports"
    assert carried_line(
        statement_json(Statement("s2", "Kim Yo Jong", T0, "no summit this year", [voa], updated=T0))
    ) == ("1 distinct quote from 1 outlet, 1 report")
    assert (shown["first_seen"], shown["reports"][0]["published"]) == ("2020-07-10T06:00:00Z", "2020-07-10T06:00:00Z")


def test_a_quoted_fragment_is_shown_within_its_reported_clause_not_again_on_its_own() -> None:
    clause = replace(quote("voa", T0, None, kind="indirect"), text='the talks were "over and done" for now')
    fragment = replace(quote("voa", T0, None), text="over and done")
    elsewhere = replace(quote("vice", T0, None), text="Over and done!", source="VICE")  # no clause there
    partial_word = replace(quote("voa", T0, None), text="over and")  # a fragment of the clause too
    not_inside = replace(quote("voa", T0, None), text="done for good")
    statement = Statement("s1", "Kim Yo Jong", T0, "the talks were over", [fragment, clause, elsewhere,
                          partial_word, not_inside], updated=T0)  # fmt: skip
    shown = statement_json(statement)
    assert [(q["text"], q["kind"], q["outlets"]) for q in shown["quotes"]] == [
        ('the talks were "over and done" for now', "indirect", ["VOA"]),
        ("Over and done!", "direct", ["VICE"]),
        ("done for good", "direct", ["VOA"]),
    ]
    assert carried_line(shown) == "3 distinct quotes from 2 outlets, 2 reports"
