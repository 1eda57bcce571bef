"""Reported speech in the shapes issue 12b added (branch issue-12b), pinned to content, speaker, kind and rule.

Every sentence is written for this test in the style of news copy (none is taken
from PolNeAR or the Gender Gap Tracker); the expected values beside each were
written by hand from reading it, never computed by the code under test. Each
shape has a case the rule reads and, where the rule draws a line, a case it
must leave alone.
"""

from __future__ import annotations

import pytest

from pipeline.config import Config
from pipeline.enrich.analyze import analyze
from pipeline.enrich.statements import makes_a_statement
from tests.test_enrich_reported import Expected
from tests.test_enrich_reported import test_reported_speech_table as reported_speech_as_expected

# text -> every attribution expected in it, in text order (as test_enrich_reported.py's table):
# (content, speaker, the speaker mention as written, kind, rule).
SHAPES: list[tuple[str, list[Expected]]] = [
    # a participle of saying after a conjunction, then "that" (issue 12b's round of 27 November; more cases in
    # test_enrich_reported_more.py)
    (
        "Ana Kovac closed the meeting before insisting that the ferry would run on time.",
        [("the ferry would run on time", "Ana Kovac", "Ana Kovac", "indirect", "participle_after_conjunction")],
    ),
    # a verb that otherwise needs "that" ("announced") takes a clause opened by a subject pronoun and a verb
    (
        "The harbour board met on Monday. Finance Minister Ana Kovac announced she will step down as chair in June.",
        [
            (
                "she will step down as chair in June",
                "Ana Kovac",
                "Minister Ana Kovac",
                "indirect",
                "speaker_verb_clause",
            )
        ],
    ),
    # … but not after a passive: "was announced" has no speaker, and "they" opens the main clause
    ("When the harbour tax was announced they marched to the town hall with banners and drums.", []),
    # a participle after the attribution of a quotation reports for the same speaker
    (
        "“We are not done yet,” Ana Kovac said, adding that the council would vote on the ferry contract in May.",
        [
            ("We are not done yet", "Ana Kovac", "Ana Kovac", "direct", "speaker_then_cue_after_quote"),
            (
                "the council would vote on the ferry contract in May",
                "Ana Kovac",
                "Ana Kovac",
                "indirect",
                "participle_clause",
            ),
        ],
    ),
    # a participle right after a reported clause, where the sentence is read again past the first hit
    (
        "Marek Dolan said the port would reopen on Friday, insisting that the repairs had been finished ahead of time.",
        [
            ("the port would reopen on Friday", "Marek Dolan", "Marek Dolan", "indirect", "speaker_verb_clause"),
            (
                "the repairs had been finished ahead of time",
                "Marek Dolan",
                "Marek Dolan",
                "indirect",
                "participle_clause",
            ),
        ],
    ),
    # the verb that closes a quotation reads no clause after it: "host Tom Ruiz on Tuesday morning" is to whom
    (
        "“The ferry will run again,” Ana Kovac told Harbour Radio host Tom Ruiz on Tuesday morning.",
        [("The ferry will run again", "Ana Kovac", "Ana Kovac", "direct", "speaker_then_cue_after_quote")],
    ),
    # "call" names what it calls: the pronoun and its predicate, to the coordinator
    (
        "Marek Dolan called him reckless and demanded a vote on the contract.",
        [
            ("him reckless", "Marek Dolan", "Marek Dolan", "indirect", "speaker_verb_complement"),
            ("a vote on the contract", "Marek Dolan", "Marek Dolan", "stance", "learned_cue_object"),
        ],
    ),
    # … but a particle after the pronoun is a telephone call, not a naming
    ("The mayor called him back on Tuesday about the contract.", []),
    # a clause in apostrophe quote marks is closed by its verb however much follows the verb
    (
        "''The budget will balance by 2027,'' Ana Kovac said at the time, adding that the harbour tax would stay.",
        [
            ("''The budget will balance by 2027", "Ana Kovac", "Ana Kovac", "indirect", "clause_then_speaker_verb"),
            ("the harbour tax would stay", "Ana Kovac", "Ana Kovac", "indirect", "participle_clause"),
        ],
    ),
    # "As X reported, …"
    (
        "As the Harbour Times reported, the ferry contract was signed before the vote.",
        [
            (
                "the ferry contract was signed before the vote",
                "Harbour Times",
                "Harbour Times",
                "indirect",
                "as_speaker_verb_clause",
            )
        ],
    ),
    # … but not in the present, a broadcast's lead into its reporter's own segment
    ("As Tom Ruiz reports, the ferry will run again on Monday morning.", []),
    # a progressive reports as the finite verb does
    (
        "Ana Kovac is now saying the harbour tax will be cut next year.",
        [("the harbour tax will be cut next year", "Ana Kovac", "Ana Kovac", "indirect", "speaker_verb_clause")],
    ),
    # a headline in sentence case, in its colon form: the source is the words before the colon, the speaker the outlet
    # that owns the poll
    (
        "Harbour Times poll: Kovac holds a narrow lead over Dolan\n\nThe poll of 600 voters was taken last week.",
        [
            (
                "Kovac holds a narrow lead over Dolan",
                "Harbour Times",
                "Harbour Times poll",
                "indirect",
                "headline_verb_clause",
            )
        ],
    ),
    # … but not a running column's label
    ("The Latest: Kovac wins the harbour vote by a wide margin\n\nThe count ended at midnight.", []),
    # a passive with its agent: the agent is the source, the subject what was reported
    (
        "News of the ferry deal was first reported by the Harbour Times.",
        [("News of the ferry deal", "the Harbour Times", "the Harbour Times", "stance", "passive_agent_subject")],
    ),
    # … but not a verb of address: the subject of "was asked" is the one asked
    ("Ana Kovac was asked by reporters about the harbour fees on Tuesday.", []),
    # … nor a passive whose words before it hold a relative pronoun: they are no subject phrase of their own
    ("The vote was so close that its result was first reported by the Harbour Times on Friday.", []),
]


@pytest.mark.parametrize(("text", "expected"), SHAPES)
def test_reported_shapes(text: str, expected: list[Expected]) -> None:
    reported_speech_as_expected(text, expected)


def test_a_sentence_case_headline_makes_no_statement() -> None:
    """The colon headline is a headline attribution like the Title Case ones: found, but never a statement."""
    text = "Harbour Times poll: Kovac holds a narrow lead over Dolan\n\nThe poll of 600 voters was taken last week."
    quotes = [q for q in analyze(text, Config()).quotes if q.rule == "headline_verb_clause"]
    assert [q.text for q in quotes] == ["Kovac holds a narrow lead over Dolan"]
    assert not makes_a_statement(quotes[0], text, "")
