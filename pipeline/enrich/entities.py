"""Named entities without a trained model, and their canonical names.

No trained English pipeline can be installed here, so the default path is
`spacy.blank("en")` plus rules: an entity ruler for the configured speakers
(names, aliases, descriptors) and for places, then a component that labels the
remaining runs of capitalised words by their titles and suffixes. A configured
trained model replaces the generic rules but keeps the speaker ruler, because
the analyst's speakers must always be found under their canonical names.
"""

from __future__ import annotations

import bisect
import functools
import gc
import json
import operator
import re
import string
import sys
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import msgspec
import spacy
from spacy.attrs import (
    FLAG63,
    IDX,
    IS_ALPHA,
    IS_ASCII,
    IS_BRACKET,
    IS_CURRENCY,
    IS_DIGIT,
    IS_LEFT_PUNCT,
    IS_LOWER,
    IS_PUNCT,
    IS_QUOTE,
    IS_RIGHT_PUNCT,
    IS_SPACE,
    IS_STOP,
    IS_TITLE,
    IS_UPPER,
    LIKE_EMAIL,
    LIKE_NUM,
    LIKE_URL,
    LOWER,
    NORM,
    ORTH,
    PREFIX,
    SHAPE,
    SPACY,
    SUFFIX,
)
from spacy.lang import lex_attrs as base_attrs
from spacy.lang.en import English, EnglishDefaults
from spacy.lang.en import lex_attrs as english_attrs
from spacy.language import Language
from spacy.strings import get_string_id
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc, Span
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex
from spacy.vocab import Vocab

from pipeline.config import Config, SpeakerConfig
from pipeline.enrich import lexicon
from pipeline.records import Entity

PERSON, ORG, GPE, NORP, LOC = "PERSON", "ORG", "GPE", "NORP", "LOC"

_TITLE_ROWS = lexicon.rows("titles.tsv")
# Titles that introduce a person's name; multi-word ones are matched longest first.
TITLES: frozenset[str] = frozenset(row[0] for row in _TITLE_ROWS if lexicon.column(row, 1) == "word")
MULTI_TITLES: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        (tuple(row[0].split()) for row in _TITLE_ROWS if lexicon.column(row, 1) == "phrase"),
        key=lambda t: -len(t),
    )
)
# The multi-word titles by their first word, each list still longest first: a token that opens none is skipped at once.
_MULTI_TITLES_BY_FIRST: dict[str, list[tuple[str, ...]]] = {}
for _title in MULTI_TITLES:
    _MULTI_TITLES_BY_FIRST.setdefault(_title[0], []).append(_title)
# Every word a title can open with: `_title_at` finds no title at a word outside this set.
_TITLE_OPENERS = TITLES | frozenset(_MULTI_TITLES_BY_FIRST)
FEMALE_TITLES = frozenset(row[0] for row in _TITLE_ROWS if lexicon.column(row, 2) == "she")
MALE_TITLES = frozenset(row[0] for row in _TITLE_ROWS if lexicon.column(row, 2) == "he")
ORG_SUFFIXES = lexicon.words("org_suffixes.txt")
# Runs ending in these are events or dates, not people; they are left unlabelled.
NOT_NAMES = lexicon.words("not_names.txt")
# Words that open a sentence before a name ("Later Donald J. Trump tweeted") without being part of it.
SENTENCE_OPENERS = lexicon.words("sentence_openers.txt")
LOC_SUFFIXES = lexicon.words("loc_suffixes.txt")
NAME_PARTICLES = lexicon.words("name_particles.txt")
COUNTRIES: dict[str, str] = {row[0]: lexicon.column(row, 1) for row in lexicon.rows("places.tsv")}
NATIONALITIES = lexicon.words("nationalities.txt")
# Page chrome and common-noun acronyms: never an entity on their own.
NOT_ENTITIES = lexicon.words("not_entities.txt")
# A short list of given names so pronouns can be matched to people the config
# does not describe; a wrong guess only costs a fallback to recency.
FEMALE_NAMES = lexicon.words("female_names.txt")
MALE_NAMES = lexicon.words("male_names.txt")
GIVEN_NAMES = FEMALE_NAMES | MALE_NAMES
# Given names that are also places ("Jordan", "Georgia"): a person's name may open with what the places ruler took.
PLACE_GIVEN_NAMES = lexicon.words("place_given_names.txt")
# "a document titled White Paper: …": the capitalised run after such a word is a work's title, not a person
# (labelled so, and so left out of the mentions).
TITLE_MARKERS = lexicon.words("title_markers.txt")
# "National Institute on Drug Abuse": small words inside an organisation's name, after one of its words.
ORG_JOINERS = lexicon.words("org_joiners.txt")
WORK = "WORK_OF_ART"


@dataclass
class Mention:
    """An entity with the extra facts attribution needs (token span, title, gender)."""

    start: int
    end: int
    tok_start: int
    tok_end: int
    label: str
    text: str
    canonical: str
    title: str | None = None
    speaker: bool = False
    full: bool = False
    credit: bool = False  # inside a byline or a photo credit: a name on the page, never a speaker
    caption: bool = False  # inside a photo caption: not who the story's "he" or "she" means


@dataclass(frozen=True)
class SpeakerIndex:
    """The configured speakers, looked up by lower-cased name, title or descriptor head."""

    speakers: tuple[SpeakerConfig, ...]

    @cached_property
    def _by_key(self) -> dict[str, SpeakerConfig]:
        """Every name and alias of every speaker by its key, the first speaker listed winning a shared key."""
        keys: dict[str, SpeakerConfig] = {}
        for speaker in self.speakers:
            for n in (speaker.name, *speaker.aliases):
                keys.setdefault(_name_key(n), speaker)
        return keys

    def by_name(self, name: str) -> SpeakerConfig | None:
        return self._by_key.get(_name_key(name)) if self.speakers else None

    def pronoun(self, canonical: str) -> str | None:
        speaker = self.by_name(canonical)
        return speaker.pronoun if speaker else None


# Spaces and dashes, which a name's key (`_name_key`) reads as one space. The patterns run per mention and per name,
# so they are compiled here once rather than looked up in `re`'s cache on every call.
_KEY_BREAKS = re.compile(r"[\s\-‐–]+")


def _name_key(name: str) -> str:
    return _KEY_BREAKS.sub(" ", name.replace("’", "'")).strip().lower()


def name_variants(name: str) -> set[str]:
    """Spellings of one name that wire copy uses interchangeably (Yo-jong, Yo Jong)."""
    spaced = re.sub(r"[\-‐]", " ", name).strip()
    parts = spaced.split()
    variants = {name, spaced}
    if len(parts) >= 3:
        variants.add(" ".join(parts[:-2]) + " " + parts[-2] + "-" + parts[-1].lower())
        variants.add(" ".join(parts[:-2]) + " " + parts[-2] + "-" + parts[-1])
    return {v for v in variants if v}


def descriptor_variants(descriptor: str) -> set[str]:
    """ "Kim Jong Un's sister" also reads "Kim's sister" and "the sister of Kim Jong Un"."""
    text = descriptor.replace("’", "'").strip()
    variants = {text}
    match = re.match(r"^(?:the\s+)?(.+?)'s\s+(.+)$", text, re.IGNORECASE)
    if match:
        owner, noun = match.group(1), match.group(2)
        owner_parts = owner.split()
        variants.add(f"the {noun} of {owner}")
        for part in {owner_parts[0], owner_parts[-1]}:
            variants.add(f"{part}'s {noun}")
    variants |= {v.replace("'", "’") for v in variants}
    return variants


def speaker_patterns(speakers: Sequence[SpeakerConfig]) -> list[dict[str, object]]:
    patterns: list[dict[str, object]] = []
    for speaker in speakers:
        phrases: set[str] = set()
        for name in (speaker.name, *speaker.aliases):
            phrases |= name_variants(name)
            for title in speaker.titles:
                phrases |= {f"{title} {v}" for v in name_variants(name)}
        for descriptor in speaker.descriptors:
            phrases |= descriptor_variants(descriptor)
        patterns += [{"label": PERSON, "pattern": p, "id": speaker.name} for p in sorted(phrases)]
    return patterns


