"""Speaker candidates: the mention a cue points to, before it is resolved to a name.

Each finder reads a sentence frame from one position: the subject before a verb
(past adverbs, times, appositions), the name after an inverted verb ("said
Trump"), the subject of the clause, a name before "who" or after "with".
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipeline.enrich.entities import GPE, NORP, ORG, PERSON, TITLES
from pipeline.enrich.quotes.frame import Candidate, Context, Item, lower, token_candidate
from pipeline.enrich.quotes.sources import DESCRIPTION_OPENERS, PERSON_NOUNS, SOURCE_NOUNS
from pipeline.enrich.quotes.words import (
    COORDINATORS,
    CUES,
    DAYS,
    DETERMINERS,
    NP_BREAKS,
    OPENING_WORDS,
    PREPOSITIONS,
    PRONOUNS,
    SKIPPABLE,
)

# Plural nouns for people a story leaves unnamed ("sources", "officials", "people"), which "familiar with …"
# may follow.
UNNAMED_GROUPS = frozenset(word for word in PERSON_NOUNS | SOURCE_NOUNS if word.endswith("s") or word == "people")
# Words right before a name that attach it to what precedes ("… of Reuters", "…'s"): then it is not a speaker alone.
_ATTACHING = PREPOSITIONS | {"’s", "'s"}
# Words that open a short comma-set phrase continuing the one before it ("in Birmingham, Alabama, on Saturday,").
_PHRASE_OPENERS = OPENING_WORDS | PREPOSITIONS


def is_adverb(ctx: Context, item: Item) -> bool:
    """ "also broadly called", "jokingly tells": a manner adverb sits between subject and verb."""
    if item[0] != "T":
        return False
    i = item[1]
    return (
        ctx.lowercase[i]
        and ctx.alphas[i]
        and ctx.token_ends[i] - ctx.token_starts[i] > 4
        and ctx.lowers[i].endswith("ly")
    )


def skip_adverbs(ctx: Context, items: Sequence[Item], j: int, lo: int) -> int:
    """Step back over auxiliaries and adverbs ("has also broadly")."""
    while j >= lo and (lower(ctx, items[j]) in SKIPPABLE or is_adverb(ctx, items[j])):
        j -= 1
    return j


def _time_phrase_before(ctx: Context, items: Sequence[Item], j: int, lo: int) -> int:
    """Step back over "last week", "on Tuesday", "yesterday" between a speaker and the verb."""
    word = lower(ctx, items[j])
    if word in {"yesterday", "today", "tonight", "earlier"}:
        return j - 1
    periods = {"week", "month", "year", "weekend", "night", "morning", "evening"}
    if j > lo and (word in DAYS or word in periods) and lower(ctx, items[j - 1]) in {"last", "this", "on", "that"}:
        return j - 2
    return j


def subject_before(ctx: Context, items: Sequence[Item], k: int, lo: int) -> Candidate | None:
    """The mention that ends just before the cue at items[k], skipping adverbs, times and appositives."""
    j = skip_adverbs(ctx, items, k - 1, lo)
    if j >= lo and items[j][0] == "T":
        j = skip_adverbs(ctx, items, _time_phrase_before(ctx, items, j, lo), lo)
    j = before_phrase(ctx, items, j, lo)
    for _ in range(3):
        if j < lo or items[j][0] == "Q" or lower(ctx, items[j]) not in {",", ")", "—", "–", "--"}:
            break
        closer = lower(ctx, items[j])
        opener = "(" if closer == ")" else closer
        p = j - 1
        while p >= lo and items[p][0] == "T" and lower(ctx, items[p]) != opener and j - p < 24:
            p -= 1
        if p < lo or items[p][0] == "Q" or lower(ctx, items[p]) != opener:
            if closer != ")":
                return None
            break
        named = _named_apposition(ctx, items, p, j)
        if named is not None:
            return named
        t = items[p + 1][1]
        first = ctx.lowers[t]
        if opener != "(" and not (
            _party_and_state(ctx, items, p, j)
            or first in DETERMINERS
            or first in {"who", "whose", "which"}
            or ctx.lowercase[t]
            or ctx.numbers[t]
            or first in TITLES
            or j - p <= 3
            or _describes(ctx, items, p + 1, j)
        ):
            return None
        j = _before_party_and_state(ctx, items, p, lo)
        if first in {"and", "or"}:
            j = _before_description(ctx, items, j, lo)
    if j < lo or items[j][0] == "Q":
        return None
    return mention_ending(ctx, items, j, lo)


# "R-Ky.", "D-Mich.", "I-Vt.", "D-Newport News": a legislator's party and state or district set off by commas.
_PARTY_AND_STATE = re.compile(r"[DRI]-[A-Z][\w.]*(?: [A-Z][\w.]*)?")


def _party_and_state(ctx: Context, items: Sequence[Item], p: int, j: int) -> bool:
    """Whether the apposition between items[p] and items[j] is a party and state ("Mitch McConnell, R-Ky., said")."""
    if j - p < 2 or any(items[k][0] != "T" for k in (p, j)):
        return False
    return (
        _PARTY_AND_STATE.fullmatch(ctx.text[ctx.token_ends[items[p][1]] : ctx.token_starts[items[j][1]]].strip())
        is not None
    )


def _before_party_and_state(ctx: Context, items: Sequence[Item], p: int, lo: int) -> int:
    """Where the subject ends before the apposition opened at items[p]: just before it, or before a party and
    state that comes first ("Sen. Ann Lee, D-Mich., a member of the leadership team, said")."""
    for q in range(p - 2, max(lo, p - 6) - 1, -1):
        if lower(ctx, items[q]) == "," and _party_and_state(ctx, items, q, p):
            return q - 1
    return p - 1


def _before_description(ctx: Context, items: Sequence[Item], j: int, lo: int) -> int:
    """ "Will Young, a mechanic based in Kansas City, Mo., and an organizer at the union, said": a part of an
    apposition opened by "and" continues the description before it, whose own commas ("Kansas City, Mo.")
    are not where the name ends; step back to the comma that opens the description ("a", "an", "the", a
    lower-case word) after a person's name, that person being the subject. With no such comma ("Trump,
    Cruz, and Kasich") the word before "and" stays where the subject ends."""
    for p in range(j, max(lo + 1, j - 24), -1):
        if any(items[k][0] != "T" for k in (p, p - 1, p - 2)):
            return j
        if lower(ctx, items[p - 1]) == "," and (lower(ctx, items[p]) in DETERMINERS or ctx.lowercase[items[p][1]]):
            named = ctx.ent_end.get(items[p - 2][1])
            if named is not None and named.label == PERSON:
                return p - 2
    return j


