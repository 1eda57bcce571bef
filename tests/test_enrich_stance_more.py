"""More of the stance model's candidate shapes (issue 12a, 27 November round).

Every sentence is written for this test in the style of news copy; the expected values beside each were written by
hand from reading it, never computed by the code under test. Each row of `STANCES` is a shape `learned_cue_object`
formed no right candidate for before this round (checked against the session's starting code, fabba9f: it finds the
rule's hit only); `NONE` holds shapes it must still leave alone.
"""

from __future__ import annotations

import pytest

from pipeline.config import Config
from pipeline.enrich.analyze import analyze
from tests.test_enrich_stance_shapes import Expected, _stances

# text -> every attribution expected in it, in text order:
# (content, speaker, the speaker mention as written, kind, rule, cue).
STANCES: list[tuple[str, list[Expected]]] = [
    # the words before a rule's hit end at a subordinator ("as"): the clause before it is read, without it
    (
        "Mayor Tomas Reyes criticized the transit board as he said that fares would rise in March.",
        [
            ("the transit board", "Tomas Reyes", "Mayor Tomas Reyes", "stance", "learned_cue_object", "criticized"),
            ("fares would rise in March", "Tomas Reyes", "he", "indirect", "speaker_verb_clause", "said"),
        ],
    ),
    # ... or at a relative ("which") whose clause the hit is, after a comma
    (
        "Councillor Ana Kovac attacked the harbour budget, which she said would close two libraries.",
        [
            ("the harbour budget", "Ana Kovac", "Councillor Ana Kovac", "stance", "learned_cue_object", "attacked"),
            ("would close two libraries", "Ana Kovac", "she", "indirect", "speaker_verb_clause", "said"),
        ],
    ),
    # ... "when" before another speaker's hit
    (
        "Councillor Ana Kovac praised the harbour plan when the mayor said it would create jobs.",
        [
            ("the harbour plan", "Ana Kovac", "Councillor Ana Kovac", "stance", "learned_cue_object", "praised"),
            ("it would create jobs", None, "the mayor", "indirect", "speaker_verb_clause", "said"),
        ],
    ),
    # a participle right after a noun phrase qualifies it: the phrase is the source, and the object ends at the
    # verb of the clause the phrase opens ("have")
    (
        "Democrats supporting Governor Ana Kovac have rallied outside the council.",
        [("Governor Ana Kovac", "Democrats", "Democrats", "stance", "learned_cue_object", "supporting")],
    ),
]

# Shapes that stay without a stance.
NONE: list[str] = [
    # a participle after a person's name is no qualifier of that name ("showed Mayor Reyes praising …": the advert
    # shows him; he is not the source of a stance read as a reduced relative)
    "The advert showed Mayor Tomas Reyes praising the harbour plan.",
    # the stretch before a hit that ends inside a noun phrase (at "'s") is still not read
    "The court rejected Ana Kovac's claim that the harbour deal broke the law.",
]


@pytest.mark.parametrize(("text", "expected"), STANCES)
def test_more_stance_shapes(text: str, expected: list[Expected]) -> None:
    assert _stances(text) == expected


@pytest.mark.parametrize("text", NONE)
def test_more_shapes_left_alone(text: str) -> None:
    assert [q for q in analyze(text, Config()).quotes if q.kind == "stance"] == []
