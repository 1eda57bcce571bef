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
from functools import cached_property

from pipeline.enrich import lexicon
from pipeline.enrich.entities import ORG, PERSON, TITLES, Mention, NameIndex, descriptor_variants, gender_of
from pipeline.enrich.quotes.frame import Candidate, Context
from pipeline.enrich.quotes.sources import (
    DESCRIPTION_OPENERS,
    DOCUMENTS,
    PERSON_NOUNS,
    SOURCE_NOUNS,
    Documents,
    head_noun,
)
from pipeline.enrich.quotes.words import CUES

# How close (in characters) the last quoted speaker must be for a bare "he added" to mean them.
RECENT_SPEAKER = 300


# How far back (in characters) "the minister" or "the 32-year-old" may point.
_DESCRIBED_REACH = 2000
# A possessive ending on a name ("Peters’s", "Schumer‘s"); a name's own final "s" stays ("Peters").
# A gendered pronoun, or (for _IN_SENTENCE) the end of the sentence, whichever comes first.
_IN_SENTENCE = re.compile(r"\b(?:(he|his|him|himself)|(she|her|hers|herself))\b|[.!?]\s")
_GENDERED = re.compile(r"\b(?:([Hh]e|[Hh]is|[Hh]im|[Hh]imself)|([Ss]he|[Hh]er|[Hh]ers|[Hh]erself))\b")
_SUBJECT_FORM = {"his": "he", "her": "she"}
_POSSESSIVE = re.compile(r"[’'‘]s?$")
# A person who opens a sentence or paragraph is its subject, and so a candidate for a later "he" or "she";
# one named inside a phrase ("the cookbook to Julia Child", "his father's friend, Martin Legere") is not.
_OPENS_SENTENCE = re.compile(r"(?:^|[.!?][\"”’')]*\s+|\n\s*)[\"“‘']?(?:[A-Z][\w.’'-]*\s+){0,3}$")
# A name followed by a finite verb, past an apposition or an adverb ("Harold Adams, 76, recalls", "Scheer
# found", "McCallum expressed"), is its clause's subject wherever the clause starts.
_BEFORE_VERB = re.compile(
    r"(?:,[^,.;:!?\n“”\"]{1,60},|\s*\([^()\n]{1,30}\))?"  # an apposition or a bracket
    r"\s+(?:[a-z]+ly\s+|also\s+|then\s+|later\s+|still\s+)?([a-z]+)\b"
)
SUBJECT_VERBS = lexicon.words("subject_verbs.txt")
# The end of a sentence, and the space (or paragraph break) before the next one.
_SENTENCE_END = re.compile(r"[.!?][\"”’']*\s+")
# How far back (in characters) "they" may find the group it stands for.
_GROUP_REACH = 300
_PLURAL_PEOPLE = sorted(w for w in PERSON_NOUNS | SOURCE_NOUNS if w.endswith("s") and not w.endswith("ss"))
# An unnamed group opening a clause, and the word after it: "several auto-industry executives have", ", members
# complained".
_GROUP_SUBJECT = re.compile(
    r"(?:^|[.!?]\s+|,\s+|\b(?:and|but|that|as)\s+)"
    r"((?:(?:" + "|".join(sorted(DESCRIPTION_OPENERS)) + r")\s+)?(?:[a-z][\w-]*\s+){0,2}?"
    r"(?:" + "|".join(_PLURAL_PEOPLE) + r"))\s+([a-z]+)\b",
    re.IGNORECASE | re.MULTILINE,
)
_ACRONYM = re.compile(r"[A-Z]{3,6}")
# Capitalised words joined by spaces, commas and the small words inside an organisation's name.
_CAPITALISED_RUN = re.compile(r"[A-Z][\w’'-]*(?:,?\s+(?:(?:and|of|for|the|on|&)\s+)*[A-Z][\w’'-]*)+")
ORG_NOUNS = lexicon.words("org_nouns.txt")
# What someone issued ("her statement", "his letter"): a source standing for its author.
UTTERANCES = lexicon.words("utterances.txt")
# A possessive after a name ("Child’s phone"): the person owns something, and is not the sentence's subject.
_OWNS = re.compile(r"[’'‘]s?\b|[’'‘]\s")