def _named_apposition(ctx: Context, items: Sequence[Item], p: int, j: int) -> Candidate | None:
    """ "Trump's attorney, Alan Garten, said": a person named in apposition after a description is the speaker.

    The name may carry its own description ("A former candidate -- John McCain, who lost in 2008 -- said").
    """
    if lower(ctx, items[p]) not in {",", "—", "–", "--"} or j - p < 2:
        return None
    if any(items[k][0] != "T" for k in range(p + 1, j)):
        return None
    mention = ctx.ent_start.get(items[p + 1][1])
    if mention is None or mention.label != PERSON:
        return None
    last = p + 1 + (mention.tok_end - mention.tok_start) - 1
    if last >= j or (last + 1 < j and lower(ctx, items[last + 1]) != ","):
        return None
    before = ctx.ent_end.get(items[p - 1][1]) if p > 0 and items[p - 1][0] == "T" else None
    if before is not None and before.label == PERSON:
        return None
    return token_candidate(ctx, mention.tok_start, mention.tok_end - 1, "entity", mention)


def before_phrase(ctx: Context, items: Sequence[Item], j: int, lo: int) -> int:
    """ "Sanders in the past has criticized": step back over a short phrase between a speaker and the verb."""
    for p in range(j, max(lo, j - 4) - 1, -1):
        if items[p][0] != "T" or ctx.puncts[items[p][1]]:
            return j
        if lower(ctx, items[p]) in {"in", "on", "at", "during", "over"} and p > lo and items[p - 1][0] == "T":
            speaker = ctx.ent_end.get(items[p - 1][1])
            if lower(ctx, items[p - 1]) in {"he", "she", "who"} or (speaker is not None and speaker.label == PERSON):
                return p - 1
            if lower(ctx, items[p - 1]) in SKIPPABLE and p - 1 > lo and lower(ctx, items[p - 2]) == "who":
                return p - 2  # "Beck, who has in the past described"
            return j
    return j