def place_patterns() -> list[dict[str, object]]:
    patterns: list[dict[str, object]] = [
        {"label": GPE, "pattern": name, "id": canonical} for name, canonical in COUNTRIES.items()
    ]
    patterns += [{"label": NORP, "pattern": name, "id": name} for name in sorted(NATIONALITIES)]
    return patterns


_CACHE: dict[str, Language] = {}

# Where a doc keeps its text once read (`doc_text`).
TEXT_KEY = "wirewatch_text"


def doc_text(doc: Doc) -> str:
    """The doc's text, kept on the doc once read: `Doc.text` joins every token again on each call.

    `make_doc` seeds it with the text the doc was made from, so it is never joined at all.
    """
    text = doc.user_data.get(TEXT_KEY)
    if not isinstance(text, str):
        text = doc.text
        doc.user_data[TEXT_KEY] = text
    return text


def make_doc(nlp: Language, text: str) -> Doc:
    """`nlp(text)`, with the text kept on the doc for `doc_text`."""
    doc = nlp.make_doc(text)
    doc.user_data[TEXT_KEY] = text
    return nlp(doc)


def get_nlp(config: Config) -> Language:
    """One pipeline per (model, speakers): building it costs far more than running it."""
    key = json.dumps([config.nlp.model, msgspec.to_builtins(config.speakers)], sort_keys=True, default=str)
    nlp = _CACHE.get(key)
    if nlp is None:
        nlp = build_nlp(config)
        _CACHE[key] = nlp
    return nlp


def _trained(model: str | None) -> Language | None:
    if not model:
        return None
    try:
        nlp = spacy.load(model, exclude=["lemmatizer", "textcat"])
    except (OSError, ImportError, ValueError):
        return None
    return nlp if "ner" in nlp.pipe_names else None


def _split_glued_marks(nlp: Language) -> None:
    """Scraped copy glues quote marks to words ("said,“Look", "paranoia,”Clinton"), and a signature's dash
    to the name ("-President Obama"), and a possessive typed with a left quote mark to its owner ("Schumer‘s").

    Attribution reads a quote mark as the edge of a quotation, so the mark, and
    a comma before it, must be tokens of their own rather than hide the
    reporting verb or the speaker inside one token with the quote; a name must
    not hide inside its dash.
    """
    infixes = [*(nlp.Defaults.infixes or ()), r"[,;:](?=[“”\"„«»])", r"[“”\"„«»]"]
    prefixes = [*(nlp.Defaults.prefixes or ()), r"[-―—–](?=[A-Z])"]
    # "Schumer‘s": a possessive typed with a left quote mark, which spaCy's suffixes do not split off
    suffixes = [*(nlp.Defaults.suffixes or ()), r"(?<=\w)‘[sS]"]
    tokenizer: Tokenizer = nlp.tokenizer
    tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    tokenizer.prefix_search = compile_prefix_regex(prefixes).search
    tokenizer.suffix_search = compile_suffix_regex(suffixes).search


LexAttr = Callable[[str], object]


def _quick_like_num(like_num: LexAttr) -> LexAttr:
    """spaCy's English `like_num`, with a letters-only word answered from a set: the original scans two lists
    for every new word, a sixth of what adding a word to the vocabulary costs. A word of letters only is like a
    number exactly when its lower case is a number word ("seven", "third"); any other goes to the original."""
    words = frozenset(english_attrs._num_words) | frozenset(english_attrs._ordinal_words)

    def quick(text: str) -> object:
        return text.lower() in words if text.isalpha() else like_num(text)

    return quick


def _quick_like_url(like_url: LexAttr) -> LexAttr:
    """spaCy's `like_url`, with a word that has no "." and no "http://" prefix answered False at once (what the
    original answers after a loop over each character), a third of what adding a word to the vocabulary costs."""

    def quick(text: str) -> object:
        if "." not in text and not text.startswith(("http://", "https://")):
            return False
        return like_url(text)

    return quick


# spaCy's `word_shape` of an ASCII character: a letter is X or x, a digit d, anything else itself.
_ASCII_SHAPES = str.maketrans(
    {**dict.fromkeys(string.ascii_uppercase, "X"), **dict.fromkeys(string.ascii_lowercase, "x")}
    | dict.fromkeys(string.digits, "d")
)
# A run of five or more of one shape character, which `word_shape` cuts to four.
_LONG_RUN = re.compile(r"(.)\1{4,}", re.DOTALL)
# How many shapes' cut forms `_quick_shape` remembers before it starts again.
_MAX_REMEMBERED_SHAPES = 20_000


def _four(run: re.Match[str]) -> str:
    return run.group(1) * 4


def _quick_shape(word_shape: LexAttr) -> LexAttr:
    """spaCy's `word_shape` (a character at a time, a fifth of what adding a word to the vocabulary costs), for an
    ASCII word under 100 characters as one table translation and, for a shape of five or more characters, its
    runs cut to four once per distinct shape (few words have a shape of their own: "Xxxxx", "xxxx", "dddd");
    any other word goes to the original."""

    remembered: dict[str, str] = {}

    def quick(text: str) -> object:
        if not text.isascii() or len(text) >= 100:
            return word_shape(text)
        shape = text.translate(_ASCII_SHAPES)
        if len(shape) <= 4:
            return shape
        cut = remembered.get(shape)
        if cut is None:
            if len(remembered) >= _MAX_REMEMBERED_SHAPES:
                remembered.clear()
            cut = remembered[shape] = _LONG_RUN.sub(_four, shape)
        return cut

    return quick


def _quick_like_email(like_email: LexAttr) -> LexAttr:
    """spaCy's `like_email`, a regex match that first reads the word's leading letters, answered False at once for
    a word without "@", which its pattern needs."""

    def quick(text: str) -> object:
        return "@" in text and like_email(text)

    return quick


def _false_for_words(check: LexAttr) -> LexAttr:
    """A punctuation or symbol check (spaCy's `is_punct`, `is_quote`, `is_bracket`, …) answered False at once for
    a word whose first character is a letter or a digit, which none of them holds for."""

    def quick(text: str) -> object:
        return False if text[:1].isalnum() else check(text)

    return quick


# The lexical attributes whose function `_false_for_words` shortcuts.
_PUNCTUATION_ATTRS = (IS_PUNCT, IS_QUOTE, IS_BRACKET, IS_LEFT_PUNCT, IS_RIGHT_PUNCT, IS_CURRENCY)


# spaCy's lexical functions that only call one method of the word or slice it, each beside that method itself (or
# `operator.itemgetter`): spaCy calls a function from C for each new word, and a Python function costs several times
# the method it calls (8 % of what adding a word to the vocabulary costs, for these nine).
_PLAIN_ATTRS: dict[int, tuple[LexAttr, LexAttr]] = {
    LOWER: (base_attrs.lower, str.lower),
    PREFIX: (base_attrs.prefix, operator.itemgetter(0)),
    SUFFIX: (base_attrs.suffix, operator.itemgetter(slice(-3, None))),
    IS_ALPHA: (base_attrs.is_alpha, str.isalpha),
    IS_DIGIT: (base_attrs.is_digit, str.isdigit),
    IS_LOWER: (base_attrs.is_lower, str.islower),
    IS_SPACE: (base_attrs.is_space, str.isspace),
    IS_TITLE: (base_attrs.is_title, str.istitle),
    IS_UPPER: (base_attrs.is_upper, str.isupper),
}


def _plain_norm(norm: LexAttr) -> LexAttr:
    """spaCy's `NORM` getter, a partial of its lookup-then-`lower` function, with `str.lower` in place of spaCy's
    `lower` (the same call without its Python frame); any other getter is left as it is."""
    if (
        isinstance(norm, functools.partial)
        and norm.func is spacy.util._get_attr_unless_lookup
        and norm.args[:1] == (base_attrs.lower,)
        and not norm.keywords
    ):
        return functools.partial(norm.func, str.lower, *norm.args[1:])
    return norm


