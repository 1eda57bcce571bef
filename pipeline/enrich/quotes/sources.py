"""Sources that are no person: an organisation, a document or an unnamed group named by a common noun.

"The ministry said", "the report found", "officials said", "a spokesperson told reporters": when the
article names nobody the phrase stands for, the source is still the source, and an analyst wants it
kept in the article's own words rather than dropped. Applied after the `Resolver` finds no one for a
noun phrase or name; such a source is never what a later "he" or "she" refers to.
"""

from __future__ import annotations

from pipeline.enrich import lexicon

SOURCE_NOUNS = lexicon.words("source_nouns.txt")
# Words a candidate phrase may drag in front of the source: "that authorities", "and officials".
_LEADING = frozenset({"that", "and", "but", "or", "as", "while", "because"})


def source_phrase(phrase: str) -> str | None:
    """The phrase as the source's name when its head noun names an organisation, a document or a group."""
    words = phrase.replace("’s", "'s").split()
    while words and words[0].lower() in _LEADING:
        words = words[1:]
    if not words:
        return None
    head = words[-1].lower().strip(".,;:")
    if head.endswith("'s"):
        return None  # "the ministry's" owns something; it is not the subject itself
    return " ".join(words).strip(".,;:") if head in SOURCE_NOUNS else None
