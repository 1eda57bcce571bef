"""Every quotation in the two seed articles, pinned to its speaker, plus bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipeline
from pipeline.config import Config, SpeakerConfig
from pipeline.enrich.analyze import Analysis, analysis_to_json, analyze
from pipeline.enrich.quotes import STRATEGIES, find_quote_spans
from pipeline.records import Quote

SAMPLE = Path(pipeline.__file__).parent / "demo" / "sample"
KIM = "Kim Yo Jong"
TRUMP = "Donald Trump"
POMPEO = "Mike Pompeo"


@pytest.fixture(scope="module")
def config() -> Config:
    return Config(
        speakers=[
            SpeakerConfig(
                name=KIM, aliases=["Kim Yo-jong"], descriptors=["Kim Jong Un's sister"], pronoun="she", alert=True
            )
        ]
    )


def _seed(name: str) -> str:
    return next(SAMPLE.glob(f"{name}-*.txt")).read_text(encoding="utf-8")


def _direct(analysis: Analysis) -> list[Quote]:
    """The quotations in marks; reported speech is pinned in tests/test_enrich_reported.py."""
    return [q for q in analysis.quotes if q.kind == "direct"]


def _speakers(analysis: Analysis) -> list[tuple[str, str | None]]:
    return [(q.text, q.speaker) for q in _direct(analysis)]


def _speaker_of(analysis: Analysis, fragment: str) -> str | None:
    matches = [q for q in _direct(analysis) if fragment in q.text]
    assert len(matches) == 1, f"{fragment!r} found {len(matches)} times in {_speakers(analysis)}"
    return matches[0].speaker


# The joint Singapore statement ("work toward complete denuclearization") was
# signed by two leaders: it is a document, not one person's words, so it stays
# unattributed rather than being pinned on either of them.
VOA = [
    ("not be useful to us", KIM),
    ("It is my personal opinion, but a summit", KIM),
    ("extreme provocations.", KIM),
    ("I understand they want to meet, and we would certainly do that", TRUMP),
    ("We are not saying we are not going to denuclearize", KIM),
    ("work toward complete denuclearization of the Korean Peninsula.", None),
    ("to work to establish dialogue and have substantive conversations", POMPEO),
    ("We're very hopeful that we can continue", POMPEO),
    ("As for who and how and timing", POMPEO),
]


def test_voa_every_quote_has_its_speaker(config: Config) -> None:
    analysis = analyze(_seed("voa"), config)
    assert len(_direct(analysis)) == len(VOA), _speakers(analysis)
    for fragment, speaker in VOA:
        assert _speaker_of(analysis, fragment) == speaker, fragment


def test_vice_every_quote_has_its_speaker(config: Config) -> None:
    text = _seed("vice")
    analysis = analyze(text, config)
    expected = [
        # headline deck: "Secretary of State Mike Pompeo says he's “very hopeful”"
        ("very hopeful", POMPEO),
        ("unpractical", KIM),
        ("decisive changes", KIM),
        ("I am of the view that the [North Korea]", KIM),
        ("I understand they want to meet and we would certainly do that", TRUMP),
        ("I would do it if I thought it was going to be helpful.", TRUMP),
        ("very hopeful", POMPEO),
        ("buy time and prevent political disasters", KIM),
        ("good and solid", KIM),
        ("should not adjust its tactics", KIM),
        ("We would like to make it clear", KIM),
    ]
    assert [(q.text[: len(f)], q.speaker) for q, (f, _) in zip(_direct(analysis), expected, strict=True)] == expected


def test_surname_after_full_name_means_that_person(config: Config) -> None:
    analysis = analyze(_seed("vice"), config)
    quote = next(q for q in _direct(analysis) if q.text.startswith("I am of the view"))
    assert quote.speaker_start is not None
    assert _seed("vice")[quote.speaker_start : quote.speaker_end] == "Kim"
    assert quote.cue == "said"


def test_pronoun_quote_points_at_the_pronoun(config: Config) -> None:
    text = _seed("voa")
    quote = next(q for q in _direct(analyze(text, config)) if q.text.startswith("As for who"))
    assert (text[quote.speaker_start : quote.speaker_end], quote.cue, quote.speaker, quote.rule) == (
        "he",
        "added",
        POMPEO,
        "speaker_then_cue_after_quote",
    )


def test_offsets_are_indices_into_the_text(config: Config) -> None:
    for name in ("voa", "vice"):
        text = _seed(name)
        analysis = analyze(text, config)
        for quote in analysis.quotes:
            assert text[quote.start : quote.end] == quote.text
        for entity in analysis.entities:
            assert text[entity.start : entity.end] == entity.text


def test_json_shape(config: Config) -> None:
    data = analysis_to_json(analyze(_seed("voa"), config))
    assert set(data) == {"entities", "topics", "quotes"}
    keys = {"text", "start", "end", "speaker", "speaker_start", "speaker_end", "cue", "rule", "kind"}
    assert all(set(quote) == keys for quote in data["quotes"])
    first = next(quote for quote in data["quotes"] if quote["kind"] == "direct")
    # Kim Yo Jong, the sister of Kim Jong Un, said another summit would "not be useful to us"
    assert (first["speaker"], first["rule"]) == (KIM, "cue_before_quote")
    assert set(data["entities"][0]) == {"text", "label", "start", "end", "canonical"}


# text -> every quotation expected in it: (quoted words, speaker, the speaker mention as written, rule that fires).
# Expected values are written by hand from reading the sentence; none is computed by the code under test.
ATTRIBUTIONS: list[tuple[str, list[tuple[str, str | None, str | None, str | None]]]] = [
    ('"We will win," Smith said.', [("We will win", "Smith", "Smith", "speaker_then_cue_after_quote")]),
    ('Jane Smith said: "We will win."', [("We will win.", "Jane Smith", "Jane Smith", "cue_before_quote")]),
    ('"We will win," said Jane Smith.', [("We will win", "Jane Smith", "Jane Smith", "cue_then_speaker_after_quote")]),
    (
        'According to Jane Smith, "we will win the vote."',
        [("we will win the vote.", "Jane Smith", "Jane Smith", "cue_before_quote")],
    ),
    (
        'Jane Smith spoke first. "We will win the vote," she added.',
        [("We will win the vote", "Jane Smith", "she", "speaker_then_cue_after_quote")],
    ),
    (
        'Jane Smith, the party leader, warned that they would "fight on every beach there is."',
        [("fight on every beach there is.", "Jane Smith", "Jane Smith", "cue_before_quote")],
    ),
    (
        '"We will win the vote," Jeff Weaver, Smith\u2019s campaign manager, said.',
        [("We will win the vote", "Jeff Weaver", "Jeff Weaver", "speaker_then_cue_after_quote")],
    ),
    (
        '"We will win the vote," said Sen. Sherrod Brown of Ohio, a potential VP choice.',
        [("We will win the vote", "Sherrod Brown", "Sen. Sherrod Brown", "cue_then_speaker_after_quote")],
    ),
    (
        '"We will win the vote," Smith said.\nThe report was released on Monday.',
        [("We will win the vote", "Smith", "Smith", "speaker_then_cue_after_quote")],
    ),
    (
        'Jane Smith praised "New York values," saying the city is "the heart of America."',
        [
            ("New York values", "Jane Smith", "Jane Smith", "participle_after_quote"),
            ("the heart of America.", "Jane Smith", "Jane Smith", "cue_before_quote"),
        ],
    ),
    (
        'At a rally in Birmingham, Alabama, on Saturday, Jane Smith said: "We will win the vote."',
        [("We will win the vote.", "Jane Smith", "Jane Smith", "cue_before_quote")],
    ),
    (
        'Jane Smith, a retired farmer, endorsed Cruz, saying he "has the right values for us."',
        [("has the right values for us.", "Jane Smith", "Jane Smith", "cue_before_quote")],
    ),
    # a manner adverb between the speaker and the verb
    (
        'Jane Smith has also broadly called for "boots on the ground in the region."',
        [("boots on the ground in the region.", "Jane Smith", "Jane Smith", "cue_before_quote")],
    ),
    # the object of "called" is the person talked about, not the speaker
    (
        'Jane Smith, speaking on the radio, called Tom Jones a "blowhard who never listens."',
        [("blowhard who never listens.", "Jane Smith", "Jane Smith", "cue_before_quote")],
    ),
    # an inverted cue further along the sentence
    (
        '"We can win it," but it looks unlikely that they will, said Jane Smith.',
        [("We can win it", "Jane Smith", "Jane Smith", "cue_later_in_sentence")],
    ),
    # a quote-only paragraph goes on with the speaker quoted before it
    (
        'Jane Smith said the plan would "work for everyone in the state."\n\n"We have the votes to pass it."',
        [
            ("work for everyone in the state.", "Jane Smith", "Jane Smith", "cue_before_quote"),
            ("We have the votes to pass it.", "Jane Smith", "Jane Smith", "continues_previous_quote"),
        ],
    ),
    # ... even past a scare quote in the reporter's own paragraph between them
    (
        'Jane Smith said the plan would "work for everyone in the state."\n\n'
        'The vote is on Monday, and "nobody" expects a delay.\n\n"We have the votes to pass it."',
        [
            ("work for everyone in the state.", "Jane Smith", "Jane Smith", "cue_before_quote"),
            ("We have the votes to pass it.", "Jane Smith", "Jane Smith", "quote_only_paragraph"),
        ],
    ),
    # a verb outside the lexicon, with a colon handing over to the next paragraph
    (
        'Jane Smith released the following statement:\n\n"We will not be intimidated by anyone."',
        [("We will not be intimidated by anyone.", "Jane Smith", "Jane Smith", "colon_ending_previous_sentence")],
    ),
    # "with X saying": the participle's subject is right before it
    (
        'Smith attacked Jones, with Ann Lee saying the bill was "a disgrace to the state."',
        [("a disgrace to the state.", "Ann Lee", "Ann Lee", "cue_before_quote")],
    ),
    # a participle right after the quote: whoever follows it is only being addressed
    (
        'Jane Smith refused to discuss "that person," telling Tom Jones to move on.',
        [("that person", "Jane Smith", "Jane Smith", "participle_after_quote")],
    ),
    # a dateline is not the subject of the sentence
    (
        'WASHINGTON (AP) \u2014 Jane Smith rallied supporters, saying: "We have to be ready."',
        [("We have to be ready.", "Jane Smith", "Jane Smith", "cue_before_quote")],
    ),
    # the quote mark glued to the verb's comma
    (
        "Jane Smith said,\u201cWe will win the vote on Tuesday.\u201d",
        [("We will win the vote on Tuesday.", "Jane Smith", "Jane Smith", "cue_before_quote")],
    ),
    # a particle verb
    (
        'Jane Smith shot back, "That is simply not true at all."',
        [("That is simply not true at all.", "Jane Smith", "Jane Smith", "cue_before_quote")],
    ),
    # a quote signed with a dash, as in vox pops and embedded tweets
    (
        "\u201cHe does not speak for any of us here.\u201d \u2015 Jane Smith",
        [("He does not speak for any of us here.", "Jane Smith", "Jane Smith", "dash_signature")],
    ),
    (
        '"We will win the vote." \u2014 Jane Smith (@janesmith) March 3, 2016',
        [("We will win the vote.", "Jane Smith", "Jane Smith", "dash_signature")],
    ),
    # a capitalised "He said" after a finished quote opens a new statement
    (
        'Jane Smith warned it would be "a disaster for all of us." He said the vote must wait.',
        [("a disaster for all of us.", "Jane Smith", "Jane Smith", "cue_before_quote")],
    ),
    # the description comes first, the name in apposition
    (
        'Smith\u2019s attorney, Tom Jones, said she was "looking for free publicity."',
        [("looking for free publicity.", "Tom Jones", "Tom Jones", "cue_before_quote")],
    ),
    # a person after "said" who starts a new clause is its subject, not the speaker
    (
        'Tom Jones, a former aide, said Smith "was very heavily involved in all of it."',
        [("was very heavily involved in all of it.", "Tom Jones", "Tom Jones", "cue_before_quote")],
    ),
    (
        'A former rival -- Tom Jones, who lost in 2008 -- said the plan "offered no changes at all."',
        [("offered no changes at all.", "Tom Jones", "Tom Jones", "cue_before_quote")],
    ),
    # a present-tense verb after a quote that closes on its own comma
    (
        '"I\u2019m a voter," declares Jane Smith, 27, a Navy veteran.',
        [("I\u2019m a voter", "Jane Smith", "Jane Smith", "cue_then_speaker_after_quote")],
    ),
    # a pulled quote signed on the line below
    (
        '"We are worried about the future of our kids."\n\n- Jane Smith.\n\nThe figure is outdated.',
        [("We are worried about the future of our kids.", "Jane Smith", "Jane Smith", "signature_below")],
    ),
    (
        '"Great speech. She is ready."\n\n-Senator Jane Smith, writing after the speech.\n\nMore.',
        [("Great speech. She is ready.", "Jane Smith", "Senator Jane Smith", "signature_below")],
    ),
    # a short attribution after an exclamation belongs to the quote before it
    (
        '"We will win this one!" Jane Smith said.\n\nNew Jersey has voted.',
        [("We will win this one!", "Jane Smith", "Jane Smith", "speaker_then_cue_after_quote")],
    ),
    (
        'Jane Smith spoke to reporters on Monday. "We will not back down now." She said.',
        [("We will not back down now.", "Jane Smith", "She", "speaker_then_cue_after_quote")],
    ),
    # an infinitive's cue with no speaker of its own does not hide the cue before it
    (
        'On Sunday, Jane Smith said that by refusing to say the words "radical Islam," they are'
        ' "saying the war never happened at all."',
        [
            ("radical Islam", "Jane Smith", "Jane Smith", "cue_before_quote"),
            ("saying the war never happened at all.", "Jane Smith", "Jane Smith", "cue_before_quote"),
        ],
    ),
    # a time between the speaker and the verb
    (
        'Senator Jane Smith (D-Calif.) last week said the plan was "a disgrace to the whole state."',
        [("a disgrace to the whole state.", "Jane Smith", "Senator Jane Smith", "cue_before_quote")],
    ),
    # a dash and a name that a sentence goes on from do not sign the quote
    (
        "Jane Smith called the plan \u201ca disgrace to us all\u201d - Tom Jones, however, disagreed.",
        [("a disgrace to us all", "Jane Smith", "Jane Smith", "cue_before_quote")],
    ),
    # a verb the lexicon does not know, right after the quote
    (
        '"We will win the vote," Jane Smith riffed.',
        [("We will win the vote", "Jane Smith", "Jane Smith", "unknown_verb_after_quote")],
    ),
    # a name right before a colon introduces the quote
    (
        'The plan did not surprise pollster Jane Smith: "We saw it coming for months."',
        [("We saw it coming for months.", "Jane Smith", "Jane Smith", "name_before_colon")],
    ),
    # the speaker of the sentence before carries over
    (
        'The plan is doomed, Jane Smith said. Good plans need "votes that nobody has right now."',
        [("votes that nobody has right now.", "Jane Smith", "Jane Smith", "cue_in_previous_sentence")],
    ),
    # --- issue 11: coreference an analyst can trust ---
    # a photo credit is never a speaker, nor who "she" means; a caption's people are not antecedents either
    (
        "Councillor Ruth Adeyemi voted against the budget on Monday.\n\nPhoto: Maria Chen / The Star\n\n"
        '"We cannot keep borrowing against the future," she said.',
        [("We cannot keep borrowing against the future", "Ruth Adeyemi", "she", "speaker_then_cue_after_quote")],
    ),
    (
        "Ruth Adeyemi voted against the budget.\n\nRuth Adeyemi speaks to reporters. (Maria Chen/The Star)\n\n"
        '"We cannot keep borrowing against the future," she said.',
        [("We cannot keep borrowing against the future", "Ruth Adeyemi", "she", "speaker_then_cue_after_quote")],
    ),
    # the gender of a person nobody's title or config gives is read from "She" opening the next sentence
    (
        "Coach Tom Reyes spoke first. Anna Kowal, the team captain, spoke next. She was upbeat.\n\n"
        '"We played our best game of the year tonight," she said.',
        [("We played our best game of the year tonight", "Anna Kowal", "she", "speaker_then_cue_after_quote")],
    ),
    # an affiliation is not part of the name
    (
        '"Investors are nervous about demand," said Jingyi Pan of IG.',
        [("Investors are nervous about demand", "Jingyi Pan", "Jingyi Pan", "cue_then_speaker_after_quote")],
    ),
    # hyphenated and particle names stay whole; a hyphenated surname alone means the full name
    (
        "Former justice minister Jody Wilson-Raybould testified on Wednesday.\n\n"
        '"I was told the matter had to be resolved," Wilson-Raybould said.',
        [
            (
                "I was told the matter had to be resolved",
                "Jody Wilson-Raybould",
                "Wilson-Raybould",
                "speaker_then_cue_after_quote",
            )
        ],
    ),
    (
        '"We will appeal the decision," said lawyer Marie de la Fontaine.',
        [
            (
                "We will appeal the decision",
                "Marie de la Fontaine",
                "Marie de la Fontaine",
                "cue_then_speaker_after_quote",
            )
        ],
    ),
    # a first name alone, after the full name, means the full name
    (
        'Kevin Laroche has run the corner store for 22 years.\n\n"Every morning the same faces come in," Kevin said.',
        [("Every morning the same faces come in", "Kevin Laroche", "Kevin", "speaker_then_cue_after_quote")],
    ),
    # a role, a title or an age points back at the person introduced with it
    (
        "The Flames called up rookie defenceman Caleb Jones on Monday. Coach Bill Peters liked it.\n\n"
        '"I was nervous out there tonight," the rookie defenceman said.',
        [("I was nervous out there tonight", "Caleb Jones", "the rookie defenceman", "speaker_then_cue_after_quote")],
    ),
    (
        "Health Minister Claire Dubois announced new funding on Monday.\n\n"
        '"Nobody should have to drive three hours to see a doctor," the minister said.',
        [
            (
                "Nobody should have to drive three hours to see a doctor",
                "Claire Dubois",
                "the minister",
                "speaker_then_cue_after_quote",
            )
        ],
    ),
    (
        "Toronto runner Aisha Mensah, 32, won her first national title on Sunday.\n\n"
        '"I have been chasing this for ten years," the 32-year-old said.',
        [("I have been chasing this for ten years", "Aisha Mensah", "the 32-year-old", "speaker_then_cue_after_quote")],
    ),
    # an organisation as the source keeps its name
    (
        "The Ontario Energy Commission found that the utility ignored warnings.\n\n"
        '"The failures were systemic," the commission wrote.',
        [("The failures were systemic", "Ontario Energy Commission", "the commission", "speaker_then_cue_after_quote")],
    ),
    # several people named before, and "the candidates" could be any of them: null rather than guessed
    (
        'Mayor Dan Okafor and both candidates spoke on Monday.\n\n"We need a plan that works," the candidates said.',
        [("We need a plan that works", None, "the candidates", "speaker_then_cue_after_quote")],
    ),
    # an unnamed person the article only describes is kept in its words, as both corpora's annotators do
    (
        '"It was chaos, total chaos out there," one witness said.',
        [("It was chaos, total chaos out there", "one witness", "one witness", "speaker_then_cue_after_quote")],
    ),
    # no reporting verb at all, but a person is the sentence's subject
    (
        'Jane Smith thought the "buzz around the plan was overblown by far."',
        [("buzz around the plan was overblown by far.", "Jane Smith", "Jane Smith", "person_subject_without_cue")],
    ),
    # "in her words": the quoted words are whoever "her" stands for, not the sentence's subject
    (
        "Maria Holt keeps no photos of her son on the walls. She used to have a shrine to him. It had, in her words, "
        'become "unhealthy."',
        [("unhealthy.", "Maria Holt", "her", "in_their_words")],
    ),
    # … and when the sentence's subject is that same "she", the subject is the mention
    (
        "Ana Reyes moved back to Halifax in May. She keeps his old letters in a drawer because, in her words, "
        '"they are all I have left."',
        [("they are all I have left.", "Ana Reyes", "She", "in_their_words")],
    ),
]


@pytest.mark.parametrize(("text", "expected"), ATTRIBUTIONS)
def test_attribution_table(text: str, expected: list[tuple[str, str | None, str | None, str | None]]) -> None:
    quotes = _direct(analyze(text, Config()))
    got = [
        (q.text, q.speaker, text[q.speaker_start : q.speaker_end] if q.speaker_start is not None else None, q.rule)
        for q in quotes
    ]
    assert got == expected


def test_every_strategy_has_a_case_in_the_table() -> None:
    fired = {rule for _, expected in ATTRIBUTIONS for *_, rule in expected}
    assert {strategy.__name__ for strategy in STRATEGIES} <= fired


@pytest.mark.parametrize(
    "text",
    [
        # a thing named, not a statement
        'Jane Smith shared a syllabus for a class called "Perception of the World Around Us" on Facebook.',
        # a joint document signed by two people is neither one's words
        'Jane Smith and Tom Jones signed a statement agreeing to "work toward complete peace in the region."',
    ],
)
def test_no_speaker_for_names_and_joint_documents(text: str) -> None:
    assert [q.speaker for q in _direct(analyze(text, Config()))] in ([], [None])


def test_quote_spanning_paragraphs_is_one_quote() -> None:
    text = 'Smith said:\n\n"First paragraph of the statement.\n\n"Second paragraph of the statement."\n\nThen nothing.'
    spans = find_quote_spans(text)
    assert len(spans) == 1
    assert text[spans[0].start : spans[0].end].endswith("Second paragraph of the statement.")


def test_mixed_straight_and_curly_marks_pair_up() -> None:
    text = 'She said they sought to "buy time and prevent disasters,” rather than act.'
    assert [text[s.start : s.end] for s in find_quote_spans(text)] == ["buy time and prevent disasters"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n  ",
        "No quotation marks at all, just a sentence about Smith.",
        'An unbalanced "quote that never closes, he said.',
        'Stray ” closing and “ opening ” marks “ everywhere "',
        '"' * 101,
        "He is 6'2\" tall, said Smith.",
    ],
)
def test_bad_input_does_not_crash(text: str) -> None:
    analysis = analyze(text, Config())
    for quote in analysis.quotes:
        assert text[quote.start : quote.end] == quote.text


def test_megabyte_text_does_not_crash() -> None:
    paragraph = (
        '"We will win this, and soon," Jane Smith said on Tuesday in Washington. She added that "nobody" agreed.\n\n'
    )
    text = paragraph * (1_000_000 // len(paragraph) + 1)
    analysis = analyze(text, Config())
    assert analysis.quotes and analysis.quotes[0].speaker == "Jane Smith"


@pytest.mark.parametrize(
    ("text", "second"),
    [
        # a coordinated clause after the quote has a cue of its own, for its own quote
        (
            'Jane Smith praised the "strong and vibrant state of it," and Tom Jones called it "a good start for us."',
            "Tom Jones",
        ),
        # after a finished quote, a capitalised pronoun opens the next sentence
        (
            'Jane Smith called him "the little senator from the north." She mocked Tom Jones, saying "it is over."',
            "Jane Smith",
        ),
    ],
)
def test_each_clause_keeps_its_own_speaker(text: str, second: str) -> None:
    quotes = _direct(analyze(text, Config()))
    assert [q.speaker for q in quotes] == ["Jane Smith", second]
    assert text[quotes[0].speaker_start : quotes[0].speaker_end] == "Jane Smith"


def test_a_spaced_dash_after_the_cue_is_punctuation_not_a_hyphenated_word() -> None:
    text = 'Jane Smith was scornful - "we need to get into the details," she said - and left the hall.'
    (quote,) = _direct(analyze(text, Config()))
    assert (quote.speaker, quote.cue, text[quote.speaker_start : quote.speaker_end]) == ("Jane Smith", "said", "she")


# Who a "he" or "she" means: a person the text makes its subject (opening a sentence, or before a verb), or
# the speaker quoted last; never someone named only inside a phrase, in a possessive, in a photo caption,
# or an organisation. Each case: text, a fragment of the quote, the speaker expected.
PRONOUN_ANTECEDENTS = [
    # named inside a phrase ("the show of Julia Child") and as an owner: not the "she" who speaks
    (
        'Marta Lindqvist writes cookbooks. "I bake every day," she says.\n\n'
        "Lindqvist also wrote a companion book to the television show of Ada Brandt. Her number sat on "
        'Brandt\u2019s kitchen wall. "I still cannot believe it," she says.',
        "I still cannot believe it",
        "Marta Lindqvist",
    ),
    # "his father's friend, Paul Arsenault," is an apposition, not the subject of the sentence
    (
        'Kevin Doucet said he might run for the leadership. "It is a long road," he said.\n\n'
        "He said the dairy, with a bank run by his father's friend, Paul Arsenault, helped the whole town.\n\n"
        '"They built something that lasted," he said.',
        "They built something that lasted",
        "Kevin Doucet",
    ),
    # a person before a verb is the clause's subject even mid-sentence ("…, Harold Byrne, 76, recalls")
    (
        "Writer Omar Haddad spent years on the book. In one chapter, retired porter Harold Byrne, 76, recalls "
        'the night shifts. "I slept three hours a night," he tells Haddad.',
        "I slept three hours a night",
        "Harold Byrne",
    ),
    # a photo caption closed by "( … file photo )" names who is pictured, not who speaks
    (
        'Omar Haddad, a historian, has written a new book. "They changed the country," Haddad said.\n\n'
        "Samuel Price, a retired porter, at a ceremony in 1999. ( Daily Star file photo )\n\n"
        'The delegation went to Ottawa in 1954. "They were brave men," he said.',
        "They were brave men",
        "Omar Haddad",
    ),
    # "…, Okoro believes." makes Okoro the subject even at the end of a sentence; the man hired in between is
    # named in a clause after a date, but the writer stays who "he says" means
    (
        'Daniel Okoro has spent a decade on the subject. "It was a long fight," Okoro says.\n\n'
        "In 1955, Samuel Grant was hired as a conductor. Those men changed the country, Okoro believes. "
        '"I hope readers see that," he says.',
        "I hope readers see that",
        "Daniel Okoro",
    ),
    # a pronoun after a person named as an object ("found Kelan on her couch") says nothing of that
    # person's gender; the mother stays who "she says" means
    (
        "Wendy Marsh still grieves for her son Kelan Reid. Kelan had just turned 20. One night she found Kelan on "
        "her couch. She drove Kelan to her sister's clinic. A nurse met Kelan at her door.\n\n"
        '"I knew right away," she says.',
        "I knew right away",
        "Wendy Marsh",
    ),
    # an organisation quoted before is never "he"
    (
        'Sam Ortiz moved to Halifax in May. "The city has been kind," the Port Authority said.\n\n'
        '"We are very happy here," he said.',
        "We are very happy here",
        "Sam Ortiz",
    ),
]


@pytest.mark.parametrize(("text", "fragment", "expected"), PRONOUN_ANTECEDENTS)
def test_pronoun_antecedent_table(text: str, fragment: str, expected: str) -> None:
    assert _speaker_of(analyze(text, Config()), fragment) == expected


def test_a_cue_in_a_clause_after_the_quote_is_not_the_quotes() -> None:
    # "… was “…” when he said …": the quote is what Linda Moss said; "he said" opens a clause of its own
    text = 'Linda Moss said Tom Reyes was "completely wrong" when he said on Monday that taxes would fall.'
    assert _speaker_of(analyze(text, Config()), "completely wrong") == "Linda Moss"


# An organisation as the source: "it" means the organisation quoted last, "the agency" the one the text last
# made a subject, and an acronym the name the article spelled out. Each case: text, a fragment of the quote,
# the source expected (None: nothing the text says settles it).
ORGANISATION_SOURCES = [
    (
        'Northway Hydro said crews were out overnight. "Fallen trees blocked many roads," it said.',
        "Fallen trees blocked many roads",
        "Northway Hydro",
    ),
    # "it" with no organisation quoted before stays unresolved rather than guessed
    (
        'The storm knocked out power across Northway Hydro territory. "Stay indoors," it said.',
        "Stay indoors",
        None,
    ),
    (
        "The mayor said a study had been done by the transit authority. Metro Transit Authority was asked about "
        'the claim on Friday.\n\n"No such study exists," the agency said.',
        "No such study exists",
        "Metro Transit Authority",
    ),
    (
        "The family got a letter from Immigration, Refugees and Citizenship Canada last week.\n\n"
        'In a statement, IRCC said "each case is reviewed with care."',
        "each case is reviewed with care.",
        "Immigration, Refugees and Citizenship Canada",
    ),
]


@pytest.mark.parametrize(("text", "fragment", "expected"), ORGANISATION_SOURCES)
def test_organisation_source_table(text: str, fragment: str, expected: str | None) -> None:
    assert _speaker_of(analyze(text, Config()), fragment) == expected


# Sources the article describes but does not name are kept in its words; a later "the official" means the
# official described before; a possessive owner ("her statement") is the source. Each case: text, a fragment
# of the quote, the source expected.
DESCRIBED_SOURCES = [
    ('"This is an outrage," a resident wrote in an email to the council.', "This is an outrage", "a resident"),
    (
        '"We are asking for help," one of the players said after practice.',
        "We are asking for help",
        "one of the players",
    ),
    (
        "The decision rests with the minister, a senior finance official said on Tuesday.\n\n"
        '"Most requests are approved within weeks," the official said.',
        "Most requests are approved within weeks",
        "a senior finance official",
    ),
    # a description that is no person ("two weeks ago") is not a source
    ('Two weeks ago "everything changed," the report noted.', "everything changed", "the report"),
]


@pytest.mark.parametrize(("text", "fragment", "expected"), DESCRIBED_SOURCES)
def test_described_source_table(text: str, fragment: str, expected: str) -> None:
    assert _speaker_of(analyze(text, Config()), fragment) == expected


# Names as the resolver should give them. Each case: text, a fragment of the quote, the speaker expected.
NAMED_SPEAKERS = [
    # a legislator's party and state after the name is no person
    (
        'Sen. Maria Lopez, D-Ore., backed the bill. "It is overdue," she said.',
        "It is overdue",
        "Maria Lopez",
    ),
    # the rest of a hyphenated title is not part of the name
    (
        'Former Sergeant-at-Arms Paul Tremblay spoke on Monday. "I still think of that day," Tremblay said.',
        "I still think of that day",
        "Paul Tremblay",
    ),
    # a particle glued on by a hyphen is part of the name, alone or after a given name
    (
        'The raid was claimed by al-Harakat, an armed group. "It was our answer," al-Harakat said.',
        "It was our answer",
        "al-Harakat",
    ),
    (
        'Defence Minister Omar al-Rashid spoke late on Friday. "We will rebuild," al-Rashid said.',
        "We will rebuild",
        "Omar al-Rashid",
    ),
    # "her statement" stands for its author
    (
        'Environment Minister Rachel Dunn responded on Friday. "We will not back down," her statement said.',
        "We will not back down",
        "Rachel Dunn",
    ),
    # a lone first name opening a sentence is a name when a reporting verb follows it
    ('Priya told reporters on Friday: "We are not giving up."', "We are not giving up.", "Priya"),
    # the name right after the cue is the speaker, not a person named in a "while …" clause after it
    (
        "Dana Greenberg has a new cookbook out.\n\n"
        '"I keep the cooking simple," says Greenberg while touring the kitchen with her husband Paul Greenberg.',
        "I keep the cooking simple",
        "Dana Greenberg",
    ),
    # a group named "… United" is an organisation, so the person named before it speaks
    (
        '"The line froze solid," said Ada Brennan with Transit Riders United, a volunteer group.',
        "The line froze solid",
        "Ada Brennan",
    ),
    # an apposition continued by "and" ends at the name before its first part, not at a state in that part
    (
        "Lena Okafor, a nurse based in Columbus, Ohio, and a steward at the Nurses Guild, said: "
        '"We cover three wards at night."',
        "We cover three wards at night.",
        "Lena Okafor",
    ),
    (
        "Will Marsh, a pipefitter from Springfield, Mo., and an organizer at the local union, said the cold "
        'wears on every part.\n\n"Nobody trains for a shift like that."',
        "Nobody trains for a shift like that.",
        "Will Marsh",
    ),
]


@pytest.mark.parametrize(("text", "fragment", "expected"), NAMED_SPEAKERS)
def test_named_speaker_table(text: str, fragment: str, expected: str) -> None:
    assert _speaker_of(analyze(text, Config()), fragment) == expected
