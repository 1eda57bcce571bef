"""Topic tags from saved queries.

A rule is a query in wirewatch's one query language (`pipeline.query`), so a
topic tags an article the same way whichever store is in use: the Python
predicate here in embedded mode, the same query rendered as a bool query in the
Elasticsearch percolator. Words side by side mean AND, so the built-in rules
spell out their ORs.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.config import TopicConfig
from pipeline.query import Document, compile_query

# Coarse news desks every install gets; a configured topic with the same name replaces one.
BUILTIN_TOPICS: dict[str, str] = {
    "politics": (
        "election* OR vote* OR voter* OR parliament* OR congress* OR senat* OR lawmaker* OR "
        '"prime minister" OR president* OR campaign* OR candidate* OR ballot* OR '
        'democrat* OR republican* OR "political party" OR politic*'
    ),
    "diplomacy": (
        'diplomat* OR summit* OR ambassador* OR embassy OR "foreign minister" OR '
        '"secretary of state" OR negotiat* OR talks OR treaty OR sanctions OR denucleari*'
    ),
    "conflict": (
        "war OR wars OR military OR troops OR missile* OR attack* OR airstrike* OR bomb* OR "
        'insurgen* OR rebels OR ceasefire OR "armed forces" OR invasion OR nuclear OR '
        "provocation*"
    ),
    "economy": (
        'econom* OR inflation OR gdp OR recession OR unemployment OR "interest rate*" OR '
        'tariff* OR trade OR market* OR stocks OR "central bank" OR budget OR deficit'
    ),
    "health": (
        "health OR pandemic OR epidemic OR virus OR coronavirus OR covid* OR vaccine* OR "
        'hospital* OR disease* OR outbreak* OR "public health"'
    ),
    "crime": (
        "police OR arrest* OR murder* OR shooting OR court OR trial OR prosecutor* OR indict* OR convicted OR fraud"
    ),
    "climate": '"climate change" OR "global warming" OR emissions OR carbon OR wildfire* OR drought* OR flood*',
    "technology": (
        'technolog* OR software OR internet OR cyber* OR "artificial intelligence" OR smartphone* OR hacker* OR hacking'
    ),
}

def topic_queries(topics: Iterable[TopicConfig]) -> dict[str, str]:
    """The built-in rules, then the configured ones (a configured topic replaces a built-in of its name)."""
    queries = dict(BUILTIN_TOPICS)
    for topic in topics:
        queries[topic.name] = topic.query
    return queries


def match_topics(text: str, topics: Iterable[TopicConfig]) -> list[str]:
    document = Document(text)
    return [name for name, query in topic_queries(topics).items() if compile_query(query)(document)]