def _quick_lexeme_attrs(nlp: Language) -> None:
    """Every word the vocabulary has not seen yet runs each lexical attribute's function once: the slow ones get
    a shortcut that gives the same answers (spaCy's own functions only: a language's own one is left alone)."""
    getters: dict[int, LexAttr] = nlp.vocab.lex_attr_getters  # type: ignore[attr-defined]  # a Cython attribute
    for attr, (spacy_function, method) in _PLAIN_ATTRS.items():
        if getters.get(attr) is spacy_function:
            getters[attr] = method
    if NORM in getters:
        getters[NORM] = _plain_norm(getters[NORM])
    if LIKE_NUM in getters and nlp.lang == "en":
        getters[LIKE_NUM] = _quick_like_num(getters[LIKE_NUM])
    if LIKE_URL in getters:
        getters[LIKE_URL] = _quick_like_url(getters[LIKE_URL])
    if getters.get(SHAPE) is base_attrs.word_shape:
        getters[SHAPE] = _quick_shape(base_attrs.word_shape)
    if getters.get(LIKE_EMAIL) is base_attrs.like_email:
        getters[LIKE_EMAIL] = _quick_like_email(base_attrs.like_email)
    if getters.get(IS_ASCII) is base_attrs.is_ascii:
        getters[IS_ASCII] = str.isascii  # what spaCy's loop over each character's code point answers
    for attr in _PUNCTUATION_ATTRS:
        if attr in getters and getters[attr] is base_attrs.LEX_ATTRS.get(attr):
            getters[attr] = _false_for_words(getters[attr])


# A word ending in an ASCII letter, with no digit in it and no apostrophe or quote mark before a final s or S: no
# English suffix rule can match its end (the only suffixes ending in such a letter are "'s", "’s", "‘s" and the
# units after a number, "5km", "12ft", "3m/s").
_NO_SUFFIX = re.compile(r"[^0-9]*(?:[A-RT-Za-rt-z]|(?<!['’‘])[sS])")


# How many chunks' suffix matches `_quick_suffix_search` remembers before it starts again.
_MAX_REMEMBERED_SUFFIXES = 50_000


def _quick_suffix_search(nlp: Language) -> None:
    """The tokenizer asks the suffix rules about every new word, each time scanning the word for a match
    of any of the rules at its end: a word of ASCII letters is answered None (no suffix) at once.

    Any other chunk has its answer remembered: None for a word `_NO_SUFFIX` describes ("re-elected", "Café"), the
    rules' match for the others ("said,", "Trump.", "Kim's"). spaCy stops caching a text's chunks once one has met
    a special case ("Mr.", "don't"), so the same chunks come back article after article, and the tokenizer reads
    only the length of the match, which depends on the chunk alone."""
    tokenizer: Tokenizer = nlp.tokenizer
    search = tokenizer.suffix_search
    if search is None or nlp.lang != "en":
        return
    remembered: dict[str, re.Match[str] | None] = {}

    def quick(text: str) -> re.Match[str] | None:
        # ASCII letters only (most words) are a case of `_NO_SUFFIX` that two string methods tell, many times
        # faster than the regex
        if text.isalpha() and text.isascii():
            return None
        if text in remembered:
            return remembered[text]
        if len(remembered) >= _MAX_REMEMBERED_SUFFIXES:
            remembered.clear()
        found: re.Match[str] | None = None if _NO_SUFFIX.fullmatch(text) else search(text)
        remembered[text] = found
        return found

    tokenizer.suffix_search = quick


def _quick_prefix_search(nlp: Language) -> None:
    """The prefix rules are asked about every chunk the tokenizer splits. A chunk opening with an ASCII letter or
    digit has no prefix unless it opens with a currency written with letters ("US$", "C$", "A$"): every other
    English prefix is punctuation or a symbol. Such a chunk with no "$" among its first three characters is
    answered None (no prefix) at once, where the rules' alternation is tried at its start."""
    tokenizer: Tokenizer = nlp.tokenizer
    search = tokenizer.prefix_search
    if search is None or nlp.lang != "en":
        return

    def quick(text: str) -> re.Match[str] | None:
        first = text[:1]
        return None if first.isascii() and first.isalnum() and "$" not in text[:3] else search(text)

    tokenizer.prefix_search = quick


_NO_INFIXES: tuple[re.Match[str], ...] = ()


def _quick_infix_finditer(nlp: Language) -> None:
    """What is left of every chunk after its prefixes and suffixes is searched for infixes (hyphens, "...",
    commas between letters), a tenth of the tokenizer's time. Every English infix, and the quote marks and
    commas `_split_glued_marks` adds, holds a character that is no ASCII letter or digit, so a string of ASCII
    letters and digits alone ("Trump", "2016") is answered "no infix" at once."""
    tokenizer: Tokenizer = nlp.tokenizer
    finditer = tokenizer.infix_finditer
    if finditer is None or nlp.lang != "en":
        return

    def quick(text: str) -> Iterable[re.Match[str]]:
        return _NO_INFIXES if text.isascii() and text.isalnum() else finditer(text)

    tokenizer.infix_finditer = quick


def _quick_url_match(nlp: Language) -> None:
    """Every chunk not in the tokenizer's cache is tried as a URL before its infixes are searched; both forms of
    host spaCy's URL pattern accepts (a dotted IP address, a domain before its top-level domain) hold a ".", so a
    chunk without one is answered None (no URL) at once, where the pattern backtracks through the whole word."""
    tokenizer: Tokenizer = nlp.tokenizer
    match = tokenizer.url_match
    if match is None or nlp.lang != "en":
        return

    def quick(text: str) -> re.Match[str] | None:
        return None if "." not in text else match(text)

    tokenizer.url_match = quick


def _quick_tokenizer(nlp: Language) -> None:
    """spaCy's English tokenizer, with the shortcuts above: the same tokens, found with fewer regex searches."""
    _quick_suffix_search(nlp)
    _quick_prefix_search(nlp)
    _quick_infix_finditer(nlp)
    _quick_url_match(nlp)


# Whitespace the tokenizer's exceptions list as special cases although splitting them gives the same single token.
_WHITESPACE_CASES = frozenset({" ", "\t", "\n"})


def _cache_past_whitespace(rules: dict[str, list[dict[int, str]]]) -> dict[str, list[dict[int, str]]]:
    """spaCy's tokenizer stores a chunk's split in its cache only while no chunk of the text has met a special
    case, and a lone newline is one: past an article's first line break, every chunk was split afresh. The
    whitespace cases hold one token of the same text and nothing else (no norm), which splitting the chunk
    gives too, so they are dropped from `rules` (the tokenizer's special cases), and chunks keep being cached up
    to the first real exception ("Mr.", "don't")."""
    if all(rules.get(case) == [{ORTH: case}] for case in _WHITESPACE_CASES):
        return {string: case for string, case in rules.items() if string not in _WHITESPACE_CASES}
    return rules


def _set_up_tokenizer(nlp: Language, rules: dict[str, list[dict[int, str]]] | None = None) -> None:
    """The tokenizer's own rules and shortcuts (`_split_glued_marks`, `_quick_tokenizer`, `_cache_past_whitespace`);
    `rules` are its special cases when it was built without them (`_EnglishCasesLater`), else it holds its own.

    Each change of a spaCy tokenizer's functions splits all of its ~1,500 special cases again (a tenth of a second
    each, seven changes here): they are made while it holds no special case, and the cases are loaded once at the
    end, to the same state."""
    tokenizer: Tokenizer = nlp.tokenizer
    if rules is None:
        rules = tokenizer.rules or {}
    tokenizer.rules = {}
    _split_glued_marks(nlp)
    _quick_lexeme_attrs(nlp)
    _quick_tokenizer(nlp)
    tokenizer.rules = _cache_past_whitespace(rules)


