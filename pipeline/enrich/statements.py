"""When two quotes are one statement, and which quote stands for it.

Wire copies of one story quote the same words with different punctuation,
different quote glyphs, or only a fragment of the full sentence; the analyst
wants one alert per statement, so comparison is on normalised words.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from difflib import SequenceMatcher

from pipeline.records import Article, Quote, Statement, StatementQuote, article_time, utcnow
from pipeline.store import Store

# A fragment this short ("good", "very hopeful") recurs across unrelated quotes,
# so containment alone does not make it the same statement.
MIN_FRAGMENT_WORDS = 3
SIMILAR = 0.85


def words(text: str) -> list[str]:
    """Lower-cased words with quote glyphs, dashes and punctuation dropped."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("‘", "'")
    return re.findall(r"[\w]+(?:'[\w]+)*", text)


def same_statement(a: str, b: str) -> bool:
    first, second = words(a), words(b)
    if not first or not second:
        return False
    if first == second:
        return True
    short, long = sorted((first, second), key=len)
    if len(short) >= MIN_FRAGMENT_WORDS and _contains(long, short):
        return True
    matcher = SequenceMatcher(None, first, second, autojunk=False)
    if len(short) >= 6 and matcher.ratio() >= SIMILAR:
        return True
    # A fragment quoted with a word changed ("we'd" for "we would") inside a longer quote.
    matched = sum(block.size for block in matcher.get_matching_blocks())
    return len(short) >= 6 and matched >= SIMILAR * len(short)


def _contains(long: list[str], short: list[str]) -> bool:
    joined = f" {' '.join(long)} "
    return f" {' '.join(short)} " in joined


def statement_key(speaker: str, text: str) -> str:
    """A stable id seed: the same speaker and words give the same key in any copy."""
    seed = " ".join(words(speaker)) + "\n" + " ".join(words(text))
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()[:24]


def best_quote(quotes: list[str]) -> str:
    """The quote an email subject should carry: a whole sentence rather than a fragment.

    Prefers quotes that start with a capital and run to at least six words,
    then the longest of those (cut-off sentences lose to complete ones).
    """
    if not quotes:
        return ""

    def rank(quote: str) -> tuple[int, int, int]:
        stripped = quote.strip().strip("\"“”'‘’")
        count = len(words(stripped))
        sentence = int(count >= 6 and stripped[:1].isupper())
        ends = int(stripped[-1:] in ".!?")
        return (sentence, ends if sentence else 0, min(count, 60))

    return max(quotes, key=rank)


# -- grouping quotes into statements in the store ----------------------------

LOOKBACK = timedelta(days=30)
SAME_EVENT_WINDOW = timedelta(hours=48)
# Two articles report one event when they share enough of the people, places and
# organisations they name, and enough of their vocabulary (Jaccard of each). Measured
# on the demo sample: VOA and VICE share 0.44 of entities and 0.19 of content words;
# a Kim Yo Jong statement on another subject (leaflets, tests/test_alert.py) shares
# at most 0.28 and 0.07 with any of them. Both must clear the bar.
SAME_EVENT_ENTITIES = 0.30
SAME_EVENT_WORDS = 0.12
_STOPWORDS = frozenset(
    "about after also been before being between could from have into more most other over said says some such "  # noqa: SIM905
    "than that their them then there these they this those through under very were what when where which while "
    "will with would your".split()
)


@dataclass
class StatementReport:
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


def content_words(text: str) -> set[str]:
    return {word for word in words(text) if len(word) > 3 and word not in _STOPWORDS and not word.isdigit()}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def same_event(a: Article, b: Article) -> bool:
    """Articles about one event: the same story (dedup cluster), or shared names and words."""
    if a.cluster_id and a.cluster_id == b.cluster_id:
        return True
    entities = _jaccard({e.canonical for e in a.entities}, {e.canonical for e in b.entities})
    return entities >= SAME_EVENT_ENTITIES and _jaccard(content_words(a.text), content_words(b.text)) >= (
        SAME_EVENT_WORDS
    )


def quote_context(text: str, quote: Quote) -> str:
    """The paragraph the quote stands in: what an analyst reads to judge it."""
    start = text.rfind("\n", 0, quote.start) + 1
    end = text.find("\n", quote.end)
    return text[start : end if end != -1 else len(text)].strip()


def _matching_statement(
    quotes: list[Quote], article: Article, candidates: list[Statement], store: Store
) -> Statement | None:
    for statement in candidates:
        if any(same_statement(q.text, s.text) for q in quotes for s in statement.quotes):
            return statement
    when = article_time(article)
    recent = [s for s in candidates if abs(s.first_seen - when) <= SAME_EVENT_WINDOW]
    sources = {a.id: a for a in store.get_articles({q.article_id for s in recent for q in s.quotes})}
    for statement in recent:
        if any(same_event(article, sources[q.article_id]) for q in statement.quotes if q.article_id in sources):
            return statement
    return None


def attach_statements(articles: list[Article], store: Store) -> StatementReport:
    """Give every attributed quote a statement: an existing one it repeats, or a new one.

    All of one speaker's quotes in one article are one statement (a
    statement read out in parts), matched to an earlier statement when a quote
    repeats one of its quotes, or when both come from articles about the same
    event within 48 hours (different translations of one statement). Running
    it again over the same articles changes nothing.
    """
    report = StatementReport()
    for article in sorted(articles, key=lambda item: (article_time(item), item.id)):
        by_speaker: dict[str, list[Quote]] = {}
        for quote in article.quotes:
            if quote.speaker:
                by_speaker.setdefault(quote.speaker, []).append(quote)
        when = article_time(article)
        for speaker, quotes in sorted(by_speaker.items()):
            candidates = store.list_statements(speaker=speaker, since=when - LOOKBACK, limit=500)
            statement = _matching_statement(quotes, article, candidates, store)
            is_new = statement is None
            if statement is None:
                text = best_quote([quote.text for quote in quotes])
                statement = Statement(statement_key(speaker, text), speaker, when, text)
            known = {(q.article_id, q.text) for q in statement.quotes}
            added = [
                StatementQuote(
                    q.text,
                    article.id,
                    article.url,
                    article.source,
                    article.title,
                    article.published,
                    quote_context(article.text, q),
                )
                for q in quotes
                if (article.id, q.text) not in known
            ]
            if not added and not is_new:
                continue
            statement.quotes += added
            statement.first_seen = min(statement.first_seen, when)
            statement.updated = utcnow()
            store.save_statement(statement)
            (report.new if is_new else report.updated).append(statement.id)
    return report
