"""Topic rules: the query language over an article, built-in desks and configured topics."""

from __future__ import annotations

import pytest

from pipeline.config import Config, ConfigError, TopicConfig, TopicQuery, config_from_dict
from pipeline.enrich.analyze import analyze
from pipeline.enrich.topics import BUILTIN_TOPICS, match_topics
from pipeline.query import Document, compile_query, parse
from pipeline.records import Article
from pipeline.store.sqlite import SQLiteStore

TEXT = "Kim Yo Jong said another summit with the United States would not be useful. Denuclearization talks stalled."


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("summit", True),
        ("SUMMIT", True),
        ("summ", False),
        ("summ*", True),
        ("denucleari*", True),
        ('"united states"', True),
        ('"states united"', False),
        ("summit AND sanctions", False),
        ("summit OR sanctions", True),
        ("summit sanctions", False),  # side by side means AND
        ("summit NOT sanctions", True),
        ("summit NOT talks", False),
        ("NOT sanctions", True),
        ('(summit OR sanctions) AND "kim yo jong"', True),
        ("(summit AND sanctions) OR tariffs", False),
        ("kim AND NOT (trump OR biden)", True),
        ('"kim yo*"', True),
        ('"kim yo"*', True),
        ("sanctions OR summit useful", True),  # AND binds tighter than OR
        ("(sanctions OR summit) tariffs", False),
    ],
)
def test_query_semantics(query: str, expected: bool) -> None:
    assert compile_query(query)(Document(TEXT)) is expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"kim jong un"', True),  # "kim" stands three times; the phrase follows only the last one, in the text
        ('"kim jong*"', True),
        ('"kim yo jong"', False),
        ('"sister kim"', False),  # the title's last word and the text's first: a phrase never spans two fields
        ('"statement kim"', False),  # past the last word of a field
        ('"the statement"', False),
    ],
)
def test_a_phrase_is_found_at_any_occurrence_of_its_first_word_within_one_field(query: str, expected: bool) -> None:
    document = Document("Kim Kardashian meets the sister", "Kim said Kim Jong Un read Kim statement")
    assert compile_query(query)(document) is expected


def test_every_builtin_topic_has_words_to_search_for() -> None:
    for query in BUILTIN_TOPICS.values():
        assert parse(query) is not None


def test_a_rule_with_nothing_to_search_for_is_refused_by_config() -> None:
    with pytest.raises(ConfigError, match=r"topics\[0\]\.query: topic query '\(\) OR' has no words to search for"):
        config_from_dict({"topics": [{"name": "empty", "query": "() OR"}]})


def test_config_topics_extend_and_override_builtins() -> None:
    topics = [
        TopicConfig(name="korea", query=TopicQuery.parse('"north korea" OR pyongyang')),
        TopicConfig(name="economy", query=TopicQuery.parse("summit")),
    ]
    tags = match_topics("", "North Korea ruled out a summit.", topics)
    assert "korea" in tags
    assert "economy" in tags
    assert "diplomacy" in tags
    assert "health" not in tags


def test_a_prefix_phrase_in_a_builtin_rule() -> None:
    assert "economy" in match_topics("", "Interest rates rose again.", [])
    assert "economy" not in match_topics("", "Rates of interest rose.", [])


def test_title_counts_for_topics() -> None:
    config = Config(topics=[TopicConfig(name="kim", query=TopicQuery.parse("kim*"))])
    assert "kim" in analyze("Nothing here.", config, title="Kim Yo Jong rules out summit").topics
    assert "kim" not in analyze("Nothing here.", config).topics


def test_analyze_tags_title_and_text_as_two_fields_like_the_store(tmp_path) -> None:
    """A phrase spanning the title's end and the text's start matches in neither store, nor here."""
    config = Config(topics=[TopicConfig(name="talks", query=TopicQuery.parse('"summit talks"'))])
    article = Article(id="a", url="u", feed_url="f", source="s", title="Kim rules out a summit",
                      text="Talks are off, she said.")  # fmt: skip
    tags = analyze(article.text, config, title=article.title).topics
    assert ("talks" in tags, "diplomacy" in tags) == (False, True)  # diplomacy: "summit*" in the title
    with SQLiteStore(tmp_path / "w.db") as store:
        assert store.match_topics(article, {"talks": '"summit talks"'}) == []
    assert "talks" in analyze("The summit talks are off.", config).topics  # within one field it matches
