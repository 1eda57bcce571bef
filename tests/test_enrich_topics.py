"""The Lucene-like topic queries: what matches, and what is refused with a reason."""

from __future__ import annotations

import pytest

from pipeline.config import Config, TopicConfig
from pipeline.enrich.analyze import analyze
from pipeline.enrich.topics import BUILTIN_TOPICS, compile_query, match_topics, validate_query

TEXT = "Kim Yo Jong said another summit with the United States would not be useful. Denuclearization talks stalled."


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("summit", True),
        ("SUMMIT", True),
        ("summ", False),
        ("summ*", True),
        ("denuclear*", True),
        ('"united states"', True),
        ('"states united"', False),
        ("summit AND sanctions", False),
        ("summit OR sanctions", True),
        ("summit sanctions", True),
        ("summit NOT sanctions", True),
        ("summit NOT talks", False),
        ("NOT sanctions", True),
        ('(summit OR sanctions) AND "kim yo jong"', True),
        ("(summit AND sanctions) OR tariffs", False),
        ("kim AND NOT (trump OR biden)", True),
        ('"kim yo*"', True),
    ],
)
def test_query_semantics(query: str, expected: bool) -> None:
    assert compile_query(query)(TEXT.lower()) is expected


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("", "empty"),
        ("(summit OR talks", "unclosed parenthesis"),
        ("summit)", "unexpected"),
        ('"summit', "unclosed quote"),
        ("summit OR", "ends"),
        ("AND summit", "unexpected"),
        ("title:summit", "unsupported term"),
        ('""', "empty phrase"),
    ],
)
def test_parse_errors_say_what_is_wrong(query: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_query(query)


def test_builtin_topics_all_parse() -> None:
    for query in BUILTIN_TOPICS.values():
        compile_query(query)


def test_config_topics_extend_and_override_builtins() -> None:
    topics = [
        TopicConfig(name="korea", query='"north korea" OR pyongyang'),
        TopicConfig(name="economy", query="summit"),
    ]
    tags = match_topics("North Korea ruled out a summit.", topics)
    assert "korea" in tags
    assert "economy" in tags
    assert "diplomacy" in tags
    assert "health" not in tags


def test_title_counts_for_topics() -> None:
    config = Config(topics=[TopicConfig(name="kim", query="kim*")])
    assert "kim" in analyze("Nothing here.", config, title="Kim Yo Jong rules out summit").topics
    assert "kim" not in analyze("Nothing here.", config).topics
