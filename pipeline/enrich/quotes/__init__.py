"""Who said what: direct quotations and reported speech, and their speakers.

The package, in reading order:

- `spans`: quotation spans and the sentences around them;
- `frame`: a sentence as a list of items in which each quotation is one item;
- `words`: the lexicon lists (`pipeline/enrich/lexicon/`) as the rules use them;
- `cues`: reporting verbs, and the speaker each one points to;
- `candidates`: the subject and mention finders the cues use;
- `strategies`: the ordered list of small, named attribution rules;
- `reported`: reported speech ("she said the talks had failed"), its own
  ordered list of named rules that start from a sentence rather than a quotation;
- `resolve`: from a speaker mention to a canonical name.

`attribute()` runs the strategies on each quotation in order, keeps the first
that finds a speaker, and records its name on the quote as `rule`; then the
reported-speech strategies on each sentence. Every attribution carries its
`kind`: "direct" (in quotation marks), "indirect" (reported speech) or "stance" (an
attitude or act attributed to a source, cued by no verb of saying). Speakers of all
are resolved by one `Resolver`, in text order. Speakers are
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
from pipeline.enrich.quotes.reported import REPORTED_STRATEGIES, find_reported
from pipeline.enrich.quotes.resolve import Resolver
from pipeline.enrich.quotes.sources import Descriptions
from pipeline.enrich.quotes.spans import QuoteSpan, find_quote_spans, sentence_bounds
from pipeline.enrich.quotes.strategies import STRATEGIES, Site, Strategy, quote_paragraph_after_reported_speech
from pipeline.records import Quote

__all__ = [
    "REPORTED_STRATEGIES",
    "STRATEGIES",
    "QuoteSpan",
    "Site",
    "Strategy",
    "attribute",
    "find_quote_spans",
    "sentence_bounds",
]


def attribute(
    doc: Doc, text: str, found: list[Mention], config: Config, spans: Sequence[QuoteSpan] | None = None
) -> list[Quote]:
    """Every quotation and reported statement in `text`, in text order, with its speaker (or None), speaker
    mention, cue, kind ("direct", "indirect" or "stance") and the rule that fired."""
    spans = list(spans) if spans is not None else find_quote_spans(text)
    ctx = Context(doc, text, spans, found, SpeakerIndex(tuple(config.speakers)))
    sentences = sentence_bounds(text, spans)
    done, rules = _attribute_all(ctx, sentences)
    reported = find_reported(ctx, sentences, done)
    speech = [(r.start, r.end, r.attribution) for r, _ in reported if r.kind != "stance"]
    _carry_reported_speakers(ctx, done, rules, speech)
    # Quoted and reported speakers are resolved together, in text order, so "he said" can mean either.
    quoted = sorted(done)
    speakers = _resolve_all(
        ctx,
        [(spans[qi].outer_start, done[qi], None) for qi in quoted]
        + [(r.start, r.attribution, (r.start, r.end)) for r, _ in reported],
        # a stance's source is resolved like any speaker but is never who a later "he said" means
        {len(quoted) + n for n, (r, _) in enumerate(reported) if r.kind == "stance"},
    )
    resolved = dict(zip(quoted, speakers, strict=False))
    quotes: list[Quote] = []
    for qi, span in enumerate(spans):
        attribution = done.get(qi)
        if attribution is None or attribution.candidate is None:
            if not _looks_like_scare_quote(text, span):
                quotes.append(Quote(text[span.start : span.end], span.start, span.end, None))
            continue
        quotes.append(_quote(text, span.start, span.end, attribution, resolved.get(qi), rules[qi], "direct"))
    for (r, rule), speaker in zip(reported, speakers[len(quoted) :], strict=True):
        quotes.append(_quote(text, r.start, r.end, r.attribution, speaker, rule, r.kind))
    quotes.sort(key=lambda q: q.start)
    return quotes


def _quote(
    text: str, start: int, end: int, attribution: Attribution, speaker: str | None, rule: str, kind: str
) -> Quote:
    cand = attribution.candidate
    assert cand is not None
    return Quote(text[start:end], start, end, speaker, cand.start, cand.end, attribution.cue, rule, kind)


def _attribute_all(ctx: Context, sentences: list[tuple[int, int]]) -> tuple[dict[int, Attribution], dict[int, str]]:
    """The attribution of every quote that has one, and the name of the strategy that made it.

    Quotes are attributed in text order, so a strategy may build on the
    attributions of the quotes before (`Site.done`).
    """
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


# Rules that carry a speaker over from a quote paragraphs before: reported speech in between is more recent.
_CARRIED_OVER = frozenset({"quote_only_paragraph", "continues_previous_quote"})


def _carry_reported_speakers(
    ctx: Context, done: dict[int, Attribution], rules: dict[int, str], reported: Sequence[tuple[int, int, Attribution]]
) -> None:
    """The quote paragraphs that carry on a reported speaker (see `quote_paragraph_after_reported_speech`), in
    text order: those no strategy attributed, and those that carried a speaker over from a quote further back
    (then the quotes that carried the same speaker on from them follow the new one)."""
    replaced: dict[int, Attribution] = {}
    for qi in range(len(ctx.spans)):
        rule = rules.get(qi)
        if qi in done and rule in _CARRIED_OVER and id(done[qi]) in replaced:
            done[qi] = replaced[id(done[qi])]
            continue
        if qi in done and rule != "quote_only_paragraph":
            continue
        attribution = quote_paragraph_after_reported_speech(ctx, qi, done, reported)
        if attribution is not None:
            if qi in done:
                replaced[id(done[qi])] = attribution
            done[qi] = attribution
            rules[qi] = quote_paragraph_after_reported_speech.__name__


def _resolve_all(
    ctx: Context, attributions: Sequence[tuple[int, Attribution, tuple[int, int] | None]], unrecorded: set[int]
) -> list[str | None]:
    """Each attribution's canonical speaker, in the order given.

    They are resolved in text order (by the position given beside each), so
    "he added" can mean the last speaker, whether quoted or reported. Quotes
    that share one attribution share its resolution too (a pronoun resolved
    twice could pick up a speaker recorded in between). Beside each, the span of a reported clause (None for
    a quote): a pronoun speaker is none of the people that clause names. The attributions numbered in
    `unrecorded` (stances) are resolved without becoming who a later pronoun points back to.
    """
    resolver = Resolver(ctx)
    descriptions = Descriptions()
    resolved: list[str | None] = [None] * len(attributions)
    by_candidate: dict[int, str | None] = {}
    for n in sorted(range(len(attributions)), key=lambda n: attributions[n][0]):
        candidate = attributions[n][1].candidate
        assert candidate is not None
        key = id(candidate)
        if key not in by_candidate:
            phrase = ctx.text[candidate.start : candidate.end]
            if candidate.kind == "share":  # "One in three (said)": a share of those polled, named by nothing else
                by_candidate[key] = resolved[n] = phrase
                continue
            # "the person" after "a person familiar with the talks": the source described before, not a guess
            speaker = descriptions.earlier(phrase) if candidate.kind == "np" else None
            if speaker is not None:
                by_candidate[key] = resolved[n] = speaker
                continue
            speaker = resolver.resolve(candidate, attributions[n][2])
            group = candidate.kind == "pronoun" and ctx.text[candidate.start : candidate.end].lower() == "they"
            if speaker is not None and not group:  # a group is never who a later "he" or "she" means
                if n not in unrecorded:
                    bisect.insort(resolver.history, (candidate.start, speaker))
            elif candidate.kind != "pronoun":
                # "The ministry said", "a citizen wrote": a source no name in the article stands for, kept in
                # its own words; never who a later "he said" means, so it stays out of the history
                speaker = descriptions.source(phrase)
            by_candidate[key] = speaker
        resolved[n] = by_candidate[key]
    return resolved


def _looks_like_scare_quote(text: str, span: QuoteSpan) -> bool:
    """Short unattributed quoted words are titles, nicknames or scare quotes, not statements."""
    words = text[span.start : span.end].split()
    return len(words) <= 4
