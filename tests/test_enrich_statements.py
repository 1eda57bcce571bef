"""Statement identity across copies, and the quote chosen for an email subject."""

from __future__ import annotations

from pipeline.enrich.statements import best_quote, same_statement, statement_key

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
