"""Sources that are no named person: an organisation, a document, or someone the article only describes.

"The ministry said", "the report found", "officials said", "a spokesperson told reporters", "a citizen
wrote", "one of the players said": when the article names nobody the phrase stands for, the source is
still the source, and an analyst wants it kept in the article's own words rather than dropped. A later
definite description with the same head ("the official" after "a justice official") means the source
described before. Applied after the `Resolver` finds no one for a noun phrase or name; such a source is
never what a later "he" or "she" refers to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.enrich import lexicon

SOURCE_NOUNS = lexicon.words("source_nouns.txt")
DESCRIPTION_OPENERS = lexicon.words("description_openers.txt")
PERSON_NOUNS = lexicon.words("person_nouns.txt")
# Words a candidate phrase may drag in front of the source: "that authorities", "and officials".
_LEADING = frozenset({"that", "and", "but", "or", "as", "while", "because"})
# Words after a description's head noun: "a spokesperson for the camp", "a person familiar with the talks".
_AFTER_HEAD = frozenset({"of", "for", "with", "at", "from", "in", "on", "familiar", "close", "who", "based"})


def _words(phrase: str) -> list[str]:
    words = phrase.replace("’s", "'s").split()
    while words and words[0].lower() in _LEADING:
        words = words[1:]
    return words


def _head(words: list[str]) -> str:
    """The head noun: the last word before what follows it ("spokesperson" in "a spokesperson for the camp")."""
    cut = next((n for n, w in enumerate(words) if n and w.lower() in _AFTER_HEAD), len(words))
    if words[cut - 1].lower() in DESCRIPTION_OPENERS:
        cut = len(words)  # "one of the players", "some of the residents": the noun after "of"
    return words[cut - 1].lower().strip(".,;:")


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
    if _names_itself(words) or _bare_group(words, head):
        return kept
    return None


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

    def source(self, phrase: str) -> str | None:
        words = _words(phrase)
        if not words:
            return None
        if words[0].lower() == "the" and len(words) > 1 and _head(words) in self.by_head:
            return self.by_head[_head(words)]
        kept = source_phrase(phrase)
        if kept is not None and words[0].lower() in DESCRIPTION_OPENERS:
            self.by_head.setdefault(_head(words), kept)
        return kept
