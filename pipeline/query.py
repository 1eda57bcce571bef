"""The one query language of wirewatch: `search` on either store and topic rules.

A query is words, `prefix*`, "phrases" (a trailing `*` makes the last word a
prefix), AND, OR, NOT and parentheses. NOT binds tightest, then AND, then OR;
words side by side mean AND. Nothing is a syntax error: an operator with
nothing to act on is dropped, an unclosed parenthesis or quote closes at the
end, and every other character is searched literally (as the words it holds).

`parse` turns text into a small tree, and three renderings read the tree:
`to_fts5` (SQLite's MATCH), `to_elasticsearch` (a bool query) and `matcher`
(a Python predicate for topic rules in embedded mode). All three see words the
same way: Unicode letters and digits, lower-cased, diacritics removed, no
stemming (SQLite's `unicode61 remove_diacritics 2`; on Elasticsearch the
`folded` subfields). Stemming is left out on purpose: FTS5 has one tokenizer
per table, and a Porter-stemmed index cannot answer an unstemmed prefix
(`denucleari*` found nothing there).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from elasticsearch.dsl.query import Query


@dataclass(frozen=True)
class Term:
    """A word (one token), or a phrase (several); `prefix` makes the last token a prefix."""

    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Not | And | Or

_WORD = re.compile(r"[^\W_]+")
_WORD_CHARACTERS = re.compile(r"\w+")
_LEXEME = re.compile(r'\s+|(?P<paren>[()])|"(?P<phrase>[^"]*)(?:"(?P<star>\*)?)?|(?P<bare>[^\s()"]+)')
_OPERATORS = {"AND", "OR", "NOT"}


def fold(text: str) -> str:
    """Lower case without diacritics, as SQLite's `remove_diacritics 2` and Elasticsearch's `asciifolding`."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFD", text.lower())
    return _NON_ASCII.sub(_without_marks, decomposed)


# Combining marks are never ASCII: only the runs of other characters need reading one by one.
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _without_marks(run: re.Match[str]) -> str:
    return "".join(char for char in run.group() if not unicodedata.combining(char))


def words(text: str) -> list[str]:
    """The tokens of a text as every store indexes them."""
    folded = fold(text)
    # `\w` is `[^\W_]` and the underscore, and a class of one category is read faster than a class of two: in a
    # text with no underscore (almost every article) it finds the same words
    return _WORD.findall(folded) if "_" in folded else _WORD_CHARACTERS.findall(folded)


# -- parsing -------------------------------------------------------------------

_Lexeme = tuple[str, Term | None]  # ("(" | ")" | "AND" | "OR" | "NOT" | "TERM", the term of a TERM)


def _lex(text: str) -> list[_Lexeme]:
    lexemes: list[_Lexeme] = []
    for match in _LEXEME.finditer(text):
        if match.group("paren"):
            lexemes.append((match.group("paren"), None))
        elif match.group("phrase") is not None:
            raw = match.group("phrase")
            _term(lexemes, raw, raw.rstrip().endswith("*") or bool(match.group("star")))
        elif match.group("bare"):
            bare = match.group("bare")
            if bare in _OPERATORS:
                lexemes.append((bare, None))
            else:
                _term(lexemes, bare, bare.endswith("*"))
    return lexemes


def _term(lexemes: list[_Lexeme], raw: str, prefix: bool) -> None:
    tokens = tuple(words(raw))
    if tokens:  # punctuation alone searches for nothing, so it is dropped
        lexemes.append(("TERM", Term(tokens, prefix)))


