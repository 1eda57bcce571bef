"""Statement identity across copies, and the quote chosen for an email subject."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from pipeline.config import Config
from pipeline.enrich.analyze import analyze
from pipeline.enrich.quotes.reported import headline_verb_clause
from pipeline.enrich.statements import (
    HEADLINE_RULE,
    Occasion,
    StatementReport,
    _groups,
    attach_statements,
    best_quote,
    makes_a_statement,
    occasion_of,
    same_statement,
    statement_key,
)
from pipeline.records import Article, Quote
from pipeline.store.sqlite import SQLiteStore

VOA_TRUMP = '"I understand they want to meet, and we would certainly do that,"'
VICE_TRUMP = "“I understand they want to meet and we would certainly do that,”"


def test_a_commas_difference_is_the_same_statement() -> None:
    assert same_statement(VOA_TRUMP, VICE_TRUMP)


def test_case_curly_quotes_and_apostrophes_are_ignored() -> None:
    assert same_statement("We’re very hopeful", "WE'RE VERY HOPEFUL.")


def test_a_fragment_inside_the_full_quote_is_the_same_statement() -> None:
    full = "Another summit would not be useful to us unless the U.S. changes its approach."
    assert same_statement("not be useful to us", full)
    assert same_statement(full, "not be useful to us")


def test_a_word_changed_in_a_long_quote_is_still_the_same_statement() -> None:
    a = "We would like to make it clear that it does not necessarily mean the denuclearization is not possible."
    b = "We'd like to make it clear that it does not necessarily mean denuclearization is not possible."
    assert same_statement(a, b)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        # seven words, one changed: 6 of 7 matched in order, at least 0.85 of them
        ("we will not talk to them again", "we will never talk to them again", True),
        # six words, one changed: 5 of 6 matched, under 0.85 of them
        ("we will not talk to them", "we will never talk to them", False),
        # five words, one changed: under six words only the same words or containment count
        ("we are very hopeful now", "we are very hopeful today", False),
        # every word shared, in another order: only the longest run (4 of 8) matches in order
        ("the talks were useful and we are hopeful", "we are hopeful and the talks were useful", False),
        # one word dropped from eight: 7 of 7 matched
        ("the talks were useful and we are hopeful", "the talks were useful and we are", True),
    ],
)
def test_a_quote_reworded_is_the_same_statement_only_when_most_words_match_in_order(a: str, b: str, same: bool) -> None:
    assert same_statement(a, b) is same
    assert same_statement(b, a) is same


def test_different_words_are_different_statements() -> None:
    assert not same_statement("It is my personal opinion", "We are not saying we are not going to denuclearize")
    assert not same_statement("", "anything")
    assert not same_statement("...", "?!")


def test_a_short_common_fragment_is_not_enough() -> None:
    assert not same_statement("very good", "The talks were very good but nothing came of them.")


def test_statement_key_is_stable_across_punctuation() -> None:
    assert statement_key("Kim Yo Jong", VOA_TRUMP) == statement_key("kim yo jong", VICE_TRUMP)
    assert statement_key("Kim Yo Jong", VOA_TRUMP) != statement_key("Donald Trump", VOA_TRUMP)


def test_best_quote_prefers_a_full_sentence_to_a_fragment() -> None:
    quotes = [
        "not be useful to us",
        "extreme provocations.",
        "It is my personal opinion, but a summit between the U.S. and North Korea will not take place this year,",
    ]
    assert best_quote(quotes) == quotes[2]
    assert best_quote(["good and solid"]) == "good and solid"
    assert best_quote([]) == ""


# -- what makes a statement, and on which day ----------------------------------------
STORY = (
    "Kim Yo Jong speaks during a meeting in Pyongyang. (AP Photo/Jon Chol Jin)\n"
    'Kim Yo Jong: "Reckless act"\n'
    'North Korea called the flights a "reckless act" on Friday.\n'
    '"Such a reckless act cannot be overlooked," Kim Yo Jong said in a statement on Friday.'
)


def quote_of(text: str, kind: str = "direct") -> Quote:
    start = STORY.index(text)
    return Quote(text, start, start + len(text), "Kim Yo Jong", kind=kind)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("speaks during a meeting in Pyongyang", False),  # a caption
        ("Reckless act", False),  # a heading, and a scrap
        ("reckless act", False),  # two words in a sentence: a scrap
        ("Such a reckless act cannot be overlooked,", True),
    ],
)
def test_only_a_sentence_of_a_story_makes_a_statement(words: str, expected: bool) -> None:
    assert makes_a_statement(quote_of(words), STORY, "Seoul's drones") is expected


def test_a_quote_that_is_the_headline_makes_no_statement() -> None:
    quote = quote_of("Such a reckless act cannot be overlooked,")
    assert makes_a_statement(quote, STORY, "Kim Yo Jong: Such a reckless act cannot be overlooked") is False


def test_an_attribution_read_from_the_headline_never_makes_a_statement() -> None:
    """The headline's attribution is found (PolNeAR annotates headlines), but only the story's own sentence of the
    same words makes a statement, even with a full stop and more than fifteen words on the headline's line."""
    text = (
        "Kim Yo Jong Says Seoul Will Pay Dearly For The Drone Flights Over Pyongyang Last Week And Many Times "
        "Before That.\n\n"
        "Kim Yo Jong said Seoul will pay dearly for the drone flights over Pyongyang.\n"
    )
    quotes = analyze(text, Config()).quotes
    found = [(q.text, q.speaker, q.kind, q.rule, makes_a_statement(q, text, "")) for q in quotes]
    assert found == [
        (
            "Seoul Will Pay Dearly For The Drone Flights Over Pyongyang Last Week And Many Times Before That",
            "Kim Yo Jong",
            "indirect",
            "headline_verb_clause",
            False,
        ),
        (
            "Seoul will pay dearly for the drone flights over Pyongyang",
            "Kim Yo Jong",
            "indirect",
            "speaker_verb_clause",
            True,
        ),
    ]
    assert headline_verb_clause.__name__ == HEADLINE_RULE