def _describes(ctx: Context, items: Sequence[Item], lo: int, hi: int) -> bool:
    """An appositive such as "Sanders' campaign manager": a possessive, then a common noun.

    A list of names ("Trump, Cruz and Kasich said") has no possessive, so it is
    not mistaken for a description of the name before it.
    """
    words = [lower(ctx, items[k]) for k in range(lo, hi)]
    owner = next((n for n, w in enumerate(words) if w in {"’s", "'s", "’", "'"}), None)
    return owner is not None and any(ctx.lowercase[items[k][1]] for k in range(lo + owner + 1, hi))


def mention_ending(ctx: Context, items: Sequence[Item], j: int, lo: int) -> Candidate | None:
    lowers = ctx.lowers
    t = items[j][1]
    word = lowers[t]
    if word in PRONOUNS:
        return token_candidate(ctx, t, t, "pronoun")
    mention = ctx.ent_end.get(t)
    if mention is not None and mention.label in {PERSON, ORG, GPE, NORP, "NAME"}:
        before = mention.tok_start - 1
        attached = before >= 0 and lowers[before] in _ATTACHING
        if not attached:
            return token_candidate(ctx, mention.tok_start, t, "entity", mention)
        person = ctx.ent_end.get(before - 1) if lowers[before] in {"of", "from"} else None
        if person is not None and person.label == PERSON:
            # "Sen. Marco Rubio of Florida"
            return token_candidate(ctx, person.tok_start, person.tok_end - 1, "entity", person)
    # A noun phrase read backwards: stop at its determiner or at a clause boundary.
    first = j
    hops = 0
    while first >= lo and items[first][0] == "T" and j - first < 10:
        i = items[first][1]
        low = lowers[i]
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
            or (ctx.puncts[i] and low not in {"’s", "'s", "-", "'", "’"})
            or (ctx.numbers[i] and not (first < j and lower(ctx, items[first + 1]) == "-"))  # "the 32-year-old"
        ):
            first += 1
            break
        first -= 1
    first = _widen_to_description(ctx, items, max(first, lo), lo)
    while first <= j and lower(ctx, items[first]) in PREPOSITIONS:
        first += 1
    if first > j or items[first][0] == "Q" or ctx.stops[t] or ctx.puncts[t]:
        return None
    return token_candidate(ctx, items[first][1], t, "np")


def _widen_to_description(ctx: Context, items: Sequence[Item], first: int, lo: int) -> int:
    """ "one of the players", "a spokesperson for the camp", "a person familiar with the talks": a phrase read
    back to its determiner ("the players") is the tail of an indefinite description when "of", "for" or
    "with" and a few lowercase words lead back to "one", "a" or "another"; where that description starts."""
    if first - 2 < lo or lower(ctx, items[first]) not in DETERMINERS:
        return first
    if lower(ctx, items[first - 1]) not in {"of", "for", "with"}:
        return first
    for k in range(first - 2, max(lo, first - 6) - 1, -1):
        if items[k][0] != "T":
            return first
        word = lower(ctx, items[k])
        if word in DESCRIPTION_OPENERS:
            return k
        if word in UNNAMED_GROUPS and lower(ctx, items[k + 1]) == "familiar":
            return k  # "sources familiar with the talks", "people familiar with the plan"
        if not ctx.lowercase[items[k][1]] or not word.replace("-", "").isalpha():
            return first
    return first


