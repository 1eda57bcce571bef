"""trafilatura, made cheaper in place at import: each patch keeps what trafilatura gives back the same.

A worker's extraction is most of a cycle's CPU, and most of that is trafilatura's own work on a page: its parser's
element lookup, its regular expressions over the whole page, its XPath expressions, its copies of the tree. Each
function here replaces one such piece where trafilatura looks it up, and says what it saves and why the output
cannot change; the tests compare each with trafilatura's own. Importing `pipeline.extract` imports this module, so
every process that extracts has them all (`patch_trafilatura`). Every patch keeps what it replaced, so that
`as_shipped` can give a process trafilatura as it ships: the cycle bench's yardstick runs `trafilatura.extract` in
workers that may come from a process that imported this module.
"""

from __future__ import annotations

import copy
import functools
import importlib
import re
from collections.abc import Callable, Mapping, MutableSequence
from re import _constants as sre_constants  # type: ignore[attr-defined]  # the parser's opcodes
from re import _parser as sre_parser  # type: ignore[attr-defined]  # the stdlib's own regular-expression parser
from typing import Any

from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlElementClassLookup, HtmlEntity, HtmlProcessingInstruction
from trafilatura import core as trafilatura_core
from trafilatura import external as trafilatura_external
from trafilatura import metadata as trafilatura_metadata
from trafilatura import settings as trafilatura_settings
from trafilatura import utils as trafilatura_utils
from trafilatura import xpaths as trafilatura_xpaths
from trafilatura.htmlprocessing import convert_tags, tree_cleaning
from trafilatura.utils import HTML_PARSER, load_html

# How to put back what each patch replaced, in the order the patches were applied (`as_shipped`).
_UNDO: list[Callable[[], None]] = []


def _replace(owner: Any, name: str, value: Any) -> None:
    """`owner.name = value` (a module's attribute), keeping the value it had for `as_shipped`."""
    before = getattr(owner, name)
    _UNDO.append(lambda: setattr(owner, name, before))
    setattr(owner, name, value)


def as_shipped() -> None:
    """Undo every patch of this module, the latest first: trafilatura as it ships. `patch_trafilatura` applies them
    again."""
    while _UNDO:
        _UNDO.pop()()


def _lxml_html_lookup() -> None:
    HTML_PARSER.set_element_class_lookup(HtmlElementClassLookup())


def use_c_element_lookup() -> None:
    """Give trafilatura's parser lxml's element class lookup written in C, with the classes lxml.html gives
    elements, comments, processing instructions and entities.

    lxml.html's own lookup is a Python method that lxml calls each time it hands an element to Python: 3,750
    times a page, 4.6 % of `extract`'s instructions (callgrind, 40 AEB pages). What it adds over this one is
    a class per form field (FormElement, InputElement, ...), whose form-handling methods neither trafilatura
    nor htmldate calls: the output is the same on the 449 pages of both extraction data sets."""
    _UNDO.append(_lxml_html_lookup)
    HTML_PARSER.set_element_class_lookup(
        etree.ElementDefaultClassLookup(
            element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
        )
    )


# The control characters trafilatura's `INVALID_XML_CHARS` deletes (C0 controls but tab, newline and carriage
# return), as bytes: in UTF-8 they are these single bytes, and no other character's encoding holds a byte below 0x80
# but its own ASCII character. Its two other characters, U+FFFE and U+FFFF, are looked for in the text itself.
_C0_DELETED = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])


class ScreenedPattern:
    """trafilatura's `INVALID_XML_CHARS`, with a cheap screen before its `sub`.

    `load_html` runs `INVALID_XML_CHARS.sub("", page)` on every page given as a string (`repair_faulty_html`):
    a character-class regex over the whole page, 1.45 ms a page on the 181 AEB pages (173 kB on average), where
    none of the pages holds one of those characters. Encoding the page to UTF-8 and deleting the control bytes
    with `bytes.translate` tells the same in 0.3 ms; only a page that holds one goes through the regex, so the
    page trafilatura parses is the same string. `original` is trafilatura's own pattern, which the screen
    hands the rare page on to."""

    def __init__(self, original: re.Pattern[str]) -> None:
        self.original = original

    def sub(self, repl: str, string: str, count: int = 0) -> str:
        if not holds_invalid_xml_chars(string):
            return string
        return self.original.sub(repl, string, count)


