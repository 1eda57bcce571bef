"""From a speaker mention to a canonical name: names, surnames, pronouns, descriptions.

Only what the article itself says (and the configured speakers) is used: a
surname means whoever was last named in full with it, a pronoun the most
recent speaker or person of its gender, a description ("Kim Jong Un's
sister", "the minister") a configured speaker or a titled person named
before. Anything else stays None rather than guessed.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from pipeline.enrich.entities import PERSON, TITLES, Mention, NameIndex, descriptor_variants, gender_of
from pipeline.enrich.quotes.frame import Candidate, Context

# How close (in characters) the last quoted speaker must be for a bare "he added" to mean them.
RECENT_SPEAKER = 300


@dataclass
class Resolver:
    """Turns mentions into canonical speakers, remembering who spoke last."""

    ctx: Context
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
