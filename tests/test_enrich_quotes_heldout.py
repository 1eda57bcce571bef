"""A held-out slice of hand-written news paragraphs, scored as one figure.

These cases were written once, before the attribution rules were tuned for
issue 11, and are not looked at case by case while tuning: the rules are
developed on PolNeAR and the GGT dev set, and this slice only says whether the
result holds on text neither corpus contains. The test asserts a floor on the
share of quotes given the right full name (the score last measured: 11/20 when
the slice was written, 19/20 after issue 11's rules); raise the floor when the
score rises, never lower it. The table tests in test_enrich_quotes.py cover the
same kinds of case and were written by the same hand, so this slice is held out
from tuning but is not an independent sample.

Each case: the article text, then for every quotation expected, a fragment of
the quoted words and the speaker's full name (None: nobody the text names).
"""

from __future__ import annotations

from pipeline.config import Config
from pipeline.enrich.analyze import analyze

HELD_OUT: list[tuple[str, list[tuple[str, str | None]]]] = [
    (
        "By Maria Chen\nStaff Reporter\n\nThe city will freeze property taxes next year, Mayor Daniel Okafor "
        'announced Tuesday.\n\n"Families have told us loud and clear that they are stretched," Okafor said at city '
        'hall.\n\nDaniel Okafor speaks to reporters on Tuesday. (Maria Chen/The Star)\n\n"We found the savings '
        'without cutting a single service," he said.',
        [("Families have told us", "Daniel Okafor"), ("We found the savings", "Daniel Okafor")],
    ),
    (
        "Former justice minister Jody Tremblay-Hart told the committee she had been pressured repeatedly.\n\n"
        '"I was told the matter had to be resolved," Tremblay-Hart said.\n\nShe added: "I did not change my mind '
        'and I never will."',
        [("I was told the matter", "Jody Tremblay-Hart"), ("I did not change my mind", "Jody Tremblay-Hart")],
    ),
    (
        'Markets slipped on Friday as oil prices fell for a third day.\n\n"Investors are nervous about demand '
        'heading into the new year," said Jingwei Liu of Harbour Capital.\n\nLiu said the drop could continue. '
        '"There is no floor in sight yet," she said.',
        [("Investors are nervous", "Jingwei Liu"), ("There is no floor", "Jingwei Liu")],
    ),
    (
        "Priya Raman, the bank's chief economist, said the numbers were a surprise.\n\n"
        '"Nobody had this on their radar a month ago," Raman said.',
        [("Nobody had this on their radar", "Priya Raman")],
    ),
    (
        "Health Minister Claire Dubois announced new funding for rural clinics on Monday.\n\nThe money will go to "
        '40 communities across the province.\n\n"Nobody should have to drive three hours to see a doctor," the '
        "minister said.",
        [("Nobody should have to drive", "Claire Dubois")],
    ),
    (
        'Toronto runner Aisha Mensah won her first national title on Sunday.\n\n"I have been chasing this for ten '
        'years," the 32-year-old said after the race.',
        [("I have been chasing this", "Aisha Mensah")],
    ),
    (
        'Kevin Laroche has run the corner store on Elm Street for 22 years.\n\n"Every morning the same faces come '
        'through that door," Kevin said.',
        [("Every morning the same faces", "Kevin Laroche")],
    ),
    (
        "The Ontario Energy Commission found that the utility ignored repeated warnings about its lines.\n\n"
        '"The failures were systemic and entirely avoidable," the commission wrote in its final report.',
        [("The failures were systemic", "Ontario Energy Commission")],
    ),
    (
        '"It was chaos, total chaos out there," one witness said.\n\nPolice have not released the names of the '
        "victims.",
        # was None (an unnamed source dropped); since the issue-11 round of 25 November an unnamed person the
        # article describes is kept in its words, as GGT's and PolNeAR's annotators mark it. Changed after the
        # rule was written and measured, when this slice was first run: it was the only case that moved.
        [("It was chaos", "one witness")],
    ),
    (
        "Finance Minister Rachel Singh tabled the budget on Wednesday. Opposition critic Tom Becker called it "
        'reckless.\n\nSingh defended the deficit.\n\n"We are investing in people, not in balance sheets," she said.',
        [("We are investing in people", "Rachel Singh")],
    ),
    (
        "Dr. Helen Park has studied the virus for a decade. Her colleague, Mark Rivers, disagreed with the "
        'province\'s plan.\n\n"We need to move faster than this," she said.',
        [("We need to move faster", "Helen Park")],
    ),
    (
        '"We will appeal the decision as soon as we can," said lawyer Marie de la Fontaine.',
        [("We will appeal the decision", "Marie de la Fontaine")],
    ),
    (
        "Photo: Jason Wu / Global News\n\nThe fire destroyed three homes overnight, fire chief Brenda Cole said.\n\n"
        '"We were lucky nobody was hurt," Cole said.',
        [("We were lucky nobody was hurt", "Brenda Cole")],
    ),
    (
        '"This is a good day for every worker in this province," union president Sam Ortiz told reporters.',
        [("This is a good day", "Sam Ortiz")],
    ),
    (
        'Chief Robert Whitecloud met the minister on Thursday.\n\n"We are not going anywhere," Whitecloud said.\n\n'
        "With files from The Canadian Press",
        [("We are not going anywhere", "Robert Whitecloud")],
    ),
    (
        "Coach Luc Brassard was blunt after the loss. Goaltender Ben Hughes stopped 30 shots.\n\n"
        '"We were outworked from the first whistle," Brassard said. "That cannot happen in March."',
        [("We were outworked", "Luc Brassard"), ("That cannot happen in March", "Luc Brassard")],
    ),
]

# The share of quotes above with the right speaker, as last measured (see the note on FLOOR).
FLOOR = 0.95  # 19/20 after the issue 11 rules (11/20 on the restructured rules before them)


def held_out_accuracy() -> tuple[int, int]:
    right = total = 0
    for text, expected in HELD_OUT:
        quotes = analyze(text, Config()).quotes
        for fragment, speaker in expected:
            total += 1
            found = [q for q in quotes if fragment in q.text]
            right += len(found) == 1 and found[0].speaker == speaker
    return right, total


def test_held_out_speaker_accuracy_stays_above_its_floor() -> None:
    right, total = held_out_accuracy()
    print(f"held-out speaker accuracy {right / total:.3f} ({right}/{total})")
    assert right / total >= FLOOR
