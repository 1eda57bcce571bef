"""Direct quotations and who said them.

Quote marks are paired per paragraph from their surroundings rather than their
glyphs, because scraped copy mixes straight and curly marks within one quote.
Attribution works on a sentence "frame" in which every quotation is one item,
so a reporting verb and its subject are found on either side of the quote
without being confused by words inside it. Speakers are resolved only from
what the article says (names, surnames, pronouns, configured descriptors);
anything else stays `None` rather than guessed.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from spacy.tokens import Doc

from pipeline.config import Config
from pipeline.enrich.entities import (
    GPE,
    NORP,
    ORG,
    PERSON,
    TITLES,
    Mention,
    NameIndex,
    SpeakerIndex,
    descriptor_variants,
    gender_of,
)
from pipeline.records import Quote

OPENERS = frozenset("“„«")
CLOSERS = frozenset("”»")
MARKS = frozenset('"“”„«»')


def _verb_forms(base: str) -> set[str]:
    """Regular inflections of a reporting verb; irregular ones are listed in full."""
    if base.endswith("e"):
        return {base, base + "s", base + "d", base[:-1] + "ing"}
    if base.endswith("y") and base[-2] not in "aeiou":
        return {base, base[:-1] + "ies", base[:-1] + "ied", base + "ing"}
    if re.fullmatch(r"[^aeiou]*[aeiou][bdgmnprt]", base):
        return {base, base + "s", base + base[-1] + "ed", base + base[-1] + "ing"}
    ending = "es" if base.endswith(("s", "sh", "ch", "x")) else "s"
    return {base, base + ending, base + "ed", base + "ing"}


_REGULAR_CUES = [
    "add",
    "stress",
    "warn",
    "note",
    "explain",
    "ask",
    "reply",
    "declare",
    "insist",
    "argue",
    "claim",
    "announce",
    "state",
    "tweet",
    "post",
    "recall",
    "acknowledge",
    "admit",
    "respond",
    "remark",
    "suggest",
    "predict",
    "vow",
    "promise",
    "urge",
    "complain",
    "concede",
    "counter",
    "charge",
    "joke",
    "quip",
    "observe",
    "reiterate",
    "emphasize",
    "emphasise",
    "caution",
    "contend",
    "maintain",
    "muse",
    "boast",
    "shout",
    "yell",
    "exclaim",
    "conclude",
    "affirm",
    "confirm",
    "deny",
    "testify",
    "wonder",
    "lament",
    "scoff",
    "brag",
    "blast",
    "slam",
    "call",
    "describe",
    "dub",
    "label",
    "report",
    "thunder",
    "pledge",
    "demand",
    "echo",
    "chant",
    "scream",
    "rant",
    "accuse",
    "question",
    "criticize",
    "criticise",
    "mock",
    "blame",
    "praise",
    "defend",
    "dismiss",
    "attack",
    "tout",
    "assert",
    "allege",
    "comment",
    "reveal",
    "disclose",
    "recount",
    "repeat",
    "quote",
    "cite",
    "answer",
    "confess",
    "grumble",
    "tease",
    "rail",
    "sneer",
    "fume",
    "vent",
    "gush",
    "rave",
    "thank",
    "apologize",
    "apologise",
    "plead",
    "beg",
    "brand",
    "term",
    "nickname",
    "characterize",
    "portray",
    "proclaim",
    "swear",
    "underscore",
    "highlight",
    "signal",
    "hint",
    "imply",
    "pronounce",
    "retort",
    "snap",
    "scold",
    "lecture",
    "chide",
    "mourn",
    "wail",
    "sigh",
    "murmur",
    "whisper",
    "text",
    "email",
    "retweet",
    "continue",
    "ponder",
    "elaborate",
    "remember",
]
_IRREGULAR_CUES = frozenset(
    [
        "said",
        "say",
        "says",
        "saying",
        "told",
        "tell",
        "tells",
        "telling",
        "wrote",
        "write",
        "writes",
        "writing",
        "hit",
        "hits",
        "hitting",
        "ripped",
        "rip",
        "rips",
        "ripping",
        "read",
        "reads",
        "according",
        "went",
    ]
)
# Verbs that report speech only with their particle: "recognized that …", "referred to it as …".
PARTICLE_CUES = (
    {form: "that" for base in ("recognize", "recognise", "worry") for form in _verb_forms(base)}
    | {form: "to" for form in _verb_forms("refer")}
    | {form: "out" for form in _verb_forms("point")}
    | {form: "about" for form in _verb_forms("talk")}
    | {form: "it" for form in ("put", "puts")}
    | {form: "back" for form in ("shot", "shoots", "fired", "fires")}
)
CUES = _IRREGULAR_CUES.union(*(_verb_forms(v) for v in _REGULAR_CUES), PARTICLE_CUES)
# Verbs that report speech only right after a quote ("…," she continued).
AFTER_ONLY = frozenset(_verb_forms("continue") | {"read", "reads"})
# Verbs whose object is the person talked about, not the speaker: ", called Trump a “blowhard”".
OBJECT_CUES = frozenset().union(
    *(
        _verb_forms(v)
        for v in [
            "call",
            "dub",
            "label",
            "brand",
            "term",
            "nickname",
            "describe",
            "characterize",
            "portray",
            "accuse",
            "blame",
            "praise",
            "thank",
            "criticize",
            "criticise",
            "mock",
            "attack",
            "blast",
            "slam",
            "defend",
            "dismiss",
            "tease",
            "scold",
            "chide",
            "lecture",
            "urge",
            "quote",
            "cite",
            "question",
        ]
    ),
    {"hit", "hits", "hitting", "ripped", "rip", "rips", "ripping", "told", "tell", "tells", "telling"},
)
# Participles that name a thing when a noun precedes them: "a group called “…”", "items labeled “…”".
NAMING = frozenset({"called", "dubbed", "labeled", "labelled", "titled", "entitled", "nicknamed", "branded", "termed"})
COORDINATORS = frozenset({"and", "but", "or", "then", "yet"})
SKIPPABLE = frozenset(
    [
        "is",
        "was",
        "were",
        "are",
        "been",
        "be",
        "also",
        "later",
        "then",
        "previously",
        "again",
        "once",
        "recently",
        "repeatedly",
        "reportedly",
        "further",
        "has",
        "had",
        "have",
        "would",
        "will",
        "may",
        "might",
        "could",
        "did",
        "does",
        "do",
        "not",
        "never",
        "just",
        "even",
        "has",
        "already",
        "simply",
        "quickly",
        "publicly",
        "privately",
        "bluntly",
        "flatly",
        "angrily",
        "often",
        "frequently",
        "earlier",
        "subsequently",
        "initially",
        "originally",
        "ultimately",
        "last",
        "first",
        "now",
        "still",
        "however",
        "instead",
        "actually",
        "immediately",
        "finally",
        "soon",
    ]
)
PRONOUNS = frozenset({"he", "she", "they", "it", "we", "i", "you"})
DETERMINERS = frozenset(
    [
        "the",
        "a",
        "an",
        "this",
        "that",
        "these",
        "those",
        "his",
        "her",
        "its",
        "their",
        "our",
        "my",
        "your",
        "some",
        "many",
        "several",
        "both",
        "all",
        "one",
        "two",
        "three",
        "four",
        "five",
        "few",
        "most",
        "other",
        "another",
        "each",
        "every",
        "no",
    ]
)
NP_BREAKS = frozenset(
    [
        "that",
        "which",
        "who",
        "whom",
        "whose",
        "and",
        "but",
        "or",
        "because",
        "when",
        "if",
        "as",
        "while",
        "after",
        "before",
        "since",
        "although",
        "though",
        "where",
        "so",
        "than",
        "not",
        "to",
        "is",
        "was",
        "are",
        "were",
        "be",
        "been",
        "has",
        "had",
        "have",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
        "must",
        "do",
        "did",
        "does",
        "said",
        "says",
    ]
)
PREPOSITIONS = frozenset({"for", "of", "at", "with", "from", "in", "on", "to", "near", "close"})
ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "sen",
        "rep",
        "gov",
        "gen",
        "lt",
        "col",
        "sgt",
        "st",
        "jr",
        "sr",
        "mt",
        "prof",
        "rev",
        "adm",
        "capt",
        "maj",
        "cmdr",
        "supt",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "no",
        "vs",
        "inc",
        "corp",
        "co",
        "ltd",
        "dept",
        "univ",
    ]
)


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
    paragraphs = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
    open_at: int | None = None
    for number, (p_start, p_end) in enumerate(paragraphs):
        marks = [i for i in range(p_start, p_end) if text[i] in MARKS]
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
    for match in re.finditer(r"[.!?…]+[\"”’')\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])|\n+", text):
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
            word = re.search(r"([\w.]+)\.$", text[max(0, match.start() - 12) : match.start() + 1])
            if word and (word.group(1).lower() in ABBREVIATIONS or re.fullmatch(r"(?:[A-Z]\.)*[A-Z]", word.group(1))):
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
    words = re.findall(r"[\w.’'-]+|[^\w\s]", window)[:7]
    if words and words[0] in {"He", "She", "They", "We", "I", "It"} and not _short_cue(words[1:]):
        return False  # "“….” He mocked Rubio": after a finished quote a capitalised pronoun opens a sentence
    for n, word in enumerate(words):
        if word.lower().rstrip(".") in CUES and n <= 5:
            if not word.endswith(".") and re.match(rf"(?:\S+\s+){{{n}}}{re.escape(word)}\s*[,:]?\s*[\"“]", window):
                return False
            if not word.endswith(".") and n + 1 < len(words) and not _ends_attribution(word, words[n + 1]):
                # "He added that members are …", "He said American Jews …" report something new
                return False
            return n > 0 and all(w[0].isupper() or w.lower() in DETERMINERS for w in words[:n])
        if not word[0].isalpha():
            return False
    return False


DAYS = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"})
# What may follow the verb of a trailing "He said." before the sentence ends: a time, a place, nothing.
SHORT_CUE_TAILS = frozenset(
    {",", ".", "on", "in", "at", "later", "earlier", "yesterday", "today", "tonight", "again", "then"} | DAYS
)
# What may follow the verb of a short attribution ("…." Trump said on Tuesday in a statement.)
ATTRIBUTION_TAILS = frozenset(
    {"in", "on", "at", "during", "after", "before", "via", "from", "to", "with", "by", "when", "while", "as", "of"}
    | {"later", "earlier", "recently", "afterward", "yesterday", "today", "tonight", "again", "also", "then", "too"}
    | {"last", "this", "late", "early"}
    | DAYS
)


def _short_cue(words: Sequence[str]) -> bool:
    """ "said." or "said on Tuesday": a cue whose clause ends at once, as a trailing attribution does
    ("pledged to relocate", "replied to him that" go on into a clause of their own)."""
    if not words or words[0].lower().rstrip(".") not in CUES:
        return False
    return words[0].endswith(".") or len(words) == 1 or words[1].lower().rstrip(".") in SHORT_CUE_TAILS


def _ends_attribution(cue: str, following: str) -> bool:
    """Whether the word after a cue still belongs to a short attribution rather than a new clause."""
    if not following[0].isalnum():
        return True
    if cue.lower() in OBJECT_CUES or cue.lower() in {"told", "tells", "tell", "asked", "asks"}:
        return following.lower() != "that"
    return following.lower().rstrip(".") in ATTRIBUTION_TAILS or (following.islower() and following.endswith("ly"))


@dataclass
class Candidate:
    """A speaker mention found next to a cue, before it is resolved to a name."""

    start: int
    end: int
    kind: str  # entity | pronoun | np
    mention: Mention | None = None


@dataclass
class Attribution:
    candidate: Candidate | None
    cue: str | None
    cue_start: int | None = None


Item = tuple[str, int]  # ("T", token index) or ("Q", quote index)


@dataclass
class _Context:
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


def _frame(ctx: _Context, start: int, end: int) -> list[Item]:
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


def _lower(ctx: _Context, item: Item) -> str:
    return ctx.doc[item[1]].lower_ if item[0] == "T" else ""


def _is_cue(ctx: _Context, items: Sequence[Item], k: int, before: bool = False, far: bool = False) -> bool:
    """A reporting verb, not a noun ("the report") nor part of a name.

    Right after a quote ("…," Trump states) a bare verb form is trusted; before
    a quote or further along the sentence ("her private email", "a battery
    charge") it is more often a noun, so it needs a subject or "that" beside it.
    """
    if items[k][0] != "T":
        return False
    word = _lower(ctx, items[k])
    if word not in CUES:
        return False
    token = ctx.doc[items[k][1]]
    if (k + 1 < len(items) and _lower(ctx, items[k + 1]) == "-" and not token.whitespace_) or (
        k > 0 and _lower(ctx, items[k - 1]) == "-" and not ctx.doc[items[k - 1][1]].whitespace_
    ):
        return False  # "counter-attack", "post-debate"; a spaced dash ("she said - and charged") is punctuation
    if before and word in AFTER_ONLY:
        # "He continued, “…”" still introduces the quote; "the war continued “…”" does not
        nxt = k + 1 < len(items) and (items[k + 1][0] == "Q" or _lower(ctx, items[k + 1]) in {",", ":"})
        prev = items[k - 1] if k > 0 else None
        if not (
            nxt
            and prev is not None
            and prev[0] == "T"
            and (_lower(ctx, prev) in {"he", "she"} or ctx.ent_token.get(prev[1]) is not None)
        ):
            return False
    if word == "according":
        return k + 1 < len(items) and _lower(ctx, items[k + 1]) == "to"
    if word == "went":
        return k + 1 < len(items) and _lower(ctx, items[k + 1]) == "on"
    if word in PARTICLE_CUES and not (k + 1 < len(items) and _lower(ctx, items[k + 1]) == PARTICLE_CUES[word]):
        return False
    if (before or far) and not (word in _IRREGULAR_CUES or word.endswith(("ed", "ing"))):
        # "attack", "calls", "comments" are more often nouns than verbs before a quote
        previous = items[k - 1] if k > 0 else None
        if previous is None or previous[0] != "T":
            return False
        owner = ctx.ent_token.get(previous[1])
        if owner is not None and owner.tok_start > 0 and ctx.doc[owner.tok_start - 1].lower_ in DETERMINERS:
            owner = None  # "a Twitter comment", "the Trump campaign"
        if not (
            (k + 1 < len(items) and _lower(ctx, items[k + 1]) == "that")
            or _lower(ctx, previous) in PRONOUNS
            or owner is not None
            or _lower(ctx, previous) == "to"
        ):
            return False
    if k > 0 and _lower(ctx, items[k - 1]) in DETERMINERS | {"’s", "'s"}:
        return False
    if word in NAMING and k + 1 < len(items) and items[k + 1][0] == "Q" and k > 0 and items[k - 1][0] == "T":
        # "a short film called “Perception”" names a thing; "Trump called “…”" needs a speaker before it
        noun = ctx.doc[items[k - 1][1]]
        if (
            noun.is_lower
            and noun.is_alpha
            and noun.lower_ not in PRONOUNS | SKIPPABLE
            and not _is_adverb(ctx, items[k - 1])
        ):
            return False
    return (
        (token.i not in ctx.ent_token and not token.is_title) or k == 0 or _lower(ctx, items[k - 1]) in {'"', "“", ","}
    )


def _token_candidate(ctx: _Context, first: int, last: int, kind: str, mention: Mention | None = None) -> Candidate:
    doc = ctx.doc
    return Candidate(doc[first].idx, doc[last].idx + len(doc[last].text), kind, mention)


def _skip_adverbs(ctx: _Context, items: Sequence[Item], j: int, lo: int) -> int:
    """Step back over auxiliaries and adverbs ("has also broadly")."""
    while j >= lo and (_lower(ctx, items[j]) in SKIPPABLE or _is_adverb(ctx, items[j])):
        j -= 1
    return j


def _time_phrase_before(ctx: _Context, items: Sequence[Item], j: int, lo: int) -> int:
    """Step back over "last week", "on Tuesday", "yesterday" between a speaker and the verb."""
    word = _lower(ctx, items[j])
    if word in {"yesterday", "today", "tonight", "earlier"}:
        return j - 1
    periods = {"week", "month", "year", "weekend", "night", "morning", "evening"}
    if j > lo and (word in DAYS or word in periods) and _lower(ctx, items[j - 1]) in {"last", "this", "on", "that"}:
        return j - 2
    return j


def _subject_before(ctx: _Context, items: Sequence[Item], k: int, lo: int) -> Candidate | None:
    """The mention that ends just before the cue at items[k], skipping adverbs, times and appositives."""
    j = _skip_adverbs(ctx, items, k - 1, lo)
    if j >= lo and items[j][0] == "T":
        j = _skip_adverbs(ctx, items, _time_phrase_before(ctx, items, j, lo), lo)
    j = _before_phrase(ctx, items, j, lo)
    for _ in range(3):
        if j < lo or items[j][0] == "Q" or _lower(ctx, items[j]) not in {",", ")", "—", "–", "--"}:
            break
        closer = _lower(ctx, items[j])
        opener = "(" if closer == ")" else closer
        p = j - 1
        while p >= lo and items[p][0] == "T" and _lower(ctx, items[p]) != opener and j - p < 24:
            p -= 1
        if p < lo or items[p][0] == "Q" or _lower(ctx, items[p]) != opener:
            if closer != ")":
                return None
            break
        named = _named_apposition(ctx, items, p, j)
        if named is not None:
            return named
        token = ctx.doc[items[p + 1][1]]
        first = token.lower_
        if opener != "(" and not (
            first in DETERMINERS
            or first in {"who", "whose", "which"}
            or token.is_lower
            or token.like_num
            or first in TITLES
            or j - p <= 3
            or _describes(ctx, items, p + 1, j)
        ):
            return None
        j = p - 1
    if j < lo or items[j][0] == "Q":
        return None
    return _mention_ending(ctx, items, j, lo)


def _named_apposition(ctx: _Context, items: Sequence[Item], p: int, j: int) -> Candidate | None:
    """ "Trump's attorney, Alan Garten, said": a person named in apposition after a description is the speaker.

    The name may carry its own description ("A former candidate -- John McCain, who lost in 2008 -- said").
    """
    if _lower(ctx, items[p]) not in {",", "—", "–", "--"} or j - p < 2:
        return None
    if any(items[k][0] != "T" for k in range(p + 1, j)):
        return None
    mention = ctx.ent_start.get(items[p + 1][1])
    if mention is None or mention.label != PERSON:
        return None
    last = p + 1 + (mention.tok_end - mention.tok_start) - 1
    if last >= j or (last + 1 < j and _lower(ctx, items[last + 1]) != ","):
        return None
    before = ctx.ent_end.get(items[p - 1][1]) if p > 0 and items[p - 1][0] == "T" else None
    if before is not None and before.label == PERSON:
        return None
    return _token_candidate(ctx, mention.tok_start, mention.tok_end - 1, "entity", mention)


def _before_phrase(ctx: _Context, items: Sequence[Item], j: int, lo: int) -> int:
    """ "Sanders in the past has criticized": step back over a short phrase between a speaker and the verb."""
    for p in range(j, max(lo, j - 4) - 1, -1):
        if items[p][0] != "T" or ctx.doc[items[p][1]].is_punct:
            return j
        if _lower(ctx, items[p]) in {"in", "on", "at", "during", "over"} and p > lo and items[p - 1][0] == "T":
            speaker = ctx.ent_end.get(items[p - 1][1])
            if _lower(ctx, items[p - 1]) in {"he", "she", "who"} or (speaker is not None and speaker.label == PERSON):
                return p - 1
            if _lower(ctx, items[p - 1]) in SKIPPABLE and p - 1 > lo and _lower(ctx, items[p - 2]) == "who":
                return p - 2  # "Beck, who has in the past described"
            return j
    return j


def _is_adverb(ctx: _Context, item: Item) -> bool:
    """ "also broadly called", "jokingly tells": a manner adverb sits between subject and verb."""
    if item[0] != "T":
        return False
    token = ctx.doc[item[1]]
    return token.is_lower and token.is_alpha and len(token.text) > 4 and token.lower_.endswith("ly")


def _describes(ctx: _Context, items: Sequence[Item], lo: int, hi: int) -> bool:
    """An appositive such as "Sanders' campaign manager": a possessive, then a common noun.

    A list of names ("Trump, Cruz and Kasich said") has no possessive, so it is
    not mistaken for a description of the name before it.
    """
    words = [_lower(ctx, items[k]) for k in range(lo, hi)]
    owner = next((n for n, w in enumerate(words) if w in {"’s", "'s", "’", "'"}), None)
    return owner is not None and any(ctx.doc[items[k][1]].is_lower for k in range(lo + owner + 1, hi))


def _mention_ending(ctx: _Context, items: Sequence[Item], j: int, lo: int) -> Candidate | None:
    doc = ctx.doc
    t = items[j][1]
    word = doc[t].lower_
    if word in PRONOUNS:
        return _token_candidate(ctx, t, t, "pronoun")
    mention = ctx.ent_end.get(t)
    if mention is not None and mention.label in {PERSON, ORG, GPE, NORP, "NAME"}:
        before = mention.tok_start - 1
        attached = before >= 0 and doc[before].lower_ in PREPOSITIONS | {"’s", "'s"}
        if not attached:
            return _token_candidate(ctx, mention.tok_start, t, "entity", mention)
        person = ctx.ent_end.get(before - 1) if doc[before].lower_ in {"of", "from"} else None
        if person is not None and person.label == PERSON:
            # "Sen. Marco Rubio of Florida"
            return _token_candidate(ctx, person.tok_start, person.tok_end - 1, "entity", person)
    # A noun phrase read backwards: stop at its determiner or at a clause boundary.
    first = j
    hops = 0
    while first >= lo and items[first][0] == "T" and j - first < 10:
        token = doc[items[first][1]]
        low = token.lower_
        if low in DETERMINERS:
            break
        if low in PREPOSITIONS and first < j:
            hops += 1
            if hops > 2:
                first += 1
                break
        elif (
            low in NP_BREAKS
            or low in CUES
            or (token.is_punct and low not in {"’s", "'s", "-", "'", "’"})
            or token.like_num
        ):
            first += 1
            break
        first -= 1
    first = max(first, lo)
    while first <= j and _lower(ctx, items[first]) in PREPOSITIONS:
        first += 1
    if first > j or items[first][0] == "Q" or doc[items[j][1]].is_stop or doc[items[j][1]].is_punct:
        return None
    return _token_candidate(ctx, items[first][1], t, "np")


def _mention_after(ctx: _Context, items: Sequence[Item], k: int, hi: int) -> Candidate | None:
    """The mention that follows a cue ("said Trump", "according to the statement")."""
    doc = ctx.doc
    j = k
    if j < hi and _lower(ctx, items[j]) == "to":
        j += 1
    stop = j
    while stop < hi and items[stop][0] == "T" and stop - j < 12:
        low = _lower(ctx, items[stop])
        if low in {
            ",",
            ".",
            ";",
            ":",
            "(",
            "—",
            "–",
            "who",
            "which",
            "in",
            "on",
            "at",
            "during",
            "after",
            "before",
            "when",
        }:
            break
        stop += 1
    if stop <= j:
        return None
    window = [items[n][1] for n in range(j, stop)]
    people = [ctx.ent_token[t] for t in window if t in ctx.ent_token and ctx.ent_token[t].label == PERSON]
    if people:
        m = people[-1]
        return _token_candidate(ctx, m.tok_start, m.tok_end - 1, "entity", m)
    first = doc[window[0]]
    if first.lower_ in PRONOUNS:
        return _token_candidate(ctx, window[0], window[0], "pronoun")
    if window[0] in ctx.ent_start:
        m = ctx.ent_start[window[0]]
        return _token_candidate(ctx, m.tok_start, m.tok_end - 1, "entity", m)
    if first.lower_ in DETERMINERS or first.is_alpha:
        return _token_candidate(ctx, window[0], window[-1], "np")
    return None


def _sentence_subject(ctx: _Context, items: Sequence[Item], limit: int) -> Candidate | None:
    """The clause's subject when the cue has none of its own ("…, saying", "but said").

    An opening adverbial ("At a rally in Birmingham, Alabama, on Saturday,")
    is skipped whatever names it holds, and a person named inside a long
    subject ("76-year-old Morton Blackwell, founder of …") is preferred to the
    phrase around it.
    """
    start = _after_opening(ctx, items, limit) or _after_dateline(ctx, items, limit)
    if not start:
        for k in range(min(limit, 10)):
            if _lower(ctx, items[k]) == "," and not any(
                items[m][0] == "T" and (items[m][1] in ctx.ent_token or _lower(ctx, items[m]) in PRONOUNS)
                for m in range(k)
            ):
                start = k + 1
                break
    while start < limit and (_lower(ctx, items[start]) in COORDINATORS or _lower(ctx, items[start]) in SKIPPABLE):
        start += 1
    if start >= limit or items[start][0] != "T":
        return None
    t = items[start][1]
    if ctx.doc[t].lower_ in PRONOUNS:
        return _token_candidate(ctx, t, t, "pronoun")
    mention = ctx.ent_token.get(t)
    if mention is not None and mention.tok_start == t:
        return _token_candidate(ctx, t, mention.tok_end - 1, "entity", mention)
    for k in range(start, min(limit, start + 8)):
        if items[k][0] != "T":
            break
        inner = ctx.ent_token.get(items[k][1])
        if inner is not None and inner.label == PERSON:
            return _token_candidate(ctx, inner.tok_start, inner.tok_end - 1, "entity", inner)
        low = _lower(ctx, items[k])
        if (
            low in NP_BREAKS
            or low in CUES
            or (low in PREPOSITIONS and k > start)
            or (ctx.doc[items[k][1]].is_punct and low != "-")
        ):
            break
    end = start
    while end + 1 < limit and items[end + 1][0] == "T" and end - start < 7:
        token = ctx.doc[items[end + 1][1]]
        low = token.lower_
        if (
            low in NP_BREAKS
            or low in CUES
            or low in SKIPPABLE
            or token.is_punct
            or (token.is_lower and low.endswith("ed"))
        ):
            break
        end += 1
    if ctx.doc[t].lower_ not in DETERMINERS and not ctx.doc[t].is_title:
        return None
    return _token_candidate(ctx, t, items[end][1], "np")


OPENING_WORDS = frozenset(
    [
        "in",
        "at",
        "on",
        "during",
        "after",
        "before",
        "while",
        "when",
        "since",
        "following",
        "speaking",
        "addressing",
        "asked",
        "amid",
        "amidst",
        "despite",
        "shortly",
        "hours",
        "minutes",
        "moments",
        "days",
        "later",
        "earlier",
        "like",
        "unlike",
        "with",
        "without",
        "under",
        "through",
        "throughout",
        "within",
        "upon",
        "until",
        "once",
    ]
)


def _after_dateline(ctx: _Context, items: Sequence[Item], limit: int) -> int:
    """Where the story starts after "WASHINGTON, Dec. 8 (UPI) —", or 0: a dateline has no lowercase word."""
    for k in range(min(limit, 12)):
        word = _lower(ctx, items[k])
        if word in {"—", "–", "--"}:
            return k + 1 if k > 0 else 0
        if items[k][0] != "T" or (ctx.doc[items[k][1]].is_lower and ctx.doc[items[k][1]].is_alpha):
            return 0
    return 0


def _opens_adverbial(ctx: _Context, item: Item) -> bool:
    """ "In …,", "Hours later,", "Weighing in on the debate,": words that start a phrase before the subject."""
    word = _lower(ctx, item)
    return word in OPENING_WORDS or (word.endswith("ing") and len(word) > 5 and ctx.doc[item[1]].is_title)


def _after_opening(ctx: _Context, items: Sequence[Item], limit: int) -> int:
    """Where the clause starts after an opening adverbial phrase, or 0 when there is none."""
    if not items or not _opens_adverbial(ctx, items[0]):
        return 0
    commas = [k for k in range(min(limit, 30)) if _lower(ctx, items[k]) == ","]
    if not commas:
        return 0
    start = commas[0] + 1
    for comma in commas[1:]:
        # "…in Birmingham, Alabama, on Saturday," continues the same phrase
        segment = range(start, comma)
        # "On Thursday, after remaining neutral throughout the primary, Warren …" opens a second phrase
        continues = (items[start][0] == "T" and _lower(ctx, items[start]) in {"after", "before", "while", "when"}) or (
            comma - start <= 3
            and (
                _lower(ctx, items[start]) in OPENING_WORDS | PREPOSITIONS
                or all(items[k][0] == "T" and ctx.ent_token.get(items[k][1]) is not None for k in segment)
            )
        )
        named = [ctx.ent_token.get(items[k][1]) for k in segment if items[k][0] == "T"]
        if not continues or any(m is not None and m.label == PERSON for m in named):
            break
        start = comma + 1
    return start


def _with_subject(ctx: _Context, items: Sequence[Item], limit: int) -> Candidate | None:
    """ "…, with Gorka noting …": the participle's own subject, named right before it."""
    if not _lower(ctx, items[limit]).endswith("ing"):
        return None
    for k in range(limit - 1, max(0, limit - 10), -1):
        word = _lower(ctx, items[k])
        if word == "with" and k + 1 < limit:
            named = ctx.ent_end.get(items[limit - 1][1])
            if named is not None and named.label in {PERSON, "NAME"}:
                return _token_candidate(ctx, named.tok_start, named.tok_end - 1, "entity", named)
            return _mention_ending(ctx, items, limit - 1, k + 1)
        if items[k][0] != "T" or ctx.doc[items[k][1]].is_punct or word in NP_BREAKS or word in CUES:
            return None
    return None


def _clause_subject(ctx: _Context, items: Sequence[Item], limit: int) -> Candidate | None:
    """ "…, X, who ruled it out, calling it …", "was issued by X" and "with X saying": the nearer, explicit subject."""
    subject = _with_subject(ctx, items, limit)
    if subject is not None:
        return subject
    for k in range(limit - 1, 0, -1):
        word = _lower(ctx, items[k])
        if word == "who":
            j = k - 1
            if _lower(ctx, items[j]) == "," and j > 0:
                j -= 1
            return _mention_ending(ctx, items, j, 0) if items[j][0] == "T" else None
        if word == "by" and items[k + 1][0] == "T":
            mention = ctx.ent_token.get(items[k + 1][1])
            if mention is not None and mention.label == PERSON:
                return _token_candidate(ctx, mention.tok_start, mention.tok_end - 1, "entity", mention)
    return None


def _cue_attribution(ctx: _Context, items: Sequence[Item], c: int, cand: Candidate | None) -> Attribution | None:
    token = ctx.doc[items[c][1]]
    cue = "according to" if token.lower_ == "according" else token.text
    return Attribution(cand, cue, token.idx) if cand else None


def _attribute_in_sentence(
    ctx: _Context, items: Sequence[Item], q: int, done: dict[int, Attribution]
) -> Attribution | None:
    """Cue and speaker for the quote at items[q], looking after it, then before, then further after."""
    n = len(items)
    byline = _byline(ctx, items, q)
    if byline is not None:
        return byline
    a = q + 1
    if a < n and _lower(ctx, items[a]) in {",", "—", "–", "-"}:
        a += 1
    span = ctx.spans[items[q][1]]
    closed = bool(re.search(r"[,!?]\W*$", ctx.text[span.end - 1 : span.outer_end]))
    # "…," said X  /  "…," X said
    # with no comma after the quote, "the “disheartened” state of …" is a noun, not "…," states Ryan
    if a < n and _is_cue(ctx, items, a, far=a == q + 1 and not closed):
        if _lower(ctx, items[a]).endswith("ing"):
            # "… of “New York values,” saying …": a participle takes the subject of the clause before;
            # whoever follows it ("telling Fox 35") is the one addressed
            subject = (_clause_subject(ctx, items, q) or _sentence_subject(ctx, items, q)) if q > 0 else None
            if subject is not None:
                return _cue_attribution(ctx, items, a, subject)
        else:
            offset = 2 if _lower(ctx, items[a]) == "according" else 1
            found = _cue_attribution(ctx, items, a, _mention_after(ctx, items, a + offset, n))
            if found:
                return found
    for c in range(a, min(n, a + 14)):
        if items[c][0] == "Q" or _lower(ctx, items[c]) in {".", ";", "?", "!"}:
            break
        if _lower(ctx, items[c]) in {"and", "but"} and any(_is_cue(ctx, items, k, before=True) for k in range(q)):
            break  # "He voiced a wish for “…,” and he pronounced …": a new clause; the cue before has the quote
        if _is_cue(ctx, items, c, far=c > a):
            found = _cue_attribution(ctx, items, c, _subject_before(ctx, items, c, a))
            if found:
                return found
            break
    # "…," Trump conceded / "…," the nominee riffed (a verb the lexicon does not know)
    if a + 1 < n and items[a][0] == "T":
        first = ctx.doc[items[a][1]]
        mention = ctx.ent_token.get(items[a][1])
        k = a
        cand: Candidate | None = None
        if mention is not None and mention.label == PERSON and mention.tok_start == first.i:
            while k + 1 < n and items[k + 1][0] == "T" and items[k + 1][1] < mention.tok_end:
                k += 1
            cand = _token_candidate(ctx, mention.tok_start, mention.tok_end - 1, "entity", mention)
        elif first.lower_ in {"he", "she"}:
            cand = _token_candidate(ctx, first.i, first.i, "pronoun")
        elif first.lower_ in {"the", "a", "an"}:
            while k + 1 < n and k - a < 6 and items[k + 1][0] == "T":
                nxt = ctx.doc[items[k + 1][1]]
                if nxt.is_punct or nxt.lower_ in NP_BREAKS or (nxt.is_lower and nxt.lower_.endswith("ed") and k > a):
                    break
                k += 1
            cand = _token_candidate(ctx, first.i, items[k][1], "np")
        if cand is not None and k + 1 < n and items[k + 1][0] == "T":
            verb = ctx.doc[items[k + 1][1]]
            if (
                verb.is_lower
                and verb.is_alpha
                and verb.lower_.endswith(("ed", "s"))
                and verb.lower_ not in {"was", "is", "has", "does", "as", "his", "this", "its"}
            ):
                return Attribution(cand, verb.text, verb.idx)
    # X said … "…"
    for c in range(q - 1, -1, -1):
        if _is_cue(ctx, items, c, before=True):
            found = _from_cue_before(ctx, items, c, done)
            if found:
                return found
            if c == 0 or _lower(ctx, items[c - 1]) != "to":
                break
            # "Rubio said that by refusing to say the words …, Democrats are “…”": an infinitive's cue found
            # no speaker of its own, so the cue before it may have one
    # Trump …: "…"
    if q > 0 and _lower(ctx, items[q - 1]) == ":":
        # "… doesn't surprise pollster Daron Shaw: “…”": a name right before the colon introduces the quote
        named = ctx.ent_end.get(items[q - 2][1]) if q > 1 and items[q - 2][0] == "T" else None
        if named is not None and named.label in {PERSON, ORG, "NAME"}:
            subject = _token_candidate(ctx, named.tok_start, named.tok_end - 1, "entity", named)
        else:
            subject = _sentence_subject(ctx, items, q - 1)
        if subject is not None:
            return Attribution(subject, ":", ctx.doc[items[q - 1][1]].idx)
    # "…" … X said (the cue further along the sentence)
    for c in range(a, n):
        if _is_cue(ctx, items, c):
            if _lower(ctx, items[c]) == "according":
                found = _cue_attribution(ctx, items, c, _mention_after(ctx, items, c + 2, n))
            else:
                found = _cue_attribution(ctx, items, c, _subject_before(ctx, items, c, a))
                if found is None and _inverted(ctx, items, c):
                    # "“…” that Sanders can catch Clinton, said Steve Elmendorf"
                    found = _cue_attribution(ctx, items, c, _mention_after(ctx, items, c + 1, n))
            if found:
                return found
    return None


BYLINE_DASHES = frozenset({"―", "—", "–", "--", "-"})


def _byline(ctx: _Context, items: Sequence[Item], q: int) -> Attribution | None:
    """ "“…” ― Sonya Herridge": a dash, then a name that ends the line, signs the quote (vox pops, epigraphs, tweets).

    The name may carry a handle, an age or a place after a comma or bracket,
    but nothing that reads as a sentence going on.
    """
    d = q + 1
    if d + 1 >= len(items) or _lower(ctx, items[d]) not in BYLINE_DASHES or items[d + 1][0] != "T":
        return None
    dash = ctx.doc[items[d][1]]
    return _signed_by(ctx, ctx.ent_start.get(items[d + 1][1]), dash.text, dash.idx)


def _signed_by(ctx: _Context, mention: Mention | None, dash: str, dash_at: int) -> Attribution | None:
    """The attribution of a quote signed by `mention` after a dash, if the name really is a signature."""
    if mention is None or mention.label not in {PERSON, ORG, "NAME"} or not _signs_line(ctx, mention):
        return None
    signer = _token_candidate(ctx, mention.tok_start, mention.tok_end - 1, "entity", mention)
    return Attribution(signer, dash, dash_at)


def _signs_line(ctx: _Context, mention: Mention) -> bool:
    """Whether the name ends its line, but for a handle, an age, a place or a few words about the person
    (", 34, Texas", ", tweeting after the speech") — not a sentence going on (", however, disagreed")."""
    line_end = ctx.text.find("\n", mention.end)
    rest = ctx.text[mention.end : len(ctx.text) if line_end < 0 else line_end].strip()
    if not rest or rest in {".", ":"} or rest[0] in "(@":
        return True
    words = re.findall(r"[\w’'-]+", rest)
    return (
        rest[0] == ","
        and len(words) <= 10
        and not any(
            (word.lower() in CUES and not word.endswith("ing")) or (word.islower() and word.endswith("ed"))
            for word in words
        )
    )


_DASH_BELOW = re.compile(r"\s*([-―—–]+)\s*")


def _byline_below(ctx: _Context, span: QuoteSpan) -> Attribution | None:
    """ "“…”" ending its paragraph, then "- Bernie Sanders." on the next line: the signature of a pulled quote."""
    line_end = ctx.text.find("\n", span.outer_end)
    if line_end < 0 or len(ctx.text[span.outer_end : line_end].strip()) > 2:
        return None
    below = _DASH_BELOW.match(ctx.text, line_end)
    if below is None:
        return None
    mention = ctx.ent_start.get(bisect.bisect_left(ctx.token_starts, below.end()))
    if mention is not None and mention.start != below.end():
        return None
    return _signed_by(ctx, mention, below.group(1), below.start(1))


def _inverted(ctx: _Context, items: Sequence[Item], c: int) -> bool:
    """ ", said Steve Elmendorf": a comma, a speech verb, then a person named after it."""
    if c == 0 or c + 1 >= len(items) or _lower(ctx, items[c - 1]) != "," or items[c + 1][0] != "T":
        return False
    if _lower(ctx, items[c]) in OBJECT_CUES or _lower(ctx, items[c]).endswith("ing"):
        return False
    return _closing_speaker(ctx, items, c + 1)


def _closing_speaker(ctx: _Context, items: Sequence[Item], k: int) -> bool:
    """A person named at items[k] who closes the clause (", said Steve Elmendorf." or "…, a pollster"),
    not the subject of a new one (", said Fiorina was personally involved")."""
    following = ctx.ent_start.get(items[k][1]) if k < len(items) and items[k][0] == "T" else None
    if following is None or following.label != PERSON:
        return False
    after = k
    while after < len(items) and items[after][0] == "T" and items[after][1] < following.tok_end:
        after += 1
    return after >= len(items) or items[after][0] == "Q" or ctx.doc[items[after][1]].is_punct


def _from_cue_before(ctx: _Context, items: Sequence[Item], c: int, done: dict[int, Attribution]) -> Attribution | None:
    word = _lower(ctx, items[c])
    if word == "according":
        return _cue_attribution(ctx, items, c, _mention_after(ctx, items, c + 2, len(items)))
    prev = _lower(ctx, items[c - 1]) if c > 0 else ""
    before = c - 1
    while before > 0 and (_lower(ctx, items[before]) in SKIPPABLE or _is_adverb(ctx, items[before])):
        before -= 1
    if before >= 0 and _lower(ctx, items[before]) in COORDINATORS:
        prev = _lower(ctx, items[before])  # "but now said", "and also warned": the adverb hides the coordinator
    prev_is_quote = c > 0 and (items[c - 1][0] == "Q" or (prev == "," and c > 1 and items[c - 2][0] == "Q"))
    participle = word.endswith("ing") and prev not in {"is", "was", "were", "are", "been", "be"}
    opening = all(_lower(ctx, items[k]) in COORDINATORS | {","} for k in range(c))
    if prev == "," and not participle and word not in OBJECT_CUES and _closing_speaker(ctx, items, c + 1):
        return _cue_attribution(ctx, items, c, _mention_after(ctx, items, c + 1, len(items)))
    if (prev_is_quote or opening) and not participle:
        # "…," said Trump, "…"  /  Continued Stone: "…"
        found = _cue_attribution(ctx, items, c, _mention_after(ctx, items, c + 1, len(items)))
        if found:
            return found
    if participle and (subject := _with_subject(ctx, items, c)) is not None:
        return _cue_attribution(ctx, items, c, subject)
    if participle or prev in COORDINATORS or prev_is_quote:
        for earlier in range(c - 1, -1, -1):
            if items[earlier][0] == "Q" and items[earlier][1] in done:
                return _cue_attribution(ctx, items, c, done[items[earlier][1]].candidate)
            if _is_cue(ctx, items, earlier, before=True):
                found = _from_cue_before(ctx, items, earlier, done)
                if found:
                    return _cue_attribution(ctx, items, c, found.candidate)
        return _cue_attribution(ctx, items, c, _clause_subject(ctx, items, c) or _sentence_subject(ctx, items, c))
    k = c
    if prev == "to":
        # "went on to say", "wants to tell": the subject is the governing verb's
        k = c - 1
        while (
            k > 0
            and c - k < 4
            and items[k - 1][0] == "T"
            and ctx.doc[items[k - 1][1]].is_lower
            and ctx.doc[items[k - 1][1]].is_alpha
            and ctx.doc[items[k - 1][1]].lower_ not in PRONOUNS | COORDINATORS
        ):
            k -= 1
        if k > 0 and _lower(ctx, items[k - 1]) in COORDINATORS:
            # "Trump joked that …, but went on to say": the subject of the clause before the "but"
            subject = _clause_subject(ctx, items, k - 1) or _sentence_subject(ctx, items, k - 1)
            return _cue_attribution(ctx, items, c, subject)
    elif c > 0 and _lower(ctx, items[who := _before_phrase(ctx, items, c - 1, 0)]) == "who":
        j = who - 1
        if j >= 0 and _lower(ctx, items[j]) == ",":
            j -= 1
        valid = j >= 0 and items[j][0] == "T"
        return _cue_attribution(ctx, items, c, _mention_ending(ctx, items, j, 0) if valid else None)
    return _cue_attribution(ctx, items, c, _subject_before(ctx, items, k, 0))


# How close (in characters) the last quoted speaker must be for a bare "he added" to mean them.
RECENT_SPEAKER = 300


@dataclass
class _Resolver:
    """Turns mentions into canonical speakers, remembering who spoke last."""

    ctx: _Context
    history: list[tuple[int, str]] = field(default_factory=list)

    def resolve(self, cand: Candidate) -> str | None:
        if cand.kind == "entity" and cand.mention is not None:
            m = cand.mention
            if m.label in {PERSON, "NAME"} and not m.full:
                holder = self.names.holder(m.text.split()[-1].strip("’'s") or m.text, m.start)
                return holder or (m.canonical if m.label == PERSON or not self._sentence_initial(m.start) else None)
            return m.canonical
        if cand.kind == "pronoun":
            word = self.ctx.text[cand.start : cand.end].lower()
            return self._pronoun(word, cand.start) if word in {"he", "she"} else None
        return self._noun_phrase(self.ctx.text[cand.start : cand.end], cand.start)

    def __post_init__(self) -> None:
        self.names = NameIndex(self.ctx.found)
        self.persons: list[tuple[int, str]] = []
        self.genders: dict[str, str | None] = {}
        votes: dict[str, list[str]] = {}
        text = self.ctx.text
        previous_end = -1
        for m in self.ctx.found:
            if m.label != PERSON:
                continue
            canonical = self._canonical(m)
            gap = text[previous_end : m.start] if previous_end >= 0 else "."
            if any(mark in gap for mark in (". ", "\n", ", ", "? ", "! ")) or previous_end < 0:
                self.persons.append((m.start, canonical))
            previous_end = m.end
            if m.full:
                following = re.search(
                    r"\b(?:(he|his|him|himself)|(she|her|hers|herself))\b|[.!?]\s", text[m.end : m.end + 120]
                )
                if following and following.group(1):
                    votes.setdefault(canonical, []).append("he")
                elif following and following.group(2):
                    votes.setdefault(canonical, []).append("she")
        for m in self.ctx.found:
            if m.label == PERSON and m.canonical not in self.genders:
                known = gender_of(m.canonical, m.title, self.ctx.speakers)
                if known is None and m.canonical in votes:
                    said = votes[m.canonical]
                    known = max(("he", "she"), key=said.count) if said.count("he") != said.count("she") else None
                self.genders[m.canonical] = known
        self.person_starts = [p for p, _ in self.persons]

    def _sentence_initial(self, position: int) -> bool:
        """A lone capitalised word opening a sentence ("Speaking", "Hours") is no evidence of a name."""
        before = self.ctx.text[max(0, position - 40) : position].rstrip(" \"“‘'(")
        return not before or before[-1] in ".!?\n:"

    def _gender(self, canonical: str) -> str | None:
        if canonical not in self.genders:
            self.genders[canonical] = gender_of(canonical, None, self.ctx.speakers)
        return self.genders[canonical]

    def _pronoun(self, word: str, position: int) -> str | None:
        """The most recent speaker or sentence-initial person of the pronoun's gender.

        A person whose gender neither the config, a title, a given name nor the
        article's own pronouns reveal is taken only when nobody within reach is
        known to match.
        """
        window = position - 3000
        first = bisect.bisect_left(self.person_starts, window)
        last = bisect.bisect_left(self.person_starts, position)
        low = bisect.bisect_left(self.history, (window, ""))
        high = bisect.bisect_left(self.history, (position, ""))
        candidates = self.history[low:high] + self.persons[first:last]
        candidates.sort(reverse=True)
        if (
            high > low
            and candidates[0] == self.history[high - 1]
            and position - candidates[0][0] < RECENT_SPEAKER
            and self._gender(candidates[0][1]) in {None, word}
        ):
            # the speaker just quoted is who "he added" means, even when nothing says they are a "he"
            return candidates[0][1]
        unknown: str | None = None
        for _, canonical in candidates:
            gender = self._gender(canonical)
            if gender == word:
                return canonical
            if gender is None and unknown is None:
                unknown = canonical
        return unknown

    def _canonical(self, m: Mention) -> str:
        if not m.full:
            return self.names.holder(m.text, m.start) or m.canonical
        return m.canonical

    def _noun_phrase(self, phrase: str, position: int) -> str | None:
        low = phrase.lower().replace("’", "'")
        for speaker in self.ctx.speakers.speakers:
            for descriptor in speaker.descriptors:
                variants = {v.lower().replace("’", "'") for v in descriptor_variants(descriptor)}
                head = descriptor.replace("’", "'").split()[-1].lower()
                if low in variants or (low.split()[-1:] == [head] and re.search(r"'s\b|^(?:his|her|their)\b", low)):
                    return speaker.name
        words = low.split()
        titles = {w for w in words if w in TITLES}
        if words and words[0] == "the" and titles:
            for m in reversed([m for m in self.ctx.found if m.start < position and m.label == PERSON and m.title]):
                if titles & set((m.title or "").split()):
                    return m.canonical
        return None


def _previous_attribution(
    ctx: _Context, spans: Sequence[QuoteSpan], qi: int, done: dict[int, Attribution]
) -> Attribution | None:
    """A quote with no cue continues the previous quote when nothing but its paragraph break separates them."""
    if qi == 0 or qi - 1 not in done:
        return None
    prev = spans[qi - 1]
    gap = ctx.text[prev.outer_end : spans[qi].outer_start]
    if gap.count("\n") > 2 or len(gap) > 250:
        return None
    line_start = ctx.text.rfind("\n", 0, spans[qi].outer_start) + 1
    sentence_opening = re.search(r"[.!?…][\"”’')]*\s+$", ctx.text[line_start : spans[qi].outer_start])
    if ctx.text[line_start : spans[qi].outer_start].strip() and not sentence_opening:
        return None
    return done[qi - 1]


def _earlier_attribution(
    ctx: _Context, spans: Sequence[QuoteSpan], qi: int, done: dict[int, Attribution]
) -> Attribution | None:
    """A paragraph that is nothing but a quote goes on with the last speaker quoted a paragraph or two before.

    Unattributed quotes in between (a phrase in the reporter's own sentence)
    do not break the chain: the speaker was introduced earlier and is still
    the one talking.
    """
    span = spans[qi]
    line_start = ctx.text.rfind("\n", 0, span.outer_start) + 1
    line_end = ctx.text.find("\n", span.outer_end)
    line_end = len(ctx.text) if line_end < 0 else line_end
    if ctx.text[line_start : span.outer_start].strip() or len(ctx.text[span.outer_end : line_end].strip()) > 2:
        return None
    reach = line_start
    for _ in range(2):
        end = reach - 1
        while end > 0 and ctx.text[end - 1].isspace():
            end -= 1
        reach = ctx.text.rfind("\n", 0, max(end, 0)) + 1
    for earlier in range(qi - 1, -1, -1):
        if spans[earlier].outer_end < reach or span.outer_start - spans[earlier].outer_end > 700:
            return None
        if earlier in done:
            return done[earlier]
    return None


def _subject_attribution(ctx: _Context, items: Sequence[Item], q: int) -> Attribution | None:
    """ "Bolton thought the “Neocons For Hillary” buzz was …": with no reporting verb at all, the quoted words
    are still the person's own when that person is the sentence's subject."""
    if _lower(ctx, items[q - 1]) in NAMING:
        return None  # "a class called “Perception”" names a thing
    subject = _sentence_subject(ctx, items, q)
    if subject is None or subject.kind == "np":
        return None
    if subject.kind == "entity" and (subject.mention is None or subject.mention.label != PERSON):
        return None
    after = bisect.bisect_left(ctx.token_starts, subject.end)
    if after < len(ctx.doc) and ctx.doc[after].lower_ in {"and", "&"}:
        return None  # "Trump and Kim … signed a statement agreeing to “…”": nobody's own words
    return Attribution(subject, None)


def _previous_sentence_attribution(
    ctx: _Context, sentences: Sequence[tuple[int, int]], s_index: int, quote_start: int, done: dict[int, Attribution]
) -> Attribution | None:
    """ "…, he said. Good information can drive out bad only when "…"": the speaker carries over.

    Only the sentence just before, in the same paragraph or ending the previous
    one when the quote opens its own paragraph, is trusted.
    """
    if s_index == 0:
        return None
    start, end = sentences[s_index - 1]
    tail = ctx.text[start + len(ctx.text[start:end].rstrip()) : quote_start]
    if "\n" in tail and ctx.text[sentences[s_index][0] : quote_start].strip():
        return None
    items = _frame(ctx, start, end)
    for c in range(len(items) - 1, -1, -1):
        if items[c][0] == "Q":
            return None
        if _is_cue(ctx, items, c, before=True):
            found = _from_cue_before(ctx, items, c, done)
            if found is None and c + 1 < len(items):
                found = _cue_attribution(ctx, items, c, _mention_after(ctx, items, c + 1, len(items)))
            return found
    return None


def _colon_attribution(
    ctx: _Context, sentences: Sequence[tuple[int, int]], s_index: int, quote_start: int, done: dict[int, Attribution]
) -> Attribution | None:
    """ "Trump said:" ending the previous paragraph introduces the quote that follows."""
    if s_index == 0:
        return None
    start, end = sentences[s_index - 1]
    if not ctx.text[start:end].rstrip().endswith(":"):
        return None
    items = _frame(ctx, start, end)
    for c in range(len(items) - 1, -1, -1):
        if items[c][0] == "T" and _is_cue(ctx, items, c):
            return _from_cue_before(ctx, items, c, done)
    # "The campaign released the following statement:" — no reporting verb, but the colon still hands over
    if ctx.text[sentences[s_index][0] : quote_start].strip() or any(item[0] == "Q" for item in items):
        return None
    subject = _sentence_subject(ctx, items, len(items) - 1)
    if subject is None or subject.kind == "np":
        return None
    return Attribution(subject, ":", ctx.doc[items[-1][1]].idx)


def attribute(
    doc: Doc, text: str, found: list[Mention], config: Config, spans: Sequence[QuoteSpan] | None = None
) -> list[Quote]:
    spans = list(spans) if spans is not None else find_quote_spans(text)
    ctx = _Context(doc, text, spans, found, SpeakerIndex(tuple(config.speakers)))
    resolver = _Resolver(ctx)
    sentences = sentence_bounds(text, spans)
    sentence_starts = [s for s, _ in sentences]
    done: dict[int, Attribution] = {}
    resolved: dict[int, str | None] = {}
    # Quotes that share one attribution share its resolution too (a pronoun
    # resolved twice could pick up a speaker recorded in between).
    by_candidate: dict[int, str | None] = {}
    for qi, span in enumerate(spans):
        s_index = max(0, bisect.bisect_right(sentence_starts, span.outer_start) - 1)
        s_start = sentences[s_index][0]
        s_end = sentences[max(0, bisect.bisect_left(sentence_starts, span.outer_end) - 1)][1]
        items = _frame(ctx, s_start, max(s_end, span.outer_end))
        q = next((k for k, item in enumerate(items) if item == ("Q", qi)), None)
        attribution = _attribute_in_sentence(ctx, items, q, done) if q is not None else None
        if attribution is None:
            attribution = (
                _byline_below(ctx, span)
                or _colon_attribution(ctx, sentences, s_index, span.outer_start, done)
                or _previous_attribution(ctx, spans, qi, done)
                or _earlier_attribution(ctx, spans, qi, done)
                or _previous_sentence_attribution(ctx, sentences, s_index, span.outer_start, done)
                or (_subject_attribution(ctx, items, q) if q is not None and q > 1 else None)
            )
        if attribution is None or attribution.candidate is None:
            continue
        done[qi] = attribution
        key = id(attribution.candidate)
        speaker = by_candidate[key] if key in by_candidate else resolver.resolve(attribution.candidate)
        by_candidate[key] = speaker
        resolved[qi] = speaker
        if speaker:
            bisect.insort(resolver.history, (attribution.candidate.start, speaker))
    quotes: list[Quote] = []
    for qi, span in enumerate(spans):
        attribution = done.get(qi)
        if attribution is None or attribution.candidate is None:
            if _looks_like_scare_quote(text, span):
                continue
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
            )
        )
    return quotes


def _looks_like_scare_quote(text: str, span: QuoteSpan) -> bool:
    """Short unattributed quoted words are titles, nicknames or scare quotes, not statements."""
    words = text[span.start : span.end].split()
    return len(words) <= 4