def build_nlp(config: Config) -> Language:
    nlp = _trained(config.nlp.model)
    speakers = speaker_patterns(config.speakers)
    if nlp is not None:
        _set_up_tokenizer(nlp)
        ruler = nlp.add_pipe(
            "entity_ruler",
            name="wirewatch_speakers",
            before="ner",
            config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True},
        )
        ruler.add_patterns(speakers)  # type: ignore[attr-defined]
        return nlp
    nlp = _rule_base()
    if speakers:
        ruler = nlp.add_pipe(
            "entity_ruler",
            name="wirewatch_speakers",
            config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True},
        )
        ruler.add_patterns(speakers)  # type: ignore[attr-defined]
    _flag_capitalised(nlp)
    nlp.add_pipe("wirewatch_names")
    return nlp


class _EnglishCasesLater(English):  # type: ignore[no-untyped-call]  # spaCy's untyped __init_subclass__
    """`spacy.blank("en")`, whose tokenizer is built without its special cases, for `_set_up_tokenizer` to load
    them once, after its own changes. Built with them, the tokenizer split all ~1,300 of them on creation, and again
    when `_set_up_tokenizer` loaded them back: 0.13 s of the workers' forkserver's preload, with the workers waiting
    for it. The tokens are the same (checked on the 181 pages of the cycle bench and the PolNeAR train articles)."""

    class Defaults(EnglishDefaults):
        tokenizer_exceptions: dict[str, list[dict[int, str]]] = {}  # noqa: RUF012 - spaCy reads it from the class


def _new_rule_base() -> Language:
    """The rule pipeline's part that no config changes: the tokenizer and the places (most of a build's cost)."""
    nlp = _EnglishCasesLater()
    _set_up_tokenizer(nlp, EnglishDefaults.tokenizer_exceptions)
    places = nlp.add_pipe("entity_ruler", name="wirewatch_places")
    places.add_patterns(place_patterns())  # type: ignore[attr-defined]
    return nlp


# A rule base built ahead (`prepare_rule_base`), for the next `build_nlp` of this process to finish.
_SPARE_BASE: list[Language] = []


def prepare_rule_base() -> None:
    """Build a rule base now for this process's next rule pipeline: the workers' forkserver does, so each worker
    it forks adds only the configured speakers to it instead of building it all (once per worker per cycle)."""
    if not _SPARE_BASE:
        _SPARE_BASE.append(_new_rule_base())


def _rule_base() -> Language:
    """The base built ahead, once (a pipeline is finished in place, so a second config builds its own), else a
    new one."""
    try:
        return _SPARE_BASE.pop()
    except IndexError:
        return _new_rule_base()


_CAPITALISED = re.compile(r"(?:[A-Z][a-z]{0,3}\.)+|[A-Z](?:\.[A-Z])+\.?|[A-Z][\w'’.]*\w")


def _is_cap_word(text: str) -> bool:
    """A capitalised word, an initial or an abbreviation; `str.isalpha` is spaCy's own `is_alpha`."""
    if not text or not text[0].isupper():
        return False
    return text.isalpha() or bool(_CAPITALISED.fullmatch(text))


# `_is_cap_word` as a flag of each word in the vocabulary (one of the bits spaCy leaves free for custom flags): spaCy
# computes it once, when the word first enters the vocabulary, and then answers it for every token from that bit.
CAPITALISED = FLAG63


def _flag_capitalised(nlp: Language) -> None:
    nlp.vocab.add_flag(_is_cap_word, flag_id=CAPITALISED)


def _capitalised(doc: Doc) -> list[int]:
    """The indices of the tokens whose word is capitalised (`_is_cap_word`, the `CAPITALISED` flag)."""
    return [i for i, cap in enumerate(token_table(doc).cap) if cap]


# Where a doc keeps its `TokenTable` once built.
TABLE_KEY = "wirewatch_tokens"

# A token's trailing whitespace by spaCy's SPACY flag (0 or 1).
_TRAILING = ("", " ")

# What a `TokenTable` knows of a word: its text, lower case and length, and its lexical flags (`_WORD_FLAGS`).
WordFacts = tuple[str, str, int, bool, bool, bool, bool, bool, bool, bool, bool, bool]
_WORD_FLAGS = (IS_STOP, IS_LOWER, IS_ALPHA, IS_TITLE, IS_UPPER, IS_PUNCT, IS_SPACE, LIKE_NUM, CAPITALISED)


class TokenTable:
    """A doc's tokens as plain sequences, one per attribute.

    `doc[k]` builds a new Token object on every access, and the name rules, the mentions and the quotation
    rules ask about each token many times; each sequence here answers one attribute for every token: `texts` and
    `lowers` (spaCy's `text` and `lower_`), `starts` and `ends` (character offsets), `whitespace` (`whitespace_`),
    and the lexical flags `is_stop`, `is_lower`, `is_alpha`, `is_title`, `is_upper`, `is_punct`, `is_space`,
    `like_num` and `cap` (the `CAPITALISED` flag). Only the word ids, offsets and trailing spaces are read from the
    doc; what belongs to the word is looked up in `_words_of`, where each word's facts are read once. The doc
    keeps the table (`token_table`).
    """

    def __init__(self, doc: Doc) -> None:
        orths, self.starts, spacy_flags = doc.to_array([ORTH, IDX, SPACY]).T.tolist()
        self.orths: list[int] = orths
        words = _words_of(doc.vocab, set(orths))
        columns = _columns(list(map(words.__getitem__, orths))) or [()] * 12
        self.texts: Sequence[str] = columns[0]
        self.lowers: Sequence[str] = columns[1]
        self.ends = [a + n for a, n in zip(self.starts, columns[2], strict=True)]
        self.is_stop, self.is_lower, self.is_alpha, self.is_title, self.is_upper = columns[3:8]
        self.is_punct, self.is_space, self.like_num, self.cap = columns[8:12]
        self.whitespace = list(map(_TRAILING.__getitem__, spacy_flags))
        self.size = len(orths)


# For the vocabularies met most recently (the pipeline's own, in a worker), the `WordFacts` of each word met so far,
# by word id: a word's facts never change once it is in the vocabulary.
_WORDS: list[tuple[Vocab, dict[int, WordFacts]]] = []
_MAX_VOCABS = 2
# A vocabulary's facts are dropped and read again when they would grow past this many words.
_MAX_WORDS = 500_000


def _words_of(vocab: Vocab, orths: set[int]) -> dict[int, WordFacts]:
    """The `WordFacts` of the vocabulary's words met so far, holding at least those of `orths`."""
    words = next((known for owner, known in _WORDS if owner is vocab), None)
    if words is None:
        words = {}
        _WORDS.insert(0, (vocab, words))
        del _WORDS[_MAX_VOCABS:]
    missing = orths.difference(words)
    if len(words) + len(missing) > _MAX_WORDS:
        words.clear()
        missing = orths
    for orth in missing:
        lexeme = vocab[orth]
        text, bits = lexeme.orth_, lexeme.flags  # every flag of the word, one bit each
        words[orth] = (text, lexeme.lower_, len(text), *[bits >> flag & 1 == 1 for flag in _WORD_FLAGS])
    return words


def _columns(rows: list[WordFacts]) -> list[tuple[Any, ...]]:
    """The columns of `rows`, by `zip(*rows)`, the cheapest transposition, with the cyclic collector paused.

    `zip` makes an iterator per row, a few thousand objects of the collector's kind that all die when it returns:
    counted while they live, they would set off collections of every young object (now and then of the whole
    heap, 0.2 s), and once they are freed the collector's count is back where it was.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return list(zip(*rows, strict=True))
    finally:
        if collecting:
            gc.enable()


def token_table(doc: Doc) -> TokenTable:
    """The doc's `TokenTable`, built on the first call and kept in `doc.user_data`."""
    table = doc.user_data.get(TABLE_KEY)
    if not isinstance(table, TokenTable):
        table = doc.user_data[TABLE_KEY] = TokenTable(doc)
    return table