def holds_invalid_xml_chars(text: str) -> bool:
    """Whether `text` holds a character trafilatura's `INVALID_XML_CHARS` matches."""
    encoded = text.encode("utf-8", "surrogatepass")
    return len(encoded.translate(None, _C0_DELETED)) != len(encoded) or "\ufffe" in text or "\uffff" in text


def screen_invalid_xml_chars() -> None:
    """Put `ScreenedPattern` in place of trafilatura's `INVALID_XML_CHARS` (once; the only reader is
    `repair_faulty_html`, which looks the name up at each call)."""
    if not isinstance(trafilatura_utils.INVALID_XML_CHARS, ScreenedPattern):
        _replace(trafilatura_utils, "INVALID_XML_CHARS", ScreenedPattern(trafilatura_utils.INVALID_XML_CHARS))


def keeps_every_character(string: str) -> bool:
    """Whether trafilatura's `remove_control_characters` gives `string` back as it is: every character printable or
    a space. `isprintable` alone says no to a text with a line break (most texts and tails of a page), and
    trafilatura then rebuilds the string a character at a time; without its spaces (what `split` splits at is what
    `isspace` calls a space), a string whose other characters are all printable needs no rebuilding."""
    return string.isprintable() or "".join(string.split()).isprintable()


class ScreenedRemoval:
    """trafilatura's `remove_control_characters`, with `keeps_every_character` before it: its page measure
    (`html2txt`) runs it on the text and the tail of every block element of the page: 401 strings a page on the
    181 AEB pages, 0.98 ms, against 0.22 with the screen, as nearly all come back as they are. `original` is
    trafilatura's own."""

    def __init__(self, original: Callable[[str], str]) -> None:
        self.original = original

    def __call__(self, string: str) -> str:
        return string if keeps_every_character(string) else self.original(string)


def screen_control_characters() -> None:
    """Put `ScreenedRemoval` in place of `remove_control_characters` where trafilatura looks it up at each call:
    `utils` (`line_processing`) and `baseline`, which imported it by name (once)."""
    if not isinstance(trafilatura_utils.remove_control_characters, ScreenedRemoval):
        screened_removal = ScreenedRemoval(trafilatura_utils.remove_control_characters)
        _replace(trafilatura_utils, "remove_control_characters", screened_removal)
        _replace(trafilatura_baseline, "remove_control_characters", screened_removal)


class SplitJoinPattern:
    """trafilatura's `JSON_MINIFY`, whose `sub(r"\\1", text)` is done by `split` and `join`.

    `extract_meta_json` minifies each JSON-LD script with `JSON_MINIFY.sub(r"\\1", text)`: the pattern matches every
    string literal (group 1) and every whitespace character outside them, and a template replacement calls back
    into Python (`re._parser.expand_template`) at each match, 0.46 ms a page on the 181 AEB pages. `split` gives
    the text between matches and each match's group 1 (None for whitespace), so joining what is not None is the
    same string, in 0.2 ms. Any other replacement goes to the pattern itself."""

    def __init__(self, original: re.Pattern[str]) -> None:
        self.original = original

    def sub(self, repl: str, string: str, count: int = 0) -> str:
        if repl != r"\1" or count:
            return self.original.sub(repl, string, count)
        return "".join(filter(None, self.original.split(string)))


def split_json_minify() -> None:
    """Put `SplitJoinPattern` in place of trafilatura's `JSON_MINIFY` (once; `extract_meta_json`, its only reader,
    looks the name up at each call). The yardstick's `trafilatura.extract` reads no metadata, so it never runs it."""
    if not isinstance(trafilatura_metadata.JSON_MINIFY, SplitJoinPattern):
        _replace(trafilatura_metadata, "JSON_MINIFY", SplitJoinPattern(trafilatura_metadata.JSON_MINIFY))


