"""The enrich stage's one entry point: entities, topics and attributed quotes of a text.

The analyser behind it (spaCy and the rule sets) is imported when `analyze` first runs, not with this module:
with a worker pool only the workers analyse, and their forkserver loads it before any of them starts
(`pipeline.worker_preload`). The main process of a cycle hands `analyze_job` over by name and gets `Analysis`
records back, which needs this module and not the analyser, so it never loads spaCy (some 80 MiB of RSS).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.config import Config
from pipeline.enrich.topics import match_topics
from pipeline.records import Entity, Quote

# Past this size an "article" is a data dump; the tail adds nothing an analyst needs
# and would only slow the tokenizer down.
MAX_CHARS = 400_000


@dataclass
class Analysis:
    entities: list[Entity] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)


def analyze(text: str, config: Config, title: str = "", topics: bool = True) -> Analysis:
    """Offsets refer to `text`; the title feeds topic matching and tells a statement published in full.

    `topics=False` leaves topics to the caller (the pipeline asks the store,
    whose backend may match them with a percolator instead).
    """
    if not text or not text.strip():
        return Analysis(topics=match_topics(title, text, config.topics) if title and topics else [])
    from pipeline.enrich.entities import PERSON, get_nlp, make_doc, mentions, to_entities
    from pipeline.enrich.full_text import detect as detect_full_text
    from pipeline.enrich.quotes import attribute, find_quote_spans

    body = text[:MAX_CHARS]
    nlp = get_nlp(config)
    doc = make_doc(nlp, body)
    found = mentions(doc, config)
    quotes = attribute(doc, body, found, config, find_quote_spans(body))
    # A surname used as a speaker means whoever was last named in full; keep the
    # entity list consistent with the quote that relied on it.
    spoken = {(q.speaker_start, q.speaker_end): q.speaker for q in quotes if q.speaker}
    for m in found:
        speaker = spoken.get((m.start, m.end))
        if speaker and m.label == PERSON and not m.full:
            m.canonical = speaker
    entities = to_entities(found)
    full_text = detect_full_text(title, body, entities, config)
    if full_text is not None:
        quotes.append(full_text.quote(body))
    tags = match_topics(title, text, config.topics) if topics else []  # the whole text, as the store matches it
    return Analysis(entities, tags, quotes)


def analyze_job(job: tuple[str, str, Config]) -> Analysis:
    """`analyze` without topics, in a form a process pool can map over."""
    text, title, config = job
    return analyze(text, config, title, topics=False)


def analysis_to_json(a: Analysis) -> dict[str, Any]:
    return {
        "entities": [asdict(e) for e in a.entities],
        "topics": list(a.topics),
        "quotes": [asdict(q) for q in a.quotes],
    }
