"""The enrich stage's one entry point: entities, topics and attributed quotes of a text.

The analyser behind it (spaCy and the rule sets) is imported when `analyze` first runs, not with this module:
with a worker pool only the workers analyse, and their forkserver loads it before any of them starts
(`pipeline.worker_preload`). The main process of a cycle hands `analyze_job` over by name and gets `Analysis`
records back, which needs this module and not the analyser, so it never loads spaCy (some 80 MiB of RSS).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline.config import Config
from pipeline.enrich.topics import match_topics
from pipeline.records import Entity, Quote

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokenizer import Tokenizer

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
    _CHUNKS.cache_new(nlp, body)
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


# How many distinct chunks the tokenizer may keep split (spaCy's default is 10,000, which a worker passes within its
# first 150 pages: 30,707 distinct chunks in the cycle bench's 181 pages), and `_ChunkCache` remembers.
CHUNK_CACHE_SIZE = 50_000


class _ChunkCache:
    """Each whitespace-delimited chunk of a text split once by the tokenizer, and from then on read from its cache.

    spaCy's tokenizer caches a chunk's split only until a chunk of the same text meets a special case ("Mr.",
    "don't", "—"): from there to the text's end it splits every chunk afresh, article after article (in the cycle
    bench, a third of a worker's chunk lookups). Before a text is tokenized, its chunks not seen before are
    tokenized apart, in texts of their own that meet no special case, so spaCy caches them as it would have done
    in place. The tokens are the same: a cached split is the one the chunk gives alone, which is what spaCy
    itself relies on for the chunks it caches before a text's first special case. Only the caching changes.
    Runs in the process that analyses (a worker): one tokenizer at a time, reset when the pipeline changes."""

    def __init__(self) -> None:
        self.tokenizer: object = None
        self.seen: set[str] = set()
        self.rules: Mapping[str, object] = {}

    def cache_new(self, nlp: Language, text: str) -> None:
        tokenizer: Tokenizer = nlp.tokenizer
        if tokenizer is not self.tokenizer:
            self.tokenizer, self.seen, self.rules = tokenizer, set(), tokenizer.rules or {}
            tokenizer.max_cache_size = max(tokenizer.max_cache_size, CHUNK_CACHE_SIZE)
        seen = self.seen
        new = [chunk for chunk in dict.fromkeys(text.split()) if chunk not in seen]
        if not new or len(seen) + len(new) > CHUNK_CACHE_SIZE:
            return
        seen.update(new)
        # A word of ASCII letters and digits that is no special case itself meets none in its split (no prefix,
        # suffix or infix rule opens one), so all such words go through in one text; any other chunk in a text of
        # its own, so that one that meets a special case keeps no other from the cache.
        plain = [chunk for chunk in new if chunk.isascii() and chunk.isalnum() and chunk not in self.rules]
        if plain:
            tokenizer(" ".join(plain))
        for chunk in new:
            if not (chunk.isascii() and chunk.isalnum()):
                tokenizer(chunk)


_CHUNKS = _ChunkCache()


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