# ---------------------------------------------------------------------------
# trafilatura's XPath expressions, rewritten

# trafilatura prunes and searches each page with XPath expressions shaped `.//*[self::div or self::section][...]`:
# libxml2 walks every element of the tree and evaluates the tag test as a predicate of its own (a node-set per
# element), then the rest. Each expression is written again where that keeps its selection, elements and order:
#
# * By tag (`by_tag`): `.//*[self::div or self::section][P]` is `(.//div|.//section)[P]`, where libxml2 picks the
#   elements by name as it walks and sorts the union into document order. Not when a predicate counts positions
#   (`[1]`, `position()`, `last()`): those count within the node-set, which is not the same one.
# * A screen before each `re:test` (`screened`): EXSLT's `re:test(@class, 'pattern')` calls back into Python for
#   every element asked about, with or without the attribute. A pattern that needs one of a few fixed strings
#   ("comment", "infinite": `required_strings`) cannot match a value without them, nor the empty string an absent
#   attribute reads as. So `re:test(@a, 'p')` becomes `((contains(@a, 'x') or contains(@a, 'y')) and re:test(@a,
#   'p'))`, or, when the pattern needs one of many strings or is case-insensitive, `((@a) and re:test(@a, 'p'))`:
#   the screen runs inside libxml2, `and` skips its right side when the left is false, and the test implies the
#   screen, so the value is the same. A screen of dozens of `contains` costs more than the call it saves
#   (trafilatura's boilerplate list, 3.2 -> 8.2 ms a page), hence `_MAX_SCREEN_STRINGS`.
#
# Measured on the first 80 of the extraction benchmark's pages, alone: the two expressions trafilatura runs on
# every whole page before extracting (`RAW_TREE_PRUNE_XPATH`, `REMOVE_COMMENTS_AND_LISTS_XPATH`) 3.5 -> 1.1 ms a
# page, its boilerplate list 10.5 -> 7.0, the cleaning of its page measure (`BASIC_CLEAN_XPATH`) 8.6 -> 5.6.

_REGEXP_NS = "http://exslt.org/regular-expressions"

# `re:test(@a, 'pattern')`, `re:test(@a|@b, 'pattern', 'flags')`, not screened already.
_TEST = re.compile(
    r"(?<!\) and )re:test\(\s*(?P<attributes>@[\w-]+(?:\s*\|\s*@[\w-]+)*)\s*,\s*'(?P<pattern>[^']*)'\s*"
    r"(?:,\s*'(?P<flags>[^']*)'\s*)?\)"
)
_ATTRIBUTE = re.compile(r"@[\w-]+")
# A screen of more strings than this costs more than the test it saves; the attribute's presence screens instead.
_MAX_SCREEN_STRINGS = 4

# `.//*[self::a or self::b ...]` at the start of an expression, and what makes a predicate count positions.
_TAG_STEP = re.compile(r"\s*\.//\*\[\s*(self::[a-z][\w-]*(?:\s+or\s+self::[a-z][\w-]*)*)\s*\]")
_TAG = re.compile(r"self::([a-z][\w-]*)")
_POSITIONAL = re.compile(r"\[\s*\d|position\(|last\(")
# `(path)[1]`, the parenthesis kept; and a path ending in `[1]`.
_FIRST_OF = re.compile(r"\s*(\(.*\))\s*\[\s*1\s*\]\s*", re.DOTALL)
_LAST_FIRST = re.compile(r"(.*?)\s*\[\s*1\s*\]\s*", re.DOTALL)


def required_strings(pattern: str) -> set[str] | None:
    """Strings one of which every match of `pattern` holds, or None when there are none to name (a pattern that
    may match the empty string, one made only of classes and repeats, or one with case-insensitive parts)."""
    try:
        parsed = sre_parser.parse(pattern)
    except re.error:
        return None
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return None
    return _sequence_strings(list(parsed))


