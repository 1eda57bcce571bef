"""The records attribution works on: a sentence frame, a speaker candidate, an attribution.

A frame is a sentence as a list of items in which every quotation is one item,
so a reporting verb and its subject are found on either side of a quote
without being confused by the words inside it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from spacy.tokens import Doc

from pipeline.enrich.entities import Mention, SpeakerIndex
from pipeline.enrich.quotes.spans import QuoteSpan


@dataclass
class Candidate:
    """A speaker mention found next to a cue, before it is resolved to a name."""

    start: int
    end: int
    kind: str  # entity | pronoun | np
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
    quote_at: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.token_starts = [t.idx for t in self.doc]
        self.quote_at = {s.outer_start: n for n, s in enumerate(self.spans)}
        for m in self.found:
            self.ent_end[m.tok_end - 1] = m
            self.ent_start[m.tok_start] = m
            for k in range(m.tok_start, m.tok_end):
                self.ent_token[k] = m


def frame(ctx: Context, start: int, end: int) -> list[Item]:
    """The tokens of text[start:end] with each quotation folded into one ("Q", n) item."""
    items: list[Item] = []
    doc = ctx.doc
    quote_at = ctx.quote_at
    k = bisect.bisect_left(ctx.token_starts, start)
    while k < len(doc) and doc[k].idx < end:
        token = doc[k]
        q = next((quote_at[c] for c in range(token.idx, token.idx + len(token.text)) if c in quote_at), None)
        if q is not None:
            items.append(("Q", q))
            outer_end = ctx.spans[q].outer_end
            while k < len(doc) and doc[k].idx < outer_end:
                k += 1
            continue
        if not token.is_space:
            items.append(("T", k))
        k += 1
    return items


def lower(ctx: Context, item: Item) -> str:
    """The item's lowercase word; "" for a quotation."""
    return ctx.doc[item[1]].lower_ if item[0] == "T" else ""


def token_candidate(ctx: Context, first: int, last: int, kind: str, mention: Mention | None = None) -> Candidate:
    """A candidate spanning tokens first..last (inclusive)."""
    doc = ctx.doc
    return Candidate(doc[first].idx, doc[last].idx + len(doc[last].text), kind, mention)
