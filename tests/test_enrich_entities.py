"""Entities on the seeds: configured speakers under their canonical name, titles stripped."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipeline
from pipeline.config import Config, NlpConfig, SpeakerConfig
from pipeline.enrich import entities
from pipeline.enrich.analyze import analyze
from pipeline.enrich.entities import build_nlp, get_nlp, make_doc, prepare_rule_base
from pipeline.records import Entity

SAMPLE = Path(pipeline.__file__).parent / "demo" / "sample"
KIM = SpeakerConfig(name="Kim Yo Jong", aliases=["Kim Yo-jong"], descriptors=["Kim Jong Un's sister"], pronoun="she")


@pytest.fixture(scope="module")
def config() -> Config:
    return Config(speakers=[KIM])


def _entities(name: str, config: Config) -> list[Entity]:
    text = next(SAMPLE.glob(f"{name}-*.txt")).read_text(encoding="utf-8")
    return analyze(text, config).entities


def _canonical(entities: list[Entity], surface: str) -> set[str]:
    return {e.canonical for e in entities if e.text == surface}


def test_titles_are_stripped_from_canonical_names(config: Config) -> None:
    entities = _entities("voa", config)
    assert _canonical(entities, "Secretary of State Mike Pompeo") == {"Mike Pompeo"}
    assert _canonical(entities, "President Donald Trump") == {"Donald Trump"}
    assert _canonical(entities, "Pompeo") == {"Mike Pompeo"}
    assert _canonical(entities, "Trump") == {"Donald Trump"}


def test_a_middle_initial_folds_into_the_plain_name_unless_two_people_share_it(config: Config) -> None:
    text = (
        "Donald Trump spoke on Monday. Later Donald J. Trump tweeted. Secretary of State John F. Kerry replied, "
        "and John Kerry flew home. George H. W. Bush and George W. Bush met George Bush."
    )
    entities = analyze(text, config).entities
    assert _canonical(entities, "Donald J. Trump") == {"Donald Trump"}
    assert _canonical(entities, "Secretary of State John F. Kerry") == {"John Kerry"}
    assert _canonical(entities, "George H. W. Bush") == {"George H. W. Bush"}
    assert _canonical(entities, "George W. Bush") == {"George W. Bush"}


def test_speaker_spellings_and_descriptors_map_to_the_speaker(config: Config) -> None:
    text = "Kim Yo-jong spoke. Later Kim Yo Jong spoke again, and Kim Jong Un's sister was quoted by KCNA."
    entities = analyze(text, config).entities
    people = {(e.text, e.canonical) for e in entities if e.label == "PERSON"}
    assert ("Kim Yo-jong", "Kim Yo Jong") in people
    assert ("Kim Yo Jong", "Kim Yo Jong") in people
    assert ("Kim Jong Un's sister", "Kim Yo Jong") in people


def test_the_leader_is_not_confused_with_his_sister(config: Config) -> None:
    entities = _entities("voa", config)
    assert _canonical(entities, "Kim Jong Un") == {"Kim Jong Un"}
    assert _canonical(entities, "the sister of Kim Jong Un") == {"Kim Yo Jong"}


def test_places_and_organisations(config: Config) -> None:
    entities = _entities("voa", config)
    labels = {(e.text, e.label, e.canonical) for e in entities}
    assert ("North Korea", "GPE", "North Korea") in labels
    assert ("U.S.", "GPE", "United States") in labels
    assert ("Korean Central News Agency", "ORG", "Korean Central News Agency") in labels
    assert ("North Korean", "NORP", "North Korean") in labels


def test_title_case_headline_words_are_not_people(config: Config) -> None:
    people = {e.canonical for e in _entities("vice", config) if e.label == "PERSON"}
    assert "Hard Pass" not in people
    assert {"Kim Jong Un", "Kim Yo Jong", "Donald Trump", "Mike Pompeo"} <= people


def test_pipeline_is_built_once_per_config(config: Config) -> None:
    assert get_nlp(config) is get_nlp(Config(speakers=[KIM]))
    assert get_nlp(config) is not get_nlp(Config())


def test_a_pipeline_finished_on_a_base_built_ahead_finds_what_one_built_whole_finds() -> None:
    text = (
        "Kim Yo-jong, Kim Jong Un's sister, said in Pyongyang that South Korea and the U.S. would regret it, "
        "Moon Jae-in's office said."
    )
    expected = [
        ("Kim Yo-jong", "PERSON", "Kim Yo Jong"),
        ("Kim Jong Un's sister", "PERSON", "Kim Yo Jong"),
        ("Pyongyang", "GPE", "Pyongyang"),
        ("South Korea", "GPE", "South Korea"),
        ("U.S.", "GPE", "United States"),
        ("Moon Jae-in", "PERSON", ""),
    ]
    prepare_rule_base()  # as the workers' forkserver does
    ahead = build_nlp(Config(speakers=[KIM]))
    assert entities._SPARE_BASE == []  # taken by that build, so the next builds whole
    whole = build_nlp(Config(speakers=[KIM]))
    for nlp in (ahead, whole):
        assert nlp.pipe_names == ["wirewatch_places", "wirewatch_speakers", "wirewatch_names"]
        assert [(e.text, e.label_, e.ent_id_) for e in make_doc(nlp, text).ents] == expected


def test_unknown_model_falls_back_to_rules() -> None:
    config = Config(nlp=NlpConfig(model="no_such_model_installed"), speakers=[KIM])
    entities = analyze("Kim Yo-jong said so.", config).entities
    assert [(e.text, e.canonical) for e in entities] == [("Kim Yo-jong", "Kim Yo Jong")]


def test_every_lexicon_list_says_where_it_comes_from() -> None:
    lexicon = Path(pipeline.__file__).parent / "enrich" / "lexicon"
    readme = (lexicon / "README.md").read_text(encoding="utf-8")
    lists = sorted(p.name for p in lexicon.iterdir() if p.suffix in {".txt", ".tsv"})
    assert "reporting_verbs.tsv" in lists and "titles.tsv" in lists
    assert [name for name in lists if f"`{name}`" not in readme] == []


def test_page_chrome_credits_and_affiliations_are_not_names() -> None:
    text = (
        "Breaking News\n\nPeople watch a TV screen in Toronto.\n\nBurnaby RCMP closed the road. "
        "(Getty Images Kevin Vickers)\n\nJingyi Pan of IG expects a rebound.\n\n"
        "Ruth Adeyemi speaks to reporters at the council meeting. (Maria Chen/The Star)"
    )
    entities = {(e.text, e.label) for e in analyze(text, Config()).entities}
    assert not {t for t, _ in entities} & {"Breaking News", "TV", "Maria Chen", "Maria Chen/The Star"}
    assert {("Burnaby RCMP", "ORG"), ("Getty Images", "ORG"), ("Kevin Vickers", "PERSON")} <= entities
    assert {("Jingyi Pan", "PERSON"), ("IG", "ORG"), ("Toronto", "GPE"), ("Ruth Adeyemi", "PERSON")} <= entities


def test_hyphenated_and_particle_names_stay_whole() -> None:
    text = "Jody Wilson-Raybould met Marie de la Fontaine. Sen. Jane Smith (R-Iowa) left."
    people = {e.text: e.canonical for e in analyze(text, Config()).entities if e.label == "PERSON"}
    assert people == {
        "Jody Wilson-Raybould": "Jody Wilson-Raybould",
        "Marie de la Fontaine": "Marie de la Fontaine",
        "Sen. Jane Smith": "Jane Smith",
    }


# Each case: text, then the people found as (surface, canonical), then places that must stay places.
NAMES_THAT_LOOK_LIKE_OTHER_THINGS = [
    # a given name that is also a country, used alone later: the person, not the country
    (
        "The club's goalie, Georgia Holt, and her father met the mayor. Holt said the season was long. "
        "Georgia laughed at that.",
        {("Georgia Holt", "Georgia Holt"), ("Holt", "Georgia Holt"), ("Georgia", "Georgia Holt")},
        set(),
    ),
    # the same word with no such person stays a place, and "Georgia Tech" is no person
    ("Georgia Tech beat a team from Georgia on Friday.", set(), {"Georgia"}),
    # "Will" opening a name before an apposition
    (
        "Will Ferris, a welder from Duluth, said the cold cracks steel.",
        {("Will Ferris", "Will Ferris")},
        set(),
    ),
    # an occupation written as a title before the name is no part of it
    (
        "Historian Mara Quill spoke first. Quill said the record was thin.",
        {("Historian Mara Quill", "Mara Quill"), ("Quill", "Mara Quill")},
        set(),
    ),
    # a possessive typed with a left quote mark stays off the name ("House" is labelled apart, as an organisation)
    (
        "The vote hinged on House Minority Leader Dana Kruger‘s phone. Kruger said nothing.",
        {("Minority Leader Dana Kruger", "Dana Kruger"), ("Kruger", "Dana Kruger")},
        set(),
    ),
]


@pytest.mark.parametrize(("text", "people", "places"), NAMES_THAT_LOOK_LIKE_OTHER_THINGS)
def test_names_that_look_like_places_or_words(text: str, people: set[tuple[str, str]], places: set[str]) -> None:
    entities = analyze(text, Config()).entities
    assert {(e.text, e.canonical) for e in entities if e.label == "PERSON"} == people
    assert places <= {e.text for e in entities if e.label in {"GPE", "LOC"}}


def test_organisation_names_run_across_on_and_for_and_titles_are_works() -> None:
    """ "Council on Foreign Relations" is one organisation (not a council and a person); "the Senate on Monday"
    stops at the day; the run after "titled" is the title of a work, neither a person nor an entity."""
    text = (
        "The Council on Foreign Relations and the Center for Rural Progress disagreed. The Senate on Monday voted. "
        "A report titled Cold Rails came out."
    )
    entities = {(e.text, e.label) for e in analyze(text, Config()).entities}
    assert entities == {
        ("Council on Foreign Relations", "ORG"),
        ("Center for Rural Progress", "ORG"),
        ("Senate", "ORG"),
    }