def _sequence_strings(items: list[tuple[Any, Any]]) -> set[str] | None:
    """For a sequence, every item of which a match passes: of its items' strings (each run of literal characters
    is one), those whose shortest is longest."""
    candidates: list[set[str]] = []
    run: list[str] = []
    for opcode, argument in items:
        if opcode is sre_constants.LITERAL:
            run.append(chr(argument))
            continue
        if run:
            candidates.append({"".join(run)})
            run = []
        found = _item_strings(opcode, argument)
        if found:
            candidates.append(found)
    if run:
        candidates.append({"".join(run)})
    return max(candidates, key=lambda strings: min(map(len, strings)), default=None)


def _item_strings(opcode: Any, argument: Any) -> set[str] | None:
    """The strings a group, an alternation or a repeat of at least once needs; None for any other item (a class,
    an anchor, a lookaround, an optional part), which the sequence's other items then stand for."""
    if opcode is sre_constants.SUBPATTERN:
        _group, add_flags, _del_flags, pattern = argument
        return None if add_flags & (re.IGNORECASE | re.VERBOSE) else _sequence_strings(list(pattern))
    if opcode is sre_constants.BRANCH:
        found: set[str] = set()
        for branch in argument[1]:
            strings = _sequence_strings(list(branch))
            if not strings:
                return None
            found |= strings
        return found
    if opcode in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT) and argument[0] >= 1:
        return _sequence_strings(list(argument[2]))
    return None


def _screen(test: re.Match[str]) -> str:
    """The screened form of one `re:test` (`_TEST`), or the test as it is for a pattern that may match the empty
    string."""
    strings = required_strings(test["pattern"])
    if not strings:
        return test[0]
    attributes = _ATTRIBUTE.findall(test["attributes"])
    if test["flags"] or len(strings) > _MAX_SCREEN_STRINGS:
        screen = " or ".join(attributes)
    else:
        screen = " or ".join(f"contains({a}, '{s}')" for a in attributes for s in sorted(strings))
    return f"(({screen}) and {test[0]})"


def screened(path: str) -> str:
    """`path` with each `re:test` it holds screened."""
    return _TEST.sub(_screen, path)


def by_tag(path: str) -> str:
    """`path` with a leading `.//*[self::a or self::b]` written as `(.//a|.//b)`, unless a predicate counts
    positions; in `(path)[1]` too, the first element of the same selection."""
    first = _FIRST_OF.fullmatch(path)
    if first is not None and _enclosed(first[1]):
        inner = by_tag(first[1][1:-1])
        return path if inner == first[1][1:-1] else f"({inner})[1]"
    step = _TAG_STEP.match(path)
    if step is None or _POSITIONAL.search(path, step.end()):
        return path
    return "(" + "|".join(f".//{tag}" for tag in _TAG.findall(step[1])) + ")" + path[step.end() :]


def _enclosed(text: str) -> bool:
    """Whether the parenthesis that opens `text` closes at its end, and not before (`(a)[1]|(b)` is not)."""
    depth, quoted = 0, False
    for i, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
            if depth == 0:
                return i == len(text) - 1
    return False


def first_only(path: str) -> str:
    """For a reader that takes only the first element selected: `.//*[self::a][P][1]`, the first child of each
    element that is an `a` meeting P, as `(.//*[self::a][P])[1]`, the first such element of the subtree; the first
    in document order is the same, and the union `by_tag` writes then applies. Any other form is kept."""
    last = _LAST_FIRST.fullmatch(path)
    step = _TAG_STEP.match(last[1]) if last else None
    if last is None or step is None or _POSITIONAL.search(last[1], step.end()):
        return path
    if bracket_groups(last[1][step.end() :]) is None:  # a step after the predicates: the `[1]` is that step's
        return path
    return f"({last[1]})[1]"


def faster(expression: etree.XPath, first: bool = False) -> etree.XPath:
    """`expression` rewritten (`by_tag`, `screened`; `first_only` too for a reader of the `first` element only) and
    compiled; itself when none applies, or when the rewritten form does not compile."""
    path = screened(by_tag(first_only(expression.path) if first else expression.path))
    if path == expression.path:
        return expression
    try:
        return etree.XPath(path, namespaces={"re": _REGEXP_NS})
    except Exception:  # noqa: BLE001 - an expression this misreads keeps working as trafilatura wrote it
        return expression