def test_a_stance_never_makes_a_statement() -> None:
    """The same whole sentence makes one as an indirect attribution and none as a stance (an attitude or act)."""
    sentence = "Such a reckless act cannot be overlooked,"
    assert makes_a_statement(quote_of(sentence, "indirect"), STORY, "Seoul's drones") is True
    assert makes_a_statement(quote_of(sentence, "stance"), STORY, "Seoul's drones") is False


def test_the_occasion_is_the_weekday_named_beside_the_quote_else_the_day_published() -> None:
    published = datetime(2026, 3, 4, 9, tzinfo=UTC)  # a Wednesday
    article = Article("a", "u", "f", "VOA", "t", STORY, published=published)
    named = occasion_of(article, [quote_of("Such a reckless act cannot be overlooked,")])
    assert named == Occasion(date(2026, 2, 27), stated=True)  # the Friday before
    plain = Article("b", "u", "f", "VOA", "t", "Kim said she would not talk.", published=published)
    unsaid = occasion_of(plain, [Quote("she would not talk", 9, 27, "Kim Yo Jong")])
    assert unsaid == Occasion(date(2026, 3, 4), stated=False)
    assert unsaid.admits(date(2026, 3, 3)) and unsaid.admits(date(2026, 3, 4))
    assert not unsaid.admits(date(2026, 3, 2)) and not named.admits(date(2026, 2, 26))


# -- identity in the store ------------------------------------------------------------
def report(article_id: str, published: datetime, quote: str, cluster: str = "story") -> Article:
    text = f"Tensions rose again on the peninsula. {quote} Kim Yo Jong said in a statement carried by state media."
    start = text.index(quote)
    return Article(
        article_id,
        f"https://example.org/{article_id}",
        "https://example.org/feed",
        "VOA",
        "North Korea warns the South",
        text,
        published=published,
        fetched=published + timedelta(minutes=5),
        cluster_id=cluster,
        quotes=[Quote(quote, start, start + len(quote), "Kim Yo Jong")],
    )


MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)


def attach(store: SQLiteStore, article: Article) -> StatementReport:
    """As the pipeline does: the article is stored first, then given its statements."""
    store.put_articles([article])
    return attach_statements([article], store)


def test_two_statements_on_one_story_days_apart_are_two(tmp_path) -> None:
    with SQLiteStore(tmp_path / "w.db") as store:
        first = attach(store, report("a", MONDAY, '"We will not sit down with Seoul this year."'))
        later = MONDAY + timedelta(days=2)
        second = attach(store, report("b", later, '"The drills must stop before anything else."'))
        assert len(first.new) == 1 and len(second.new) == 1 and first.new != second.new
        again = attach(store, report("c", later, '"The drills must stop before anything else."', "copy"))
        assert again.new == [] and again.updated == second.new  # a copy of the second joins it, not the first


def test_two_translations_of_one_days_statement_are_one(tmp_path) -> None:
    with SQLiteStore(tmp_path / "w.db") as store:
        attach(store, report("voa", MONDAY, '"A summit will not take place this year."'))
        vice = report("vice", MONDAY + timedelta(hours=3), '"Summit talks are not needed this year and beyond."')
        assert attach(store, vice).new == []  # same day, same story: one act of speaking
        (statement,) = store.list_statements(speaker="Kim Yo Jong")
        assert [quote.article_id for quote in statement.quotes] == ["voa", "vice"]
        assert (statement.published, statement.first_seen) == (MONDAY, MONDAY + timedelta(minutes=5))
        assert attach_statements([vice], store).updated == []  # idempotent


def test_one_speaker_spelled_two_ways_in_two_articles_makes_one_statement(tmp_path) -> None:
    """ "Moon Jae In" (one outlet) and "Moon Jae-in" (another) the same day, on the same words: one statement, one
    speaker, both reports attached, the speaker as first spelled."""
    quote = '"The door to talks stays open to the North."'

    def by(article_id: str, speaker: str, published: datetime) -> Article:
        article = report(article_id, published, quote)
        article.quotes = [Quote(q.text, q.start, q.end, speaker) for q in article.quotes]
        return article

    with SQLiteStore(tmp_path / "w.db") as store:
        first = attach(store, by("yonhap", "Moon Jae-in", MONDAY))
        second = attach(store, by("voa", "Moon Jae In", MONDAY + timedelta(hours=2)))
        assert len(first.new) == 1 and second.new == [] and second.updated == first.new
        (statement,) = store.list_statements()
        assert statement.speaker == "Moon Jae-in"
        assert [q.article_id for q in statement.quotes] == ["yonhap", "voa"]


def test_one_article_spelling_a_speaker_two_ways_is_one_group() -> None:
    text = 'Moon Jae In spoke first. "We will keep talking," Moon Jae-in said. "Talks are the only way," he added.'
    quotes = [
        Quote("We will keep talking,", 26, 47, "Moon Jae-in"),
        Quote("Talks are the only way,", 67, 90, "Moon Jae In"),
    ]
    article = Article("a", "u", "f", "VOA", "t", text, published=MONDAY, quotes=quotes)
    (group,) = _groups(article)
    assert (group.speaker, [q.text for q in group.quotes]) == ("Moon Jae-in", [q.text for q in quotes])
