"""The shortcuts the analysis takes for speed read the same as the slow way they replace.

Each case's expected value is written beside it, never computed by the code under test.
"""

from __future__ import annotations

import pytest
from spacy.tokenizer import Tokenizer
from spacy.tokens import Span

from pipeline.config import Config
from pipeline.enrich.entities import (
    ORG,
    PERSON,
    SpeakerIndex,
    _capitalised,
    _Headlines,
    _LowerWords,
    _page_furniture,
    doc_text,
    get_nlp,
    make_doc,
    name_parts,
    set_entities,
    token_table,
)
from pipeline.enrich.quotes import find_quote_spans
from pipeline.enrich.quotes.frame import Context, frame, lower
from pipeline.enrich.quotes.reported import Sentence, _may_report
from pipeline.query import fold, words

TEXT = "The minister said,“We will not   yield.” Then she left.\n"


def test_a_doc_keeps_the_text_it_was_made_from() -> None:
    nlp = get_nlp(Config())
    assert doc_text(make_doc(nlp, TEXT)) == TEXT
    assert doc_text(nlp(TEXT)) == TEXT  # a doc made elsewhere is joined from its tokens once


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Officials SAID the road was closed.", True),  # any case
        ("According to the ministry, it is closed.", True),
        ("The saidx road was closed.", False),  # a whole word only
        ("The road was closed on Tuesday.", False),
        ("It was a well-said point.", True),  # "said" after a hyphen is a word of its own
    ],
)
def test_a_sentence_may_report_when_it_holds_a_reporting_verb(text: str, expected: bool) -> None:
    assert _may_report(text, 0, len(text)) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Café “Ünïcode” naïve", "cafe “unicode” naive"),
        ("Cafe\u0301 de Paris", "cafe de paris"),  # a combining accent after an ASCII letter
        ("Plain ASCII", "plain ascii"),
        ("Łódź", "łodz"),  # a letter with no decomposition stays
    ],
)
def test_fold_drops_diacritics_and_case(text: str, expected: str) -> None:
    assert fold(text) == expected


def test_a_frame_folds_a_quote_glued_to_a_word_into_one_item() -> None:
    nlp = get_nlp(Config())
    doc = make_doc(nlp, TEXT)
    spans = find_quote_spans(TEXT)
    ctx = Context(doc, TEXT, spans, [], SpeakerIndex(()))
    items = frame(ctx, 0, len(TEXT))
    words = [lower(ctx, item) if item[0] == "T" else "<quote>" for item in items]
    assert words == ["the", "minister", "said", ",", "<quote>", "then", "she", "left", "."]


def test_a_frame_is_built_once_per_range_and_shared() -> None:
    nlp = get_nlp(Config())
    ctx = Context(make_doc(nlp, TEXT), TEXT, find_quote_spans(TEXT), [], SpeakerIndex(()))
    first = frame(ctx, 0, 18)
    assert frame(ctx, 0, 18) is first
    assert [lower(ctx, item) for item in first] == ["the", "minister", "said", ","]


def test_a_sentence_reads_its_words_and_offsets_from_the_context() -> None:
    nlp = get_nlp(Config())
    ctx = Context(make_doc(nlp, TEXT), TEXT, find_quote_spans(TEXT), [], SpeakerIndex(()))
    sent = Sentence(ctx, frame(ctx, 0, len(TEXT)), {})
    assert [sent.word(k) for k in (-1, 0, 2, 4, 8, 9)] == ["", "the", "said", "", ".", ""]  # 4 is the quote
    assert (sent.start_of(1), sent.end_of(1)) == (4, 12)  # "minister"
    assert (sent.start_of(4), sent.end_of(4)) == (18, 40)  # the quotation with its marks


@pytest.mark.parametrize(
    ("word", "like_num", "like_url"),
    [
        ("Seventh", True, False),  # a number word, any case
        ("seven", True, False),
        ("Kim", False, False),
        ("3rd", True, False),
        ("1/2", True, False),
        ("-10", True, False),
        ("example.com", False, True),
        ("http://x", False, True),  # the scheme alone, no dot
        ("U.S.", False, False),
        ("kim@example.org", False, False),
    ],
)
def test_new_words_get_spacys_number_and_url_flags(word: str, like_num: bool, like_url: bool) -> None:
    lexeme = get_nlp(Config()).vocab[word]
    assert (lexeme.like_num, lexeme.like_url) == (like_num, like_url)


