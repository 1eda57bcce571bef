"""Every quotation in the two seed articles, pinned to its speaker, plus bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipeline
from pipeline.config import Config, SpeakerConfig
from pipeline.enrich.analyze import Analysis, analysis_to_json, analyze
from pipeline.enrich.quotes import find_quote_spans

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


def _speakers(analysis: Analysis) -> list[tuple[str, str | None]]:
    return [(q.text, q.speaker) for q in analysis.quotes]


def _speaker_of(analysis: Analysis, fragment: str) -> str | None:
    matches = [q for q in analysis.quotes if fragment in q.text]
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
    assert len(analysis.quotes) == len(VOA), _speakers(analysis)
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
    assert [(q.text[: len(f)], q.speaker) for q, (f, _) in zip(analysis.quotes, expected, strict=True)] == expected


def test_surname_after_full_name_means_that_person(config: Config) -> None:
    analysis = analyze(_seed("vice"), config)
    quote = next(q for q in analysis.quotes if q.text.startswith("I am of the view"))
    assert quote.speaker_start is not None
    assert _seed("vice")[quote.speaker_start : quote.speaker_end] == "Kim"
    assert quote.cue == "said"


def test_pronoun_quote_points_at_the_pronoun(config: Config) -> None:
    text = _seed("voa")
    quote = next(q for q in analyze(text, config).quotes if q.text.startswith("As for who"))
    assert (text[quote.speaker_start : quote.speaker_end], quote.cue, quote.speaker) == ("he", "added", POMPEO)


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
    assert set(data["quotes"][0]) == {"text", "start", "end", "speaker", "speaker_start", "speaker_end", "cue", "kind"}
    assert set(data["entities"][0]) == {"text", "label", "start", "end", "canonical"}


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        ('"We will win," Smith said.', "Smith"),
        ('Jane Smith said: "We will win."', "Jane Smith"),
        ('"We will win," said Jane Smith.', "Jane Smith"),
        ('According to Jane Smith, "we will win the vote."', "Jane Smith"),
        ('Jane Smith spoke first. "We will win the vote," she added.', "Jane Smith"),
        ('Jane Smith, the party leader, warned that they would "fight on every beach there is."', "Jane Smith"),
        ('"We will win the vote," Jeff Weaver, Smith\u2019s campaign manager, said.', "Jeff Weaver"),
        ('"We will win the vote," said Sen. Sherrod Brown of Ohio, a potential VP choice.', "Sherrod Brown"),
        ('"We will win the vote," Smith said.\nThe report was released on Monday.', "Smith"),
        ('Jane Smith praised "New York values," saying the city is "the heart of America."', "Jane Smith"),
        ('At a rally in Birmingham, Alabama, on Saturday, Jane Smith said: "We will win the vote."', "Jane Smith"),
        ('Jane Smith, a retired farmer, endorsed Cruz, saying he "has the right values for us."', "Jane Smith"),
        # a manner adverb between the speaker and the verb
        ('Jane Smith has also broadly called for "boots on the ground in the region."', "Jane Smith"),
        # the object of "called" is the person talked about, not the speaker
        ('Jane Smith, speaking on the radio, called Tom Jones a "blowhard who never listens."', "Jane Smith"),
        # an inverted cue further along the sentence
        ('"We can win it," but it looks unlikely that they will, said Jane Smith.', "Jane Smith"),
        # a quote-only paragraph goes on with the speaker quoted before it
        (
            'Jane Smith said the plan would "work for everyone in the state."\n\n"We have the votes to pass it."',
            "Jane Smith",
        ),
        # a verb outside the lexicon, with a colon handing over to the next paragraph
        ('Jane Smith released the following statement:\n\n"We will not be intimidated by anyone."', "Jane Smith"),
        # "with X saying": the participle's subject is right before it
        ('Smith attacked Jones, with Ann Lee saying the bill was "a disgrace to the state."', "Ann Lee"),
        # a participle right after the quote: whoever follows it is only being addressed
        ('Jane Smith refused to discuss "that person," telling Tom Jones to move on.', "Jane Smith"),
        # a dateline is not the subject of the sentence
        ('WASHINGTON (AP) \u2014 Jane Smith rallied supporters, saying: "We have to be ready."', "Jane Smith"),
        # the quote mark glued to the verb's comma
        ("Jane Smith said,\u201cWe will win the vote on Tuesday.\u201d", "Jane Smith"),
        # a particle verb
        ('Jane Smith shot back, "That is simply not true at all."', "Jane Smith"),
        # a quote signed with a dash, as in vox pops and embedded tweets
        ("\u201cHe does not speak for any of us here.\u201d \u2015 Jane Smith", "Jane Smith"),
        ('"We will win the vote." \u2014 Jane Smith (@janesmith) March 3, 2016', "Jane Smith"),
        # a capitalised "He said" after a finished quote opens a new statement
        ('Jane Smith warned it would be "a disaster for all of us." He said the vote must wait.', "Jane Smith"),
        # the description comes first, the name in apposition
        ('Smith\u2019s attorney, Tom Jones, said she was "looking for free publicity."', "Tom Jones"),
        # a person after "said" who starts a new clause is its subject, not the speaker
        ('Tom Jones, a former aide, said Smith "was very heavily involved in all of it."', "Tom Jones"),
        ('A former rival -- Tom Jones, who lost in 2008 -- said the plan "offered no changes at all."', "Tom Jones"),
        # a present-tense verb after a quote that closes on its own comma
        ('"I\u2019m a voter," declares Jane Smith, 27, a Navy veteran.', "Jane Smith"),
        # a pulled quote signed on the line below
        ('"We are worried about the future of our kids."\n\n- Jane Smith.\n\nThe figure is outdated.', "Jane Smith"),
        ('"Great speech. She is ready."\n\n-Senator Jane Smith, writing after the speech.\n\nMore.', "Jane Smith"),
        # a short attribution after an exclamation belongs to the quote before it
        ('"We will win this one!" Jane Smith said.\n\nNew Jersey has voted.', "Jane Smith"),
        ('Jane Smith spoke to reporters on Monday. "We will not back down now." She said.', "Jane Smith"),
        # an infinitive's cue with no speaker of its own does not hide the cue before it
        (
            'On ABC\'s "This Week," Jane Smith said that by refusing to say the words "radical Islam," they are'
            ' "saying the war never happened at all."',
            "Jane Smith",
        ),
        # a time between the speaker and the verb
        ('Senator Jane Smith (D-Calif.) last week said the plan was "a disgrace to the whole state."', "Jane Smith"),
        # a dash and a name that a sentence goes on from do not sign the quote
        ("Jane Smith called the plan \u201ca disgrace to us all\u201d - Tom Jones, however, disagreed.", "Jane Smith"),
    ],
)
def test_attribution_patterns(text: str, speaker: str) -> None:
    quotes = analyze(text, Config()).quotes
    assert [q.speaker for q in quotes] == [speaker] * len(find_quote_spans(text))


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
    assert [q.speaker for q in analyze(text, Config()).quotes] in ([], [None])


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
    quotes = analyze(text, Config()).quotes
    assert [q.speaker for q in quotes] == ["Jane Smith", second]
    assert text[quotes[0].speaker_start : quotes[0].speaker_end] == "Jane Smith"


def test_a_spaced_dash_after_the_cue_is_punctuation_not_a_hyphenated_word() -> None:
    text = 'Jane Smith was scornful - "we need to get into the details," she said - and left the hall.'
    (quote,) = analyze(text, Config()).quotes
    assert (quote.speaker, quote.cue, text[quote.speaker_start : quote.speaker_end]) == ("Jane Smith", "said", "she")
