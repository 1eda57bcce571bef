"""The patterns that decide whether a quote makes a statement and on which day, behind their cheap first tests.

`makes_a_statement` searches a paragraph for a caption only when it holds the text one of the caption's forms needs,
and `occasion_of` looks for a weekday only where "day" stands in any case: each case below is one of those forms, or
a paragraph that passes the first test and still holds no caption or weekday."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pipeline.enrich.statements import Occasion, makes_a_statement, occasion_of
from pipeline.records import Article, Quote

SENTENCE = "Such a reckless act cannot be overlooked and will be answered in kind,"
SPOKE = " Kim Yo Jong said in a statement carried by state media."


def paragraph_quote(paragraph: str) -> tuple[str, Quote]:
    """A story of one paragraph holding `SENTENCE`, and the quote of it."""
    start = paragraph.index(SENTENCE)
    return paragraph, Quote(SENTENCE, start, start + len(SENTENCE), "Kim Yo Jong")


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        (f'"{SENTENCE}"{SPOKE} (AP Photo/Jon Chol Jin)', False),  # "(" and "Photo"
        (f'"{SENTENCE}"{SPOKE} (Getty Images)', False),  # "(" and "Images"
        (f'"{SENTENCE}"{SPOKE} (KCNA via KNS)', False),  # "(" and "via"
        (f'"{SENTENCE}"{SPOKE} Photo: Yonhap', False),  # "Photo:"
        (f'"{SENTENCE}"{SPOKE} Jon Chol Jin/AP', False),  # "/AP"
        (f'"{SENTENCE}"{SPOKE} (Photographer unknown)', True),  # "(" and "Photo", but not the word
        (f'"{SENTENCE}"{SPOKE} (KCNA) The ministry did not answer.', True),  # "(" and no caption word
        (f'"{SENTENCE}"{SPOKE} Officials went via Beijing.', True),  # "via" with no "("
        (f'"{SENTENCE}"{SPOKE}', True),  # none of them
    ],
)
def test_a_caption_in_the_paragraph_in_each_of_its_forms(paragraph: str, expected: bool) -> None:
    text, quote = paragraph_quote(paragraph)
    assert makes_a_statement(quote, text, "Drone flights") is expected


PUBLISHED = datetime(2026, 3, 4, 9, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        (f'"{SENTENCE}"{SPOKE[:-1]} on Friday.', Occasion(date(2026, 2, 27), True)),
        (f'"{SENTENCE}"{SPOKE[:-1]} ON MONDAY.', Occasion(date(2026, 3, 2), True)),  # any case
        (f'"{SENTENCE}"{SPOKE[:-1]} late tUeSdAy.', Occasion(date(2026, 3, 3), True)),
        (f'"{SENTENCE}"{SPOKE[:-1]} today.', Occasion(date(2026, 3, 4), False)),  # "day", and no weekday
        (f'"{SENTENCE}"{SPOKE[:-1]} on Sundays.', Occasion(date(2026, 3, 4), False)),  # not the word alone
        (f'"{SENTENCE}"{SPOKE}', Occasion(date(2026, 3, 4), False)),
    ],
)
def test_the_weekday_named_in_any_case(paragraph: str, expected: Occasion) -> None:
    text, quote = paragraph_quote(paragraph)
    article = Article("a", "u", "f", "KCNA", "Drone flights", text, published=PUBLISHED)
    assert occasion_of(article, [quote]) == expected