def make_faster(expressions: MutableSequence[Any], first: bool = False) -> None:
    """Each XPath of a list rewritten (`faster`; for a reader of the `first` element only) in the list itself, so
    that every module that imported the list has it."""
    for i, expression in enumerate(expressions):
        if isinstance(expression, etree.XPath):
            expressions[i] = faster(expression, first)
            _UNDO.append(functools.partial(expressions.__setitem__, i, expression))


def outside_quotes(text: str, separator: str) -> list[str] | None:
    """`text` split at `separator` where it stands outside quotes, brackets and parentheses; None when they do
    not balance."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(text):
        char = text[i]
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "[(":
            depth += 1
        elif not quoted and char in "])":
            depth -= 1
        elif not quoted and depth == 0 and text.startswith(separator, i):
            parts.append(text[start:i])
            i = start = i + len(separator)
            continue
        i += 1
    if depth or quoted:
        return None
    parts.append(text[start:])
    return parts


def bracket_groups(text: str) -> list[str] | None:
    """The insides of the bracketed groups `text` is made of (`[a][b]`), or None when it is not made of them."""
    groups, depth, quoted, start = [], 0, False, 0
    for i, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char == "[":
            depth += 1
            start = i + 1 if depth == 1 else start
        elif char == "]":
            depth -= 1
            if depth == 0:
                groups.append(text[start:i])
        elif depth == 0 and not char.isspace():
            return None
    return None if depth or quoted else groups


# ---------------------------------------------------------------------------
# an expression's regular-expression branches, screened by the page's attribute values

# A branch of a union that selects elements by their attributes' values alone: `.//*[re:test(@a, 'p', 'i') or ...]`.
_VALUE_BRANCH = re.compile(r"\.//\*\[(.*)\]", re.DOTALL)
_VALUE_TEST = re.compile(r"re:test\(\s*@([\w-]+)\s*,\s*'([^']*)'\s*(?:,\s*'(i?)'\s*)?\)")


class ValueScreenedXPath:
    """An XPath union some branches of which select elements by EXSLT regular expressions on their attributes alone,
    evaluated without those branches on a page where no value of those attributes matches.

    trafilatura's page measure cleans with `BASIC_CLEAN_XPATH`, whose last branch,
    `.//*[re:test(@class, 'cookie…', 'i') or re:test(@id, 'cookie…', 'i')]`, calls back into Python for every
    element with a class or an id: 2.9 of its 3.3 ms a page on the 181 AEB pages, and 171 of those pages hold no
    cookie banner. A case-insensitive pattern gives `screened` no fixed strings to screen by inside libxml2. Here
    each distinct value of those attributes on the page is asked once, in Python, with the pattern compiled as
    lxml compiles it (`re.search`, `re.IGNORECASE` for the flag `i`). When none matches, those branches select
    nothing, and the other branches (`rest`) select what the whole expression selects, in the same order; when
    one does, the whole expression runs. The values are read from the context element's subtree, itself
    included, which holds every element the branches could select."""

    def __init__(self, full: etree.XPath, rest: etree.XPath | None, tests: Mapping[str, list[re.Pattern[str]]]) -> None:
        self.full = full
        self.path = full.path  # what the tests and the cycle bench read of an expression
        self.rest = rest
        self.tests = [(etree.XPath(f".//@{name}", smart_strings=False), patterns) for name, patterns in tests.items()]

    def __call__(self, tree: HtmlElement) -> list[HtmlElement]:
        for values, patterns in self.tests:
            for value in set(values(tree)):
                if any(pattern.search(value) for pattern in patterns):
                    return list(self.full(tree))
        return list(self.rest(tree)) if self.rest is not None else []

    @classmethod
    def read(cls, expression: etree.XPath, full: etree.XPath) -> ValueScreenedXPath | None:
        """`expression` screened, `full` (the same selection) run when a value matches; None when no branch of it
        selects by attribute values alone, or when such a branch would select an element without the attribute
        (a pattern that matches the empty string)."""
        rest: list[str] = []
        tests: dict[str, list[re.Pattern[str]]] = {}
        for branch in outside_quotes(expression.path, "|") or []:
            found = _value_tests(branch.strip())
            if found is None:
                rest.append(branch)
                continue
            for name, pattern in found:
                tests.setdefault(name, []).append(pattern)
        if not tests or any(pattern.search("") for patterns in tests.values() for pattern in patterns):
            return None
        return cls(full, etree.XPath("|".join(rest), namespaces={"re": _REGEXP_NS}) if rest else None, tests)


def _value_tests(branch: str) -> list[tuple[str, re.Pattern[str]]] | None:
    """The attribute and compiled pattern of each test of a branch `.//*[re:test(@a, 'p', 'i') or ...]`, or None
    when the branch is of another form."""
    whole = _VALUE_BRANCH.fullmatch(branch)
    terms = outside_quotes(whole[1].strip(), " or ") if whole else None
    matches = [_VALUE_TEST.fullmatch(term.strip()) for term in terms or []]
    if not matches or None in matches:
        return None
    return [(m[1], re.compile(m[2], re.IGNORECASE if m[3] else 0)) for m in matches if m is not None]


# trafilatura's `baseline` module, which the package's own `baseline` (a function) hides from `from ... import`.
trafilatura_baseline = importlib.import_module("trafilatura.baseline")

# The lists `ElementRules` reads as trafilatura writes them (`_author_from_markup`).
_READ_AS_WRITTEN = frozenset({"AUTHOR_XPATHS", "AUTHOR_DISCARD_XPATHS"})
# The lists whose one reader takes the first element each expression selects, and no other (`_extract`, whose
# `next(s for s in expr(tree) if s is not None)` picks the subtree to extract from), so `first_only` applies.
_READ_FOR_FIRST = frozenset({"BODY_XPATH"})


def use_faster_xpaths() -> None:
    """trafilatura's lists of expressions rewritten (`faster`), in place, and its page measure's cleaning
    (`BASIC_CLEAN_XPATH`, which `baseline` imported by name), rewritten and screened by the page's attribute values
    (`ValueScreenedXPath`); not the byline's lists, which `ElementRules` reads as trafilatura writes them.
    Rewriting twice changes nothing."""
    for name, value in vars(trafilatura_xpaths).items():
        if isinstance(value, list) and name not in _READ_AS_WRITTEN:
            make_faster(value, first=name in _READ_FOR_FIRST)
    basic_clean = trafilatura_settings.BASIC_CLEAN_XPATH
    if trafilatura_baseline.BASIC_CLEAN_XPATH is basic_clean and not isinstance(basic_clean, ValueScreenedXPath):
        rewritten = faster(basic_clean)
        cleaning = ValueScreenedXPath.read(basic_clean, rewritten) or rewritten
        _replace(trafilatura_settings, "BASIC_CLEAN_XPATH", cleaning)
        _replace(trafilatura_baseline, "BASIC_CLEAN_XPATH", cleaning)


class HandedOver:
    """A parsed page handed to `trafilatura.bare_extraction` to extract from as it is, not from a copy.

    Given a tree, `bare_extraction` copies it first (`copy(tree)`, when `load_html` gives back the very object it
    was given), so that the caller's tree stays whole: 0.9 ms a page on the 181 AEB pages. `extract_with` reads
    the tree after extraction only for the byline search, on the pages that declare no author (41 % of AEB's), and
    copies it for those alone. trafilatura's `load_html`, as `bare_extraction` calls it, gives the tree inside
    (`load_handed_over`): not the object it was given, so there is no copy."""

    __slots__ = ("tree",)

    def __init__(self, tree: HtmlElement) -> None:
        self.tree = tree


def load_handed_over(htmlobject: Any, max_size: int | None = None) -> HtmlElement | None:
    """trafilatura's `load_html`, which gives a `HandedOver` page's tree as it is."""
    if isinstance(htmlobject, HandedOver):
        return htmlobject.tree
    return load_html(htmlobject, max_size)


def hand_over_trees() -> None:
    """Put `load_handed_over` in place of `load_html` where `bare_extraction` looks it up (once)."""
    if vars(trafilatura_core)["load_html"] is load_html:
        _replace(trafilatura_core, "load_html", load_handed_over)


class CleanedLater:
    """The cleaned copy of a page's tree that trafilatura keeps for justext, standing for it until it is read.

    trafilatura's `_prepare_tree` cleans a copy of the page's tree, copies the cleaned tree before converting its
    tags (the "backup"), and hands the backup to `compare_extraction`, which reads it only when the extraction it
    weighs is short or unclean, and then only to give it to `justext_rescue` (6 of the 449 pages of both
    extraction sets, 1 of AEB's 181). The copy and its freeing cost 0.2 ms on every page.
    `PrepareTreeCleanedLater` keeps this in its place: the tree the backup was cleaned from, which nothing changes
    before `compare_extraction` has returned (readability reads a copy of it), and the options it was cleaned
    with; `JustextOnCleaned` cleans a copy of that tree then, which gives the same elements the backup held
    (`tree_cleaning` reads nothing else)."""

    __slots__ = ("options", "tree")

    def __init__(self, tree: HtmlElement, options: Any) -> None:
        self.tree, self.options = tree, options

    def cleaned(self) -> HtmlElement:
        return tree_cleaning(copy.copy(self.tree), self.options)


class PrepareTreeCleanedLater:
    """trafilatura's `_prepare_tree` (`shipped`), its backup a `CleanedLater` when comments are not extracted: with
    comments on, `trafilatura_sequence` reads the backup itself on a forum's page, so it stays a tree. The tree it
    cleans and converts is made as trafilatura makes it, with trafilatura's `tree_cleaning` and `convert_tags`."""

    def __init__(self, shipped: Callable[[HtmlElement, Any, str | None], tuple[HtmlElement, Any]]) -> None:
        self.shipped = shipped

    def __call__(self, tree: HtmlElement, options: Any, url: str | None) -> tuple[HtmlElement, Any]:
        if options.comments:
            return self.shipped(tree, options, url)
        cleaned = tree_cleaning(copy.copy(tree), options)
        return convert_tags(cleaned, options, url), CleanedLater(tree, options)


class JustextOnCleaned:
    """trafilatura's `justext_rescue` (`shipped`), given the cleaned tree a `CleanedLater` stands for."""

    def __init__(self, shipped: Callable[[Any, Any], Any]) -> None:
        self.shipped = shipped

    def __call__(self, tree: Any, options: Any) -> Any:
        return self.shipped(tree.cleaned() if isinstance(tree, CleanedLater) else tree, options)


def clean_backups_later() -> None:
    """Put `PrepareTreeCleanedLater` and `JustextOnCleaned` where trafilatura looks them up (once): its
    `_prepare_tree` in `trafilatura.core`, and the `justext_rescue` that `compare_extraction` calls, in
    `trafilatura.external` (the escalation's own call, in `trafilatura.core`, is given a tree). A trafilatura
    without either is left as it is (slower, the same output)."""
    prepare = vars(trafilatura_core).get("_prepare_tree")
    rescue = vars(trafilatura_external).get("justext_rescue")
    if prepare is None or rescue is None or isinstance(prepare, PrepareTreeCleanedLater):
        return
    _replace(trafilatura_core, "_prepare_tree", PrepareTreeCleanedLater(prepare))
    _replace(trafilatura_external, "justext_rescue", JustextOnCleaned(rescue))


def patch_trafilatura() -> None:
    """Every patch of this module (each applied once, however often this runs); done at import."""
    use_c_element_lookup()
    screen_invalid_xml_chars()
    split_json_minify()
    use_faster_xpaths()
    screen_control_characters()
    hand_over_trees()
    clean_backups_later()


patch_trafilatura()
