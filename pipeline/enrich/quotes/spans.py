"""Quotation spans and the sentences around them.

Quote marks are paired per paragraph from their surroundings rather than their
glyphs, because scraped copy mixes straight and curly marks within one quote.
Sentences are cut so that no cut runs through a quotation, and a short
trailing "Trump said." stays with the quote before it.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.enrich.quotes.words import (
    ABBREVIATIONS,
    ATTRIBUTION_TAILS,
    CUES,
    DETERMINERS,
    OBJECT_CUES,
    SHORT_CUE_TAILS,
)

OPENERS = frozenset("“„«")
CLOSERS = frozenset("”»")
MARKS = frozenset('"“”„«»')
# Precompiled once: these run on every paragraph and every sentence end of every article.
_MARK = re.compile('["“”„«»]')
_PARAGRAPH = re.compile(r"[^\n]+")
# A sentence end: stops before a capital or digit, or line breaks. Written to open with one character class (the
# stop or the line break, the branch then chosen by looking back at it) rather than as two alternatives: the
# regex engine then skips to the next such character at C speed instead of trying both branches at every
# position of the text, which was half the time of `sentence_bounds`. The matches are the same as
# `[.!?…]+[\"”’')\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])|\n+`.
_SENTENCE_END = re.compile(r"[.!?…\n](?:(?<=[.!?…])[.!?…]*[\"”’')\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])|(?<=\n)\n*)")
_WORD_BEFORE_STOP = re.compile(r"([\w.]+)\.$")
_INITIALS = re.compile(r"(?:[A-Z]\.)*[A-Z]")
_WINDOW_WORDS = re.compile(r"[\w.’'-]+|[^\w\s]")


@dataclass(frozen=True)
class QuoteSpan:
    """A quotation: the marks' span and the quoted text inside them."""

    outer_start: int
    outer_end: int
    start: int
    end: int


def _direction(text: str, i: int) -> str:
    prev = text[i - 1] if i > 0 else "\n"
    nxt = text[i + 1] if i + 1 < len(text) else "\n"
    opens = (prev.isspace() or prev in "([{—–-/:") and not nxt.isspace()
    closes = (nxt.isspace() or nxt in ".,;:!?)]}—–-…'’") and not prev.isspace()
    if opens and not closes:
        return "open"
    if closes and not opens:
        return "close"
    mark = text[i]
    if mark in OPENERS:
        return "open"
    if mark in CLOSERS:
        return "close"
    return "either"


def _inner(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in MARKS):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:" or text[end - 1] in MARKS):
        end -= 1
    return start, end


def find_quote_spans(text: str) -> list[QuoteSpan]:
    """Pair quote marks paragraph by paragraph; tolerate any imbalance.

    An unclosed quote at a paragraph's end continues when the next paragraph
    opens with a quote mark (the newspaper convention for multi-paragraph
    quotes); otherwise it ends with its paragraph.
    """
    spans: list[QuoteSpan] = []
    paragraphs = [(m.start(), m.end()) for m in _PARAGRAPH.finditer(text)]
    open_at: int | None = None
    for number, (p_start, p_end) in enumerate(paragraphs):
        marks = [m.start() for m in _MARK.finditer(text, p_start, p_end)]
        continuing = open_at is not None
        for position, i in enumerate(marks):
            kind = _direction(text, i)
            if continuing and position == 0 and i - p_start < 3:
                continuing = False
                continue
            continuing = False
            if open_at is None:
                if kind != "close":
                    open_at = i
            elif kind != "open" or i == open_at + 1:
                spans.append(_span(text, open_at, i + 1))
                open_at = None
            else:
                open_at = i
        if open_at is not None:
            nxt = paragraphs[number + 1] if number + 1 < len(paragraphs) else None
            if nxt is None or text[nxt[0] : nxt[0] + 3].lstrip()[:1] not in MARKS:
                spans.append(_span(text, open_at, p_end))
                open_at = None
    return [s for s in spans if s.end > s.start]


def _span(text: str, outer_start: int, outer_end: int) -> QuoteSpan:
    start, end = _inner(text, outer_start, outer_end)
    return QuoteSpan(outer_start, outer_end, start, end)


def sentence_bounds(text: str, spans: Sequence[QuoteSpan]) -> list[tuple[int, int]]:
    """Sentence spans that never cut through a quotation."""
    starts = [s.outer_start for s in spans]
    cuts = [0]
    for match in _SENTENCE_END.finditer(text):
        cut = match.end()
        k = bisect.bisect_right(starts, cut - 1) - 1
        if k >= 0 and spans[k].outer_start < cut < spans[k].outer_end:
            continue
        if (
            k >= 0
            and spans[k].outer_end <= cut
            and not text[spans[k].outer_end : cut].strip()
            and "\n" not in text[spans[k].outer_end : cut]
            and _attribution_follows(text, cut)
        ):
            continue
        if match.group().strip() and match.group()[0] == ".":
            word = _WORD_BEFORE_STOP.search(text[max(0, match.start() - 12) : match.start() + 1])
            if word and (word.group(1).lower() in ABBREVIATIONS or _INITIALS.fullmatch(word.group(1))):
                continue
        cuts.append(cut)
    cuts.append(len(text))
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def _attribution_follows(text: str, position: int) -> bool:
    """Whether a short "Trump said." follows, which belongs to the quote before it.

    "He added, “…”" introduces the next quote instead, so a cue followed by a
    comma or colon and a quote mark does not join.
    """
    window = text[position : position + 80]
    words = _WINDOW_WORDS.findall(window)[:7]
    if words and words[0] in {"He", "She", "They", "We", "I", "It"} and not short_cue(words[1:]):
        return False  # "“….” He mocked Rubio": after a finished quote a capitalised pronoun opens a sentence
    for n, word in enumerate(words):
        if word.lower().rstrip(".") in CUES and n <= 5:
            if not word.endswith(".") and re.match(rf"(?:\S+\s+){{{n}}}{re.escape(word)}\s*[,:]?\s*[\"“]", window):
                return False
            if not word.endswith(".") and n + 1 < len(words) and not ends_attribution(word, words[n + 1]):
                # "He added that members are …", "He said American Jews …" report something new
                return False
            return n > 0 and all(w[0].isupper() or w.lower() in DETERMINERS for w in words[:n])
        if not word[0].isalpha():
            return False
    return False


def short_cue(words: Sequence[str]) -> bool:
    """ "said." or "said on Tuesday": a cue whose clause ends at once, as a trailing attribution does
    ("pledged to relocate", "replied to him that" go on into a clause of their own)."""
    if not words or words[0].lower().rstrip(".") not in CUES:
        return False
    return words[0].endswith(".") or len(words) == 1 or words[1].lower().rstrip(".") in SHORT_CUE_TAILS


def ends_attribution(cue: str, following: str) -> bool:
    """Whether the word after a cue still belongs to a short attribution rather than a new clause."""
    if not following[0].isalnum():
        return True
    if cue.lower() in OBJECT_CUES or cue.lower() in {"told", "tells", "tell", "asked", "asks"}:
        return following.lower() != "that"
    return following.lower().rstrip(".") in ATTRIBUTION_TAILS or (following.islower() and following.endswith("ly"))
