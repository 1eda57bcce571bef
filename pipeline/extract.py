"""The extract stage: fetched bytes -> decoded HTML -> article text and metadata.

Two plain functions, used in this order by the pipeline:

* `decode_html(body, content_type)` turns the raw HTTP body into `str`.
* `extract(html, url)` runs trafilatura over that string and returns an
  `Extracted` record, or `None` when the page holds no article text.

Trafilatura options (chosen from `bench/bench_extraction.py`)
-----------------------------------------------------------
We call `trafilatura.bare_extraction` with `include_comments=False`,
`include_tables=True`, `deduplicate=False`, `with_metadata=True` and otherwise
trafilatura's balanced defaults (no `favor_precision`, no `favor_recall`, not
`fast`). Measured on the 181-page article-extraction benchmark (AEB, token
micro-F1) and the 74 English pages of trafilatura's evaluation set (share of
"must contain" / "must not contain" snippets):

    options            AEB P / R / F1         with    without   pages/s
    default            0.958 / 0.978 / 0.968  0.968   0.854     -
    chosen             0.964 / 0.978 / 0.971  0.968   0.872     47.9
    favor_precision    0.980 / 0.973 / 0.977  0.954   0.894     46.9
    favor_recall       0.969 / 0.978 / 0.973  0.958   0.867     -
    fast               0.968 / 0.979 / 0.973  0.949   0.872     60.8

* Reader comments are not the story: dropping them (trafilatura keeps them by
  default) removes boilerplate at no cost in recall, and keeps commenters'
  sentences out of the quote-attribution stage.
* `favor_precision` has the best token F1, but the snippets it drops are real
  article sentences (a Cayman Compass paragraph, an Evening Standard
  paragraph), not chrome. A lost paragraph can be the one holding the quote
  we alert on, while leaked chrome is mostly harmless downstream, so we take
  the highest "with" share rather than the highest F1.
* `favor_recall` gains nothing measurable and lets more chrome through.
* `fast` skips the readability/jusText fallbacks: only 1.27x faster, and it
  loses whole lead paragraphs on pages trafilatura's own rules misread
  (Axios, KBS). Balanced mode already clears the throughput budget.
* `include_tables` stays on: result and casualty figures come as tables, and
  turning it off lowers AEB recall (0.978 -> 0.974) for a 0.2-point
  precision gain.
* `deduplicate` stays OFF, deliberately: trafilatura's duplicate filter keeps a
  process-wide LRU cache of text segments it has seen, so with it on the output
  for a page depends on which pages were extracted before it in the same
  process. That breaks determinism (and thus idempotent re-runs), and
  near-duplicate articles are the dedupe stage's business anyway.

Determinism and threads
-----------------------
With `deduplicate=False` trafilatura holds no state that changes its output
between calls: its remaining module-level caches are `functools.lru_cache`
memos of pure functions, and the jusText stop-list is built lazily to the same
value whichever thread builds it. It is therefore safe to call `extract` from
several threads (the tests check threaded output equals sequential output).
It gains next to nothing from them, though: the work is pure Python under the
GIL, and trafilatura parses with one module-level lxml parser, which lxml
serialises with a per-parser lock. Measured on AEB (2 cores, shared with other
work, so +-20%): 37-48 pages/s in one process, 50 with two threads, 92-94 with
a 2-process pool. One process alone already
exceeds the 30 pages/s budget for the whole cycle but would eat most of it; on
a two-core box a process pool (send the decoded `str`, get `Extracted` back;
both pickle cheaply) is worth it when extraction runs alongside other CPU-bound
stages.

Dates: trafilatura (via htmldate) returns the publication day as a string
("YYYY-MM-DD"). We turn it into midnight UTC of that day, unless the page's own
`article:published_time` / JSON-LD `datePublished` carries a full timestamp on
the same day, in which case that (converted to UTC) is used. A value at exactly
00:00:00 UTC therefore usually means "only the day is known".
"""

from __future__ import annotations