@dataclass
class Resolver:
    """Turns mentions into canonical speakers, remembering who spoke last."""

    ctx: Context
    history: list[tuple[int, str]] = field(default_factory=list)

    def resolve(self, cand: Candidate, content: tuple[int, int] | None = None) -> str | None:
        """The canonical speaker a candidate stands for; `content` is the reported clause, whose own people a
        pronoun speaker is not ("Macharia and his colleagues hid under desks, he said": "he" is not Macharia)."""
        if cand.kind == "entity" and cand.mention is not None:
            m = cand.mention
            if m.credit:
                return None  # a byline or photo credit names who made the page, not who spoke
            if m.label in {PERSON, "NAME"} and not m.full:
                holder = self.names.holder(_POSSESSIVE.sub("", m.text.split()[-1]) or m.text, m.start)
                if holder or m.label == PERSON or not self._sentence_initial(m.start) or self._acts(m):
                    return holder or m.canonical
                return None
            return self._spelled_out(m.canonical, m.start)
        if cand.kind == "pronoun":
            word = self.ctx.text[cand.start : cand.end].lower()
            if word == "it":
                return self._organisation(cand.start, quoted_only=True)
            if word in {"they", "their"}:
                return self._group(cand.start)
            word = _SUBJECT_FORM.get(word, word)  # "in her words": "her" is who "she" would be
            if word not in {"he", "she"}:
                return None
            return self._pronoun(word, cand.start, self._named_in(content) if content else frozenset())
        phrase = self.ctx.text[cand.start : cand.end]
        return (
            self._noun_phrase(phrase, cand.start)
            or self._documents().author(cand.start, cand.end)
            or self._named_next(phrase, cand.end)
        )

    def __post_init__(self) -> None:
        self.names = NameIndex(self.ctx.found)
        self._mention_starts = [m.start for m in self.ctx.found]
        self.persons: list[tuple[int, str]] = []
        self.genders: dict[str, str | None] = {}
        votes: dict[str, list[str]] = {}
        text = self.ctx.text
        person_starts_all = [m.start for m in self.ctx.found if m.label == PERSON]
        self.quote_starts = [span.outer_start for span in self.ctx.spans]
        for m in self.ctx.found:
            if m.label != PERSON or m.caption:
                continue
            canonical = self._canonical(m)
            if not _is_subject(text, m) or self._quoted(m.start):
                continue  # "found Kody lying on her couch": a pronoun after an object is no evidence of its gender
            self.persons.append((m.start, canonical))
            vote = self._pronoun_after(m, person_starts_all)
            if vote:
                votes.setdefault(canonical, []).append(vote)
        for m in self.ctx.found:
            if m.label == PERSON and m.canonical not in self.genders:
                known = gender_of(m.canonical, m.title, self.ctx.speakers)
                if known is None and m.canonical in votes:
                    said = votes[m.canonical]
                    known = max(("he", "she"), key=said.count) if said.count("he") != said.count("she") else None
                self.genders[m.canonical] = known
        self.person_starts = [p for p, _ in self.persons]
        people = {self._canonical(m) for m in self.ctx.found if m.label == PERSON}
        # names that only ever stand for a place, an organisation or a group: never "he" or "she"
        self.not_people = {m.canonical for m in self.ctx.found if m.label not in {PERSON, "NAME"}} - people

    def _documents(self) -> Documents:
        """The article's documents, answering through this resolver's names and history. Made for each question
        rather than kept: kept, it would hold the resolver's own methods, a cycle that keeps the article's doc and
        everything read from it alive until the collector runs (the collections were a tenth of the analysis)."""
        return Documents(self.ctx.text, self.ctx.found, self._name, self._speaker_between)

    def _name(self, m: Mention) -> str:
        """A mention's canonical name as a source: a surname as the full name it is short for, an acronym spelled
        out."""
        if m.label in {PERSON, "NAME"} and not m.full:
            return self.names.holder(_POSSESSIVE.sub("", m.text.split()[-1]) or m.text, m.start) or m.canonical
        return self._spelled_out(m.canonical, m.start)

    def _speaker_between(self, start: int, end: int) -> str | None:
        """The last speaker resolved for a mention in text[start:end]."""
        k = bisect.bisect_left(self.history, (end, ""))
        return self.history[k - 1][1] if k and self.history[k - 1][0] >= start else None

    def _pronoun_after(self, m: Mention, person_starts: list[int]) -> str | None:
        """The gender of the pronoun that follows a person's mention: for a full name, the first one in the rest
        of its sentence ("Kim Yo Jong, the sister of Kim Jong Un, said she …"); for any mention, the first one
        before the next person is named, in its sentence or opening the next ("Nadia Jamil says … She added")."""
        text = self.ctx.text
        if m.full:
            own = _IN_SENTENCE.search(text, m.end, m.end + 120)
            if own is not None and (own.group(1) or own.group(2)):
                return "he" if own.group(1) else "she"
        k = bisect.bisect_right(person_starts, m.start)
        limit = min(m.end + 250, person_starts[k] if k < len(person_starts) else len(text))
        following = _GENDERED.search(text, m.end, limit)
        if following is None:
            return None
        between = text[m.end : following.start()]
        sentence_end = re.search(r"[.!?][\"”’]*\s+", between)
        if sentence_end is not None and (sentence_end.end() != len(between) or "\n\n" in between):
            return None  # past the sentence, only a pronoun opening the very next sentence counts
        return "he" if following.group(1) else "she"

    def _named_next(self, phrase: str, end: int) -> str | None:
        """ "A Vancouver hockey coach says he is overwhelmed … ¶ Stephen Gillis said …": the news lede's unnamed
        person is the one the next sentence opens by naming in full, for the first time, as its subject."""
        words = phrase.split()
        if len(words) < 2 or words[0].lower() not in {"a", "an", "one"}:
            return None
        head = head_noun(words).lower()
        if head.endswith("s") or not (head in PERSON_NOUNS or head.endswith(("ist", "ian"))):
            return None
        stop = _SENTENCE_END.search(self.ctx.text, end)
        if stop is None:
            return None
        k = bisect.bisect_left(self._mention_starts, stop.end())
        if k == len(self.ctx.found) or self.ctx.found[k].start != stop.end():
            return None
        m = self.ctx.found[k]
        if m.label != PERSON or not m.full or not _before_verb(self.ctx.text, m):
            return None
        named_before = any(o.canonical == m.canonical and not o.caption for o in self.ctx.found[:k])
        return None if named_before else m.canonical

    def _group(self, position: int) -> str | None:
        """ "Several executives have warned … They say …", "members complained about what they said": "they" as
        the unnamed group that is the subject of a clause just before, in the same paragraph; None when there
        is none (a plural named before, "the Smiths", is left alone)."""
        start = max(0, position - _GROUP_REACH)
        paragraph = self.ctx.text.rfind("\n\n", start, position)
        groups = list(_GROUP_SUBJECT.finditer(self.ctx.text, paragraph + 2 if paragraph >= 0 else start, position))
        last = groups[-1] if groups else None
        if last is None:
            return None
        verb = last.group(2).lower()
        return last.group(1) if verb in SUBJECT_VERBS or verb in CUES or verb.endswith("ed") else None

    def _acts(self, m: Mention) -> bool:
        """Whether a lone capitalised word opening a sentence still reads as a name: a reporting verb follows it
        ("Kim told CTV News"), or a finite verb past an apposition ("TransCanada has said", "Catherine, the target
        of the line, retorted"), or the text writes it as a name inside a sentence too ("… with Colton")."""
        return self._before_cue(m.end) or _before_verb(self.ctx.text, m) or m.text in self._names_inside_sentences

    @cached_property
    def _names_inside_sentences(self) -> frozenset[str]:
        """The lone names the text writes inside a sentence, where a capital is no sentence's opening."""
        return frozenset(
            m.text for m in self.ctx.found if m.label == "NAME" and not m.full and not self._sentence_initial(m.start)
        )

    def _before_cue(self, position: int) -> bool:
        """A lone name right before a reporting verb ("Kim told CTV News") is a name even opening a sentence."""
        verb = re.match(r"\s+([a-z]+)\b", self.ctx.text[position : position + 30])
        return verb is not None and verb.group(1) in CUES

    def _sentence_initial(self, position: int) -> bool:
        """A lone capitalised word opening a sentence ("Speaking", "Hours") is no evidence of a name."""
        before = self.ctx.text[max(0, position - 40) : position].rstrip(" \"“‘'(")
        return not before or before[-1] in ".!?\n:"

    def _gender(self, canonical: str) -> str | None:
        if canonical not in self.genders:
            self.genders[canonical] = gender_of(canonical, None, self.ctx.speakers)
        return self.genders[canonical]

    def _named_in(self, span: tuple[int, int]) -> frozenset[str]:
        """The people named in full or by surname inside text[span]."""
        first, last = (bisect.bisect_left(self._mention_starts, p) for p in span)
        return frozenset(self._canonical(m) for m in self.ctx.found[first:last] if m.label == PERSON)

    def _pronoun(self, word: str, position: int, excluded: frozenset[str] = frozenset()) -> str | None:
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
        candidates = [c for c in self.history[low:high] if c[1] not in self.not_people] + self.persons[first:last]
        candidates = [c for c in candidates if c[1] not in excluded]
        candidates.sort(reverse=True)
        if (
            candidates
            and high > low
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
        if len(words) == 2 and words[0] in {"his", "her"} and words[1] in UTTERANCES:
            return self._pronoun("he" if words[0] == "his" else "she", position)  # "her statement said"
        if not words or words[0] != "the" or len(words) < 2:
            return None  # only a definite description points back at someone named before
        titles = {w for w in words if w in TITLES}
        if titles:
            for m in reversed([m for m in self.ctx.found if m.start < position and m.label == PERSON and m.title]):
                if titles & set((m.title or "").split()):
                    return m.canonical
        described = self._described_before(words, position)
        if described is None and words[-1] in ORG_NOUNS:
            return self._organisation(position)
        return described

    def _organisation(self, position: int, quoted_only: bool = False) -> str | None:
        """What "the agency" as a source means: the nearest organisation before that the text made a subject
        ("TransLink was short …", "BC Hydro said") within reach; None when there is none. "It" is vaguer (a
        document, a plan, the weather), so for it the organisation must have been quoted already."""
        text = self.ctx.text
        sources = {name for _, name in self.history} if quoted_only else set()
        for m in reversed(self.ctx.found):
            if m.start >= position or m.label != ORG or m.credit:
                continue
            if position - m.start > _DESCRIBED_REACH:
                return None
            if quoted_only and m.canonical not in sources:
                continue
            if _is_subject(text, m) and not self._quoted(m.start):
                return self._spelled_out(m.canonical, m.start)
        return None

    def _spelled_out(self, name: str, position: int) -> str:
        """An acronym as the name the article spelled out before it ("IRCC" → "Immigration, Refugees and
        Citizenship Canada", "PBO" → "Parliamentary Budget Officer"); any other name as it is."""
        if not _ACRONYM.fullmatch(name):
            return name
        for run in reversed(list(_CAPITALISED_RUN.finditer(self.ctx.text, 0, position))):
            words = list(re.finditer(r"[A-Z][a-z][\w’'-]*", run.group()))
            for i in range(len(words) - len(name) + 1):
                if "".join(w.group()[0] for w in words[i : i + len(name)]) == name:
                    return run.group()[words[i].start() : words[i + len(name) - 1].end()]
        return name

    def _quoted(self, position: int) -> bool:
        """Whether `position` lies inside a quotation: a name the speaker says is not the story's subject."""
        k = bisect.bisect_right(self.quote_starts, position) - 1
        return k >= 0 and position < self.ctx.spans[k].outer_end

    def _introduced_as(self, m: Mention, head: str) -> bool:
        """Whether the words beside a person's full name (before it in its sentence, or in the apposition after
        it) carry `head`: "rookie defenceman Caleb Jones", "Caleb Jones, the rookie defenceman,"; for an age
        ("32-year-old"), "Aisha Mensah, 32," too."""
        text = self.ctx.text
        before = text[max(0, m.start - 60) : m.start].rsplit(". ", 1)[-1].lower()
        after = text[m.end : m.end + 80].split(". ", 1)[0].lower()
        age = re.fullmatch(r"(\d+)-year-old", head)
        if age and re.match(rf",\s*{age.group(1)}\b", after):
            return True
        word = rf"\b{re.escape(head)}\b"
        return bool(re.search(word, before) or re.match(rf",[^,]*{word}", after))

    def _described_before(self, words: list[str], position: int) -> str | None:
        """ "the 32-year-old", "the rookie defenceman", "the commission": the nearest person introduced with
        that age or that word beside their name ("rookie defenceman Caleb Jones", "Jones, 21,"), or the
        nearest organisation whose name ends in the word ("the Ontario Energy Commission")."""
        head = words[-1]
        for m in reversed(self.ctx.found):
            if m.start >= position or m.credit or position - m.start > _DESCRIBED_REACH:
                continue
            if m.label == ORG and m.text.lower().split()[-1:] == [head]:
                return m.canonical
            if m.label != PERSON or not m.full or (head.endswith("s") and not head.endswith("ss")) or head in DOCUMENTS:
                continue  # "the candidates" are several people, none of them the speaker alone; "the report" no one
            if self._introduced_as(m, head):
                return m.canonical
        return None


def _is_subject(text: str, m: Mention) -> bool:
    """Whether a person's mention is the subject of its sentence or clause, and so a candidate for a later
    "he" or "she": it opens the sentence, or a finite verb follows it; never when it owns something."""
    if _OWNS.match(text, m.end):
        return False
    return _OPENS_SENTENCE.search(text, max(0, m.start - 40), m.start) is not None or _before_verb(text, m)


def _before_verb(text: str, m: Mention) -> bool:
    """Whether a finite verb follows a mention, past an apposition or an adverb."""
    if _OWNS.match(text, m.end):
        return False
    verb = _BEFORE_VERB.match(text, m.end)
    if verb is None:
        return False
    word = verb.group(1)
    if word in SUBJECT_VERBS or word in CUES or (len(word) > 4 and word.endswith("ed")):
        return True
    # "…, Foster believes." closes a sentence on its subject and a present-tense verb
    trailing = text[max(0, m.start - 2) : m.start] == ", " and text[verb.end() : verb.end() + 1] in {".", ","}
    return trailing and word.endswith("s")