def test_words_the_suffix_shortcut_skips_split_as_spacy_splits_them() -> None:
    nlp = get_nlp(Config())
    text = "Kim's 12ft wall, HE'S near the U.S. border (north) at 5km/h."
    expected = ["Kim", "'s", "12", "ft", "wall", ",", "HE", "'S", "near", "the", "U.S.", "border", "(", "north", ")"]
    expected += ["at", "5", "km/h", "."]
    assert [token.text for token in nlp.make_doc(text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # prefixes: a currency written with letters is still split off a chunk opening with a letter
        (
            "Aid of US$5m, C$10 and A$3 reached (Kim) “Trump” -President Obama.",
            [
                "Aid",
                "of",
                "US$",
                "5",
                "m",
                ",",
                "C$",
                "10",
                "and",
                "A$",
                "3",
                "reached",
                "(",
                "Kim",
                ")",
                "“",
                "Trump",
                "”",
                "-",
                "President",
                "Obama",
                ".",
            ],
        ),
        # infixes and URLs: a hyphen, an ellipsis and a comma between letters split; a URL stays whole
        (
            "The re-elected U.S.-based envoy...then left,quietly at 10:30 on www.kcna.co.jp/item or http://x.org.",
            [
                "The",
                "re",
                "-",
                "elected",
                "U.S.-based",
                "envoy",
                "...",
                "then",
                "left",
                ",",
                "quietly",
                "at",
                "10:30",
                "on",
                "www.kcna.co.jp/item",
                "or",
                "http://x.org",
                ".",
            ],
        ),
        # suffixes: a possessive after any apostrophe or quote mark, a unit after a number; a plural stays whole
        (
            "Kim’s and Schumer‘s cats, HE’S 3m/s pass",
            ["Kim", "’s", "and", "Schumer", "‘s", "cats", ",", "HE", "’S", "3", "m/s", "pass"],
        ),
    ],
)
def test_chunks_the_tokenizer_shortcuts_answer_split_as_spacy_splits_them(text: str, expected: list[str]) -> None:
    assert [token.text for token in get_nlp(Config()).make_doc(text)] == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [("minister", True), ("left", True), ("Minister", False), ("u.s.", False), ("absent", False), ("", False)],
)
def test_a_docs_lower_case_words_are_its_lower_case_alphabetic_tokens(word: str, expected: bool) -> None:
    doc = make_doc(get_nlp(Config()), "The Minister left. The minister and the U.S. envoy stayed.")
    assert (word in _LowerWords(doc)) is expected


def test_a_capitalised_word_is_flagged_in_the_vocabulary() -> None:
    doc = make_doc(get_nlp(Config()), "Sen. Ana Kovac of the E.U. met J. Doe and McDonald's staff at 5 p.m. in iraq.")
    assert [doc[i].text for i in _capitalised(doc)] == ["Sen.", "Ana", "Kovac", "E.U.", "J.", "Doe", "McDonald"]


def test_whitespace_splits_as_before_once_it_is_no_special_case() -> None:
    nlp = get_nlp(Config())
    text = "Mr. Kim left.\n\nHe said  no.\nThen\tyes \n"
    expected = ["Mr.", "Kim", "left", ".", "\n\n", "He", "said", " ", "no", ".", "\n", "Then", "\t", "yes", "\n"]
    doc = nlp.make_doc(text)
    assert [token.text for token in doc] == expected
    assert [token.whitespace_ for token in doc][:3] == [" ", " ", ""]
    tokenizer: Tokenizer = nlp.tokenizer
    rules = tokenizer.rules or {}
    assert "\n" not in rules  # a lone newline no longer stops the tokenizer's cache
    assert rules["\xa0"] == [{65: "\xa0", 67: "  "}]  # a case with a norm of its own stays