def _title_at(lowers: Sequence[str], i: int) -> int:
    """Length of the title starting at lowers[i], a list of lower-case words (0 when there is none); the longest
    multi-word title wins."""
    if i >= len(lowers):
        return 0
    first = lowers[i]
    for title in _MULTI_TITLES_BY_FIRST.get(first, ()):
        if tuple(lowers[i : i + len(title)]) == title:
            return len(title)
    return 1 if first in TITLES else 0


class _LowerWords:
    """The lower-case words of a doc (its tokens that are `is_lower` and `is_alpha`), as a container.

    Few runs of capitalised words ever ask, so the doc's words are gathered only on the first question: a word
    is one of them when it is lower-case and alphabetic (spaCy's `is_lower` and `is_alpha` are `str.islower` and
    `str.isalpha`) and some token of the doc has it as its text.
    """

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self.orths: set[int] | None = None

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str) or not (word.islower() and word.isalpha()):
            return False
        if self.orths is None:
            self.orths = set(token_table(self.doc).orths)
        return get_string_id(word) in self.orths


def _sentence_initial(t: TokenTable, i: int) -> bool:
    j = i - 1
    while j >= 0 and t.is_punct[j] and t.texts[j] in "\"“‘'(":
        j -= 1
    return j < 0 or bool(t.is_space[j]) or "\n" in t.whitespace[j] or t.texts[j] in {".", "?", "!", ":", "—"}


@Language.component("wirewatch_names")
def label_names(doc: Doc) -> Doc:
    """Label runs of capitalised words the rulers left alone, by title, suffix and shape."""
    kept = list(doc.ents)
    speaker_tokens = {i for ent in kept if ent.ent_id_ and ent.label_ == PERSON for i in range(ent.start, ent.end)}
    lower_words = _LowerWords(doc)
    headlines = _Headlines(doc_text(doc))
    t = token_table(doc)
    new: list[Span] = []
    end = 0
    for i in _capitalised(doc):
        if i < end or i in speaker_tokens:
            continue  # inside the run before, or a configured speaker's name
        end = _run_end(t, i, speaker_tokens)
        if i > 0 and t.lowers[i - 1] in TITLE_MARKERS:
            new.append(Span(doc, i, end, label=WORK))  # "a report titled Ready or Not" names a work, not its author
        elif not _lone_stop_word(t, i, end):
            new += _classify_run(doc, i, end, lower_words, headlines)
    set_entities(doc, sorted(_drop_overlaps(_merge_with_rulers(doc, new, kept, speaker_tokens)), key=lambda s: s.start))
    return doc


def set_entities(doc: Doc, entities: list[Span]) -> None:
    """`doc.ents = entities`, the same annotation set by spaCy's `Doc.set_ents` in two calls: every token outside
    any entity first (one span over the doc), then the entities, the rest left as it is.

    The `ents` setter makes each entity's Span again and calls `set_ents` with default "outside", which reads the
    enum member `SetEntsDefault.outside` from its class once for every token not in an entity: a thousand attribute
    look-ups an article, about 1 % of the analysis's instructions."""
    if len(doc):
        doc.set_ents([], outside=[doc[:]], default="unmodified")
    doc.set_ents(entities, default="unmodified")


def _lone_stop_word(t: TokenTable, start: int, end: int) -> bool:
    """A run of one stop word ("The", "He") after no lower-case title: `_classify_run` labels nothing there.

    Most runs are such a word opening a sentence; skipping them saves finding that out one step at a time.
    """
    if end - start != 1 or not t.is_stop[start]:
        return False
    return not (start > 0 and t.is_lower[start - 1] and _title_at(t.lowers[start - 1 : start], 0))


def _run_end(t: TokenTable, i: int, speaker_tokens: set[int]) -> int:
    """Where the run of capitalised words starting at token i ends: it goes on across short capitalised words
    after a name, a hyphen glued to a lowercase word, and particles before a capital ("Ponce de Leon")."""
    n = t.size
    cap, is_stop, texts, lowers, whitespace = t.cap, t.is_stop, t.texts, t.lowers, t.whitespace
    j = i + 1
    while j < n:
        if j in speaker_tokens:
            break
        if (cap[j] and not (is_stop[j] and lowers[j] not in TITLES)) or (
            cap[j] and len(texts[j]) <= 3 and cap[j - 1] and not is_stop[j - 1] and (j + 1 == n or not cap[j + 1])
        ):
            j += 1
        elif (
            texts[j] in {"-", "‐"}
            and j + 1 < n
            and ((t.is_lower[j + 1] and t.is_alpha[j + 1]) or (cap[j + 1] and not whitespace[j]))
            and not whitespace[j - 1]
        ):
            j += 2  # "Wilson-Raybould", "Yo-jong": a glued hyphen keeps the name whole
        elif _joins_name(t, j):
            j += 1
        elif texts[j] == "&" and j + 1 < n and cap[j + 1] and not is_stop[j + 1]:
            j += 2  # "Procter & Gamble", "Johnson & Johnson": one organisation
        else:
            break
    return j


def _joins_name(t: TokenTable, j: int) -> bool:
    """A lowercase word inside a name: a particle before a capital ("de la Fontaine"), or "on"/"for" inside an
    organisation's name ("Council on Foreign Relations")."""
    word = t.lowers[j]
    return (word in NAME_PARTICLES and _particles_then_capital(t, j)) or (
        word in ORG_JOINERS and _org_name_goes_on(t, j)
    )


def _org_name_goes_on(t: TokenTable, j: int) -> bool:
    """ "Institute on Drug Abuse", "Center for American Progress": an organisation's word, a joiner, then a
    capitalised word that is no date ("the Senate on Monday")."""
    if j + 1 >= t.size or t.lowers[j - 1] not in ORG_SUFFIXES:
        return False
    return bool(t.cap[j + 1]) and not t.is_stop[j + 1] and t.lowers[j + 1] not in NOT_NAMES


def _particles_then_capital(t: TokenTable, j: int) -> bool:
    """ "de la Fontaine", "van der Berg": particles inside a name, then a capitalised word."""
    k = j
    while k < t.size and t.lowers[k] in NAME_PARTICLES and k - j < 3:
        k += 1
    if k + 1 < t.size and t.texts[k] in {"-", "‐"} and not t.whitespace[k - 1] and not t.whitespace[k]:
        k += 1  # "Bashar al-Assad": a particle glued to the name by a hyphen
    return k < t.size and bool(t.cap[k])


def _merge_with_rulers(doc: Doc, new: list[Span], kept: list[Span], speaker_tokens: set[int]) -> list[Span]:
    """The runs labelled here together with the rulers' entities.

    A run ending in an organisation suffix swallows the places inside it
    ("Korean Central News Agency"); otherwise the rulers' entities stand.
    """
    t = token_table(doc)
    taken = {i for ent in kept for i in range(ent.start, ent.end)}
    final: list[Span] = []
    claimed: set[int] = set()
    for span in new:
        if span.label_ == ORG and any(k in taken for k in range(span.start, span.end)):
            if any(k in speaker_tokens for k in range(span.start, span.end)):
                continue
            claimed |= set(range(span.start, span.end))
            final.append(span)
        elif not any(k in taken for k in range(span.start, span.end)):
            final.append(span)
        elif span.label_ == PERSON and _place_as_given_name(doc, span, kept):
            claimed.add(span.start)
            final.append(span)
        elif span.label_ == PERSON and _ends_in_place(doc, span, kept):
            claimed |= set(range(span.start, span.end))
            final.append(Span(doc, span.start, span.end, label=ORG))
        elif span.label_ == PERSON:
            # "Sen. Sherrod Brown of Ohio": the person ends where the place begins
            end = span.start
            while end < span.end and end not in taken:
                end += 1
            while end > span.start and (t.lowers[end - 1] in NAME_PARTICLES or t.texts[end - 1] in {"-", "‐"}):
                end -= 1
            if sum(t.is_alpha[k] for k in range(span.start, end)) >= 2:
                final.append(Span(doc, span.start, end, label=PERSON))
    return final + [ent for ent in kept if not any(k in claimed for k in range(ent.start, ent.end))]