def mention_after(ctx: Context, items: Sequence[Item], k: int, hi: int) -> Candidate | None:
    """The mention that follows a cue ("said Trump", "according to the statement")."""
    doc = ctx.doc
    j = k
    if j < hi and lower(ctx, items[j]) == "to":
        j += 1
    stop = j
    while stop < hi and items[stop][0] == "T" and stop - j < 12:
        low = lower(ctx, items[stop])
        inside_name = low in {"on", "in", "at"} and stop > j and items[stop][1] in ctx.ent_token
        if not inside_name and low in {
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
            "while",
            "whose",
        }:
            break
        stop += 1
    if stop <= j:
        return None
    window = [items[n][1] for n in range(j, stop)]
    people = [ctx.ent_token[t] for t in window if t in ctx.ent_token and ctx.ent_token[t].label == PERSON]
    if people:
        m = people[-1]
        return token_candidate(ctx, m.tok_start, m.tok_end - 1, "entity", m)
    first = doc[window[0]]
    if first.lower_ in PRONOUNS:
        return token_candidate(ctx, window[0], window[0], "pronoun")
    if window[0] in ctx.ent_start:
        m = ctx.ent_start[window[0]]
        return token_candidate(ctx, m.tok_start, m.tok_end - 1, "entity", m)
    if first.lower_ in DETERMINERS or first.is_alpha:
        return token_candidate(ctx, window[0], window[-1], "np")
    return None


def sentence_subject(ctx: Context, items: Sequence[Item], limit: int) -> Candidate | None:
    """The clause's subject when the cue has none of its own ("…, saying", "but said").

    An opening adverbial ("At a rally in Birmingham, Alabama, on Saturday,")
    is skipped whatever names it holds, and a person named inside a long
    subject ("76-year-old Morton Blackwell, founder of …") is preferred to the
    phrase around it.
    """
    start = _after_opening(ctx, items, limit) or _after_dateline(ctx, items, limit)
    if not start:
        for k in range(min(limit, 10)):
            if lower(ctx, items[k]) == "," and not any(
                items[m][0] == "T" and (items[m][1] in ctx.ent_token or lower(ctx, items[m]) in PRONOUNS)
                for m in range(k)
            ):
                start = k + 1
                break
    while start < limit and (lower(ctx, items[start]) in COORDINATORS or lower(ctx, items[start]) in SKIPPABLE):
        start += 1
    if start >= limit or items[start][0] != "T":
        return None
    t = items[start][1]
    if ctx.lowers[t] in PRONOUNS:
        return token_candidate(ctx, t, t, "pronoun")
    mention = ctx.ent_token.get(t)
    if mention is not None and mention.tok_start == t:
        return token_candidate(ctx, t, mention.tok_end - 1, "entity", mention)
    for k in range(start, min(limit, start + 8)):
        if items[k][0] != "T":
            break
        inner = ctx.ent_token.get(items[k][1])
        if inner is not None and inner.label == PERSON:
            return token_candidate(ctx, inner.tok_start, inner.tok_end - 1, "entity", inner)
        low = lower(ctx, items[k])
        if (
            low in NP_BREAKS
            or low in CUES
            or (low in PREPOSITIONS and k > start)
            or (ctx.puncts[items[k][1]] and low != "-")
        ):
            break
    end = start
    while end + 1 < limit and items[end + 1][0] == "T" and end - start < 7:
        nxt = items[end + 1][1]
        low = ctx.lowers[nxt]
        if (
            low in NP_BREAKS
            or low in CUES
            or low in SKIPPABLE
            or ctx.puncts[nxt]
            or (ctx.lowercase[nxt] and low.endswith("ed"))
        ):
            break
        end += 1
    if ctx.lowers[t] not in DETERMINERS and not ctx.titles[t]:
        return None
    return token_candidate(ctx, t, items[end][1], "np")


def _after_dateline(ctx: Context, items: Sequence[Item], limit: int) -> int:
    """Where the story starts after "WASHINGTON, Dec. 8 (UPI) —", or 0: a dateline has no lowercase word."""
    for k in range(min(limit, 12)):
        word = lower(ctx, items[k])
        if word in {"—", "–", "--"}:
            return k + 1 if k > 0 else 0
        if items[k][0] != "T" or (ctx.lowercase[items[k][1]] and ctx.alphas[items[k][1]]):
            return 0
    return 0


