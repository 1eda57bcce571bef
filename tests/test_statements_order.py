"""Statements do not depend on how articles are batched: a fixed set of articles, split into batches of any sizes
and arriving in any order (the cycle's batches, a resumed run, the Airflow stages'), ends up in the same statements,
with the same ids, texts and kinds, as when they arrive together. On real SQLite, through `cycle.group_statements`
(which marks each batch processed, as the pipeline does).

The fixture articles are written for these tests: Kim Yo Jong's press statement in full (published before the two
reports quoting fragments of it), another statement of hers the same day on another story and a later scrap of it
("gangster-like act", too short to make a statement); Moon Jae-in on a summit, reported again the next morning in
other words, and on the economy the same day.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.cycle import group_statements
from pipeline.enrich.statements import LOOKBACK, Grouping, Matcher, _groups
from pipeline.records import AlertRecord, Article, Quote, Statement, article_time
from pipeline.store.sqlite import SQLiteStore

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
KIM, MOON = "Kim Yo Jong", "Moon Jae-in"
FULL = (
    "This morning I learned that the south Korean military authorities again flew drones over the border area. "
    "Such a reckless act cannot be overlooked by anyone. If the provocation is repeated, the south side will "
    "have to bear responsibility for the consequences."
)
SANCTIONS = "We will never accept the sanctions that were imposed on our economy."
SUMMIT = "We will keep working for peace on the peninsula with patience."
DIALOGUE = "Dialogue remains the only way forward for both Koreas."
ECONOMY = "The economy grew faster than we expected in the first quarter."


def said(article_id: str, hours: float, speaker: str, quotes: list[str], cluster: str) -> Article:
    """A report quoting `speaker`, each quote in a paragraph of its own, published `hours` after Monday 00:00."""
    paragraphs: list[str] = []
    found: list[Quote] = []
    for quote in quotes:
        paragraph = f'"{quote}" {speaker} told reporters in the capital after meeting senior party officials.'
        offset = sum(len(p) + 1 for p in paragraphs) + 1
        found.append(Quote(quote, offset, offset + len(quote), speaker))
        paragraphs.append(paragraph)
    published = MONDAY + timedelta(hours=hours)
    return Article(
        article_id,
        f"https://example.org/{article_id}",
        "https://example.org/feed",
        "Wire",
        "News from the peninsula",
        "\n".join(paragraphs),
        published=published,
        fetched=published + timedelta(minutes=5),
        cluster_id=cluster,
        quotes=found,
    )


def full_text(article_id: str, hours: float) -> Article:
    published = MONDAY + timedelta(hours=hours)
    return Article(
        article_id,
        f"https://example.org/{article_id}",
        "https://example.org/feed",
        "KCNA",
        "Press statement",
        FULL,
        published=published,
        fetched=published + timedelta(minutes=5),
        cluster_id="drones",
        quotes=[Quote(FULL, 0, len(FULL), KIM, kind="full_text")],
    )


def articles() -> list[Article]:
    return [
        full_text("kim-full", 8),
        said("kim-report", 9, KIM, ["Such a reckless act cannot be overlooked by anyone."], "drones"),
        said("kim-fragment", 11, KIM, ["the south side will have to bear responsibility"], "drones"),
        said("kim-sanctions", 15, KIM, [SANCTIONS, "gangster-like act"], "sanctions"),
        said("kim-scrap", 18, KIM, ["gangster-like act"], "sanctions"),
        said("moon-summit", 10, MOON, [SUMMIT], "summit"),
        said("moon-next-day", 33, MOON, [DIALOGUE], "summit"),
        said("moon-economy", 13, MOON, [ECONOMY], "economy"),
    ]


# Which reports share a statement, and each statement's speaker, kind and text: the full text (published first)
# holds both fragments; the scrap joins the sanctions statement it repeats; the next morning's report joins the
# summit statement of the day before (its own day is not said); the economy is a statement of its own.
EXPECTED = {
    frozenset({"kim-full", "kim-report", "kim-fragment"}): (KIM, "full_text", FULL),
    frozenset({"kim-sanctions", "kim-scrap"}): (KIM, "direct", SANCTIONS),
    frozenset({"moon-summit", "moon-next-day"}): (MOON, "direct", SUMMIT),
    frozenset({"moon-economy"}): (MOON, "direct", ECONOMY),
}


def grouped(store: SQLiteStore, batches: list[list[Article]]) -> list[Statement]:
    """Each batch stored, then grouped and marked processed, as the cycle does; every statement stored after."""
    for batch in batches:
        store.put_articles(batch)
        group_statements(store, batch, [article.id for article in batch])
    return store.list_statements(limit=100)


def outcome(statements: list[Statement]) -> dict[frozenset[str], tuple[str, str, str]]:
    return {frozenset(q.article_id for q in s.quotes): (s.speaker, s.kind, s.text) for s in statements}


@contextmanager
def fresh_store() -> Iterator[SQLiteStore]:
    """A store of its own for each example (hypothesis runs many in one test)."""
    with tempfile.TemporaryDirectory() as directory, SQLiteStore(Path(directory) / "w.db") as store:
        yield store


def ids_in_one_batch() -> dict[frozenset[str], str]:
    with fresh_store() as store:
        return {frozenset(q.article_id for q in s.quotes): s.id for s in grouped(store, [articles()])}


def test_the_articles_together_make_the_statements_written_beside_them() -> None:
    with fresh_store() as store:
        assert outcome(grouped(store, [articles()])) == EXPECTED


@st.composite
def batchings(draw: st.DrawFn) -> list[list[Article]]:
    """The fixture articles in any order, cut into batches of any sizes."""
    shuffled = draw(st.permutations(articles()))
    cuts = sorted(draw(st.sets(st.integers(1, len(shuffled) - 1))))
    return [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]


@settings(max_examples=40, deadline=None)
@given(batchings())
def test_any_batching_in_any_order_makes_the_same_statements(batches: list[list[Article]]) -> None:
    expected_ids = ids_in_one_batch()
    with fresh_store() as store:
        statements = grouped(store, batches)
        assert outcome(statements) == EXPECTED
        assert {frozenset(q.article_id for q in s.quotes): s.id for s in statements} == expected_ids
        # running the last batch again changes nothing
        assert outcome(grouped(store, batches[-1:])) == EXPECTED


def test_a_scrap_grouped_before_the_statement_it_repeats_joins_it_when_that_arrives() -> None:
    """The bench's "We" of Adam Neumann's: a quote too short to make a statement joins the statement whose words it
    repeats only if that statement exists; grouped before it arrived (a batch earlier), it used to join nothing."""
    scrap, statement = (
        said("scrap", 18, KIM, ["gangster-like act"], "sanctions"),
        said("statement", 15, KIM, [SANCTIONS, "gangster-like act"], "sanctions"),
    )
    with fresh_store() as store:
        assert outcome(grouped(store, [[scrap], [statement]])) == {
            frozenset({"statement", "scrap"}): (KIM, "direct", SANCTIONS)
        }


def test_the_next_days_report_joins_the_statement_whichever_arrives_first() -> None:
    """The bench's Alexander Vindman and "his team" (Europa's water vapour): a report published the next day,
    not saying which day the words were spoken, joins the day before's statement on the same story; arriving
    first, it used to open a statement of its own day, which the earlier report could not join."""
    earlier, next_day = said("earlier", 10, MOON, [SUMMIT], "summit"), said("next", 33, MOON, [DIALOGUE], "summit")
    for batches in ([[earlier], [next_day]], [[next_day], [earlier]]):
        with fresh_store() as store:
            assert outcome(grouped(store, batches)) == {frozenset({"earlier", "next"}): (MOON, "direct", SUMMIT)}


def test_an_alert_claimed_for_a_statement_a_late_article_replaces_is_carried_to_its_new_statement() -> None:
    """A report alerted on, then its full text (published before it) arrives: the statement is now the full
    text's (another id, as when both arrive together), and the claim moves with it, as it stood: the alert stage
    finds the statement claimed and sends nothing."""
    report = said("report", 9, KIM, ["Such a reckless act cannot be overlooked by anyone."], "drones")
    with fresh_store() as store:
        (alerted,) = grouped(store, [[report]])
        sent = AlertRecord("speaker:Kim Yo Jong", alerted.id, "<m1@wirewatch>", state="sent")
        assert store.claim_alert(sent)
        (now,) = grouped(store, [[full_text("full", 8)]])
        assert (now.kind, {q.article_id for q in now.quotes}) == ("full_text", {"full", "report"})
        assert now.id != alerted.id
        claims = {(a.rule, a.statement_id, a.message_id, a.state) for a in store.list_alerts()}
        assert claims == {
            ("speaker:Kim Yo Jong", alerted.id, "<m1@wirewatch>", "sent"),
            ("speaker:Kim Yo Jong", now.id, "<m1@wirewatch>", "sent"),
        }
        assert not store.claim_alert(AlertRecord("speaker:Kim Yo Jong", now.id, "<m2@wirewatch>"))


def test_the_store_finds_a_speakers_grouped_articles_in_any_case_and_removes_statements_with_their_claims() -> None:
    kim = said("kim", 9, KIM, [SANCTIONS], "sanctions")
    shouted = said("shouted", 10, "KIM YO JONG", ["gangster-like act"], "sanctions")
    waiting = said("waiting", 11, KIM, [SANCTIONS], "sanctions")
    with fresh_store() as store:
        grouped(store, [[kim, shouted]])
        store.put_articles([waiting])  # stored, not grouped yet
        found = store.speaker_articles([KIM], MONDAY, MONDAY + timedelta(hours=10))
        assert found == [
            ("KIM YO JONG", MONDAY + timedelta(hours=10), "shouted"),
            (KIM, MONDAY + timedelta(hours=9), "kim"),
        ]
        assert store.speaker_articles([KIM], MONDAY + timedelta(hours=9, minutes=1), MONDAY + timedelta(days=1)) == [
            ("KIM YO JONG", MONDAY + timedelta(hours=10), "shouted")
        ]
        (statement,) = store.statements_reporting(KIM, ["shouted"])
        assert {q.article_id for q in statement.quotes} == {"kim", "shouted"}
        assert store.statements_reporting(MOON, ["shouted"]) == []
        store.claim_alert(AlertRecord("speaker:Kim Yo Jong", statement.id, "<m@wirewatch>"))
        (claim,) = store.delete_statements([statement.id])
        assert (claim.statement_id, claim.message_id, claim.state) == (statement.id, "<m@wirewatch>", "pending")
        assert store.get_statement(statement.id) is None
        assert store.list_statements() == []


@pytest.mark.parametrize("hours", [0, 30 * 24])
def test_a_rewind_reaches_only_as_far_as_the_lookback(hours: int) -> None:
    """An article arriving late regroups the speaker's grouped articles within `LOOKBACK` (30 days) after it: the
    scrap an hour later joins its statement; 30 days and an hour later it is left as it was grouped (joined nothing)."""
    late = said("late", 9, KIM, [SANCTIONS, "gangster-like act"], "sanctions")
    grouped_first = said("grouped", 10 + hours, KIM, ["gangster-like act"], "sanctions")
    with fresh_store() as store:
        statements = grouped(store, [[grouped_first], [late]])
        expected = {frozenset({"late", "grouped"})} if hours == 0 else {frozenset({"late"})}
        assert {frozenset(q.article_id for q in s.quotes) for s in statements} == expected


def late_joins(batches: list[list[Article]], late: Article) -> list[Statement] | None:
    """What `Grouping.unchanged_joins` says of `late` (Kim's group) once `batches` are grouped: the statements its
    group joins with nothing later changed, or None when the later articles have to be rewound."""
    with fresh_store() as store:
        grouped(store, batches)
        store.put_articles([late])
        (group,) = _groups(late)
        later = store.speaker_articles([KIM], article_time(late), article_time(late) + LOOKBACK)
        return Grouping(store, Matcher(store)).unchanged_joins([group], [(moment, i) for _, moment, i in later])


def test_a_late_copy_of_a_wording_joins_its_statement_without_a_rewind_and_as_in_one_batch() -> None:
    """The usual late wire copy: published after the statement's first report and before a later statement of
    the speaker's, quoting only words the statement had already. It joins that statement and nothing later is
    regrouped; the statements, ids too, are those of one batch."""
    opener = said("opener", 9, KIM, [SANCTIONS], "sanctions")
    other = said("other", 12, KIM, [SUMMIT], "summit")
    copy = said("copy", 10, KIM, [SANCTIONS], "sanctions")
    joins = late_joins([[opener], [other]], copy)
    assert joins is not None
    assert [{q.article_id for q in statement.quotes} for statement in joins] == [{"opener"}]
    with fresh_store() as store:
        in_one = {frozenset(q.article_id for q in s.quotes): s.id for s in grouped(store, [[opener, other, copy]])}
    with fresh_store() as store:
        statements = grouped(store, [[opener], [other], [copy]])
        assert outcome(statements) == {
            frozenset({"opener", "copy"}): (KIM, "direct", SANCTIONS),
            frozenset({"other"}): (KIM, "direct", SUMMIT),
        }
        assert {frozenset(q.article_id for q in s.quotes): s.id for s in statements} == in_one


def test_a_late_copy_bringing_a_new_wording_rewinds_what_stands_after_it() -> None:
    """A late copy that adds a wording ("gangster-like act") can change what a later group joins: the scrap
    grouped before it joined nothing, and after it, in one pass, joins the statement by that wording. So the later
    articles are rewound, and the scrap joins."""
    opener = said("opener", 9, KIM, [SANCTIONS], "sanctions")
    scrap = said("scrap", 12, KIM, ["gangster-like act"], "sanctions")
    copy = said("copy", 10, KIM, [SANCTIONS, "gangster-like act"], "sanctions")
    assert late_joins([[opener], [scrap]], copy) is None
    with fresh_store() as store:
        assert outcome(grouped(store, [[opener], [scrap], [copy]])) == {
            frozenset({"opener", "copy", "scrap"}): (KIM, "direct", SANCTIONS)
        }
