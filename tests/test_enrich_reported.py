"""Reported speech (attributions of kind "indirect"), pinned to speaker, span, kind and rule.

Every sentence is written for this test in the style of news copy; the expected
values beside each were written by hand from reading it, never computed by the
code under test.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pipeline.config import Config
from pipeline.enrich.analyze import analysis_to_json, analyze
from pipeline.enrich.quotes import REPORTED_STRATEGIES

REPO = Path(__file__).resolve().parents[1]

# text -> every attribution expected in it, in text order:
# (content, speaker, the speaker mention as written, kind, rule).
Expected = tuple[str, str | None, str | None, str, str]
REPORTED: list[tuple[str, list[Expected]]] = [
    (
        "Finance Minister Ana Kovac said on Tuesday that the budget would be balanced by 2027.",
        [
            (
                "the budget would be balanced by 2027",
                "Ana Kovac",
                "Minister Ana Kovac",
                "indirect",
                "speaker_verb_clause",
            )
        ],
    ),
    (
        "Ana Kovac, the finance minister, told reporters the deficit had fallen for a third year.",
        [("the deficit had fallen for a third year", "Ana Kovac", "Ana Kovac", "indirect", "speaker_verb_clause")],
    ),
    (
        "Opposition leader Marek Dolan warned that the new tax would hit small farms hardest.",
        [
            (
                "the new tax would hit small farms hardest",
                "Marek Dolan",
                "Marek Dolan",
                "indirect",
                "speaker_verb_clause",
            )
        ],
    ),
    (
        "The talks collapsed on Friday. Finance Minister Ana Kovac denied that her ministry had leaked the draft.",
        [("her ministry had leaked the draft", "Ana Kovac", "Minister Ana Kovac", "indirect", "speaker_verb_clause")],
    ),
    # a three-word clause is still a report
    (
        "Finance Minister Ana Kovac denied that taxes would rise.",
        [("taxes would rise", "Ana Kovac", "Minister Ana Kovac", "indirect", "speaker_verb_clause")],
    ),
    # the speaker after the clause
    (
        "The border will stay closed until March, the Interior Ministry said.",
        [
            (
                "The border will stay closed until March",
                "Interior Ministry",
                "Interior Ministry",
                "indirect",
                "clause_then_speaker_verb",
            )
        ],
    ),
    (
        "Harbour pilots will strike on Monday, said Tomas Reyes, a union organizer.",
        [
            (
                "Harbour pilots will strike on Monday",
                "Tomas Reyes",
                "Tomas Reyes",
                "indirect",
                "clause_then_verb_speaker",
            )
        ],
    ),
    # the one addressed may follow a closing verb; a semicolon ends the sentence's first report
    (
        "Ferry crews are short of staff this winter, union officials told the Harbour Gazette.",
        [
            (
                "Ferry crews are short of staff this winter",
                "union officials",
                "union officials",
                "indirect",
                "clause_then_speaker_verb",
            )
        ],
    ),
    (
        "Mayor Lena Ortiz spoke first. The bridge will open in June, she said; the contractor was less sure.",
        [("The bridge will open in June", "Lena Ortiz", "she", "indirect", "clause_then_speaker_verb")],
    ),
    (
        "''We will not sell the harbour to anyone,'' Marek Dolan said at a rally in the old fish market.",
        [
            (
                "''We will not sell the harbour to anyone",
                "Marek Dolan",
                "Marek Dolan",
                "indirect",
                "clause_then_speaker_verb",
            )
        ],
    ),
    # a title and a lowercase word between the comma and the speaker's name; a quotation closed by ".''" and the
    # short sentence that attributes it (only the quotation's last sentence is the content: a known limit)
    (
        "Tolls on the bridge will double next year, former Gov. Dana Holt said.",
        [
            (
                "Tolls on the bridge will double next year",
                "Dana Holt",
                "Gov. Dana Holt",
                "indirect",
                "clause_then_speaker_verb",
            )
        ],
    ),
    (
        "''The harbour stays open. Nobody is closing anything.'' Marek Dolan said.",
        [("Nobody is closing anything", "Marek Dolan", "Marek Dolan", "indirect", "clause_then_speaker_verb")],
    ),
    # the attribution inside the clause it reports; the surname means the person named before
    (
        "Opposition leader Marek Dolan spoke after the vote. The plan, Dolan argued, would cost the province jobs.",
        [
            (
                "The plan, Dolan argued, would cost the province jobs",
                "Marek Dolan",
                "Dolan",
                "indirect",
                "speaker_verb_inside_clause",
            )
        ],
    ),
    # "according to" before and after
    (
        "According to the port authority, two ships ran aground near the harbour on Sunday.",
        [
            (
                "two ships ran aground near the harbour on Sunday",
                "the port authority",
                "the port authority",
                "indirect",
                "according_to_opening",
            )
        ],
    ),
    (
        "Two ships ran aground near the harbour on Sunday, according to the port authority.",
        [
            (
                "Two ships ran aground near the harbour on Sunday",
                "the port authority",
                "the port authority",
                "indirect",
                "according_to_closing",
            )
        ],
    ),
    # a participle takes the subject of its clause (and, issue 12c, the stance model reads the clause before it)
    (
        "Finance Minister Ana Kovac defended the measure, saying it would protect pensions for a decade.",
        [
            ("the measure", "Ana Kovac", "Minister Ana Kovac", "stance", "learned_cue_object"),
            (
                "it would protect pensions for a decade",
                "Ana Kovac",
                "Minister Ana Kovac",
                "indirect",
                "participle_clause",
            ),
        ],
    ),
    # a statement speaks for its owner
    (
        "Opposition leader Marek Dolan walked out. Dolan's statement said the vote had been rushed through.",
        [("the vote had been rushed through", "Marek Dolan", "Dolan", "indirect", "speaker_verb_clause")],
    ),
    # a pronoun is resolved as for direct quotes
    (
        "Mayor Lena Ortiz spoke at length. She said the council would meet again next week to discuss the bridge.",
        [
            (
                "the council would meet again next week to discuss the bridge",
                "Lena Ortiz",
                "She",
                "indirect",
                "speaker_verb_clause",
            )
        ],
    ),
    # sources that are no person are kept in the article's words
    (
        "The report found that water levels in the lake had dropped by a third since 2010.",
        [
            (
                "water levels in the lake had dropped by a third since 2010",
                "The report",
                "The report",
                "indirect",
                "speaker_verb_clause",
            )
        ],
    ),
    (
        "Officials said the road would reopen once the debris had been cleared.",
        [
            (
                "the road would reopen once the debris had been cleared",
                "Officials",
                "Officials",
                "indirect",
                "speaker_verb_clause",
            )
        ],
    ),
    # the source is the ministry, not the place it sits in (nor a person named near that place)
    (
        "Premier Dana Holt visited the port in Halifax. The Transport Ministry in Ottawa said it would review the"
        " rules for winter driving.",
        [
            (
                "it would review the rules for winter driving",
                "The Transport Ministry",
                "The Transport Ministry",
                "indirect",
                "speaker_verb_clause",
            )
        ],
    ),
    # two reports in one sentence, split at the contrast
    (
        "Ana Kovac said the deficit had fallen, while Marek Dolan argued that the figures were misleading.",
        [
            ("the deficit had fallen", "Ana Kovac", "Ana Kovac", "indirect", "speaker_verb_clause"),
            ("the figures were misleading", "Marek Dolan", "Marek Dolan", "indirect", "speaker_verb_clause"),
        ],
    ),
    # reported speech mixed with a quoted fragment: the clause is indirect, the fragment stays a direct quote
    (
        "Mayor Lena Ortiz said the plan was \u201ca disaster for the city\u201d and should be scrapped.",
        [
            (
                "the plan was \u201ca disaster for the city\u201d and should be scrapped",
                "Lena Ortiz",
                "Mayor Lena Ortiz",
                "indirect",
                "speaker_verb_clause",
            ),
            ("a disaster for the city", "Lena Ortiz", "Mayor Lena Ortiz", "direct", "cue_before_quote"),
        ],
    ),
    # a clause that is itself a quotation is direct only
    (
        "Finance Minister Ana Kovac said: \u201cWe will not back down.\u201d",
        [("We will not back down.", "Ana Kovac", "Minister Ana Kovac", "direct", "cue_before_quote")],
    ),
    # quotation marks typed as two apostrophes (archived newspaper copy): read as a clause with its speaker after
    (
        "''The ferry will run all winter,'' said Tomas Reyes, a union organizer. ''Nobody has told us otherwise.''",
        [("''The ferry will run all winter", "Tomas Reyes", "Tomas Reyes", "indirect", "clause_then_verb_speaker")],
    ),
    (
        "Mayor Lena Ortiz spoke first. ''We have waited long enough for this bridge,'' she said. ''Now we build.''",
        [
            (
                "''We have waited long enough for this bridge",
                "Lena Ortiz",
                "she",
                "indirect",
                "clause_then_speaker_verb",
            )
        ],
    ),
    # a name and a colon open a sentence of that person's words (headline or transcript style); a place is no speaker
    (
        "Marek Dolan: The new tax will hit small farms hardest.",
        [
            (
                "The new tax will hit small farms hardest",
                "Marek Dolan",
                "Marek Dolan",
                "indirect",
                "name_colon_clause",
            )
        ],
    ),
    ("Halifax: ferries will not run on Monday because of the storm.", []),
    # issue 12's third round: a statement that is the verb's complement (a commitment, a demand, an appeal, an
    # accusation); the content ends at the clause's first comma
    (
        "Ana Kovac pledged on Tuesday to cut the fuel tax by half.",
        [("to cut the fuel tax by half", "Ana Kovac", "Ana Kovac", "indirect", "speaker_verb_complement")],
    ),
    (
        "Marek Dolan called for an independent inquiry into the harbour contract.",
        [
            (
                "an independent inquiry into the harbour contract",
                "Marek Dolan",
                "Marek Dolan",
                "indirect",
                "speaker_verb_complement",
            )
        ],
    ),
    (
        "Lena Ortiz urged the council to delay the vote until spring.",
        [
            (
                "the council to delay the vote until spring",
                "Lena Ortiz",
                "Lena Ortiz",
                "indirect",
                "speaker_verb_complement",
            )
        ],
    ),
    (
        "Marek Dolan accused the minister of hiding the true cost of the bridge.",
        [
            (
                "the minister of hiding the true cost of the bridge",
                "Marek Dolan",
                "Marek Dolan",
                "indirect",
                "speaker_verb_complement",
            )
        ],
    ),
    (
        "Ana Kovac vowed not to raise taxes, but the opposition was unconvinced.",
        [("not to raise taxes", "Ana Kovac", "Ana Kovac", "indirect", "speaker_verb_complement")],
    ),
    (
        "Marek Dolan described the harbour deal as a gift to developers.",
        [
            (
                "the harbour deal as a gift to developers",
                "Marek Dolan",
                "Marek Dolan",
                "indirect",
                "speaker_verb_complement",
            )
        ],
    ),
    (
        "Lena Ortiz left the meeting early, calling for a recount of every ballot.",
        [("a recount of every ballot", "Lena Ortiz", "Lena Ortiz", "indirect", "speaker_verb_complement")],
    ),
    # no complement: "to" before a noun phrase is no infinitive; a verb in -ing right after a name is not that
    # person's (the letter asks, not the mayor it was sent to)
    # (the stance model, which also tries the curated words of saying in the shapes their rules leave, reads the
    # noun phrase after "pledged to" as a stance: never reported speech)
    (
        "Ana Kovac pledged to the families of the victims.",
        [("the families of the victims", "Ana Kovac", "Ana Kovac", "stance", "learned_cue_object")],
    ),
    ("Residents sent a letter to Mayor Lena Ortiz asking the city to repair the road.", []),
    # a stance cue with no subject within reach takes the sentence's subject (main's code found nothing in either)
    (
        "Ana Kovac, whose campaign ended in March after a long and costly race against two rivals, went on to praise "
        "the new harbour plan.",
        [("the new harbour plan", "Ana Kovac", "Ana Kovac", "stance", "learned_cue_object")],
    ),
    # ... but a sentence subject that is a bare determiner ("The" before a noun the reader stops at) names no one
    ("The figures came a week after inspectors from the port visited the yard to review the safety plan.", []),
    (
        "Others on the council went on to criticize the budget for its silence on flooding.",
        [("the budget for its silence on flooding", None, "Others on the council", "stance", "learned_cue_object")],
    ),
    # a noun naming a statement, owned by its speaker
    (
        "The court rejected Ana Kovac's claim that the harbour deal broke the law.",
        [("the harbour deal broke the law", "Ana Kovac", "Ana Kovac", "indirect", "owner_noun_complement")],
    ),
    # a share of the people polled as the speaker, in its own words
    (
        "The survey reached 800 residents last month. Almost half said the toll was too high.",
        [("the toll was too high", "Almost half", "Almost half", "indirect", "speaker_verb_clause")],
    ),
    # a clause in apostrophe quotation marks, its speaker with an apposition and a long tail after the verb
    (
        "''The bridge will be finished by May,'' Lena Ortiz, the mayor of Halifax, said in a statement on Friday.",
        [
            (
                "''The bridge will be finished by May",
                "Lena Ortiz",
                "Lena Ortiz",
                "indirect",
                "clause_then_speaker_verb",
            )
        ],
    ),
    # no clause reported: a phrase about the saying, a market figure
    ("Mayor Lena Ortiz said so during an interview with local radio.", []),
    ("Shares of the company added 0.4 per cent to close at $12.10 on Tuesday.", []),
    # a stance: a cue word that is no verb of saying, scored by the model trained on PolNeAR train
    # (lexicon/stance_model.tsv); its object is the content, to the first comma; a participle after the comma has
    # the same speaker
    (
        "Kim Yo Jong declined to comment on the talks with Seoul on Tuesday.",
        [("comment on the talks with Seoul on Tuesday", "Kim Yo Jong", "Kim Yo Jong", "stance", "learned_cue_object")],
    ),
    (
        "Governor Ana Kovac endorsed Senator Paul Brandt on Monday.",
        [("Senator Paul Brandt on Monday", "Ana Kovac", "Governor Ana Kovac", "stance", "learned_cue_object")],
    ),
    (
        "Mayor Lena Ortiz criticized the council's plan to close the bridge.",
        [("the council's plan to close the bridge", "Lena Ortiz", "Mayor Lena Ortiz", "stance", "learned_cue_object")],
    ),
    # a verb the model has no weight for, right after a subject pronoun: scored by its ending and context
    (
        "Opposition leader Marek Dolan walked out of the chamber. He wants a new vote on the budget before the summer.",
        [("a new vote on the budget before the summer", "Marek Dolan", "He", "stance", "learned_cue_object")],
    ),
    (
        "Mayor Tomas Reyes defended the transit budget, citing a sharp drop in fares.",
        [
            ("the transit budget", "Tomas Reyes", "Mayor Tomas Reyes", "stance", "learned_cue_object"),
            ("a sharp drop in fares", "Tomas Reyes", "Mayor Tomas Reyes", "stance", "learned_cue_object"),
        ],
    ),
    (
        "Senator Lena Marsh criticized the new pipeline route through the valley.",
        [
            (
                "the new pipeline route through the valley",
                "Lena Marsh",
                "Senator Lena Marsh",
                "stance",
                "learned_cue_object",
            )
        ],
    ),
    # the preposition after the verb belongs to the cue; "was referring" is no passive
    (
        "Lena Marsh was referring to the budget office's latest forecast.",
        [("the budget office's latest forecast", "Lena Marsh", "Lena Marsh", "stance", "learned_cue_object")],
    ),
    # a curated word of saying with a noun phrase after it, which no speech rule reads: the model's, a stance (what
    # the poll shows is no one's words); its source is the poll, kept in the article's words
    (
        "The latest poll shows Ana Kovac ahead by six points.",
        [("Ana Kovac ahead by six points", "The latest poll", "The latest poll", "stance", "learned_cue_object")],
    ),
    # a learned cue's object may be short: what was praised is the content
    (
        "Mayor Tomas Reyes praised the firefighters.",
        [("the firefighters", "Tomas Reyes", "Mayor Tomas Reyes", "stance", "learned_cue_object")],
    ),
    # a reported question: its content starts at "whether" / "if", past the one asked
    (
        "Senator Lena Marsh asked whether the ferry subsidy would survive the budget.",
        [
            (
                "whether the ferry subsidy would survive the budget",
                "Lena Marsh",
                "Senator Lena Marsh",
                "indirect",
                "speaker_verb_complement",
            )
        ],
    ),
    (
        "Lena Marsh asked the minister if the ferry would run in winter.",
        [("if the ferry would run in winter", "Lena Marsh", "Lena Marsh", "indirect", "speaker_verb_complement")],
    ),
    # the one asked is no speaker
    ("Tomas Reyes was asked whether he would run again.", []),
    # "her" after a verb that takes no addressee owns the clause's subject; after "told" it is the one addressed
    (
        "The council met on Monday. Lena Marsh said her office had approved the ferry contract.",
        [
            (
                "her office had approved the ferry contract",
                "Lena Marsh",
                "Lena Marsh",
                "indirect",
                "speaker_verb_clause",
            )
        ],
    ),
    ("The council met on Monday. Tomas Reyes told her about the ferry contract.", []),
    # a speaker named where the clause opens, an age and a relative clause before the verb
    (
        "The council met on Monday. Lena Marsh, 34, who runs the bakery on Quay Street, said the new parking rules "
        "would drive her customers away.",
        [
            (
                "the new parking rules would drive her customers away",
                "Lena Marsh",
                "Lena Marsh",
                "indirect",
                "speaker_verb_clause",
            )
        ],
    ),
    # after a clause in apostrophe quote marks the verb is inverted, whatever phrase follows the speaker's name
    (
        "The council met on Monday. ''Nobody on this street was asked about the parking rules,'' said Ms. Marsh of "
        "the Quay Street traders' association.",
        [
            (
                "''Nobody on this street was asked about the parking rules",
                "Marsh",
                "Ms. Marsh",
                "indirect",
                "clause_then_verb_speaker",
            )
        ],
    ),
    # a Title Case headline (the article's first line): a short source, a verb of saying or a colon (indirect) or one
    # of the model's words (stance, an adverb before it skipped), and the rest of the line
    (
        "Harbour Board: Ferry Contract Was Signed Too Early.\n\nThe board met on Monday.",
        [("Ferry Contract Was Signed Too Early", "Harbour Board", "Harbour Board", "indirect", "headline_verb_clause")],
    ),
    (
        "Ana Kovac Quietly Praises The New Quay\n\nThe mayor spoke.",
        [("The New Quay", "Ana Kovac", "Ana Kovac", "stance", "headline_verb_clause")],
    ),
    # a first line in sentence case is the story's first sentence, read by the other rules
    (
        "Lena Marsh says the quay is unsafe\n\nMore text.",
        [("the quay is unsafe", "Lena Marsh", "Lena Marsh", "indirect", "speaker_verb_clause")],
    ),
    # a passive's subject is the one talked about; a number after the verb is a price, not a statement
    ("The pipeline route was criticized by several council members.", []),
    ("Shares in the utility declined 4 per cent on Monday.", []),
]


@pytest.mark.parametrize(("text", "expected"), REPORTED)
def test_reported_speech_table(text: str, expected: list[Expected]) -> None:
    got = [
        (
            q.text,
            q.speaker,
            text[q.speaker_start : q.speaker_end] if q.speaker_start is not None else None,
            q.kind,
            q.rule,
        )
        for q in analyze(text, Config()).quotes
    ]
    assert got == expected


def test_every_reported_strategy_has_a_case_in_the_table() -> None:
    # the shapes issue 12b added are pinned in their own file (which reads this one's check: imported here, not above)
    from tests.test_enrich_reported_shapes import SHAPES

    fired = {rule for _, expected in REPORTED + SHAPES for *_, rule in expected}
    assert {strategy.__name__ for strategy in REPORTED_STRATEGIES} <= fired


def test_content_offsets_index_the_text() -> None:
    text = "Ana Kovac said the deficit had fallen, while Marek Dolan argued that the figures were misleading."
    for quote in analyze(text, Config()).quotes:
        assert text[quote.start : quote.end] == quote.text


def test_json_carries_the_kind() -> None:
    text = 'Ana Kovac said the talks had failed. "We will try again," she said.'
    quotes = analysis_to_json(analyze(text, Config()))["quotes"]
    assert [(q["kind"], q["speaker"], q["rule"]) for q in quotes] == [
        ("indirect", "Ana Kovac", "speaker_verb_clause"),
        ("direct", "Ana Kovac", "speaker_then_cue_after_quote"),
    ]


def _bench(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


# Measured with `python bench/bench_ggt.py`: all quotations F1 0.874 (stance left out, as GGT annotates quotations
# only); `python bench/bench_quotes.py`: PolNeAR dev all attributions F1 0.747, source accuracy 0.894 (issue 12's
# stance round; 0.680 and 0.931 before it: stance attributions are found with more wrong sources). The floors sit a
# little below, so small trades between rules do not fail the suite, and well above the figures before reported
# speech (0.653 and 0.430); the source floor stays above the 0.85.
GGT_ALL_F1_FLOOR = 0.85
POLNEAR_ALL_F1_FLOOR = 0.73
POLNEAR_SOURCE_FLOOR = 0.87


def test_ggt_dev_all_quotations_floor() -> None:
    if not (REPO.parent / "shared" / "data" / "ggt" / "dev.jsonl").is_file():
        pytest.skip("the GGT set is not available at ../shared/data/ggt (absent in a fresh clone)")
    bench = _bench("bench_ggt")
    run = bench.score(bench.load(), Config())
    assert run.every.gold > 700
    assert run.every.f1 >= GGT_ALL_F1_FLOOR, f"GGT all-quotations F1 {run.every.f1:.3f}"


def test_polnear_dev_all_attributions_floor() -> None:
    if not (REPO.parent / "shared" / "data" / "polnear" / "dev" / "text").is_dir():
        pytest.skip("PolNeAR is not available at ../shared/data/polnear (absent in a fresh clone)")
    bench = _bench("bench_quotes")
    every = bench.Score()
    bench.score(bench.load_split("dev"), Config(), every=every)
    assert every.gold > 2000
    assert every.f1 >= POLNEAR_ALL_F1_FLOOR, f"all-attributions F1 {every.f1:.3f}"
    assert every.speaker_accuracy >= POLNEAR_SOURCE_FLOOR, f"source accuracy {every.speaker_accuracy:.3f}"
