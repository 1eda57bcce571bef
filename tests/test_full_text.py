"""Statements published in full: each style pinned to its speaker, kind and span.

The fixture texts are written for these tests in the styles of the sources that
publish statements whole (an agency's press statement, a spokesman's answer to
a question, the White House, the State Department); none is copied from a source.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Config
from pipeline.enrich.analyze import analyze
from pipeline.enrich.full_text import detect, organisation_form
from tests.conftest import make_config

AGENCY_LEAD = (
    "Pyongyang, March 3 (KCNA) -- Kim Yo Jong, vice department director of the Central Committee of the "
    "Workers' Party of Korea, made public the following press statement on Tuesday evening:"
)
AGENCY_BODY = (
    "This morning I learned that the south Korean military authorities again flew drones over the border "
    "area, calling it a routine exercise.\n"
    "Such a reckless act cannot be overlooked. We have warned more than once that our patience has limits.\n"
    "If the provocation is repeated, the south side will have to bear responsibility for the consequences."
)

ANSWER_LEAD = (
    "A spokesman for the Foreign Ministry of the DPRK gave the following answer to a question raised by KCNA "
    "on Monday as regards the new U.S. sanctions:,  "
)
ANSWER_BODY = (
    "The U.S. announced last week another set of sanctions against our trading companies, calling them a "
    "measure for peace.\n"
    "Sanctions have never changed our course and never will. The U.S. had better drop its hostile policy."
)

WHITE_HOUSE_TITLE = "Statement from President Joe Biden on the Anniversary of the Clean Water Act"
WHITE_HOUSE_BODY = (
    "Fifty years ago, Americans decided that our rivers and lakes would no longer be treated as sewers.\n"
    "Today, my Administration is building on that promise with new funding for clean drinking water in "
    "every state, and I am proud of the work we have done together.\n"
    "We will keep going until every family can trust the water that comes out of its tap."
)

STATE_HEADER = "Press Statement\nAntony J. Blinken, Secretary of State\nMarch 3, 2026\n"
STATE_BODY = (
    "The United States strongly condemns the missile launch carried out this morning, which violates "
    "multiple Security Council resolutions.\n"
    "We call on all members of the Council to hold the launch to account, and we remain open to dialogue "
    "without preconditions."
)

REPORTED = (
    "SEOUL — Kim Yo Jong said on Tuesday that the South had no interest in easing tensions, according to a "
    "statement carried by the state news agency KCNA.\n"
    "She warned that the drone flights over the border area would not be overlooked, and that Seoul would "
    "bear responsibility for the consequences.\n"
    "South Korea's Defence Ministry said the flights were a routine exercise."
)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return make_config(Path(tmp_path_factory.mktemp("config")))


def test_an_agency_press_statement_is_her_statement_from_after_the_lead(config: Config) -> None:
    text = f"{AGENCY_LEAD}\n{AGENCY_BODY}"
    found = detect("Press Statement of Vice Department Director of WPK Central Committee Kim Yo Jong", text, (), config)
    assert found is not None
    assert (found.speaker, found.rule, found.cue) == (
        "Kim Yo Jong",
        "following",
        "made public the following press statement",
    )
    assert (found.start, found.end) == (len(AGENCY_LEAD) + 1, len(text))
    assert text[found.start : found.start + 20] == "This morning I learne"[:20]
    assert text[found.speaker_start : found.speaker_start + 11] == "Kim Yo Jong"


def test_analyze_records_the_statement_as_one_full_text_attribution(config: Config) -> None:
    text = f"{AGENCY_LEAD}\n{AGENCY_BODY}"
    quotes = [quote for quote in analyze(text, config, "Press Statement").quotes if quote.kind == "full_text"]
    assert [(q.speaker, q.start, q.end, q.text, q.rule) for q in quotes] == [
        ("Kim Yo Jong", len(AGENCY_LEAD) + 1, len(text), AGENCY_BODY, "full_text:following")
    ]


def test_a_spokesmans_answer_is_the_office_speaking_with_its_organisation() -> None:
    text = ANSWER_LEAD + ANSWER_BODY
    found = detect("FM Spokesman Slams U.S. Sanctions", text)
    assert found is not None
    assert (found.speaker, found.organisation, found.rule) == (
        "DPRK Foreign Ministry spokesman",
        "DPRK Foreign Ministry",
        "following",
    )
    assert (found.start, found.end) == (len(ANSWER_LEAD), len(text))


def test_answered_a_question_starts_after_the_lead_sentence() -> None:
    lead = "The spokeswoman of the Foreign Ministry of the DPRK answered a question raised by KCNA on Friday."
    text = f"{lead}\n{ANSWER_BODY}"
    found = detect("", text)
    assert found is not None
    assert (found.speaker, found.rule, found.start) == (
        "DPRK Foreign Ministry spokeswoman",
        "answered_question",
        len(lead) + 1,
    )


def test_a_white_house_statement_is_named_by_its_headline() -> None:
    found = detect(WHITE_HOUSE_TITLE, WHITE_HOUSE_BODY)
    assert found is not None
    assert (found.speaker, found.rule, found.start, found.end) == ("Joe Biden", "headline", 0, len(WHITE_HOUSE_BODY))


def test_a_state_department_press_statement_starts_after_its_header() -> None:
    text = STATE_HEADER + STATE_BODY
    found = detect("Condemning the Missile Launch", text)
    assert found is not None
    assert (found.speaker, found.rule) == ("Antony J. Blinken", "press_statement_header")
    assert (found.start, found.end) == (len(STATE_HEADER), len(text))


def test_said_in_a_statement_with_a_colon_and_a_signature_at_the_end() -> None:
    lead = "The Committee for the Peaceful Reunification of Korea said in a statement on Friday:"
    signature = "Committee for the Peaceful Reunification of Korea\nPyongyang, March 6, 2026"
    text = f"{lead}\n{ANSWER_BODY}\n{signature}"
    found = detect("", text)
    assert found is not None
    assert (found.speaker, found.rule) == ("Committee for the Peaceful Reunification of Korea", "said_in_statement")
    assert (found.start, found.end) == (len(lead) + 1, len(lead) + 1 + len(ANSWER_BODY))


def test_remarks_by_as_the_first_line() -> None:
    text = f"Remarks by Secretary of State Antony J. Blinken\n{STATE_BODY}"
    found = detect("", text)
    assert found is not None
    assert (found.speaker, found.rule, found.start) == ("Antony J. Blinken", "author_line", text.index("The United"))


def test_a_statement_signed_at_the_end_and_announced_by_its_headline() -> None:
    text = f"{WHITE_HOUSE_BODY}\n— Joe Biden"
    found = detect("A statement on clean water", text)
    assert found is not None
    assert (found.speaker, found.rule, found.start, found.end) == ("Joe Biden", "signed", 0, len(WHITE_HOUSE_BODY))


def test_a_secondary_report_in_reported_speech_is_not_a_statement_in_full(config: Config) -> None:
    assert detect("Kim Yo Jong warns Seoul over drone flights", REPORTED, (), config) is None
    kinds = {quote.kind for quote in analyze(REPORTED, config, "Kim Yo Jong warns Seoul").quotes}
    assert "full_text" not in kinds


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (  # a report about a statement, headlined with its name
            "Statement of Defence Commission Welcomed in Europe",
            "Several groups in Europe said this week that they backed the statement of the DPRK National "
            "Defence Commission, which had vowed to punish those it called traitors.\n" + ANSWER_BODY,
        ),
        (  # an agency summarising a statement in its own words
            "Spokesman Slams Drone Flights",
            "A spokesman for the Committee for the Peaceful Reunification of Korea on Sunday issued a statement "
            "denouncing the drone flights.\n" + ANSWER_BODY,
        ),
        (  # a story that tells of an answer given long ago
            "Leader's Answer Recalled",
            "In an interview published in 2000, the leader gave the following answer to a reporter:\n" + ANSWER_BODY,
        ),
        ('Kim Yo Jong: "Hard pass"', REPORTED),  # her name in a headline fragment
        ("Press Statement of Kim Yo Jong", "Read it at the agency's site."),  # a headline and no statement
    ],
)
def test_what_is_not_a_statement_published_in_full(title: str, text: str) -> None:
    assert detect(title, text) is None


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("the Foreign Ministry of the DPRK", "DPRK Foreign Ministry"),
        ("Ministry of Foreign Affairs of the Democratic People's Republic of Korea", "DPRK Foreign Ministry"),
        (
            "Political Bureau of the Central Committee of the Workers' Party of Korea",
            "Political Bureau of the WPK Central Committee",
        ),
        ("National Defence Commission (NDC) of the DPRK", "DPRK National Defence Commission"),
    ],
)
def test_organisations_are_written_one_way(written: str, canonical: str) -> None:
    assert organisation_form(written) == canonical
