"""The records attribution works on: a sentence frame, a speaker candidate, an attribution.

A frame is a sentence as a list of items in which every quotation is one item,
so a reporting verb and its subject are found on either side of a quote
without being confused by the words inside it.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from spacy.tokens import Doc

from pipeline.enrich.entities import Mention, SpeakerIndex, token_table
from pipeline.enrich.quotes.spans import QuoteSpan


@dataclass
class Candidate:
    """A speaker mention found next to a cue, before it is resolved to a name."""

    start: int
    end: int
    kind: str  # entity | pronoun | np | share ("One in three", kept in its own words)
    mention: Mention | None = None


@dataclass
class Attribution:
    """Who a quote is attributed to (before resolution) and the cue that says so."""

    candidate: Candidate | None
    cue: str | None
    cue_start: int | None = None


Item = tuple[str, int]  # ("T", token index) or ("Q", quote index)


@dataclass
class Context:
    """One article's parse, quotes and mentions, indexed for the rules."""

    doc: Doc
    text: str
    spans: list[QuoteSpan]
    found: list[Mention]
    speakers: SpeakerIndex
    ent_end: dict[int, Mention] = field(default_factory=dict)
    ent_start: dict[int, Mention] = field(default_factory=dict)
    ent_token: dict[int, Mention] = field(default_factory=dict)
    token_starts: list[int] = field(default_factory=list)
    # Each token's end offset, whether it is whitespace, and its lowercase form, read once from the doc's
    # arrays: the rules ask for them tens of times per token, and each `doc[k]` builds a new Token object.
    # They are the doc's `TokenTable` sequences themselves, shared and never copied: read them, never change them.
    token_ends: Sequence[int] = field(default_factory=list)
    token_spaces: Sequence[bool] = field(default_factory=list)
    lowers: Sequence[str] = field(default_factory=list)
    # Each token's is_alpha, is_lower, is_punct and like_num, from the same arrays, for the same reason.
    alphas: Sequence[bool] = field(default_factory=list)
    lowercase: Sequence[bool] = field(default_factory=list)
    puncts: Sequence[bool] = field(default_factory=list)
    numbers: Sequence[bool] = field(default_factory=list)
    titles: Sequence[bool] = field(default_factory=list)  # is_title and is_stop, for the same reason
    stops: Sequence[bool] = field(default_factory=list)
    quote_at: dict[int, int] = field(default_factory=dict)
    quote_starts: list[int] = field(default_factory=list)
    # Each (start, end) range's frame, built once: the direct-quote strategies and the reported-speech pass read
    # many of the same sentences, and the strategies read the previous sentence again for each quote after it.
    frames: dict[tuple[int, int], list[Item]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        table = token_table(self.doc)  # the lists the entity rules read too, built once per doc
        self.token_starts = table.starts
        self.token_ends = table.ends
        self.token_spaces = table.is_space
        self.alphas = table.is_alpha
        self.lowercase = table.is_lower
        self.puncts = table.is_punct
        self.numbers = table.like_num
        self.titles = table.is_title
        self.stops = table.is_stop
        self.lowers = table.lowers
        self.quote_at = {s.outer_start: n for n, s in enumerate(self.spans)}
        self.quote_starts = sorted(self.quote_at)
        for m in self.found:
            self.ent_end[m.tok_end - 1] = m
            self.ent_start[m.tok_start] = m
            for k in range(m.tok_start, m.tok_end):
                self.ent_token[k] = m


def frame(ctx: Context, start: int, end: int) -> list[Item]:
    """The tokens of text[start:end] with each quotation folded into one ("Q", n) item.

    The list is shared by every caller asking for the same range (`Context.frames`): read it, never change it.
    """
    items = ctx.frames.get((start, end))
    if items is None:
        items = ctx.frames[start, end] = _build_frame(ctx, start, end)
    return items


def _build_frame(ctx: Context, start: int, end: int) -> list[Item]:
    items: list[Item] = []
    starts, quote_starts = ctx.token_starts, ctx.quote_starts
    n = len(starts)
    k = bisect.bisect_left(starts, start)
    last = bisect.bisect_left(starts, end, k)  # past the range's last token
    if k == last:
        return items
    first_quote = bisect.bisect_left(quote_starts, starts[k])
    if first_quote == len(quote_starts) or quote_starts[first_quote] >= ctx.token_ends[last - 1]:
        # no quotation opens inside any of the tokens (most sentences): every token but whitespace is an item
        spaces = ctx.token_spaces
        return [("T", i) for i in range(k, last) if not spaces[i]]
    while k < n and starts[k] < end:
        # the first quotation opening inside this token, if any
        q = bisect.bisect_left(quote_starts, starts[k])
        if q < len(quote_starts) and quote_starts[q] < ctx.token_ends[k]:
            quote = ctx.quote_at[quote_starts[q]]
            items.append(("Q", quote))
            k = bisect.bisect_left(starts, ctx.spans[quote].outer_end, k)
            continue
        if not ctx.token_spaces[k]:
            items.append(("T", k))
        k += 1
    return items


def lower(ctx: Context, item: Item) -> str:
    """The item's lowercase word; "" for a quotation."""
    return ctx.lowers[item[1]] if item[0] == "T" else ""


def token_text(ctx: Context, i: int) -> str:
    """The text of token i, sliced from the article rather than read through a new Token object."""
    return ctx.text[ctx.token_starts[i] : ctx.token_ends[i]]


def token_candidate(ctx: Context, first: int, last: int, kind: str, mention: Mention | None = None) -> Candidate:
    """A candidate spanning tokens first..last (inclusive)."""
    return Candidate(ctx.token_starts[first], ctx.token_ends[last], kind, mention)
