"""Reported speech: the stops and cue tests issue 12b's second round of 27 November added, pinned to content,
speaker, kind and rule.

Every sentence is written for this test in the style of news copy (none is taken from PolNeAR or the Gender Gap
Tracker); the expected values beside each were written by hand from reading it, never computed by the code under
test. Each shape has a case the rule reads and a case it must leave alone. The stance model's own finds
(`learned_cue_object`) are left out of the comparison: they are the model's, and change when it is retrained.
"""

from __future__ import annotations

import pytest

from tests import test_enrich_reported_more as more
from tests.test_enrich_reported import Expected

# text -> every attribution expected in it but the stance model's, in text order:
# (content, speaker, the speaker mention as written, kind, rule).
CASES: list[tuple[str, list[Expected]]] = [
    # a coordinated verb of saying ends the clause before it and reports on its own, with the speaker carried; the
    # look for a later "that" after the first verb does not skip the first clause to reach the second's
    (
        "Ana Kovac said the ferry would stop in May and added that the island would get a new bridge.",
        [
            ("the ferry would stop in May", "Ana Kovac", "Ana Kovac", "indirect", "speaker_verb_clause"),
            ("the island would get a new bridge", "Ana Kovac", "Ana Kovac", "indirect", "speaker_verb_clause"),
        ],
    ),
    (
        "Marek Dolan said the harbour tax was fair but insists it must be paid in full.",
        [
            ("the harbour tax was fair", "Marek Dolan", "Marek Dolan", "indirect", "speaker_verb_clause"),
            ("it must be paid in full", "Marek Dolan", "Marek Dolan", "indirect", "speaker_verb_clause"),
        ],
    ),
    # … but "and" before anything else goes on with the clause
    (
        "Ana Kovac said the ferry operators and the port workers would meet on Friday.",
        [
            (
                "the ferry operators and the port workers would meet on Friday",
                "Ana Kovac",
                "Ana Kovac",
                "indirect",
                "speaker_verb_clause",
            )
        ],
    ),
    # a "that" past other words after the verb, before a finite verb, is a relative pronoun: the clause starts
    # after the verb; a "that" before the clause's subject still opens it ("said in a statement that …")
    (
        "Ana Kovac said she had backed a plan that would close the pier.",
        [
            (
                "she had backed a plan that would close the pier",
                "Ana Kovac",
                "Ana Kovac",
                "indirect",
                "speaker_verb_clause",
            )
        ],
    ),
    (
        "Marek Dolan said he had seen a report that showed the pier was unsafe.",
        [
            (
                "he had seen a report that showed the pier was unsafe",
                "Marek Dolan",
                "Marek Dolan",
                "indirect",
                "speaker_verb_clause",
            )
        ],
    ),
    (
        "Ana Kovac said in a statement that the pier would close in May.",
        [("the pier would close in May", "Ana Kovac", "Ana Kovac", "indirect", "speaker_verb_clause")],
    ),
    # a form that is never a noun, before a subject pronoun, is the verb after a plain noun phrase
    (
        "Harbour workers insist they will meet their financial targets.",
        [
            (
                "they will meet their financial targets",
                "Harbour workers",
                "Harbour workers",
                "indirect",
                "speaker_verb_clause",
            )
        ],
    ),
    (
        "Harbour workers argue it is too late to save the old pier.",
        [
            (
                "it is too late to save the old pier",
                "Harbour workers",
                "Harbour workers",
                "indirect",
                "speaker_verb_clause",
            )
        ],
    ),
    # … while a form that is as often a noun still is one before a pronoun ("the calls they made")
    ("The calls they made to the council went unanswered for a week.", []),
    # "state" after a word that cannot state anything is the noun, in an aside too; after a document it is the verb
    ("Voters in the bay, a coastal state, backed the harbour tax on Tuesday by a wide margin.", []),
    (
        "The report states that the ferry will run again in June.",
        [("the ferry will run again in June", "The report", "The report", "indirect", "speaker_verb_clause")],
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_reported_coordinated_and_cues(text: str, expected: list[Expected]) -> None:
    more.test_reported_more(text, expected)  # the same comparison: every attribution but the stance model's