class _Parser:
    """Recursive descent that repairs instead of failing: or := and (OR and)*, and := not (AND? not)*."""

    def __init__(self, text: str) -> None:
        self.lexemes = _lex(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.lexemes[self.pos][0] if self.pos < len(self.lexemes) else None

    def parse(self) -> Node | None:
        parts: list[Node] = []
        while self.peek() is not None:
            node = self.or_expr()
            if node is not None:
                parts.append(node)
            if self.peek() == ")":  # a stray closing parenthesis
                self.pos += 1
        return _and(parts)

    def or_expr(self) -> Node | None:
        options: list[Node] = []
        while True:
            node = self.and_expr()
            if node is not None:
                options.append(node)
            if self.peek() != "OR":
                return _or(options)
            self.pos += 1

    def and_expr(self) -> Node | None:
        parts: list[Node] = []
        while (kind := self.peek()) is not None and kind not in {"OR", ")"}:
            if kind == "AND":
                self.pos += 1
                continue
            node = self.unary()
            if node is not None:
                parts.append(node)
        return _and(parts)

    def unary(self) -> Node | None:
        kind = self.peek()
        if kind == "NOT":
            self.pos += 1
            if self.peek() in {None, "OR", ")", "AND"}:
                return None  # NOT with nothing after it
            inner = self.unary()
            if inner is None:
                return None
            return inner.child if isinstance(inner, Not) else Not(inner)
        if kind == "(":
            self.pos += 1
            inner = self.or_expr()
            if self.peek() == ")":
                self.pos += 1
            return inner
        lexeme = self.lexemes[self.pos]
        self.pos += 1
        return lexeme[1] if isinstance(lexeme[1], Term) else None


def _and(parts: Sequence[Node]) -> Node | None:
    flat: list[Node] = []
    for part in parts:
        flat.extend(part.children if isinstance(part, And) else (part,))
    return None if not flat else flat[0] if len(flat) == 1 else And(tuple(flat))


def _or(options: Sequence[Node]) -> Node | None:
    flat: list[Node] = []
    for option in options:
        flat.extend(option.children if isinstance(option, Or) else (option,))
    return None if not flat else flat[0] if len(flat) == 1 else Or(tuple(flat))


@lru_cache(maxsize=4096)
def parse(text: str) -> Node | None:
    """The tree of a query; None when it holds nothing to search for (list everything)."""
    return _Parser(text).parse()


def describe(node: Node | None) -> str:
    """The tree written back fully parenthesised, for messages and tests."""
    if node is None:
        return ""
    if isinstance(node, Term):
        body = " ".join(node.tokens) + ("*" if node.prefix else "")
        return body if len(node.tokens) == 1 else f'"{body}"'
    if isinstance(node, Not):
        return f"NOT {describe(node.child)}"
    joiner = " AND " if isinstance(node, And) else " OR "
    return "(" + joiner.join(describe(child) for child in node.children) + ")"


# -- FTS5 ----------------------------------------------------------------------

# Every FTS row holds this token (in its `every_article` column), so NOT has a set to subtract
# from. It is a private-use character: SQLite's tokenizer keeps it, `words` never yields it, so
# no query term can match that column.
FTS_EVERY_TOKEN = "\ue000"


def to_fts5(node: Node) -> str:
    """An FTS5 MATCH expression: every token quoted, so no FTS5 syntax survives."""
    if isinstance(node, Term):
        return f'"{" ".join(node.tokens)}"' + ("*" if node.prefix else "")
    if isinstance(node, Not):
        return f'("{FTS_EVERY_TOKEN}" NOT {to_fts5(node.child)})'
    if isinstance(node, Or):
        return "(" + " OR ".join(to_fts5(child) for child in node.children) + ")"
    positives = [child for child in node.children if not isinstance(child, Not)]
    negatives = [child.child for child in node.children if isinstance(child, Not)]
    if not positives:
        return to_fts5(Not(_or(negatives) or negatives[0]))
    expression = "(" + " AND ".join(to_fts5(child) for child in positives) + ")"
    for negative in negatives:
        expression = f"({expression} NOT {to_fts5(negative)})"
    return expression


# -- Elasticsearch -------------------------------------------------------------

# The title counts five times the body, as in SQLite's bm25 weights.
ES_FIELDS = ("title.folded^5", "text.folded")
# `phrase_prefix` expands the last word to at most this many terms per shard.
ES_MAX_EXPANSIONS = 1000


def to_elasticsearch(node: Node) -> Query:
    """A bool query over the `folded` subfields, built with `elasticsearch.dsl.Q`."""
    from elasticsearch.dsl import Q

    if isinstance(node, Term):
        text = " ".join(node.tokens)
        if node.prefix and len(node.tokens) == 1:
            fields = [field.split("^")[0] for field in ES_FIELDS]
            return Q(
                "bool", should=[Q("prefix", **{field: {"value": text}}) for field in fields], minimum_should_match=1
            )
        if node.prefix:
            return Q(
                "multi_match",
                query=text,
                type="phrase_prefix",
                fields=list(ES_FIELDS),
                max_expansions=ES_MAX_EXPANSIONS,
            )
        return Q("multi_match", query=text, type="phrase", fields=list(ES_FIELDS))
    if isinstance(node, Not):
        return Q("bool", must_not=[to_elasticsearch(node.child)])
    if isinstance(node, Or):
        return Q("bool", should=[to_elasticsearch(child) for child in node.children], minimum_should_match=1)
    positives = [to_elasticsearch(child) for child in node.children if not isinstance(child, Not)]
    negatives = [to_elasticsearch(child.child) for child in node.children if isinstance(child, Not)]
    return Q("bool", must=positives, must_not=negatives) if positives else Q("bool", must_not=negatives)


# -- Python --------------------------------------------------------------------


class Document:
    """A text's fields as tokens, indexed for the predicate: a phrase matches within one field, as in both stores."""

    def __init__(self, *fields: str) -> None:
        self.fields = [words(field) for field in fields]
        self.tokens = set().union(*self.fields)
        self.vocabulary = sorted(self.tokens)

    def has_prefix(self, prefix: str) -> bool:
        at = bisect_left(self.vocabulary, prefix)
        return at < len(self.vocabulary) and self.vocabulary[at].startswith(prefix)

    def has_term(self, term: Term) -> bool:
        first, rest = term.tokens[0], term.tokens[1:]
        if not rest:
            return self.has_prefix(first) if term.prefix else first in self.tokens
        if first not in self.tokens:
            return False
        return any(self._phrase_at(tokens, position, term) for tokens, position in self._occurrences(first))

    def _occurrences(self, token: str) -> Iterator[tuple[list[str], int]]:
        """Each field holding `token`, with each position where it stands, in order. Found with `list.index`,
        which scans at C speed: a table of every word's positions cost more to build than all the phrase checks
        of a topic rule set read from it."""
        for tokens in self.fields:
            position = -1
            while True:
                try:
                    position = tokens.index(token, position + 1)
                except ValueError:
                    break
                yield tokens, position

    @staticmethod
    def _phrase_at(tokens: list[str], position: int, term: Term) -> bool:
        """Whether the phrase `term`, whose first word stands at `tokens[position]`, goes on there."""
        rest = term.tokens[1:]
        following = tokens[position + 1 : position + 1 + len(rest)]
        if len(following) < len(rest) or following[:-1] != list(rest[:-1]):
            return False
        last = following[-1]
        return last == rest[-1] or (term.prefix and last.startswith(rest[-1]))


Matcher = Callable[[Document], bool]


def matcher(node: Node) -> Matcher:
    """A predicate over a `Document`, true exactly where SQLite's MATCH of `to_fts5(node)` finds it."""
    if isinstance(node, Term):
        return lambda document: document.has_term(node)
    if isinstance(node, Not):
        inner = matcher(node.child)
        return lambda document: not inner(document)
    parts = [matcher(child) for child in node.children]
    if isinstance(node, And):
        return lambda document: all(part(document) for part in parts)
    return lambda document: any(part(document) for part in parts)


@lru_cache(maxsize=1024)
def compile_query(text: str) -> Matcher:
    """The predicate of a query's text; a query with nothing to search for matches nothing."""
    node = parse(text)
    return matcher(node) if node is not None else (lambda document: False)


def check_rule(text: str) -> None:
    """A topic rule must search for something: a rule of only operators or punctuation would tag nothing."""
    if parse(text) is None:
        raise ValueError(f"topic query {text!r} has no words to search for")
