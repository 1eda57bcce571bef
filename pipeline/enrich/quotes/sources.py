"""Sources that are no named person: an organisation, a document, or someone the article only describes.

"The ministry said", "the report found", "officials said", "a spokesperson told reporters", "a citizen
wrote", "one of the players said": when the article names nobody the phrase stands for, the source is
still the source, and an analyst wants it kept in the article's own words rather than dropped. A later
definite description with the same head ("the official" after "a justice official") means the source
described before. Applied after the `Resolver` finds no one for a noun phrase or name; such a source is
never what a later "he" or "she" refers to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pipeline.enrich import lexicon
from pipeline.enrich.entities import TITLE_MARKERS, Mention

SOURCE_NOUNS = lexicon.words("source_nouns.txt")
DESCRIPTION_OPENERS = lexicon.words("description_openers.txt")
PERSON_NOUNS = lexicon.words("person_nouns.txt")
ORG_NOUNS = lexicon.words("org_nouns.txt")
# Words a candidate phrase may drag in front of the source: "that authorities", "and officials".
_LEADING = frozenset({"that", "and", "but", "or", "as", "while", "because"})
# Words after a description's head noun: "a spokesperson for the camp", "a person familiar with the talks".
# "a document titled White Paper: …" is a document, whatever its title's last word.
_AFTER_HEAD = (
    frozenset({"of", "for", "with", "at", "from", "in", "on", "familiar", "close", "who", "based"}) | TITLE_MARKERS
)


def _words(phrase: str) -> list[str]:
    words = phrase.replace("’s", "'s").split()
    while words and words[0].lower() in _LEADING:
        words = words[1:]
    return words


def _head(words: list[str]) -> str:
    """The head noun, lower-cased: the last word before what follows it ("spokesperson" in "a spokesperson for
    the camp")."""
    return head_noun(words).lower()


def head_noun(words: list[str]) -> str:
    """The head noun as written: "spokesperson" in "a spokesperson for the camp", "players" in "one of the
    players"."""
    cut = next((n for n, w in enumerate(words) if n and w.lower() in _AFTER_HEAD), len(words))
    if words[cut - 1].lower() in DESCRIPTION_OPENERS:
        cut = len(words)  # "one of the players", "some of the residents": the noun after "of"
    return words[cut - 1].strip(".,;:")


def source_phrase(phrase: str) -> str | None:
    """The phrase as the source's name when its head noun names an organisation, a document or a group,
    or when it describes an unnamed person ("a citizen", "one of the players")."""
    words = _words(phrase)
    if not words:
        return None
    head = _head(words)
    if head.endswith("'s") or words[-1].endswith("'s"):
        return None  # "the ministry's" owns something; it is not the subject itself
    kept = " ".join(words).strip(".,;:")
    if head in SOURCE_NOUNS:
        return kept
    if words[0].lower() in DESCRIPTION_OPENERS and len(words) > 1 and _describes_people(head):
        return kept
    if _names_itself(words) or _bare_group(words, head) or _org_noun_then_name(words, head):
        return kept
    return None


def _org_noun_then_name(words: list[str], head: str) -> bool:
    """ "media buying company GroupM": an organisation introduced by what it is, then its name."""
    return len(words) > 1 and words[-1][:1].isupper() and words[-2].lower() in ORG_NOUNS


# Small words inside an organisation's name: "the National Institute on Drug Abuse", "Procter & Gamble".
_NAME_JOINERS = frozenset({"of", "on", "for", "and", "&", "the"})


def _names_itself(words: list[str]) -> bool:
    """ "the Kenya Red Cross", "the Crown", "Rally Canada": capitalised words the entity tagger left unnamed are
    still a name; with "the" one word is enough, without it two (a lone capital may only open the sentence)."""
    definite = words[0].lower() == "the"
    rest = words[1:] if definite else words
    capitals = sum(1 for w in rest if w[:1].isupper())
    return (
        bool(rest)
        and capitals >= (1 if definite else 2)
        and rest[0][:1].isupper()
        and rest[-1][:1].isupper()
        and all(w[:1].isupper() or w in _NAME_JOINERS for w in rest)
    )


def _bare_group(words: list[str], head: str) -> bool:
    """ "Brexit backers", "Republican lawmakers": a plural noun for people with no determiner is a group the
    article describes, not one it refers back to ("the lawmakers")."""
    return len(words) > 1 and head.endswith("s") and head in PERSON_NOUNS and words[0].lower() not in _NOT_BARE


# Words that make a plural phrase refer back or belong to someone: "the backers", "his aides", "those voters".
_NOT_BARE = frozenset({"the", "his", "her", "their", "its", "our", "these", "those", "this", "that"})


def _describes_people(head: str) -> bool:
    """ "citizen", "players", "columnist", "two-year-old": a noun for a person or a group of people."""
    return head in PERSON_NOUNS or head.endswith(("ist", "ists", "ian", "ians", "-year-old"))


@dataclass
class Descriptions:
    """The unnamed sources described so far in one article, by head noun, so "the official" can mean the
    "a justice official" quoted before."""

    by_head: dict[str, str] = field(default_factory=dict)

    def earlier(self, phrase: str) -> str | None:
        """The source described before that a phrase refers back to: "the person" after "a person familiar with
        the negotiations", a bare "sources" after "sources familiar with the negotiations"."""
        words = _words(phrase)
        if (len(words) == 2 and words[0].lower() == "the") or len(words) == 1:
            return self.by_head.get(_head(words))
        return None

    def source(self, phrase: str) -> str | None:
        words = _words(phrase)
        if not words:
            return None
        if words[0].lower() == "the" and len(words) > 1 and _head(words) in self.by_head:
            return self.by_head[_head(words)]
        kept = source_phrase(phrase)
        if kept is not None and (words[0].lower() in DESCRIPTION_OPENERS or _described_group(words)):
            self.by_head.setdefault(_head(words), kept)
        return kept


def _described_group(words: list[str]) -> bool:
    """ "sources familiar with the negotiations", "officials at the ministry": a plural source described by
    what follows it, which a later bare "sources" means."""
    head = _head(words)
    return len(words) > 2 and words[0].lower() == head and head.endswith("s")


# --- documents and their authors ---------------------------------------------------------------------------

DOCUMENTS = lexicon.words("utterances.txt")
# Head nouns of a subject that can speak or stand for a speaker: people, groups, organisations, documents.
SPEAKING_NOUNS = PERSON_NOUNS | SOURCE_NOUNS | DOCUMENTS | ORG_NOUNS
_DOCUMENT_WORD = re.compile(r"\b(?:" + "|".join(sorted(DOCUMENTS, key=len, reverse=True)) + r")\b", re.IGNORECASE)
# Words that may stand between an author and the document: "Kim's statement", "the company’s blog post",
# "The RCMP statement", "its preliminary findings".
_OWNER_GAP = re.compile(r"(?:[’']s?)?(?:\s+[a-z][a-z-]*){0,2}\s+$")
# "a study released Monday by Civic Action", "the latest numbers from Statistics Canada", "a document titled … on
# Canadian Pacific Railway's website": the author named after.
_AUTHOR_AFTER = re.compile(
    r"[^.;!?\n]{0,60}?\b(?:(?:by|from)\s+(?:the\s+)?|on\s+(?:the\s+)?(?=[^.;!?\n]{1,60}?[’']s\s+(?:website|site|blog)\b))"
    r"(?=[A-Z])"
)
# "said in a statement", "wrote in the company’s blog post": the document the speaker of that clause issued.
_ISSUED_IN = re.compile(r"\bin\s+(?:a|an|the|his|her|its|their)\s+(?:[\w’'-]+\s+){0,3}$", re.IGNORECASE)
# How far back (in characters) "the report" may point to a document named earlier.
_DOCUMENT_REACH = 3000


@dataclass
class Documents:
    """Who a document stands for: "The RCMP statement", "a study released by Civic Action", and later "the
    report" or "the statement" as the document named before. Annotators of both corpora name a document's
    author as the source, and an analyst wants the author too; a document whose author the article never
    names stays a document (see `source_phrase`)."""

    text: str
    found: Sequence[Mention]
    name_of: Callable[[Mention], str | None]  # the resolver's canonical name for a mention
    speaker_before: Callable[[int, int], str | None]  # the speaker resolved between two offsets, if any

    def author(self, start: int, end: int) -> str | None:
        """The author of the document phrase text[start:end], or None when the article does not say."""
        phrase = self.text[start:end]
        noun = _document_noun(phrase)
        if noun is None:
            return None
        own = self._inside(start, end, noun) or self._named_after(end)
        if own is not None:
            return own
        if phrase.lower().startswith(("a ", "an ")):
            return self._just_said(start)
        return self._earlier(start, noun.group().lower()) if phrase.lower().startswith("the ") else None

    def _just_said(self, position: int) -> str | None:
        """ "The aid group Gatsby said its director was killed. A statement said …": a document no one is named
        for, right after a sentence whose speaker is known, is that speaker's."""
        sentence = max(self.text.rfind(". ", 0, position - 2), self.text.rfind("\n", 0, position - 2))
        return self.speaker_before(sentence + 1, position)

    def _inside(self, start: int, end: int, noun: re.Match[str]) -> str | None:
        """An author named inside the phrase: "The RCMP statement", "numbers from Statistics Canada"."""
        for m in self.found:
            if start <= m.start and m.end <= end and m.label in _AUTHORS and not m.credit:
                return self.name_of(m)
        return None

    def _named_after(self, end: int) -> str | None:
        """ "a study which is being released Monday by Civic Action": the author after "by" or "from"."""
        after = _AUTHOR_AFTER.match(self.text, end)
        if after is None:
            return None
        m = next((m for m in self.found if m.start == after.end()), None)
        return self.name_of(m) if m is not None and m.label in _AUTHORS and not m.credit else None

    def _earlier(self, position: int, head: str) -> str | None:
        """ "the statement", "the report": the author of the last document of that kind named before."""
        for noun in reversed(list(_DOCUMENT_WORD.finditer(self.text, max(0, position - _DOCUMENT_REACH), position))):
            if noun.group().lower() != head:
                continue
            author = self._owner_before(noun.start()) or self._named_after(noun.end()) or self._issuer(noun.start())
            if author is not None:
                return author
        return None

    def _owner_before(self, position: int) -> str | None:
        """ "Kim's statement", "The RCMP statement": a name ending just before the document."""
        gap = _OWNER_GAP.search(self.text, max(0, position - 40), position)
        if gap is None:
            return None
        m = next((m for m in self.found if m.end == gap.start()), None)
        return self.name_of(m) if m is not None and m.label in _AUTHORS and not m.credit else None

    def _issuer(self, position: int) -> str | None:
        """ "The association said in a statement …": whoever spoke in that sentence issued the document."""
        issued = _ISSUED_IN.search(self.text, max(0, position - 40), position)
        if issued is None:
            return None
        sentence = max(self.text.rfind(". ", 0, issued.start()), self.text.rfind("\n", 0, issued.start()))
        return self.speaker_before(sentence + 1, issued.start())


_AUTHORS = frozenset({"PERSON", "ORG", "NAME"})


def _document_noun(phrase: str) -> re.Match[str] | None:
    """The document noun heading a phrase ("the white paper", "the most recent numbers from …"), if any."""
    words = _words(phrase)
    if not words:
        return None
    head = _head(words)
    for noun in _DOCUMENT_WORD.finditer(phrase):
        if noun.group().lower() == head:
            return noun
    return None
