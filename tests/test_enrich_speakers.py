"""Speaker rules of issue 11's round of 26 November, each pinned on hand-written text.

Every case gives the text, a fragment of the attribution it is about, and what is expected of it, written
beside the case: the attribution's kind ("direct" or "indirect"), its canonical speaker, the speaker mention
as it stands in the text, and the rule that fired. No text here comes from a corpus.
"""

from __future__ import annotations

import pytest

from pipeline.config import Config
from pipeline.enrich.analyze import analyze
from pipeline.records import Quote


def _attribution(text: str, fragment: str, kind: str | None = None) -> Quote:
    matches = [q for q in analyze(text, Config()).quotes if fragment in q.text and kind in (None, q.kind)]
    assert len(matches) == 1, f"{fragment!r} found {len(matches)} times"
    return matches[0]


def _mention(text: str, quote: Quote) -> str | None:
    if quote.speaker_start is None or quote.speaker_end is None:
        return None
    return text[quote.speaker_start : quote.speaker_end]


# (text, fragment, kind, speaker, mention, rule)
CASES = [
    # a lone name opening a sentence is a name when a finite verb follows it, past an apposition
    (
        "The contestants told stories about the week.\n\n"
        "Marisol, the target of the joke, retorted, “I can swim just fine” and walked off.",
        "I can swim just fine",
        "direct",
        "Marisol",
        "Marisol",
        "cue_before_quote",
    ),
    # … or an auxiliary: "has said"
    (
        "Northgate has said it reached agreements with every council along the route.",
        "it reached agreements",
        "indirect",
        "Northgate",
        "Northgate",
        "speaker_verb_clause",
    ),
    # a capitalised source the entity rules leave unnamed keeps its own words
    (
        "Forty families remained without shelter on Sunday, the Uganda Red Cross said.",
        "Forty families remained",
        "indirect",
        "the Uganda Red Cross",
        "the Uganda Red Cross",
        "clause_then_speaker_verb",
    ),
    # a plural group with no determiner is a source the article describes
    (
        "Bridge supporters say the toll will pay for the repairs within a decade.",
        "the toll will pay",
        "indirect",
        "Bridge supporters",
        "Bridge supporters",
        "speaker_verb_clause",
    ),
    # a document stands for the author named inside it …
    (
        "The Harbour Authority statement said the crew had been brought ashore before dawn.",
        "the crew had been brought ashore",
        "indirect",
        "Harbour Authority",
        "The Harbour Authority statement",
        "speaker_verb_clause",
    ),
    # … or after it, with "from"
    (
        "According to the latest figures from Statistics Canada, youth unemployment rose again in November.",
        "youth unemployment rose",
        "indirect",
        "Statistics Canada",
        "the latest figures from Statistics Canada",
        "according_to_opening",
    ),
    # "the statement" later is the one the source issued ("said in a statement")
    (
        "The Bottlers Association said in a statement that juice is a source of vitamins for children. "
        "The statement also said that dropping it from school menus would hurt nutrition.",
        "dropping it from school menus",
        "indirect",
        "Bottlers Association",
        "The statement",
        "speaker_verb_clause",
    ),
    # a cue word after a preposition is a noun, so the verb before it keeps its speaker
    (
        "Spokeswoman Dana Ruiz said via email that, “Of course the mayor will respond” to the claims.",
        "Of course the mayor will respond",
        "direct",
        "Dana Ruiz",
        "Spokeswoman Dana Ruiz",
        "cue_before_quote",
    ),
    # a person who is the quote's own sentence's subject outranks a cue in the sentence before
    (
        "Critics have argued that the plan helps nobody. Senator Ana Reyes, in particular, has been pounding "
        "the plan as a “costly mistake that voters will remember” for months.",
        "costly mistake",
        "direct",
        "Ana Reyes",
        "Senator Ana Reyes",
        "person_subject_without_cue",
    ),
    # a party and state set off by commas is skipped like any apposition
    (
        "“We expect the veto to be overridden,” Senate Majority Leader Tom Hale, R-Ky., said Tuesday.",
        "We expect the veto",
        "direct",
        "Tom Hale",
        "Majority Leader Tom Hale",
        "speaker_then_cue_after_quote",
    ),
    # … also before a second apposition
    (
        "Sen. Ann Lee, D-Mich., a member of the leadership team, said the caucus has “a way of listening first.”",
        "a way of listening first",
        "direct",
        "Ann Lee",
        "Sen. Ann Lee",
        "cue_before_quote",
    ),
    # "it" cannot speak: the cue before it has the quote
    (
        "Councillor Mia Holt spoke on Monday. She says it underscores that the mayor is “out of touch with the city.”",
        "out of touch with the city",
        "direct",
        "Mia Holt",
        "She",
        "cue_before_quote",
    ),
    # nor can "the protests": the speaker of the outer "said" has the quoted words
    (
        "House Speaker Paul Green said the recent protests demand that everyone engage in “more listening.”",
        "more listening",
        "direct",
        "Paul Green",
        "House Speaker Paul Green",
        "cue_before_quote",
    ),
    # capitalised words joined by "&" are one organisation, which "the company" then means
    (
        "Soap maker Procter & Gamble rallied 6 per cent after its results. "
        "The company said its annual profit could be stronger than it had expected.",
        "its annual profit could be stronger",
        "indirect",
        "Procter & Gamble",
        "The company",
        "speaker_verb_clause",
    ),
    # an organisation introduced by what it is and then its name is kept whole
    (
        "Print will make up just 2 per cent of all advertising next year, according to ad buying firm Zentro.",
        "Print will make up",
        "indirect",
        "ad buying firm Zentro",
        "ad buying firm Zentro",
        "according_to_closing",
    ),
    # "sources familiar with …" is read back to its plural noun
    (
        "The mill was hoping to close the sale by spring, sources familiar with the bidding said.",
        "The mill was hoping",
        "indirect",
        "sources familiar with the bidding",
        "sources familiar with the bidding",
        "clause_then_speaker_verb",
    ),
    # "they" is the unnamed group that opened the clause before it
    (
        "Several shipping executives have warned about the cost of the new rules. "
        "They say smaller ports could lose most of their traffic.",
        "smaller ports could lose",
        "indirect",
        "Several shipping executives",
        "They",
        "speaker_verb_clause",
    ),
    # the lede's unnamed person is the one the next sentence names in full, for the first time, as its subject
    (
        "A retired hockey coach says the new terminal will never handle winter storms.\n\n"
        "Harold Brisbois said he warned the port board about the design two years ago.",
        "the new terminal will never handle",
        "indirect",
        "Harold Brisbois",
        "A retired hockey coach",
        "speaker_verb_clause",
    ),
    # a pronoun speaker is none of the people its own reported clause names
    (
        "Tomas Ruiz ran the night shift. David Okoro worked beside him. "
        "Okoro and two cooks hid in the cold room, he said, until the smoke cleared.",
        "Okoro and two cooks hid",
        "indirect",
        "Tomas Ruiz",
        "he",
        "speaker_verb_inside_clause",
    ),
    # a document's author named after it ("on X's website"); the run after "titled" is the work's title, not a person
    (
        "Lake freighters were held in port for a third day on Tuesday.\n\n"
        '"Ice on the upper lakes shortens every shipping season," says a report titled Winter Routes: Sailing the '
        "Great Lakes on Northbay Shipping Company's website.\n\n"
        "The report said crews now load extra fuel before December.",
        "Ice on the upper lakes",
        "direct",
        "Northbay Shipping Company",
        "a report titled Winter Routes",
        "cue_then_speaker_after_quote",
    ),
    # … and "the report" later is the same document, by the same author (not a person named near "report")
    (
        "Lake freighters were held in port for a third day on Tuesday.\n\n"
        '"Ice on the upper lakes shortens every shipping season," says a report titled Winter Routes: Sailing the '
        "Great Lakes on Northbay Shipping Company's website.\n\n"
        "The report said crews now load extra fuel before December.",
        "crews now load extra fuel",
        "indirect",
        "Northbay Shipping Company",
        "The report",
        "speaker_verb_clause",
    ),
    # a quote paragraph with no cue after a paragraph whose last attribution is reported speech goes on with it
    (
        "Nadia Okafor, who manages the shelter on Dundas Street, said most guests now arrive before dark. "
        "In January, twelve more beds went into the basement.\n\n"
        '"They know the beds go fast. Nobody wants to walk here at midnight."',
        "They know the beds go fast",
        "direct",
        "Nadia Okafor",
        "Nadia Okafor",
        "quote_paragraph_after_reported_speech",
    ),
    # a document no one is named for, right after a sentence whose speaker is known, is that speaker's
    (
        "Relief workers reached the village on Monday.\n\n"
        "The aid group Harbourlight said two of its nurses were among the injured. "
        'A statement said the group was "deeply shaken" and would keep its clinic open.',
        "would keep its clinic open",
        "indirect",
        "Harbourlight",
        "A statement",
        "speaker_verb_clause",
    ),
    # "said A, but added that B": the second verb's speaker is the first one's, not the clause after it
    (
        "Mayor Tom Reyes said the budget was balanced, but added that he expected cuts next year.",
        "he expected cuts next year",
        "indirect",
        "Tom Reyes",
        "Mayor Tom Reyes",
        "speaker_verb_clause",
    ),
    # "the person" means the person described before, not someone named near the word "person"
    (
        "The trade deadline passed quietly on Thursday.\n\n"
        "A person familiar with the negotiations says Calgary and Halifax have agreed on a trade. "
        "The deal was done to clear cap space, according to the person, who spoke on condition of anonymity.",
        "The deal was done to clear cap space",
        "indirect",
        "A person familiar with the negotiations",
        "the person",
        "according_to_closing",
    ),
    # a bare "sources" means the sources described before
    (
        "Sources familiar with the league's plans said the draft would move to June. "
        "The schedule has not been released, sources said.",
        "The schedule has not been released",
        "indirect",
        "Sources familiar with the league's plans",
        "sources",
        "clause_then_speaker_verb",
    ),
    # an organisation's unit is a source in its own words
    (
        "The Harbour Police cybercrime unit said the messages came from one sender.",
        "the messages came from one sender",
        "indirect",
        "The Harbour Police cybercrime unit",
        "The Harbour Police cybercrime unit",
        "speaker_verb_clause",
    ),
    # a caption ending on an unbracketed credit ("… Lena Park/THE CANADIAN PRESS") does not introduce its people, so
    # the lede's unnamed coach is still the person the next sentence names
    (
        "Players of the Eastside Hawks are seen in a team photo. Coach Dana Whitfield, centre, said the season meant "
        "everything. Lena Park/THE CANADIAN PRESS\n\n"
        "A Halifax youth soccer coach says she is moved by the video her players made for her.\n\n"
        "Dana Whitfield said the players raised money for her treatment.",
        "she is moved by the video",
        "indirect",
        "Dana Whitfield",
        "A Halifax youth soccer coach",
        "speaker_verb_clause",
    ),
    # … also past a paragraph between that attributes and quotes nothing
    (
        "Nadia Okafor, who manages the shelter on Dundas Street, said most guests now arrive before dark.\n\n"
        "At 19, Okafor was homeless herself for a winter.\n\n"
        '"They know the beds go fast. Nobody wants to walk here at midnight."',
        "They know the beds go fast",
        "direct",
        "Nadia Okafor",
        "Nadia Okafor",
        "quote_paragraph_after_reported_speech",
    ),
    # … and it wins over the speaker of a quote further back, whom reported speech by another came after
    (
        '"We lost every one of those games," said Patrice Lind, the league\'s director. "It was a hard year."\n\n'
        "Tom Garrow said the rink would reopen in March, after the roof is repaired.\n\n"
        '"I think the goal here is to get kids back on the ice before the season ends."',
        "I think the goal here",
        "direct",
        "Tom Garrow",
        "Tom Garrow",
        "quote_paragraph_after_reported_speech",
    ),
    # "on" and "for" inside an organisation's name after one of its words keep the name whole
    (
        "Overdoses involving both drugs rose by a third last year, according to the Council on Substance Policy.",
        "Overdoses involving both drugs",
        "indirect",
        "the Council on Substance Policy",
        "the Council on Substance Policy",
        "according_to_closing",
    ),
]