@pytest.mark.parametrize(
    ("word", "shape", "is_punct", "is_quote", "is_left_punct", "is_bracket", "is_currency"),
    [
        ("Kovac", "Xxxxx", False, False, False, False, False),
        ("U.S.-based", "X.X.-xxxx", False, False, False, False, False),
        ("Hellooooooo", "Xxxxx", False, False, False, False, False),  # a run is cut to four
        ("1,000,000", "d,ddd,ddd", False, False, False, False, False),
        ("Ünïcode", "Xxxxx", False, False, False, False, False),  # not ASCII: spaCy's own function
        ("“", "“", True, True, True, False, False),
        ("(", "(", True, False, True, True, False),
        ("$", "$", False, False, False, False, True),
        ("!!!!!!", "!!!!", True, False, False, False, False),
        ("2nd", "dxx", False, False, False, False, False),
    ],
)
def test_new_words_get_spacys_shape_and_punctuation_flags(
    word: str, shape: str, is_punct: bool, is_quote: bool, is_left_punct: bool, is_bracket: bool, is_currency: bool
) -> None:
    lexeme = get_nlp(Config()).vocab[word]
    assert lexeme.shape_ == shape
    assert (lexeme.is_punct, lexeme.is_quote, lexeme.is_left_punct) == (is_punct, is_quote, is_left_punct)
    assert (lexeme.is_bracket, lexeme.is_currency) == (is_bracket, is_currency)


def test_a_token_table_reads_each_tokens_text_offsets_and_flags() -> None:
    text = "The U.S. envoy, Ana Kovac,\nleft 3 days ago."
    table = token_table(make_doc(get_nlp(Config()), text))
    assert table.size == 13
    expected = ["The", "U.S.", "envoy", ",", "Ana", "Kovac", ",", "\n", "left", "3", "days", "ago", "."]
    assert list(table.texts) == expected
    assert list(table.lowers)[:3] == ["the", "u.s.", "envoy"]
    assert (table.starts[4], table.ends[5]) == (16, 25)  # "Ana Kovac"
    assert table.whitespace[:4] == [" ", " ", "", " "]
    assert [k for k in range(table.size) if table.is_stop[k]] == [0]  # "The" ("ago" is no stop word)
    assert [k for k in range(table.size) if table.cap[k]] == [0, 1, 4, 5]
    assert [k for k in range(table.size) if table.is_space[k]] == [7]
    assert [k for k in range(table.size) if table.like_num[k]] == [9]
    assert [k for k in range(table.size) if table.is_punct[k]] == [3, 6, 12]
    assert [k for k in range(table.size) if table.is_title[k]] == [0, 1, 4, 5]  # "U.S." is title case to Python
    assert token_table(make_doc(get_nlp(Config()), text)) is not table  # each doc has its own


@pytest.mark.parametrize(("word", "expected"), [("Kovac", True), ("Ünïcode", False), ("“", False), ("$5", True)])
def test_new_words_get_spacys_ascii_flag(word: str, expected: bool) -> None:
    assert get_nlp(Config()).vocab[word].is_ascii is expected


@pytest.mark.parametrize(
    ("word", "lower", "prefix", "suffix", "norm", "flags"),
    [
        # flags: is_alpha, is_digit, is_lower, is_space, is_title, is_upper
        ("Kovac", "kovac", "K", "vac", "kovac", (True, False, False, False, True, False)),
        ("2016", "2016", "2", "016", "2016", (False, True, False, False, False, False)),
        ("’s", "’s", "’", "’s", "'s", (False, False, True, False, False, False)),  # the norm from spaCy's table
        ("ÉTAT", "état", "É", "TAT", "état", (True, False, False, False, False, True)),
        ("Hello-World", "hello-world", "H", "rld", "hello-world", (False, False, False, False, True, False)),
        ("\u2003", "\u2003", "\u2003", "\u2003", "\u2003", (False, False, False, True, False, False)),
    ],
)
def test_new_words_get_spacys_plain_attributes(
    word: str, lower: str, prefix: str, suffix: str, norm: str, flags: tuple[bool, ...]
) -> None:
    lexeme = get_nlp(Config()).vocab[word]
    assert (lexeme.lower_, lexeme.prefix_, lexeme.suffix_, lexeme.norm_) == (lower, prefix, suffix, norm)
    assert (lexeme.is_alpha, lexeme.is_digit, lexeme.is_lower, lexeme.is_space, lexeme.is_title) == flags[:5]
    assert lexeme.is_upper is flags[5]


EXPECTED_ENTS = [("Ana Kovac", PERSON), ("Korean Central News Agency", ORG)]
EXPECTED_IDS = ["", "", "", "", "", "", "Korean", "", "", "", "", "Seoul", ""]