def _ends_in_place(doc: Doc, span: Span, kept: list[Span]) -> bool:
    """ "Statistics Canada", "Rally Canada", "Air Canada": words that are no given name or title before a country
    the places ruler took name an organisation, not a person whose name stops at the place (as "Sherrod Brown
    of Ohio" does)."""
    place = next((ent for ent in kept if ent.end == span.end and ent.label_ == GPE), None)
    if place is None or place.start <= span.start or place.end - place.start != 1:
        return False
    t = token_table(doc)
    return all(
        t.is_alpha[k]
        and t.is_title[k]
        and t.lowers[k] not in GIVEN_NAMES
        and t.lowers[k] not in TITLES
        and t.texts[k] not in COUNTRIES
        and t.texts[k] not in NATIONALITIES
        for k in range(span.start, place.start)
    )


def _place_as_given_name(doc: Doc, span: Span, kept: list[Span]) -> bool:
    """ "Jordan Stewart … Stewart said": a two-word name whose first word is a given name the places ruler took
    ("Jordan", "Georgia"; `place_given_names.txt`) is a person when the text also calls them by the second word
    alone.

    Only a one-word place opening a two-word run counts, and the second word must stand alone elsewhere:
    "Jordan Valley" or "China Daily" is never followed by a bare "Valley" or "Daily" acting as a name.
    """
    t = token_table(doc)
    second = span.end - 1
    if span.end - span.start != 2 or not (t.is_title[second] and t.is_alpha[second]) or t.is_stop[second]:
        return False
    if t.lowers[span.start] not in PLACE_GIVEN_NAMES:
        return False
    place = next((ent for ent in kept if ent.start == span.start), None)
    if place is None or place.end != span.start + 1 or place.label_ not in {GPE, LOC}:
        return False
    surname, given = t.texts[second], t.texts[span.start]
    return any(
        text == surname and not (k > 0 and t.texts[k - 1] == given) for k, text in enumerate(t.texts) if k != second
    )


def _drop_overlaps(spans: Iterable[Span]) -> list[Span]:
    result: list[Span] = []
    used: set[int] = set()
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.start)):
        if not any(k in used for k in range(span.start, span.end)):
            result.append(span)
            used |= set(range(span.start, span.end))
    return result


def _classify_run(doc: Doc, start: int, end: int, lower_words: Container[str], headlines: Container[int]) -> list[Span]:
    t = token_table(doc)
    lowers = t.lowers
    run = lowers[start:end]
    # Find a title anywhere in the run: what follows it is a person's name,
    # what precedes it (a nationality, a country) is labelled on its own.
    for k in range(len(run) if not _TITLE_OPENERS.isdisjoint(run) else 0):  # most runs hold no title word at all
        length = _title_at(run, k)
        if length and start + k + length < end:
            spans = _classify_run(doc, start, start + k, lower_words, headlines) if k else []
            return [*spans, Span(doc, start + k, end, label=PERSON)]
    if start > 0 and _title_at(lowers[start - 1 : start], 0) and t.is_lower[start - 1]:
        return [Span(doc, start, end, label=PERSON)]
    # both splits need three words or more ("Getty Images Kevin", "Pan of IG")
    split = (_org_then_name(doc, start, end) or _name_of_org(doc, start, end)) if end - start >= 3 else []
    if split:
        return split
    while start < end and lowers[end - 1] in NOT_NAMES:
        end -= 1
    while (
        start < end
        and not _given_name_before_apposition(t, start, end)
        and (
            t.is_stop[start]
            or lowers[start] in NOT_NAMES
            or (
                _sentence_initial(t, start)
                and (lowers[start] in lower_words or lowers[start] in SENTENCE_OPENERS or t.texts[start].endswith("ly"))
            )
        )
    ):
        start += 1
    if start >= end:
        return []
    if lowers[end - 1] in NAME_PARTICLES:
        end -= 1
    last = lowers[end - 1]
    if last in ORG_SUFFIXES or (end - start > 1 and _is_acronym(t, end - 1)):
        # "Burnaby RCMP", "Toronto FC": no person's name ends in an acronym
        return [Span(doc, start, end, label=ORG)]
    if last in LOC_SUFFIXES:
        return [Span(doc, start, end, label=LOC)]
    if end - start == 1:
        if t.is_upper[start] and len(t.texts[start]) >= 2 and t.is_alpha[start]:
            return [Span(doc, start, end, label=ORG)]
        return [Span(doc, start, end, label="NAME")]
    if t.starts[start] in headlines:
        return [Span(doc, start, end, label="NAME")]
    if (
        end - start <= 4
        and not any(lowers[k] == "of" or lowers[k] in ORG_JOINERS for k in range(start, end))
        and all(
            t.is_alpha[k] or t.texts[k] in {"-", "‐"} or lowers[k] in NAME_PARTICLES or t.texts[k].endswith(".")
            for k in range(start, end)
        )
    ):
        return [Span(doc, start, end, label=PERSON)]
    return [Span(doc, start, end, label=ORG)]


def _given_name_before_apposition(t: TokenTable, start: int, end: int) -> bool:
    """ "Will Young, a locomotive mechanic": a given name that is also a common word ("Will", "May") opens a
    two-word name when a comma follows it, as an apposition or a list does, and no verb does."""
    return (
        end - start == 2
        and end < t.size
        and t.texts[end] == ","
        and t.lowers[start] in GIVEN_NAMES
        and bool(t.is_title[end - 1])
    )


def _org_then_name(doc: Doc, start: int, end: int) -> list[Span]:
    """ "Getty Images Kevin Vickers": an organisation's last word inside a run, then a two-word name."""
    t = token_table(doc)
    for k in range(start, end - 2):
        if t.lowers[k] in ORG_SUFFIXES and k > start and all(t.is_alpha[j] and t.is_title[j] for j in (k + 1, k + 2)):
            return [Span(doc, start, k + 1, label=ORG), Span(doc, k + 1, end, label=PERSON)]
    return []


def _name_of_org(doc: Doc, start: int, end: int) -> list[Span]:
    """ "Jingyi Pan of IG", "Ann Lee of Harbour Capital": a two- or three-word name, "of", then an organisation
    (an acronym or a run ending in an organisation's word); the affiliation is not part of the name."""
    t = token_table(doc)
    of = next((k for k in range(start + 2, min(end, start + 4)) if t.lowers[k] == "of"), None)
    if of is None or of + 1 >= end:
        return []
    if (
        not all(t.is_alpha[k] and t.is_title[k] for k in range(start, of))
        or t.lowers[of - 1] in ORG_SUFFIXES
        or t.lowers[of - 1] in LOC_SUFFIXES
    ):
        return []
    if not (_is_acronym(t, of + 1) and of + 2 == end) and t.lowers[end - 1] not in ORG_SUFFIXES:
        return []
    return [Span(doc, start, of, label=PERSON), Span(doc, of + 1, end, label=ORG)]


def _is_acronym(t: TokenTable, k: int) -> bool:
    """An all-capital word of two or more letters that is not a generation suffix ("II", "JR")."""
    return (
        bool(t.is_upper[k])
        and bool(t.is_alpha[k])
        and len(t.texts[k]) >= 2
        and t.lowers[k] not in {"ii", "iii", "iv", "jr", "sr"}
    )


_LATIN_WORD_INITIAL = re.compile(r"([A-Za-z])[\w'’-]*")
# A line: a run of characters other than a line break.
_LINE = re.compile(r"[^\n]+")