def _opens_adverbial(ctx: Context, item: Item) -> bool:
    """ "In …,", "Hours later,", "Weighing in on the debate,": words that start a phrase before the subject."""
    word = lower(ctx, item)
    return word in OPENING_WORDS or (word.endswith("ing") and len(word) > 5 and ctx.titles[item[1]])


def _after_opening(ctx: Context, items: Sequence[Item], limit: int) -> int:
    """Where the clause starts after an opening adverbial phrase, or 0 when there is none."""
    if not items or not _opens_adverbial(ctx, items[0]):
        return 0
    commas = [k for k in range(min(limit, 30)) if lower(ctx, items[k]) == ","]
    if not commas:
        return 0
    start = commas[0] + 1
    for comma in commas[1:]:
        # "…in Birmingham, Alabama, on Saturday," continues the same phrase
        segment = range(start, comma)
        # "On Thursday, after remaining neutral throughout the primary, Warren …" opens a second phrase
        continues = (items[start][0] == "T" and lower(ctx, items[start]) in {"after", "before", "while", "when"}) or (
            comma - start <= 3
            and (
                lower(ctx, items[start]) in _PHRASE_OPENERS
                or all(items[k][0] == "T" and ctx.ent_token.get(items[k][1]) is not None for k in segment)
            )
        )
        named = [ctx.ent_token.get(items[k][1]) for k in segment if items[k][0] == "T"]
        if not continues or any(m is not None and m.label == PERSON for m in named):
            break
        start = comma + 1
    return start


def with_subject(ctx: Context, items: Sequence[Item], limit: int) -> Candidate | None:
    """ "…, with Gorka noting …": the participle's own subject, named right before it."""
    if not lower(ctx, items[limit]).endswith("ing"):
        return None
    for k in range(limit - 1, max(0, limit - 10), -1):
        word = lower(ctx, items[k])
        if word == "with" and k + 1 < limit:
            named = ctx.ent_end.get(items[limit - 1][1])
            if named is not None and named.label in {PERSON, "NAME"}:
                return token_candidate(ctx, named.tok_start, named.tok_end - 1, "entity", named)
            return mention_ending(ctx, items, limit - 1, k + 1)
        if items[k][0] != "T" or ctx.puncts[items[k][1]] or word in NP_BREAKS or word in CUES:
            return None
    return None


def clause_subject(ctx: Context, items: Sequence[Item], limit: int) -> Candidate | None:
    """ "…, X, who ruled it out, calling it …", "was issued by X" and "with X saying": the nearer, explicit subject."""
    subject = with_subject(ctx, items, limit)
    if subject is not None:
        return subject
    for k in range(limit - 1, 0, -1):
        word = lower(ctx, items[k])
        if word == "who":
            j = k - 1
            if lower(ctx, items[j]) == "," and j > 0:
                j -= 1
            return mention_ending(ctx, items, j, 0) if items[j][0] == "T" else None
        if word == "by" and items[k + 1][0] == "T":
            mention = ctx.ent_token.get(items[k + 1][1])
            if mention is not None and mention.label == PERSON:
                return token_candidate(ctx, mention.tok_start, mention.tok_end - 1, "entity", mention)
    return None


def closing_speaker(ctx: Context, items: Sequence[Item], k: int) -> bool:
    """A person named at items[k] who closes the clause (", said Steve Elmendorf." or "…, a pollster"),
    not the subject of a new one (", said Fiorina was personally involved")."""
    following = ctx.ent_start.get(items[k][1]) if k < len(items) and items[k][0] == "T" else None
    if following is None or following.label != PERSON:
        return False
    after = k
    while after < len(items) and items[after][0] == "T" and items[after][1] < following.tok_end:
        after += 1
    return after >= len(items) or items[after][0] == "Q" or ctx.puncts[items[after][1]]