def test_entities_are_set_as_the_ents_setter_sets_them() -> None:
    nlp = get_nlp(Config())
    text = "Ana Kovac met officials of the Korean Central News Agency in Seoul."
    by_setter, by_helper = nlp(text), nlp(text)  # the places ruler has set "Korean" and "Seoul" on both
    by_setter.ents = [Span(by_setter, 0, 2, label=PERSON), Span(by_setter, 6, 10, label=ORG)]
    set_entities(by_helper, [Span(by_helper, 0, 2, label=PERSON), Span(by_helper, 6, 10, label=ORG)])
    expected_iob = ["B", "I", "O", "O", "O", "O", "B", "I", "I", "I", "O", "O", "O"]
    expected_types = ["PERSON", "PERSON", "", "", "", "", "ORG", "ORG", "ORG", "ORG", "", "", ""]
    for doc in (by_setter, by_helper):
        assert [token.ent_iob_ for token in doc] == expected_iob
        assert [token.ent_type_ for token in doc] == expected_types
        assert [(ent.text, ent.label_) for ent in doc.ents] == [
            ("Ana Kovac", PERSON),
            ("Korean Central News Agency", ORG),
        ]
        # a token keeps the id the places ruler gave it when the span that takes it has none
        assert [token.ent_id_ for token in doc] == EXPECTED_IDS


def test_a_position_is_in_a_headline_when_its_line_is_title_case() -> None:
    text = "Trump Wins The Nevada Caucus\nDonald Trump won the caucus on Tuesday, officials said.\n\nEnd Of Story Here"
    headlines = _Headlines(text)
    assert 0 in headlines and 6 in headlines  # "Trump", "Wins" on the Title Case first line
    assert 29 not in headlines  # "Donald", on a line of mostly lower-case words
    assert 28 not in headlines  # the line break itself
    assert text.index("End") in headlines
    assert len(text) not in headlines


@pytest.mark.parametrize(
    ("text", "credit_spans", "captions"),
    [
        (
            "Kim said so. (AP Photo/Ahn Young-joon, File)\nBy Maria Chen\nThe talks went on.",
            [(13, 44), (45, 58)],
            [(0, 44)],
        ),
        (
            "Photo: Jason Wu / Global News\nNo credit here (just brackets) today.\nCover: the summit",
            [(0, 29)],
            [(0, 29), (68, 85)],
        ),
        (
            "The minister spoke on Monday. Quyen Cheng/THE CANADIAN PRESS\nImage courtesy of the ministry",
            [(61, 91)],
            [(0, 60)],
        ),
        ("A plain story with no credit and no caption.\n\nIt ends here.", [], []),
    ],
)
def test_credits_and_captions_are_found_line_by_line(
    text: str, credit_spans: list[tuple[int, int]], captions: list[tuple[int, int]]
) -> None:
    assert _page_furniture(text) == (credit_spans, captions)


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("Jody Wilson-Raybould", ["jody", "wilson", "raybould"]),
        ("Kim  Yo\u2010jong", ["kim", "yo", "jong"]),  # two spaces, a Unicode hyphen
        ("George H. W. Bush", ["george", "h.", "w.", "bush"]),
        ("-", []),
    ],
)
def test_a_names_parts_are_split_at_spaces_and_hyphens(name: str, parts: list[str]) -> None:
    assert name_parts(name) == parts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Café “Summit” in Hanoi, 2019", ["cafe", "summit", "in", "hanoi", "2019"]),
        ("snake_case and Word_2", ["snake", "case", "and", "word", "2"]),  # an underscore separates words
    ],
)
def test_words_are_runs_of_letters_and_digits(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_the_rule_pipeline_has_spacys_english_special_cases_loaded_once_at_the_end() -> None:
    # Built without its special cases and given them after its own changes (`_EnglishCasesLater`): the same cases
    # as spaCy's blank English, but for the three whitespace ones, with their splits and norms.
    nlp = get_nlp(Config())
    tokenizer: Tokenizer = nlp.tokenizer
    assert len(tokenizer.rules or {}) == 1344  # spaCy 3.8's 1,347 English cases less " ", "\t" and "\n"
    doc = nlp.make_doc("Mr. Kim didn't go to the U.S. on Jan. 5, y'all said.\n\nHe's gonna ask.")
    assert [token.text for token in doc] == [
        "Mr.", "Kim", "did", "n't", "go", "to", "the", "U.S.", "on", "Jan.", "5", ",", "y'", "all", "said", ".",
        "\n\n", "He", "'s", "gon", "na", "ask", ".",
    ]  # fmt: skip
    assert [token.norm_ for token in doc][2:4] == ["do", "not"]
    assert [token.norm_ for token in doc][9] == "January"
    assert [token.norm_ for token in doc][19:21] == ["going", "to"]