class _Headlines:
    """The text's Title Case lines, where capitals say nothing about names, as a container of positions: a
    position is in it when the line holding it (a run of characters other than a line break) is one.

    Only runs of two or more capitalised words that no title, suffix or shape has labelled ask, so a line's
    words are read only when such a run stands on it, and once (reading every line of every article first was
    about 1 % of the analysis's instructions).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines: dict[int, bool] = {}  # whether the line starting at each offset is a headline

    def __contains__(self, position: object) -> bool:
        text = self.text
        if not isinstance(position, int) or not 0 <= position < len(text) or text[position] == "\n":
            return False
        start = text.rfind("\n", 0, position) + 1
        headline = self.lines.get(start)
        if headline is None:
            end = text.find("\n", position)
            headline = self.lines[start] = _is_headline(text[start : end if end >= 0 else len(text)])
        return headline


def _is_headline(line: str) -> bool:
    """Four words or more, seven in ten of them capitalised."""
    initials = _LATIN_WORD_INITIAL.findall(line)  # each word's first letter
    return len(initials) >= 4 and sum(map(str.isupper, initials)) >= 0.7 * len(initials)


def _strip_title(lowers: Sequence[str]) -> tuple[int, str | None]:
    """Index of the first name word after any leading titles in `lowers` (a name's lower-case words), and the
    title text."""
    k = 0
    title: list[str] = []
    while k < len(lowers) - 1:
        length = _title_at(lowers, k)
        if not length:
            break
        title += lowers[k : k + length]
        k += length
    return k, " ".join(title) or None


def _preceding_title(t: TokenTable, start: int) -> str | None:
    for length in (4, 3, 2, 1):
        if start - length < 0:
            continue
        first = t.lowers[start - length]
        if first not in TITLES and first not in _MULTI_TITLES_BY_FIRST:
            continue  # no title opens with this word
        words = t.lowers[start - length : start]
        if _title_at(words, 0) == length:
            return " ".join(words)
    return None


def gender_of(canonical: str, title: str | None, speakers: SpeakerIndex) -> str | None:
    configured = speakers.pronoun(canonical)
    if configured:
        return configured
    if title:
        words = set(title.split()) | {title}
        if words & FEMALE_TITLES:
            return "she"
        if words & MALE_TITLES:
            return "he"
    first = canonical.split()[0].lower() if canonical else ""
    if len(canonical.split()) > 1:
        if first in FEMALE_NAMES:
            return "she"
        if first in MALE_NAMES:
            return "he"
    return None


def mentions(doc: Doc, config: Config) -> list[Mention]:
    """Entities with canonical names: titles stripped, surnames joined to full names.

    A bare surname ("Kim") takes the full name introduced first in the article
    (usually the headline's subject); attribution later overrides this for a
    surname in a speaker's position, where the most recent full name is meant.
    """
    index = SpeakerIndex(tuple(config.speakers))
    result: list[Mention] = []
    text = doc_text(doc)
    t = token_table(doc)
    for ent in doc.ents:  # each Span's properties are read once: every read goes through spaCy's C code
        label = ent.label_
        if label not in _MENTION_LABELS:
            continue
        if label == "FAC":
            label = LOC
        start_char, end_char, tok_start, tok_end = ent.start_char, ent.end_char, ent.start, ent.end
        ent_text = text[start_char:end_char]  # Span.text would join its tokens again
        if ent_text.lower() in NOT_ENTITIES or (ent_text[1:2] == "-" and _PARTY_STATE.fullmatch(ent_text)):
            continue
        ent_id = ent.ent_id_
        if ent_id and label == PERSON and index.by_name(ent_id):
            result.append(
                Mention(start_char, end_char, tok_start, tok_end, PERSON, ent_text, ent_id, speaker=True, full=True)
            )
        elif label in _PLACE_LABELS and ent_id:
            result.append(Mention(start_char, end_char, tok_start, tok_end, label, ent_text, ent_id))
        elif label in _NAME_LABELS:
            person = _person_mention(t, index, Mention(start_char, end_char, tok_start, tok_end, label, ent_text, ""))
            if person is not None:
                result.append(person)
        else:
            result.append(Mention(start_char, end_char, tok_start, tok_end, label, ent_text, ent_text))
    for m in result:
        _with_glued_particle(t, text, m)
    _mark_page_furniture(text, result)
    return _resolve_names(result)


# The entity labels `mentions` keeps, the places' labels whose ruler gives a canonical name, and a person's.
_MENTION_LABELS = frozenset({PERSON, ORG, GPE, NORP, LOC, "NAME", "FAC"})
_PLACE_LABELS = frozenset({GPE, NORP})
_NAME_LABELS = frozenset({PERSON, "NAME"})


def _person_mention(t: TokenTable, index: SpeakerIndex, m: Mention) -> Mention | None:
    """A person's or lone name's mention `m` with its canonical name, title, speaker and full-name flags; None
    when nothing but titles and possessive marks is left of it."""
    k, title = _strip_title(t.lowers[m.tok_start : m.tok_end])
    m.title = title or _preceding_title(t, m.tok_start)
    name_start, name_end = m.tok_start + k, m.tok_end
    while name_end > name_start and t.texts[name_end - 1] in {"’s", "'s", "‘s", "'", "’", "‘"}:
        name_end -= 1
    if name_end == name_start:
        return None
    name_words = "".join(t.texts[j] + t.whitespace[j] for j in range(name_start, name_end))
    # "Schumer‘s": a possessive glued on with a mark the tokenizer does not split off
    name = name_words.strip()
    if name.endswith(_GLUED_POSSESSIVES):
        name = name[:-2]
    # "Sergeant-at-Arms Kevin Vickers": the rest of a hyphenated title is no part of the name, nor is a
    # party-state tag run into it ("D-Conn. Schumer"); both open with a hyphen or a letter and a hyphen
    if name[:1] in _HYPHENS or name[1:2] == "-":
        name = _TITLE_TAIL_OR_PARTY.sub("", name)
    speaker = index.by_name(name)
    m.canonical = speaker.name if speaker else name
    m.speaker = bool(speaker)
    # "Jody Wilson-Raybould" is a full name, "Wilson-Raybould" alone a surname
    m.full = len([w for w in name.split() if w[0].isalpha()]) > 1 or bool(speaker)
    return m


# "Schumer‘s": a possessive glued on with a mark the tokenizer does not split off (a name's ending, tested with
# `str.endswith` rather than a regex, once per name).
_GLUED_POSSESSIVES = ("’s", "'s", "‘s")
_HYPHENS = ("-", "‐")
# "Sergeant-at-Arms Kevin Vickers", "D-Conn. Schumer": the rest of a hyphenated title, or a party-state tag, before a
# name.
_TITLE_TAIL_OR_PARTY = re.compile(r"^(?:(?:[-‐][\w.]+)+|[DRI]-[A-Z][A-Za-z.]*)\s+")


def _with_glued_particle(t: TokenTable, text: str, m: Mention) -> None:
    """ "al-Shabaab", "al-Assad" alone: the lowercase particle glued on before the name is part of it."""
    k = m.tok_start
    if k < 2 or m.label not in {PERSON, ORG, "NAME"} or t.texts[k - 1] not in {"-", "‐"}:
        return
    particle = k - 2
    if t.lowers[particle] not in NAME_PARTICLES or t.whitespace[particle] or t.whitespace[k - 1]:
        return
    if m.canonical == m.text:
        m.canonical = text[t.starts[particle] : m.start] + m.canonical
    m.start, m.tok_start = t.starts[particle], particle
    m.text = text[m.start : m.end]


# A US legislator's party and state after the name ("Sen. Debbie Stabenow, D-Mich."): no entity of its own.
_PARTY_STATE = re.compile(r"[DRI]-[A-Z][A-Za-z.]*")


# Bylines and photo credits: "(AP Photo/Susan Walsh, File)", "(Lauren Pelley / CBC News)", a short line
# "AP Photo/Susan Walsh, File" or "Photo: Jason Wu / Global News", and "By Maria Chen" alone on its line.
_CREDIT = re.compile(
    r"\([^()\n]{0,80}/[^()\n]{0,80}\)"
    r"|^[^\S\n]*[^\n/.!?]{0,50}/[^\n/.!?]{0,50}$"
    r"|^[^\S\n]*(?:by|photo|photograph|credit|image)\b:?[^\n.!?]{0,60}$",
    re.MULTILINE | re.IGNORECASE,
)
# Photo captions: a paragraph that ends on a credit ("(Jason Wu / Global News)", "( Toronto Star file photo )",
# or after its last sentence, unbracketed: "… on Monday. Quyen Cheng/THE CANADIAN PRESS"), or opens with "Cover:",
# "Photo:", "Caption:".
_CAPTION = re.compile(
    r"^[^\n]*\((?:[^()\n]{0,80}/[^()\n]{0,80}|[^()\n]{0,60}\bphoto\b[^()\n]{0,20})\)[^\S\n]*$"
    r"|^[^\n]*[.!?][^\S\n]+(?-i:[A-Z][\w'’-]+(?:[^\S\n][A-Z][\w'’-]+){1,3}[^\S\n]?/[^\S\n]?[A-Z][\w&'’-]*"
    r"(?:[^\S\n][A-Z][\w&'’-]*){0,4})[^\S\n]*$"
    r"|^(?:cover|photo|caption|pictured):[^\n]*$",
    re.MULTILINE | re.IGNORECASE,
)


# What a line opens with (past its spaces) when `_CREDIT`'s "by …"/"photo …"/"credit …"/"image …" line can match it:
# those words' first letters in either case, and the two dotted and dotless i that match "i" under IGNORECASE.
_CREDIT_LINE_OPENERS = frozenset("bBpPcCiIİı")
# The same for `_CAPTION`'s "cover:"/"photo:"/"caption:"/"pictured:" line, which has no spaces before it.
_CAPTION_LINE_OPENERS = frozenset("cCpP")


def _page_furniture(text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The spans of `_CREDIT`'s and `_CAPTION`'s matches in `text`, as `finditer` over the whole text finds them.

    No match of either runs across a line break, so each line is searched on its own, and only a line holding
    what each needs: a "/" or a credit's opening word (`_CREDIT`), a "/", a "(" or a caption's opening word
    (`_CAPTION`, whose every branch spans the whole line). Most lines hold none of these; searching the whole
    text tried both patterns' branches at every character, about 4 % of the analysis's instructions.
    """
    credit_spans: list[tuple[int, int]] = []
    captions: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        start, end = line.span()
        slash = text.find("/", start, end) >= 0
        if slash or line.group().lstrip()[:1] in _CREDIT_LINE_OPENERS:
            credit_spans += [credit.span() for credit in _CREDIT.finditer(text, start, end)]
        if slash or text.find("(", start, end) >= 0 or text[start] in _CAPTION_LINE_OPENERS:
            caption = _CAPTION.match(text, start, end)
            if caption is not None:
                captions.append(caption.span())
    return credit_spans, captions


def _mark_page_furniture(text: str, found: list[Mention]) -> None:
    """Flag the names in bylines, photo credits and captions, which name people who are not speaking."""
    credit_spans, captions = _page_furniture(text)
    if not credit_spans and not captions:
        return
    for m in found:
        m.credit = _inside_one(credit_spans, m.start, m.end)
        m.caption = m.credit or _inside_one(captions, m.start, m.end)


def _inside_one(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether text[start:end] lies inside one of `spans` (a regex's matches: in text order, not overlapping), by
    the one span that can hold it, the last to start at or before `start`, rather than by trying each."""
    k = bisect.bisect_right(spans, (start, sys.maxsize)) - 1
    return k >= 0 and end <= spans[k][1]


def name_parts(canonical: str) -> list[str]:
    """The lower-case parts of a name, split at spaces and hyphens (`[\\s\\-‐]+`, done with string methods: it runs
    for every mention, several times)."""
    return canonical.replace("-", " ").replace("‐", " ").lower().split()


def _merge_key(canonical: str) -> str:
    return " ".join(name_parts(canonical))


def _without_initials(canonical: str) -> str:
    parts = name_parts(canonical)
    return " ".join([parts[0], *(p for p in parts[1:-1] if len(p.rstrip(".")) > 1), parts[-1]])


def _fold_initials(first_form: dict[str, str]) -> None:
    """ "Donald J. Trump" and "Donald Trump" in one article are one person, named without the initial.

    Only when a single initialled form meets the plain one: "George H. W. Bush" and
    "George W. Bush" are two people, and so "George Bush" beside both stays apart.
    """
    forms: dict[str, list[str]] = {}
    for key, name in first_form.items():
        if len(name_parts(name)) > 1:
            forms.setdefault(_without_initials(name), []).append(key)
    for bare, keys in forms.items():
        if len(keys) == 2 and bare in keys:
            initialled = next(key for key in keys if key != bare)
            first_form[initialled] = first_form[bare]


def _resolve_names(found: list[Mention]) -> list[Mention]:
    """Give bare names their full form and decide what a lone capitalised word was."""
    first_form: dict[str, str] = {}
    for m in found:
        if m.label == PERSON and m.full:
            first_form.setdefault(_merge_key(m.canonical), m.canonical)
    _fold_initials(first_form)
    for m in found:
        if m.label == "NAME" and _merge_key(m.canonical) in first_form:
            m.label, m.full = PERSON, True
    full_names = list(first_form.values())
    # each full name's first and last word, split once rather than once per bare name that looks for its holder
    ends = [(name, parts[0], parts[-1]) for name in full_names for parts in [name_parts(name)]]
    surnames = {last for _, _, last in ends}
    given = {first for _, first, _ in ends} & PLACE_GIVEN_NAMES
    # the first full name (in `first_form`'s order) each word opens or ends, looked up once per bare name
    holders: dict[str, str] = {}
    for name, first, last in ends:
        holders.setdefault(first, name)
        holders.setdefault(last, name)
    for m in found:
        # "Cuban" after "Mark Cuban" is the man, not a nationality; "Jordan said" after "Jordan Stewart" the
        # captain, not the country
        if (m.label == NORP and m.text.lower() in surnames) or (m.label == GPE and m.text.lower() in given):
            m.label, m.canonical = "NAME", m.text
    resolved: list[Mention] = []
    for m in found:
        if m.label == PERSON and m.full:
            m.canonical = first_form[_merge_key(m.canonical)]
            resolved.append(m)
            continue
        if m.label not in {PERSON, "NAME"}:
            resolved.append(m)
            continue
        holder = holders.get(m.canonical.lower())
        if holder is not None:
            m.canonical = holder
            m.label = PERSON
            resolved.append(m)
        elif m.label == PERSON or m.title:
            m.label = PERSON
            resolved.append(m)
        else:
            m.label = "NAME"
            resolved.append(m)
    return resolved


class NameIndex:
    """Fully named people by each word of their name, for resolving a bare surname in O(log n)."""

    def __init__(self, found: Sequence[Mention]) -> None:
        self.by_word: dict[str, tuple[list[int], list[str]]] = {}
        for m in found:
            if m.label == PERSON and m.full and not m.credit:
                parts = name_parts(m.canonical)
                for word in {parts[0], parts[-1], m.canonical.split()[-1].lower(), *name_parts(m.text)}:
                    starts, names = self.by_word.setdefault(word, ([], []))
                    starts.append(m.start)
                    names.append(m.canonical)

    def holder(self, word: str, before: int) -> str | None:
        """The most recent fully named person (before `before`) that `word` can be short for."""
        entry = self.by_word.get(word.lower())
        if entry is None:
            return None
        k = bisect.bisect_left(entry[0], before)
        return entry[1][k - 1] if k else None


def to_entities(found: Iterable[Mention]) -> list[Entity]:
    """Public records; lone capitalised words never resolved to a person are dropped."""
    return [Entity(m.text, m.label, m.start, m.end, m.canonical) for m in found if m.label != "NAME" and not m.credit]
