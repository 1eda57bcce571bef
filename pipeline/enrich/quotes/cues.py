"""Reporting verbs ("cues") in a sentence frame, and the speaker each one points to."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.enrich import lexicon
from pipeline.enrich.entities import ORG, PERSON
from pipeline.enrich.quotes.candidates import (
    before_phrase,
    clause_subject,
    closing_speaker,
    is_adverb,
    mention_after,
    mention_ending,
    sentence_subject,
    subject_before,
    with_subject,
)
from pipeline.enrich.quotes.frame import Attribution, Candidate, Context, Item, lower
from pipeline.enrich.quotes.sources import SPEAKING_NOUNS
from pipeline.enrich.quotes.words import (
    AFTER_ONLY,
    COORDINATORS,
    CUES,
    DETERMINERS,
    NAMING,
    NOUN_MARKERS,
    OBJECT_CUES,
    PARTICLE_CUES,
    PHRASE_CUES,
    PRONOUNS,
    SKIPPABLE,
    SPELLED_CUES,
)

# Forms that are never nouns ("insist", "argues"): the verb before its clause, whatever stands before it.
_RULE_NEVER_NOUNS = lexicon.words("never_nouns.txt")

# Forms of "state", more often the noun ("swing states"): the verb needs a subject that can state something.
STATE_FORMS = frozenset({"state", "states"})

# Prepositions after which a cue word is a noun ("via email", "in response", "on record"); "to" opens an
# infinitive ("to say"), and a gerund after any preposition ("after saying") is still a verb.
NOUN_PREPOSITIONS = frozenset({"via", "in", "on", "at", "for", "from", "of", "with", "by", "without", "after"})


def is_cue(ctx: Context, items: Sequence[Item], k: int, before: bool = False, far: bool = False) -> bool:
    """A reporting verb, not a noun ("the report") nor part of a name.

    Right after a quote ("…," Trump states) a bare verb form is trusted; before
    a quote or further along the sentence ("her private email", "a battery
    charge") it is more often a noun, so it needs a subject or "that" beside it.
    """
    if items[k][0] != "T":
        return False
    word = lower(ctx, items[k])
    if word not in CUES or _in_hyphenated_word(ctx, items, k):
        return False
    if before and word in AFTER_ONLY and not _introduces_quote(ctx, items, k):
        return False
    following = lower(ctx, items[k + 1]) if k + 1 < len(items) else ""
    if word in PHRASE_CUES:
        return following == PHRASE_CUES[word]
    if word in PARTICLE_CUES and following != PARTICLE_CUES[word]:
        return False
    trusted = word in SPELLED_CUES or word.endswith(("ed", "ing")) or _rule_verb_before_clause(ctx, items, k)
    if (before or far) and not trusted and _reads_as_noun(ctx, items, k):
        return False
    if k > 0 and lower(ctx, items[k - 1]) in NOUN_MARKERS:
        return False
    if k > 0 and lower(ctx, items[k - 1]) in NOUN_PREPOSITIONS and not word.endswith("ing"):
        return False  # "said via email that", "in response": after a preposition the word is a noun
    if word in STATE_FORMS and (before or far) and not states_subject(ctx, items, k):
        return False  # "swing states that …", "Rust Belt states": the noun, not the verb
    if word in NAMING and _names_a_thing(ctx, items, k):
        return False
    token = ctx.doc[items[k][1]]
    return (
        (token.i not in ctx.ent_token and not token.is_title) or k == 0 or lower(ctx, items[k - 1]) in {'"', "“", ","}
    )


def _rule_verb_before_clause(ctx: Context, items: Sequence[Item], k: int) -> bool:
    """ "Organizers of both conventions insist they …", "Critics argue it is …": a form that is never a noun, then a
    subject pronoun opening its clause, is the verb whatever stands before it (a noun that often is a verb can head
    a relative clause without "that": "the calls they made")."""
    following = lower(ctx, items[k + 1]) if k + 1 < len(items) and items[k + 1][0] == "T" else ""
    return following in _RULE_CLAUSE_SUBJECTS and lower(ctx, items[k]) in _RULE_NEVER_NOUNS


# Subject pronouns that open a clause after a verb of saying.
_RULE_CLAUSE_SUBJECTS = frozenset({"he", "she", "they", "we", "i", "it", "there"})


def states_subject(ctx: Context, items: Sequence[Item], k: int) -> bool:
    """ "states" is a verb after a subject that can state something: a pronoun, a person or organisation, or a
    word for a source or document ("the ad states", "a spokesperson states"); after anything else ("swing",
    "Western", "Rust Belt") it is the plural noun."""
    if k == 0 or items[k - 1][0] != "T":
        return False
    word = lower(ctx, items[k - 1])
    named = ctx.ent_token.get(items[k - 1][1])
    return (
        word in PRONOUNS
        or word in SPEAKING_NOUNS
        or (named is not None and named.label in {PERSON, ORG})
        or word in SKIPPABLE  # "also states"
        or word == "to"  # "prompted the atlas to state, “…”"
    )


def _in_hyphenated_word(ctx: Context, items: Sequence[Item], k: int) -> bool:
    """ "counter-attack", "post-debate"; a spaced dash ("she said - and charged") is punctuation."""
    token = ctx.doc[items[k][1]]
    return (k + 1 < len(items) and lower(ctx, items[k + 1]) == "-" and not token.whitespace_) or (
        k > 0 and lower(ctx, items[k - 1]) == "-" and not ctx.doc[items[k - 1][1]].whitespace_
    )


def _introduces_quote(ctx: Context, items: Sequence[Item], k: int) -> bool:
    """ "He continued, “…”" still introduces the quote; "the war continued “…”" does not."""
    nxt = k + 1 < len(items) and (items[k + 1][0] == "Q" or lower(ctx, items[k + 1]) in {",", ":"})
    prev = items[k - 1] if k > 0 else None
    return (
        nxt
        and prev is not None
        and prev[0] == "T"
        and (lower(ctx, prev) in {"he", "she"} or ctx.ent_token.get(prev[1]) is not None)
    )


def _reads_as_noun(ctx: Context, items: Sequence[Item], k: int) -> bool:
    """ "attack", "calls", "comments" are more often nouns than verbs before a quote: a verb needs a subject
    (a pronoun, a name not after a determiner), "to" before it or "that" after it."""
    previous = items[k - 1] if k > 0 else None
    if previous is None or previous[0] != "T":
        return True
    owner = ctx.ent_token.get(previous[1])
    if owner is not None and owner.tok_start > 0 and ctx.doc[owner.tok_start - 1].lower_ in DETERMINERS:
        owner = None  # "a Twitter comment", "the Trump campaign"
    return not (
        (k + 1 < len(items) and lower(ctx, items[k + 1]) == "that")
        or lower(ctx, previous) in PRONOUNS
        or owner is not None
        or lower(ctx, previous) == "to"
    )


def _names_a_thing(ctx: Context, items: Sequence[Item], k: int) -> bool:
    """ "a short film called “Perception”" names a thing; "Trump called “…”" needs a speaker before it."""
    if not (k + 1 < len(items) and items[k + 1][0] == "Q" and k > 0 and items[k - 1][0] == "T"):
        return False
    noun = ctx.doc[items[k - 1][1]]
    return (
        noun.is_lower and noun.is_alpha and noun.lower_ not in PRONOUNS | SKIPPABLE and not is_adverb(ctx, items[k - 1])
    )


def cue_attribution(ctx: Context, items: Sequence[Item], c: int, cand: Candidate | None) -> Attribution | None:
    token = ctx.doc[items[c][1]]
    cue = "according to" if token.lower_ == "according" else token.text
    return Attribution(cand, cue, token.idx) if cand else None


def inverted(ctx: Context, items: Sequence[Item], c: int) -> bool:
    """ ", said Steve Elmendorf": a comma, a speech verb, then a person named after it."""
    if c == 0 or c + 1 >= len(items) or lower(ctx, items[c - 1]) != "," or items[c + 1][0] != "T":
        return False
    if lower(ctx, items[c]) in OBJECT_CUES or lower(ctx, items[c]).endswith("ing"):
        return False
    return closing_speaker(ctx, items, c + 1)


def speaker_of_cue(ctx: Context, items: Sequence[Item], c: int, done: dict[int, Attribution]) -> Attribution | None:
    """The speaker of the cue at items[c] when the cue comes before its quote ("X said … “…”").

    Tried in order: a name right after the verb ("said Trump,"); the subject an
    earlier cue or quote already has, for a participle or a coordinated verb
    ("…, saying", "and added"); the subject of a governing verb ("went on to
    say"); the name before "who"; else the subject just before the verb.
    """
    if lower(ctx, items[c]) == "according":
        return cue_attribution(ctx, items, c, mention_after(ctx, items, c + 2, len(items)))
    prev = _word_before_cue(ctx, items, c)
    prev_is_quote = c > 0 and (items[c - 1][0] == "Q" or (prev == "," and c > 1 and items[c - 2][0] == "Q"))
    participle = lower(ctx, items[c]).endswith("ing") and prev not in {"is", "was", "were", "are", "been", "be"}
    if not participle:
        found = _named_after_cue(ctx, items, c, prev, prev_is_quote)
        if found:
            return found
    if participle and (subject := with_subject(ctx, items, c)) is not None:
        return cue_attribution(ctx, items, c, subject)
    if participle or prev in COORDINATORS or prev_is_quote:
        return _continued_subject(ctx, items, c, done)
    if prev == "to":
        return _infinitive_subject(ctx, items, c)
    if c > 0 and lower(ctx, items[who := before_phrase(ctx, items, c - 1, 0)]) == "who":
        j = who - 1
        if j >= 0 and lower(ctx, items[j]) == ",":
            j -= 1
        valid = j >= 0 and items[j][0] == "T"
        return cue_attribution(ctx, items, c, mention_ending(ctx, items, j, 0) if valid else None)
    return cue_attribution(ctx, items, c, subject_before(ctx, items, c, 0))


def _word_before_cue(ctx: Context, items: Sequence[Item], c: int) -> str:
    """The word before the cue; "but now said", "and also warned": a coordinator hidden behind adverbs."""
    prev = lower(ctx, items[c - 1]) if c > 0 else ""
    before = c - 1
    while before > 0 and (lower(ctx, items[before]) in SKIPPABLE or is_adverb(ctx, items[before])):
        before -= 1
    if before >= 0 and lower(ctx, items[before]) in COORDINATORS:
        return lower(ctx, items[before])
    return prev


def _named_after_cue(ctx: Context, items: Sequence[Item], c: int, prev: str, prev_is_quote: bool) -> Attribution | None:
    """ ", said Steve Elmendorf." / "…," said Trump, "…" / Continued Stone: "…": the speaker follows the verb."""
    word = lower(ctx, items[c])
    if prev == "," and word not in OBJECT_CUES and closing_speaker(ctx, items, c + 1):
        return cue_attribution(ctx, items, c, mention_after(ctx, items, c + 1, len(items)))
    if prev_is_quote or all(lower(ctx, items[k]) in COORDINATORS | {","} for k in range(c)):
        return cue_attribution(ctx, items, c, mention_after(ctx, items, c + 1, len(items)))
    return None


def _continued_subject(ctx: Context, items: Sequence[Item], c: int, done: dict[int, Attribution]) -> Attribution | None:
    """ "…, saying", "and added": the speaker of the quote or cue before, else the clause's subject."""
    for earlier in range(c - 1, -1, -1):
        if items[earlier][0] == "Q" and items[earlier][1] in done:
            return cue_attribution(ctx, items, c, done[items[earlier][1]].candidate)
        if is_cue(ctx, items, earlier, before=True):
            found = speaker_of_cue(ctx, items, earlier, done)
            if found:
                return cue_attribution(ctx, items, c, found.candidate)
    return cue_attribution(ctx, items, c, clause_subject(ctx, items, c) or sentence_subject(ctx, items, c))


def _infinitive_subject(ctx: Context, items: Sequence[Item], c: int) -> Attribution | None:
    """ "went on to say", "wants to tell": the subject is the governing verb's."""
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
    if k > 0 and lower(ctx, items[k - 1]) in COORDINATORS:
        # "Trump joked that …, but went on to say": the subject of the clause before the "but"
        subject = clause_subject(ctx, items, k - 1) or sentence_subject(ctx, items, k - 1)
        return cue_attribution(ctx, items, c, subject)
    return cue_attribution(ctx, items, c, subject_before(ctx, items, k, 0))
