"""Direct quotations and who said them.

The package, in reading order:

- `spans`: quotation spans and the sentences around them;
- `frame`: a sentence as a list of items in which each quotation is one item;
- `words`: the lexicon lists (`pipeline/enrich/lexicon/`) as the rules use them;
- `cues`: reporting verbs, and the speaker each one points to;
- `candidates`: the subject and mention finders the cues use;
- `strategies`: the ordered list of small, named attribution rules;
- `resolve`: from a speaker mention to a canonical name.

`attribute()` runs the strategies on each quotation in order, keeps the first
that finds a speaker, and records its name on the quote as `rule`. Speakers are
resolved only from what the article says (names, surnames, pronouns,
configured descriptors); anything else stays `None` rather than guessed.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from spacy.tokens import Doc

from pipeline.config import Config
from pipeline.enrich.entities import Mention, SpeakerIndex
from pipeline.enrich.quotes.frame import Attribution, Context, frame
from pipeline.enrich.quotes.resolve import Resolver
from pipeline.enrich.quotes.spans import QuoteSpan, find_quote_spans, sentence_bounds
from pipeline.enrich.quotes.strategies import STRATEGIES, Site, Strategy
from pipeline.records import Quote

__all__ = ["STRATEGIES", "QuoteSpan", "Site", "Strategy", "attribute", "find_quote_spans", "sentence_bounds"]


def attribute(
    doc: Doc, text: str, found: list[Mention], config: Config, spans: Sequence[QuoteSpan] | None = None
) -> list[Quote]:
    """Every quotation in `text` with its speaker (or None), speaker mention, cue and the rule that fired."""
    spans = list(spans) if spans is not None else find_quote_spans(text)
    ctx = Context(doc, text, spans, found, SpeakerIndex(tuple(config.speakers)))
    done, rules = _attribute_all(ctx)
    resolved = _resolve_all(ctx, done)
    quotes: list[Quote] = []
    for qi, span in enumerate(spans):
        attribution = done.get(qi)
        if attribution is None or attribution.candidate is None:
            if not _looks_like_scare_quote(text, span):
                quotes.append(Quote(text[span.start : span.end], span.start, span.end, None))
            continue
        cand = attribution.candidate
        quotes.append(
            Quote(
                text[span.start : span.end],
                span.start,
                span.end,
                resolved.get(qi),
                cand.start,
                cand.end,
                attribution.cue,
                rules[qi],
            )
        )
    return quotes


def _attribute_all(ctx: Context) -> tuple[dict[int, Attribution], dict[int, str]]:
    """The attribution of every quote that has one, and the name of the strategy that made it.

    Quotes are attributed in text order, so a strategy may build on the
    attributions of the quotes before (`Site.done`).
    """
    sentences = sentence_bounds(ctx.text, ctx.spans)
    sentence_starts = [s for s, _ in sentences]
    done: dict[int, Attribution] = {}
    rules: dict[int, str] = {}
    for qi, span in enumerate(ctx.spans):
        s_index = max(0, bisect.bisect_right(sentence_starts, span.outer_start) - 1)
        s_start = sentences[s_index][0]
        s_end = sentences[max(0, bisect.bisect_left(sentence_starts, span.outer_end) - 1)][1]
        items = frame(ctx, s_start, max(s_end, span.outer_end))
        q = next((k for k, item in enumerate(items) if item == ("Q", qi)), None)
        site = Site(ctx, qi, items, q, sentences, s_index, done)
        for strategy in STRATEGIES:
            attribution = strategy(site)
            if attribution is not None and attribution.candidate is not None:
                done[qi] = attribution
                rules[qi] = strategy.__name__
                break
    return done, rules


def _resolve_all(ctx: Context, done: dict[int, Attribution]) -> dict[int, str | None]:
    """Each attribution's canonical speaker, in text order so "he added" can mean the last speaker.

    Quotes that share one attribution share its resolution too (a pronoun
    resolved twice could pick up a speaker recorded in between).
    """
    resolver = Resolver(ctx)
    resolved: dict[int, str | None] = {}
    by_candidate: dict[int, str | None] = {}
    for qi in sorted(done):
        candidate = done[qi].candidate
        assert candidate is not None
        key = id(candidate)
        speaker = by_candidate[key] if key in by_candidate else resolver.resolve(candidate)
        by_candidate[key] = speaker
        resolved[qi] = speaker
        if speaker:
            bisect.insort(resolver.history, (candidate.start, speaker))
    return resolved


def _looks_like_scare_quote(text: str, span: QuoteSpan) -> bool:
    """Short unattributed quoted words are titles, nicknames or scare quotes, not statements."""
    words = text[span.start : span.end].split()
    return len(words) <= 4