import codecs
import copy
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import charset_normalizer
import trafilatura
from htmldate import extractors as htmldate_extractors
from htmldate import find_date
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.htmlprocessing import prune_unwanted_nodes
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import (
    examine_meta,
    extract_meta_json,
    extract_metainfo,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import DEFAULT_CONFIG, Document, set_date_params
from trafilatura.utils import load_html, trim
from trafilatura.xml import delete_element
from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

# Defined with the other records, so that the main process can receive one from a worker without importing the
# extractor (unpickling imports the module a class is defined in); named here too for the extractor's callers.
from pipeline.records import Extracted as Extracted
from pipeline.trafilatura_patches import HandedOver, bracket_groups, outside_quotes

LOGGER = logging.getLogger(__name__)

# The options `extract` uses; the bench compares them against alternatives.
TRAFILATURA_OPTIONS: Mapping[str, Any] = {
    "include_comments": False,
    "include_tables": True,
    "favor_precision": False,
    "favor_recall": False,
    "fast": False,
}

# How far into the body to look for a <meta> charset or <html lang>. Browsers
# stop at 1024 bytes; real pages put 2-3 KB of scripts and link tags first.
_PRESCAN_BYTES = 4096
_PRESCAN_CHARS = 8192

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # must precede UTF-16 LE: same first two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([^\s;"',]+)""", re.IGNORECASE)
# Covers <meta charset="x">, <meta http-equiv=... content="text/html; charset=x">
# and an XML declaration's encoding="x".
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9_.:+-]+)"""
    rb"""|<\?xml\b[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9_.:+-]+)""",
    re.IGNORECASE,
)
# trafilatura's reading of a site's name from its URL when the page declares none.
_SITE_HOST = re.compile(r"https?://(?:www\.|w[0-9]+\.)?([^/]+)")
_HTML_LANG = re.compile(
    r"""<html\b[^>]*?\s(?:xml:)?lang\s*=\s*["']?\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9-]*)?""", re.IGNORECASE
)
_META_LANG = re.compile(
    r"""<meta\b(?=[^>]*?(?:http-equiv\s*=\s*["']?content-language|property\s*=\s*["']?og:locale\b))"""
    r"""[^>]*?\bcontent\s*=\s*["']?\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9-]*)?""",
    re.IGNORECASE,
)
# Two patterns, not one alternation: a pattern that can start with either of two characters is tried at every
# position of the page, and together they cost 1.9 ms a page against 0.6 for the two (181 AEB pages).
_PUBLISHED_META_TAG = re.compile(
    r"""<meta\b(?=[^>]*?(?:property|name|itemprop)\s*=\s*["']?(?:article:published_time|datePublished)["'\s>])"""
    r"""[^>]*?\bcontent\s*=\s*["']([^"']+)["']""",
    re.IGNORECASE,
)
_PUBLISHED_JSON = re.compile(r""""datePublished"\s*:\s*"([^"]+)\"""", re.IGNORECASE)


# ---------------------------------------------------------------------------
# decoding


def _codec_name(label: str | None) -> str | None:
    """Map a declared charset label to a Python codec, or None if unusable.

    Labels are followed the way browsers follow them, because the pages were
    written for browsers: latin-1 and ASCII labels mean windows-1252 (publishers
    routinely put curly quotes in 0x80-0x9F under an iso-8859-1 label), and a
    UTF-16/32 label in an ASCII-readable declaration cannot be true, so it means
    UTF-8.
    """
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'").lower()).name
    except LookupError:
        return None
    if name in {"latin-1", "iso8859-1", "ascii"}:
        return "cp1252"
    if name.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return name


def _header_charset(content_type: str | None) -> str | None:
    match = _HEADER_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:_PRESCAN_BYTES])
    if not match:
        return None
    return (match.group(1) or match.group(2)).decode("ascii", "replace")


