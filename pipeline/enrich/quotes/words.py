"""The lexicon lists as the quotation rules use them, loaded once at import.

The lists themselves, and where they come from, are in `pipeline/enrich/lexicon/`.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from pipeline.enrich import lexicon


def verb_forms(base: str) -> set[str]:
    """Regular inflections of a reporting verb; irregular ones are listed in full in the lexicon."""
    if base.endswith("e"):
        return {base, base + "s", base + "d", base[:-1] + "ing"}
    if base.endswith("y") and base[-2] not in "aeiou":
        return {base, base[:-1] + "ies", base[:-1] + "ied", base + "ing"}
    if re.fullmatch(r"[^aeiou]*[aeiou][bdgmnprt]", base):
        return {base, base + "s", base + base[-1] + "ed", base + base[-1] + "ing"}
    ending = "es" if base.endswith(("s", "sh", "ch", "x")) else "s"
    return {base, base + ending, base + "ed", base + "ing"}


class Verb(NamedTuple):
    """One row of reporting_verbs.tsv."""

    forms: frozenset[str]
    particle: str
    tags: frozenset[str]
    spelled: bool  # forms written out in the lexicon rather than generated


def _reporting_verbs() -> list[Verb]:
    verbs = []
    for row in lexicon.rows("reporting_verbs.tsv"):
        spelled = lexicon.column(row, 1)
        forms = verb_forms(row[0]) if spelled == "regular" else {f.strip() for f in spelled.split(",")}
        tags = frozenset(t.strip() for t in lexicon.column(row, 3).split(",") if t.strip())
        verbs.append(Verb(frozenset(forms), lexicon.column(row, 2), tags, spelled != "regular"))
    return verbs


_VERBS = _reporting_verbs()
# Every form of every reporting verb.
CUES: frozenset[str] = frozenset().union(*(v.forms for v in _VERBS))
# Forms trusted as verbs before a quote without an -ed/-ing ending ("said", "told"): the irregular ones.
SPELLED_CUES: frozenset[str] = frozenset().union(
    *(v.forms for v in _VERBS if v.spelled and (not v.particle or "phrase" in v.tags))
)
# Verbs that report speech only with their particle: "recognized that …", "referred to it as …".
PARTICLE_CUES: dict[str, str] = {
    form: v.particle for v in _VERBS if v.particle and "phrase" not in v.tags for form in v.forms
}
# Fixed phrases ("according to", "went on"): a cue exactly when the particle follows.
PHRASE_CUES: dict[str, str] = {form: v.particle for v in _VERBS if "phrase" in v.tags for form in v.forms}
# Verbs that report speech only right after a quote ("…," she continued).
AFTER_ONLY: frozenset[str] = frozenset().union(*(v.forms for v in _VERBS if "after_only" in v.tags))
# Verbs whose object is the person talked about, not the speaker: ", called Trump a “blowhard”".
OBJECT_CUES: frozenset[str] = frozenset().union(*(v.forms for v in _VERBS if "object" in v.tags))
# Participles that name a thing when a noun precedes them: "a group called “…”", "items labeled “…”".
NAMING = lexicon.words("naming_participles.txt")
COORDINATORS = lexicon.words("coordinators.txt")
SKIPPABLE = lexicon.words("skippable.txt")
PRONOUNS = lexicon.words("pronouns.txt")
DETERMINERS = lexicon.words("determiners.txt")
# Words after which a cue word is a noun: "the statement", "Kim's statement".
NOUN_MARKERS = DETERMINERS | {"’s", "'s"}
NP_BREAKS = lexicon.words("np_breaks.txt")
PREPOSITIONS = lexicon.words("prepositions.txt")
ABBREVIATIONS = lexicon.words("abbreviations.txt")
DAYS = lexicon.words("days.txt")
# What may follow the verb of a trailing "He said." before the sentence ends: a time, a place, nothing.
SHORT_CUE_TAILS = lexicon.words("short_cue_tails.txt") | DAYS
# What may follow the verb of a short attribution ("…." Trump said on Tuesday in a statement.)
ATTRIBUTION_TAILS = lexicon.words("attribution_tails.txt") | DAYS
OPENING_WORDS = lexicon.words("opening_words.txt")