@pytest.mark.parametrize(("text", "fragment", "kind", "speaker", "mention", "rule"), CASES)
def test_speaker_table(text: str, fragment: str, kind: str, speaker: str, mention: str, rule: str) -> None:
    quote = _attribution(text, fragment, kind)
    assert (quote.kind, quote.speaker, _mention(text, quote), quote.rule) == (kind, speaker, mention, rule)


def test_a_person_named_before_is_no_lede_for_a_description() -> None:
    """The next sentence's subject was named before: the description stays in its own words, not guessed."""
    text = (
        "Harold Brisbois chairs the port board. A retired hockey coach says the terminal is badly built. "
        "Harold Brisbois said the board will review it."
    )
    assert _attribution(text, "the terminal is badly built").speaker == "A retired hockey coach"


def test_states_after_an_adjective_is_the_noun() -> None:
    """ "swing states that …" reports nothing; after a subject ("the website states that …") it is the verb."""
    noun = "The race now moves to Western states this week that Senator Hale is counting on to win."
    assert analyze(noun, Config()).quotes == []
    verb = "A page on the campaign website states that every family would get six weeks of leave."
    (quote,) = analyze(verb, Config()).quotes
    assert (quote.kind, quote.cue, _mention(verb, quote)) == ("indirect", "states", "the campaign website")


def test_a_country_after_a_plain_word_ends_an_organisation_not_a_person() -> None:
    """ "Rally Canada" / "Statistics Canada" are organisations; "Sherrod Brown of Ohio" stays a person."""
    text = "Tom Vernon met them in town. Trailhead Canada, the group behind the rally, said it had heard from hundreds."
    quote = _attribution(text, "it had heard from hundreds")
    assert (quote.speaker, _mention(text, quote)) == ("Trailhead Canada", "Trailhead Canada")