def _strict_utf8(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


# How much worse (charset-normalizer "chaos", 0..1) cp1252 may score than the
# detector's favourite and still be preferred; see `_detect`.
_CP1252_MARGIN = 0.1


def _detect(body: bytes) -> str | None:
    """Guess an undeclared legacy encoding; None when charset-normalizer has no idea.

    On Western text the Latin code pages (cp1250, cp1252, cp1257, ...) score
    within a few hundredths of each other -- the bytes used are valid in all
    of them -- and the detector's pick among them is close to arbitrary: on a
    French/Spanish test sentence it chose Baltic cp1257. An undeclared
    non-UTF-8 news page is overwhelmingly windows-1252 (it is also what
    browsers fall back to), so when cp1252 is within `_CP1252_MARGIN` of the
    best candidate we take it. Non-Latin scripts (cp1251, KOI8-R, Shift-JIS,
    GBK) read as cp1252 produce mojibake that scores far worse, so they are
    still detected.
    """
    try:
        results = charset_normalizer.from_bytes(body)
        best = results.best()
    except Exception:  # a detector bug must not cost us the page
        LOGGER.debug("charset detection failed", exc_info=True)
        return None
    if best is None:
        return None
    for candidate in results:
        if candidate.encoding == "cp1252" and candidate.chaos <= best.chaos + _CP1252_MARGIN:
            return "cp1252"
    return _codec_name(best.encoding)


def decode_html(body: bytes, content_type: str | None) -> str:
    """Decode an HTTP body into text without ever raising.

    Order of evidence: a byte-order mark; the HTTP header's charset; a
    `<meta>`/XML declaration in the first 4 KB; charset-normalizer; UTF-8 with
    replacement characters.

    Declarations are wrong often enough that one check overrides them: when a
    page declared as some legacy encoding decodes as *strict* UTF-8 *and*
    contains non-ASCII bytes, it is UTF-8. Legacy single-byte text almost
    never forms valid UTF-8 by accident -- every byte >= 0xC2 would have to be
    followed by exactly the right number of 0x80-0xBF bytes, i.e. an accented
    capital followed by C1 controls or symbols -- so the false-positive rate is
    negligible, while "CMS serves UTF-8 under an iso-8859-1 header" is common.
    Pure-ASCII bodies are the same in every ASCII-compatible codec, so they
    take the declared one. The converse -- declared UTF-8, not valid UTF-8 --
    is handled by counting: a few bad bytes in otherwise valid UTF-8 (a
    truncated multi-byte sequence, one pasted cp1252 quote) stay UTF-8 with
    replacements; a body with no valid multi-byte sequence at all is sent to
    detection instead.
    """
    if not body:
        return ""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace")

    declared = _codec_name(_header_charset(content_type)) or _codec_name(_meta_charset(body))
    as_utf8 = _strict_utf8(body)

    if declared is not None:
        if declared in {"utf-8", "utf-8-sig"}:
            if as_utf8 is not None:
                return as_utf8
            lenient = body.decode("utf-8", errors="replace")
            non_ascii = sum(1 for ch in lenient if ord(ch) > 127 and ch != "\ufffd")
            if non_ascii > 0:
                return lenient
            detected = _detect(body)
            return body.decode(detected or "cp1252", errors="replace")
        if as_utf8 is not None and not body.isascii() and _is_ascii_compatible(declared):
            return as_utf8
        try:
            return body.decode(declared, errors="replace")
        except Exception:  # codecs that cannot decode at all (e.g. some aliases)
            LOGGER.debug("declared charset %s failed", declared, exc_info=True)

    if as_utf8 is not None:
        return as_utf8
    detected = _detect(body)
    if detected is not None:
        try:
            return body.decode(detected, errors="replace")
        except Exception:
            LOGGER.debug("detected charset %s failed", detected, exc_info=True)
    return body.decode("utf-8", errors="replace")


def _is_ascii_compatible(codec: str) -> bool:
    """True if ASCII bytes mean ASCII in `codec`, so a UTF-8 check is meaningful.

    UTF-7 and the ISO-2022 family use ASCII bytes as escapes; for them a body
    that is valid UTF-8 may still be correctly declared.
    """
    return not (codec.startswith(("utf-7", "iso2022", "hz")))


# ---------------------------------------------------------------------------
# extraction


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value or None


def _to_utc(value: datetime) -> datetime:
    # A timestamp without an offset is most often already UTC in CMS output;
    # guessing the publisher's zone from the URL would be worse than that.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _parse_iso(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    # fromisoformat in 3.11 takes "Z" and most ISO 8601 forms; it rejects the
    # "+0000" offset without a colon that some CMSes emit, so add one.
    value = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", value)
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _precise_timestamps(html: str) -> list[datetime]:
    """Full timestamps the page declares for its publication, in page order."""
    matches = sorted([*_PUBLISHED_META_TAG.finditer(html), *_PUBLISHED_JSON.finditer(html)], key=lambda m: m.start())
    found: list[datetime] = []
    end = 0
    for match in matches:
        if match.start() < end:
            continue  # inside the match before it, where one scan for either pattern would not have looked
        end = match.end()
        parsed = _parse_iso(match.group(1))
        if parsed is not None and (parsed.time() != time(0) or parsed.tzinfo is not None):
            found.append(parsed)
    return found


def parse_published(day: str | None, html: str = "") -> datetime | None:
    """Turn trafilatura's date string into an aware UTC datetime.

    htmldate gives us a validated day but drops the time of day; the page's
    `article:published_time` or JSON-LD `datePublished` often has it. We take
    that timestamp only when its local day matches trafilatura's choice, so a
    "last updated" or a related article's date cannot smuggle in a different
    day than the one htmldate's heuristics settled on.
    """
    if not day:
        return None
    parsed = _parse_iso(day)
    if parsed is None:
        return None
    if parsed.time() != time(0) or parsed.tzinfo is not None:
        return _to_utc(parsed)
    chosen: date = parsed.date()
    for stamp in _precise_timestamps(html):
        if stamp.date() == chosen:
            return _to_utc(stamp)
    return datetime.combine(chosen, time(0), tzinfo=UTC)


def page_language(html: str) -> str | None:
    """The page's declared language: `<html lang>`, else content-language / og:locale.

    Reduced to the primary subtag ("en-US" -> "en"), because downstream stages
    choose stop-words and NLP models by language, not by region.
    """
    head = html[:_PRESCAN_CHARS]
    match = _HTML_LANG.search(head) or _META_LANG.search(head)
    return match.group(1).lower() if match else None


def extract_with(html: str, url: str | None, options: Mapping[str, Any]) -> Extracted | None:
    """`extract` with explicit trafilatura options; the bench compares option sets through it.

    Never raises: a page trafilatura or lxml cannot handle is a page without
    article text, and the caller records it as such.
    """
    if not html or not html.strip():
        return None
    # lxml refuses NUL characters outright; they only ever come from binary junk
    # or mis-decoded UTF-16, and carry no text.
    if "\x00" in html:
        html = html.replace("\x00", "")
    try:
        tree = load_html(html)
        if tree is None:
            return None
        metadata = page_metadata(tree, url)
        # The byline search reads the page as parsed, which extraction prunes: a copy for it, when it will run.
        unpruned = None if metadata.author else copy.copy(tree)
        document = trafilatura.bare_extraction(
            HandedOver(tree),  # `load_handed_over` reads it
            url=url or metadata.url,
            deduplicate=False,
            **options,
        )
        text = getattr(document, "text", None)
        if not isinstance(text, str) or not text.strip():
            return None
        if unpruned is not None:
            metadata.author = _author_from_markup(unpruned)
    except Exception:
        LOGGER.debug("trafilatura failed on %s", url, exc_info=True)
        return None
    title = _clean(metadata.title)
    return Extracted(
        text=_without_headline(text.strip(), title),
        title=title,
        author=_clean(metadata.author),
        published=parse_published(metadata.date, html),
        sitename=_clean(metadata.sitename),
        language=page_language(html),
    )


def page_metadata(tree: HtmlElement, url: str | None) -> Document:
    """Title, author, canonical URL, publication day and site name of a parsed page, as trafilatura's
    `extract_metadata` finds them, step for step, without the steps whose fields we never use (categories,
    tags, licence): those took 6 of its 15 ms a page on the 181 AEB pages. Run on the tree before extraction,
    which prunes it, as `bare_extraction(with_metadata=True)` does. The author the markup's bylines give,
    when the page declares none, is found after extraction (`_author_from_markup`)."""
    metadata = examine_meta(tree)
    if metadata.author and " " not in metadata.author:
        metadata.author = None
    try:
        metadata = extract_meta_json(tree, metadata)
    except Exception:  # trafilatura's JSON-LD reader has bugs; it catches them the same way
        LOGGER.debug("JSON-LD metadata failed on %s", url, exc_info=True)
    metadata.title = metadata.title or extract_title(tree)
    metadata.url = metadata.url or extract_url(tree, url)
    date_params = set_date_params(DEFAULT_CONFIG.getboolean("DEFAULT", "EXTENSIVE_DATE_SEARCH"))
    metadata.date = find_date(tree, **{**date_params, "url": metadata.url})
    metadata.sitename = _sitename(tree, metadata)
    metadata.clean_and_trim()
    return metadata


# ---------------------------------------------------------------------------
# trafilatura's element expressions, read


# The terms `ElementRules` reads in a predicate (each whole, its spaces outside quotes made single), and the
# steps it reads in a branch of a union.
_TERM_SELF = re.compile(r"self::([a-z][\w-]*)")
_TERM_REGEX = re.compile(r"re:test\( ?@([\w-]+) ?, ?'([^']*)' ?\)")
_TERM_CONTAINS = re.compile(r"contains\( ?@([\w-]+) ?, ?'([^']*)' ?\)")
_TERM_EQUALS = re.compile(r"@([\w-]+) ?= ?'([^']*)'")
_TERM_CHILD_EQUALS = re.compile(r"([a-z][\w-]*) ?= ?'([^']*)'")
_STEP = re.compile(r"(\.?)//(\*|[a-z][\w-]*)")
_SPACES = re.compile(r"\s+")

# One attribute term: whether it holds for the attribute's value (None when the element has no such attribute).
AttributeTest = Callable[[str | None], bool]


def _equals(text: str) -> AttributeTest:
    """`@name='text'`: an element without the attribute has no node to compare."""
    return lambda value: value == text


def _contains(text: str) -> AttributeTest:
    """`contains(@name, 'text')`: a missing attribute reads as the empty string."""
    return lambda value: text in (value or "")


def _regex(pattern: str) -> AttributeTest:
    """EXSLT's `re:test(@name, 'pattern')`, as lxml runs it: Python's `re.search` on the attribute's value, the
    empty string when there is none."""
    compiled = re.compile(pattern)
    return lambda value: compiled.search(value or "") is not None


class _Predicate:
    """One `[...]` of a branch: a disjunction of tag, attribute and child terms."""

    def __init__(self) -> None:
        self.tags: set[str] = set()
        self.attributes: dict[str, list[AttributeTest]] = {}  # by attribute: its terms
        self.children: list[tuple[str, str]] = []  # `name='text'`: a child element `name` whose string is `text`

    def read(self, term: str) -> bool:
        """Add `term`; False when it is none of the forms read here."""
        if match := _TERM_SELF.fullmatch(term):
            self.tags.add(match[1])
            return True
        for form, make in ((_TERM_REGEX, _regex), (_TERM_CONTAINS, _contains), (_TERM_EQUALS, _equals)):
            if match := form.fullmatch(term):
                test = make(match[2])
                # A term that holds for an element without the attribute (an empty text or pattern) is not
                # read: `RuleSet` asks only about the attributes an element has.
                if test(None):
                    return False
                self.attributes.setdefault(match[1], []).append(test)
                return True
        if match := _TERM_CHILD_EQUALS.fullmatch(term):
            self.children.append((match[1], match[2]))
            return True
        return False


class _Branch:
    """One side of a union: `//tag` or `//*`, `.//` for descendants of the context element only, and predicates
    that must all hold."""

    def __init__(self, descendants_only: bool, tag: str | None, predicates: list[_Predicate]) -> None:
        self.descendants_only = descendants_only
        self.tag = tag
        self.predicates = predicates


class ElementRules:
    """One of trafilatura's XPath expressions over elements, read into Python tests, so that several are
    answered in one walk of the tree (`RuleSet`).

    lxml runs each expression over the whole tree, and EXSLT's `re:test` calls back into Python for every
    element it is asked about: the five that look for a byline (`_author_from_markup`) took 8 ms of
    `extract`'s 44 on a page that declares no author. Read here are unions of `//*` or `//tag` steps (`.//` for
    the descendants of the context element) with predicates made of `self::tag`, `@name='text'`,
    `contains(@name, 'text')`, EXSLT's `re:test(@name, 'pattern')` without flags and `child='text'`, joined by
    `or`: an expression with anything else is not read (`read` gives None), and its caller leaves it to lxml.
    The elements selected are those lxml selects, in document order."""

    def __init__(self, branches: list[_Branch]) -> None:
        self.branches = branches

    @classmethod
    def read(cls, path: str) -> ElementRules | None:
        """The expression `path` read, or None when it holds a form not read here."""
        pieces = path.split("'")  # the even ones stand outside quotes: their spaces are made single
        normal = "'".join(piece if i % 2 else _SPACES.sub(" ", piece) for i, piece in enumerate(pieces))
        branches = []
        for side in outside_quotes(normal, "|") or []:
            branch = _read_branch(side.strip())
            if branch is None:
                return None
            branches.append(branch)
        return cls(branches) if branches else None


def _read_branch(text: str) -> _Branch | None:
    step = _STEP.match(text)
    groups = bracket_groups(text[step.end() :]) if step else None
    if step is None or groups is None:
        return None
    predicates = []
    for group in groups:
        predicate = _Predicate()
        terms = outside_quotes(group.strip(), " or ")
        if not terms or not all(predicate.read(term.strip()) for term in terms):
            return None
        predicates.append(predicate)
    return _Branch(step[1] == ".", None if step[2] == "*" else step[2], predicates)


class RuleSet:
    """Several `ElementRules` answered in one walk of a tree (`select`).

    Each predicate of the rules has a bit. An element's bits are those of the predicates its tag meets and
    those its attribute values meet, each value asked once a page; a branch holds when all its predicates' bits
    are set. An element like one met before on the page (the same tag and values of the attributes read: most
    are, paragraphs without attributes, the links of a menu) takes that one's answer. When every branch asks
    for one of a few tags, lxml walks only those elements. Child terms are asked of each element, on the rare
    tree that holds an element they name."""

    def __init__(self, rules: Sequence[ElementRules]) -> None:
        predicates = [predicate for rule in rules for branch in rule.branches for predicate in branch.predicates]
        bits = {id(predicate): 1 << j for j, predicate in enumerate(predicates)}
        self.predicates = [(bits[id(predicate)], predicate) for predicate in predicates]
        self.names = {name for predicate in predicates for name in predicate.attributes}
        self.child_names = {name for predicate in predicates for name, _ in predicate.children}
        # Each rule's branches: descendants only, the tag of the step (None for any), the bits that must be set.
        self.rules = [
            [(b.descendants_only, b.tag, sum(bits[id(p)] for p in b.predicates)) for b in rule.branches]
            for rule in rules
        ]
        tags = [_tags_of(branch) for rule in rules for branch in rule.branches]
        self.tags = sorted(set().union(*tags)) if all(tags) else []  # [] for every element

    def _tag_bits(self, tag: str) -> int:
        """The bits of the predicates an element of `tag` meets by its tag (no attribute term holds for an
        attribute the element lacks: `_Predicate.read`)."""
        return sum(bit for bit, p in self.predicates if tag in p.tags)

    def _value_bits(self, name: str, value: str) -> int:
        """The bits of the predicates that attribute `name` with `value` meets."""
        return sum(bit for bit, p in self.predicates if any(test(value) for test in p.attributes.get(name, ())))

    def _child_bits(self, element: HtmlElement) -> int:
        return sum(
            bit
            for bit, p in self.predicates
            if any(
                child.tag == name and child.xpath("string()") == text for name, text in p.children for child in element
            )
        )

    def _selected(self, held: int, tag: str, is_root: bool) -> tuple[int, ...]:
        """The rules a branch of which holds for an element with these bits and tag."""
        return tuple(
            k
            for k, branches in enumerate(self.rules)
            if any(
                held & need == need and step in (None, tag) and not (descendants_only and is_root)
                for descendants_only, step, need in branches
            )
        )

    def select(self, tree: HtmlElement) -> list[list[HtmlElement]]:
        """The elements each rule selects from `tree`, in document order."""
        found: list[list[HtmlElement]] = [[] for _ in self.rules]
        children = any(next(tree.iter(name), None) is not None for name in self.child_names)
        # Asked once a page: what a tag gives, what an attribute's value gives, which rules a set of bits selects.
        tag_bits: dict[str, int] = {}
        values: dict[tuple[str, str], int] = {}
        answers: dict[tuple[int, str, bool], tuple[int, ...]] = {}
        names = self.names
        for element in tree.iter(*self.tags) if self.tags else tree.iter(etree.Element):
            tag = element.tag
            held = tag_bits.get(tag)
            if held is None:
                held = tag_bits[tag] = self._tag_bits(tag)
            for name, value in element.items():
                if name not in names:
                    continue
                bits = values.get((name, value))
                if bits is None:
                    bits = values[name, value] = self._value_bits(name, value)
                held |= bits
            if children:
                held |= self._child_bits(element)
            key = (held, tag, element is tree)
            selected = answers.get(key)
            if selected is None:
                selected = answers[key] = self._selected(*key)
            for k in selected:
                found[k].append(element)
        return found


def _tags_of(branch: _Branch) -> set[str]:
    """The tags one of which an element must have for `branch` to hold, or none when it may have any."""
    if branch.tag is not None:
        return {branch.tag}
    only_tags = [p.tags for p in branch.predicates if p.tags and not p.attributes and not p.children]
    return set.intersection(*only_tags) if only_tags else set()


def _read_all(paths: Sequence[str]) -> list[ElementRules] | None:
    rules = [ElementRules.read(path) for path in paths]
    return None if any(rule is None for rule in rules) else [rule for rule in rules if rule is not None]


def _rule_sets(rules: list[ElementRules] | None, together: bool) -> list[RuleSet] | None:
    """`rules` answered all in one walk (`together`), or each in a walk of its own."""
    if rules is None:
        return None
    return [RuleSet(rules)] if together else [RuleSet([rule]) for rule in rules]


# trafilatura's byline search, read; None (lxml runs it) when a later trafilatura writes it in a form not read here.
# The discarding expressions are asked one after the other, as each deletes what it selects before the next.
_AUTHOR_DISCARD_RULES = _rule_sets(_read_all([xpath.path for xpath in AUTHOR_DISCARD_XPATHS]), together=False)
_AUTHOR_RULES = _rule_sets(_read_all([xpath.path for xpath in AUTHOR_XPATHS]), together=True)
# The bounds on a byline's length: `extract_metainfo`'s own lower bound, and the upper one `extract_author` gives it;
# both paths of `_author_from_markup` use them.
_AUTHOR_MIN_CHARS, _AUTHOR_MAX_CHARS = 2, 120


def _author_by_rules(tree: HtmlElement, discard: list[RuleSet], rules: list[RuleSet]) -> str | None:
    """`extract_metainfo(prune_unwanted_nodes(tree, AUTHOR_DISCARD_XPATHS), AUTHOR_XPATHS, len_limit=120)`, its
    expressions read (`ElementRules`): each discarded element deleted as `prune_unwanted_nodes` deletes it
    (its tail kept), one expression after the other; then the first element, expression by expression, whose
    text is of a byline's length."""
    for rule in discard:
        for element in rule.select(tree)[0]:
            delete_element(element)
    for found in rules[0].select(tree):
        for element in found:
            content = trim(" ".join(element.itertext()))
            if content and _AUTHOR_MIN_CHARS < len(content) < _AUTHOR_MAX_CHARS:
                return content
    return None


def _author_from_markup(tree: HtmlElement) -> str | None:
    """trafilatura's `extract_author`, on a tree nothing else reads afterwards: its bylines, outside comments,
    dates and figures (which it prunes first). `extract_author` prunes a deep copy so that the tree stays whole
    for what reads it next; `extract_with` gives this the copy of the page it made before extraction (which
    works on the page's own tree, `HandedOver`), so the pruning is done in place, and the search is saved on a
    page without article text. The author is the same, cleaned as `page_metadata` cleans every field
    (`clean_and_trim`).

    trafilatura's expressions are read by `ElementRules` when they can be (`_author_by_rules`), in one walk of
    the tree instead of five; any that cannot be read are left to lxml, as `extract_author` runs them."""
    if _AUTHOR_DISCARD_RULES is None or _AUTHOR_RULES is None:
        pruned = prune_unwanted_nodes(tree, AUTHOR_DISCARD_XPATHS)
        author = extract_metainfo(pruned, AUTHOR_XPATHS, len_limit=_AUTHOR_MAX_CHARS)
    else:
        author = _author_by_rules(tree, _AUTHOR_DISCARD_RULES, _AUTHOR_RULES)
    if not author:
        return None
    found = Document()
    found.author = normalize_authors(None, author)
    found.clean_and_trim()
    return found.author


def _sitename(tree: HtmlElement, metadata: Document) -> str | None:
    """trafilatura's site name: declared, else from the <title>, else the URL's host; "@name" and "name" read
    as "Name"."""
    sitename = metadata.sitename or extract_sitename(tree)
    if sitename:
        sitename = sitename.lstrip("@")
        if sitename and "." not in sitename and not sitename[0].isupper():
            sitename = sitename.title()
        return sitename
    host = _SITE_HOST.match(metadata.url) if metadata.url else None
    return host[1] if host else None


def _comparable(line: str) -> str:
    return " ".join(re.findall(r"\w+", line.casefold()))


def _without_headline(text: str, title: str | None) -> str:
    """The text without a first line that only repeats the headline (trafilatura keeps an <h1> inside the
    article body), so snippets and the text's opening are the story's own words."""
    first, _, rest = text.partition("\n")
    headline = _comparable(first)
    if title and rest.strip() and headline and headline == _comparable(title):
        return rest.strip()
    return text


def warm_up() -> None:
    """Build now what trafilatura, justext and htmldate build on their first use, so that a process forked
    after this call (a worker, from its forkserver) starts with it instead of building its own.

    Measured in a fresh process, each worker of a cycle paid 0.5-1.5 s of CPU within its first pages, once
    per cycle: the stop-words of every justext language (trafilatura's fallback for a short text), htmldate's
    month names of every dateparser locale and dateparser's English locale, and the patterns the first
    extraction compiles. One short page takes `extract` through the justext fallback; the two date tables
    are asked for directly, as htmldate asks only on the few pages whose date it cannot read itself.
    dateparser's other languages stay lazy: they load only for a page that needs them. The output of
    `extract` does not change: these are caches of fixed data.
    """
    extract(_WARM_UP_PAGE, "https://news.example/2019/11/20/harbour.html")
    htmldate_extractors.month_words()
    htmldate_extractors.get_external_parser().get_date_data(_WARM_UP_DATE)


# A page whose text is shorter than trafilatura's minimum (250 characters), so it tries justext as well.
_WARM_UP_PAGE = """<html lang="en"><head><title>Harbour reopens</title>
<meta property="article:published_time" content="2019-11-20T15:23:00Z"></head>
<body><article><h1>Harbour reopens</h1><p class="byline">By A. Writer</p>
<p>The harbour reopened on Wednesday after the storm, the port authority said.</p></article></body></html>"""
# An English date only dateparser reads (htmldate's own patterns take it otherwise): it loads the English locale.
_WARM_UP_DATE = "20 November 15:23 2019"


def extract(html: str, url: str | None = None) -> Extracted | None:
    """Article text and metadata of one page, or None if it has no article text.

    Deterministic (same input, same output, whatever ran before) and safe to
    call from several threads; see the module docstring for why and for the
    options used.
    """
    return extract_with(html, url, TRAFILATURA_OPTIONS)


__all__ = [
    "TRAFILATURA_OPTIONS",
    "Extracted",
    "decode_html",
    "extract",
    "extract_with",
    "page_language",
    "page_metadata",
    "parse_published",
    "warm_up",
]
