"""Statement identity: which attributions are one act of speaking, and which quote stands for it.

A statement is one speaker on one occasion. It reaches the news as its full text
(a primary source publishing it whole), as direct quotes and as reported speech,
in copies, reprints and translations. Wire copies quote the same words with
different punctuation, different quote glyphs, or only a fragment of the full
sentence; the analyst wants one alert per statement, so comparison is on
normalised words, and on the day the statement was made.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from difflib import SequenceMatcher
from functools import cached_property, lru_cache
from typing import Any

from pipeline.records import (
    AlertRecord,
    Article,
    Quote,
    Statement,
    StatementQuote,
    article_time,
    aware,
    speaker_key,
    utcnow,
)
from pipeline.store import Store

# A fragment this short ("good", "very hopeful") recurs across unrelated quotes,
# so containment alone does not make it the same statement.
MIN_FRAGMENT_WORDS = 3
SIMILAR = 0.85
# Below this many words, only the same words or containment make two quotes one statement.
MIN_SIMILAR_WORDS = 6


# Compiled once: `re.findall` with a pattern string looks it up in re's cache on every call (2,656 of a call's
# 31,942 instructions on a ten-word sentence, counted by callgrind), and grouping calls `words` thousands of times.
_WORD = re.compile(r"[\w]+(?:'[\w]+)*")


def words(text: str) -> list[str]:
    """Lower-cased words with quote glyphs, dashes and punctuation dropped."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("‘", "'")
    return _WORD.findall(text)


def same_statement(a: str, b: str) -> bool:
    """The same words, one quote inside the other, or at least `SIMILAR` of the shorter one's words matched in
    order (a word changed, a comma moved) when it has `MIN_SIMILAR_WORDS` or more.

    The order-preserving match (difflib's matching blocks) is computed only when the two quotes share enough
    words at all, counted with repeats: that count bounds the matched words from above, and costs a fraction of
    the match. A quote is compared with every wording of each candidate statement by its speaker, so most pairs
    share little; and each quote's words are read once (`_statement_words`). The similarity ratio test the match
    once also made is implied by this one (a ratio 2M/(la+lb) of at least `SIMILAR` needs M ≥ `SIMILAR` × the
    shorter length), so the answer is the same."""
    first, second = _statement_words(a), _statement_words(b)
    if not first or not second:
        return False
    if first == second:
        return True
    short, long = sorted((first, second), key=len)
    if len(short) >= MIN_FRAGMENT_WORDS and _contains(long, short):
        return True
    if len(short) < MIN_SIMILAR_WORDS:
        return False
    needed = SIMILAR * len(short)
    if (Counter(first) & Counter(second)).total() < needed:
        return False
    # A fragment quoted with a word changed ("we'd" for "we would") inside a longer quote, or a close rewording.
    matcher = SequenceMatcher(None, first, second, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) >= needed


@lru_cache(maxsize=4096)
def _statement_words(text: str) -> tuple[str, ...]:
    """`words`, kept for the quotes, wordings, headlines and speakers' names a batch reads again and again: a wire
    story's copies carry the same ones, and `makes_a_statement` reads the headline for each quote."""
    return tuple(words(text))


def _contains(long: Sequence[str], short: Sequence[str]) -> bool:
    joined = f" {' '.join(long)} "
    return f" {' '.join(short)} " in joined


def statement_key(speaker: str, text: str, occasion: date | None = None) -> str:
    """A stable id seed: the same speaker, words (and day) give the same key in any copy."""
    seed = " ".join(_statement_words(speaker)) + "\n" + " ".join(_statement_words(text))
    if occasion is not None:
        seed += f"\n{occasion.isoformat()}"
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
    if quote.kind == "full_text":
        return ""
    start = text.rfind("\n", 0, quote.start) + 1
    end = text.find("\n", quote.end)
    return text[start : end if end != -1 else len(text)].strip()


# -- what makes a statement ---------------------------------------------------------

# Fewer words than this in quotation marks is a fragment ("Provocation", "hard pass"),
# which may join a statement but never makes one.
MIN_STATEMENT_WORDS = 4
_CAPTION = re.compile(
    r"\((?:AP|AFP|Reuters|Getty|KCNA|Yonhap)?[^()]{0,40}\b(?:Photo|Images|via)\b[^()]*\)|\bPhoto:|/AP\b"
)
# One of these words stands inside `_CAPTION`'s first branch, after its "(".
_CAPTION_WORDS = ("Photo", "Images", "via")


# The reported-speech rule that reads an article's headline ("Kim Yo Jong Says …": quotes/reported.py's
# `headline_verb_clause`), named here as a string so that this module does not load the analyser.
HEADLINE_RULE = "headline_verb_clause"


def makes_a_statement(quote: Quote, text: str, title: str) -> bool:
    """Whether an attribution is evidence of an act of speaking, not a headline, caption or scrap.

    A full text is; a stance never is, nor an attribution read from the headline. A quote is when it runs to a few
    words and stands in a sentence of the story: not a caption (a photo credit in its paragraph), not a
    heading (a short line without a full stop), not a repeat of the headline.
    """
    if quote.kind == "full_text":
        return True
    if quote.kind == "stance":  # "declined to comment", "endorsed X": an attitude or act, not an act of speaking
        return False
    if quote.rule == HEADLINE_RULE:  # a headline's words are the outlet's summary, never the speaker's statement
        return False
    said = _statement_words(quote.text)
    if len(said) < MIN_STATEMENT_WORDS:
        return False
    paragraph = quote_context(text, quote)
    # Each test can only say no, so the cheap ones go first: the caption search, where it runs, costs the most.
    heading = len(paragraph.split()) < 15 and not paragraph.rstrip(" \"”'’").endswith((".", "!", "?"))
    if heading or (bool(title) and " ".join(said) in " ".join(_statement_words(title))):
        return False
    return not _captioned(paragraph)


def _captioned(paragraph: str) -> bool:
    """`_CAPTION` found in the paragraph, searched for only where the text each of its branches holds as it stands
    is there: "/AP", "Photo:", or "(" and one of `_CAPTION_WORDS`. In the 543-page bench cycle's quotes one paragraph
    in 350 has them; the search tries every branch at every character, and the paragraphs holding a "(" are the long
    ones (a story without line breaks is one paragraph), 3,600 characters on average, 0.3 ms a search."""
    marked = "/AP" in paragraph or "Photo:" in paragraph
    if not marked and "(" in paragraph:
        marked = any(word in paragraph for word in _CAPTION_WORDS)
    return marked and _CAPTION.search(paragraph) is not None


# -- the occasion ------------------------------------------------------------------

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(r"\b(?:on\s+|late\s+|early\s+)?(" + "|".join(_WEEKDAYS) + r")\b", re.IGNORECASE)
# Every weekday ends in "day", so a paragraph without it in any case (five in six) names none; finding it costs about
# an eighth of `_WEEKDAY`'s search, which tries its seven branches at every character.
_DAY = re.compile("day", re.IGNORECASE)


@dataclass(frozen=True)
class Occasion:
    """The day a statement was made, and whether the report says so (else it is the day it was published)."""

    day: date
    stated: bool

    def admits(self, other: date | None) -> bool:
        """Whether a statement made on `other` can be the one reported: the same day, or the day before if unsaid."""
        if other is None:
            return False
        return other == self.day or (not self.stated and other == self.day - timedelta(days=1))


def occasion_of(article: Article, quotes: list[Quote]) -> Occasion:
    """The day the attributions were spoken: a weekday named beside them, else the article's own day."""
    published = article_time(article).astimezone(UTC).date()
    if any(quote.kind == "full_text" for quote in quotes):
        return Occasion(published, True)
    for quote in quotes:
        around = quote_context(article.text, quote)
        named = _DAY.search(around) and _WEEKDAY.search(around)
        if named:
            back = (published.weekday() - _WEEKDAYS.index(named.group(1).lower())) % 7
            return Occasion(published - timedelta(days=back), True)
    return Occasion(published, False)


# -- matching an article's attributions to a statement --------------------------------

# How many of a speaker's recent statements one article is compared with: a bound,
# not a scan of every stored copy (the most recent first).
CANDIDATES = 50
LOOKBACK = timedelta(days=30)
# A quote is a fragment of a full text when this share of its word trigrams is in it.
FRAGMENT_SHARE = 0.8
# A paraphrase shares this share of its content words with the full text, and at least this many.
PARAPHRASE_SHARE = 0.6
PARAPHRASE_MIN_WORDS = 4
# A second primary publication is a reprint of the first when this share of its trigrams is in it.
REPRINT_SHARE = 0.5


def _trigrams(text: str) -> set[tuple[str, ...]]:
    tokens = words(text)
    return {tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)}


def _share_in(part: set[Any], whole: set[Any]) -> float:
    return len(part & whole) / len(part) if part else 0.0


@dataclass
class Group:
    """One speaker's attributions in one article: what is matched against stored statements."""

    speaker: str
    article: Article
    quotes: list[Quote]

    @cached_property
    def occasion(self) -> Occasion:
        """`occasion_of` the group, read when it makes a statement or is matched by occasion: most groups join one
        by its words first, and never need it (two in three in the 543-page bench cycle)."""
        return occasion_of(self.article, self.quotes)

    @cached_property
    def full_text(self) -> Quote | None:
        """The group's full text, if it has one: read once, though `Matcher.same_words` asks for each candidate."""
        return next((quote for quote in self.quotes if quote.kind == "full_text"), None)

    @cached_property
    def strong(self) -> list[str]:
        """The texts of the attributions that make a statement (`makes_a_statement`), read once for both the
        question whether the group makes one and the new statement's wording."""
        return [q.text for q in self.quotes if makes_a_statement(q, self.article.text, self.article.title)]

    @property
    def makes_a_statement(self) -> bool:
        return bool(self.strong)


@dataclass
class Matcher:
    """Compares groups with candidate statements; caches what it derives so each is computed once per run."""

    store: Store
    _trigrams: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)
    _words: dict[str, set[str]] = field(default_factory=dict)
    _articles: dict[str, Article | None] = field(default_factory=dict)

    def forget(self, statement_id: str) -> None:
        """A statement whose text changed is derived afresh."""
        self._trigrams.pop(statement_id, None)
        self._words.pop(statement_id, None)

    def full_trigrams(self, statement: Statement) -> set[tuple[str, ...]]:
        if statement.id not in self._trigrams:
            self._trigrams[statement.id] = _trigrams(statement.text)
        return self._trigrams[statement.id]

    def full_words(self, statement: Statement) -> set[str]:
        if statement.id not in self._words:
            self._words[statement.id] = content_words(statement.text)
        return self._words[statement.id]

    def first_report(self, statement: Statement) -> Article | None:
        """The statement's earliest report, fetched once: what `same_event` compares a new report with."""
        ids = [quote.article_id for quote in sorted(statement.quotes, key=_report_order)[:1]]
        if not ids:
            return None
        if ids[0] not in self._articles:
            found = self.store.get_articles(ids)
            self._articles[ids[0]] = found[0] if found else None
        return self._articles[ids[0]]

    def in_full_text(self, text: str, kind: str, statement: Statement) -> bool:
        """A quote that is a fragment of the full text, or reported speech that paraphrases it."""
        grams = _trigrams(text)
        if (
            len(words(text)) >= MIN_STATEMENT_WORDS
            and _share_in(grams, self.full_trigrams(statement)) >= FRAGMENT_SHARE
        ):
            return True
        if kind != "indirect":
            return False
        own = content_words(text)
        return len(own) >= PARAPHRASE_MIN_WORDS and _share_in(own, self.full_words(statement)) >= PARAPHRASE_SHARE

    def same_words(self, group: Group, statement: Statement) -> bool:
        """The group's words are the statement's: a repeated wording, a fragment of its full text, or the reverse."""
        full = group.full_text
        if statement.kind == "full_text" and full is not None:
            # two primary publications: the same statement only when one reprints the other
            return _share_in(_trigrams(full.text), self.full_trigrams(statement)) >= REPRINT_SHARE
        if statement.kind == "full_text":
            return any(self.in_full_text(quote.text, quote.kind, statement) for quote in group.quotes)
        if full is not None:
            own = _trigrams(full.text)
            return any(
                _share_in(_trigrams(quote.text), own) >= FRAGMENT_SHARE
                and len(words(quote.text)) >= MIN_STATEMENT_WORDS
                for quote in statement.quotes
            )
        wordings = {quote.text for quote in statement.quotes}
        return any(same_statement(quote.text, wording) for quote in group.quotes for wording in wordings)

    def same_occasion(self, group: Group, statement: Statement) -> bool:
        """A report of the same day's statement by that speaker, about the same event.

        Once a statement's full text is known, a report must carry its words to
        be linked to it: a quote that is not in the text belongs to another
        statement, however close in time.
        """
        if statement.kind == "full_text" or not group.occasion.admits(statement.occasion):
            return False
        first = self.first_report(statement)
        return first is not None and same_event(group.article, first)

    def match(self, group: Group, candidates: list[Statement]) -> tuple[Statement, str] | None:
        """The statement this group belongs to and the rule that said so, else None."""
        for statement in candidates:
            if self.same_words(group, statement):
                return statement, "same_words"
        for statement in candidates:
            if self.same_occasion(group, statement):
                return statement, "same_occasion"
        return None


def _report_order(quote: StatementQuote) -> tuple[datetime, str]:
    return (aware(quote.published or quote.fetched or datetime.max.replace(tzinfo=UTC)), quote.article_id)


def _groups(article: Article, only: str | None = None) -> list[Group]:
    """One group per speaker, spellings of one name ("Moon Jae In", "Moon Jae-in") being one speaker, named as
    the article first spells it; `only` (a `speaker_key`) keeps that speaker's alone."""
    by_speaker: dict[str, list[Quote]] = {}
    spelled: dict[str, str] = {}
    for quote in article.quotes:
        if quote.speaker and quote.kind != "stance":  # a stance is no statement, nor evidence of one
            key = speaker_key(quote.speaker)
            if only is None or key == only:
                spelled.setdefault(key, quote.speaker)
                by_speaker.setdefault(key, []).append(quote)
    return [Group(spelled[key], article, quotes) for key, quotes in sorted(by_speaker.items())]


def _fetched(article: Article) -> datetime:
    return aware(article.fetched)


def _new_statement(group: Group) -> Statement:
    full = group.full_text
    text = full.text if full is not None else best_quote(group.strong)
    return Statement(
        statement_key(group.speaker, text, group.occasion.day),
        group.speaker,
        _fetched(group.article),
        text,
        kind="full_text"
        if full is not None
        else ("direct" if any(q.kind == "direct" for q in group.quotes) else "indirect"),
        published=article_time(group.article),
        occasion=group.occasion.day,
        primary_url=group.article.url if full is not None else None,
    )


def _reports(group: Group, statement: Statement) -> list[StatementQuote]:
    """The group's attributions not yet attached to the statement."""
    article = group.article
    known = {(quote.article_id, quote.text) for quote in statement.quotes}
    return [
        StatementQuote(
            quote.text,
            article.id,
            article.url,
            article.source,
            article.title,
            article.published,
            quote_context(article.text, quote),
            quote.kind,
            _fetched(article),
            quote.rule,
        )
        for quote in group.quotes
        if (article.id, quote.text) not in known
    ]


def _absorb(statement: Statement, group: Group, added: list[StatementQuote]) -> None:
    """Attach reports; a primary text arriving after its reports becomes the statement's text (same id)."""
    statement.quotes += added
    full = group.full_text
    if full is not None and statement.kind != "full_text":
        statement.kind, statement.text, statement.primary_url = "full_text", full.text, group.article.url
        statement.occasion = group.occasion.day
    statement.first_seen = min(statement.first_seen, _fetched(group.article))
    published = article_time(group.article)
    statement.published = min(statement.published, published) if statement.published else published
    statement.updated = utcnow()


def _position(article: Article) -> tuple[datetime, str]:
    """Where an article stands in the one order grouping follows, whatever order the articles arrive in."""
    return (article_time(article), article.id)


def _newest_first(candidates: list[Statement]) -> list[Statement]:
    """The candidates by when their first report appeared, newest first. The store orders them by when wirewatch
    first fetched one, which depends on how the articles were batched; and which comes first decides the statement
    a group joins when it matches two."""
    return sorted(candidates, key=lambda statement: (statement.published or statement.first_seen, statement.id))[::-1]


@dataclass
class Removed:
    """A statement a rewind removed: its reports' articles (earliest first), and the alert claims it held."""

    statement_id: str
    articles: list[str]
    claims: list[AlertRecord]


@dataclass
class Grouping:
    """One call's grouping: what it reports, which statement each article's group joined or made, and the
    statements rewinds removed, until their claims are carried to where their reports went."""

    store: Store
    matcher: Matcher
    report: StatementReport = field(default_factory=StatementReport)
    placed: dict[str, str] = field(default_factory=dict)
    removed: list[Removed] = field(default_factory=list)

    def attach(self, group: Group) -> None:
        """The group joins the statement it reports among its speaker's candidates, else makes one (or none)."""
        article = group.article
        since = article_time(article) - LOOKBACK
        # each with one report per wording and this article's own: bounded however many copies carried it
        candidates = _newest_first(self.store.statement_candidates(group.speaker, since, CANDIDATES, article.id))
        matched = self.matcher.match(group, candidates)
        if matched is None and not group.makes_a_statement:
            return
        self.join(group, matched[0] if matched else _new_statement(group), matched is not None)

    def join(self, group: Group, statement: Statement, matched: bool) -> None:
        """The group's reports attached to `statement` (one it matched, or the one it makes), and saved."""
        article = group.article
        self.placed[article.id] = statement.id
        added = _reports(group, statement)
        if matched and not added:
            return
        _absorb(statement, group, added)
        # Only the reports added: the others were read from the store, where saving them again changes nothing
        # (`Store.save_statement`) but cost a timestamp, a wording key and an ignored insert each.
        self.store.save_statement(replace(statement, quotes=added))
        self.matcher.forget(statement.id)
        made = not matched and all(gone.statement_id != statement.id for gone in self.removed)
        (self.report.new if made else self.report.updated).append(statement.id)

    def unchanged_joins(self, groups: list[Group], grouped: list[tuple[datetime, str]]) -> list[Statement] | None:
        """For the speaker's groups in hand that stand before some of `grouped` (its grouped articles after the
        batch's start), the statement each joins with nothing later changed, in their order; None when any might
        change something later, and the speaker's later articles have to be rewound.

        Why joining is then exact: a late group with no full text that joins, by `same_words`, a statement that had
        a report before it, when each of its quote texts is already a wording that statement had before it (or the
        statement's text was already a full text), adds only reports. The statement's kind, text, id and occasion
        (set by its opener or a full text), its first report (`same_occasion`'s), its first publication
        (`_newest_first`'s order), its first fetch (the store's candidate order; checked) and its set of wordings
        (`same_words`') are what they were, so every later group is matched as it was; and a late group does not
        join a statement opened after it. Which statement it joins one pass in time order would have it join is
        read from the statements as they stood before it: `_before`."""
        last = max(grouped)
        late = [group for group in groups if _position(group.article) < last]
        if not late:
            return []
        if any(group.full_text is not None for group in late):
            return None
        reporting = self.store.statements_reporting(late[0].speaker, [article_id for _, article_id in grouped])
        later = {statement.id: statement for statement in reporting}
        joins: list[Statement] = []
        for group in late:
            target = self._unchanged_join(group, later)
            if target is None:
                return None
            joins.append(target)
        return joins

    def _unchanged_join(self, group: Group, later: dict[str, Statement]) -> Statement | None:
        """The statement `group` joins with nothing later changed (`unchanged_joins`), else None."""
        texts = {quote.text for quote in group.quotes}
        if not any(_statement_words(text) for text in texts):
            return None
        before = _before(self.store, group, later)
        if before is None:
            return None
        target = next((view for view in _newest_first(before) if self.matcher.same_words(group, view)), None)
        if target is None or not (target.kind == "full_text" or texts <= {q.text for q in target.quotes}):
            return None
        stored = later.get(target.id, target)  # a view of a statement in `later` has only its earlier reports
        return stored if _fetched(group.article) >= aware(stored.first_seen) else None

    def rewind(self, speaker: str, start: tuple[datetime, str], grouped: list[tuple[datetime, str]]) -> list[Group]:
        """Undo what grouping did for `speaker` after `start`, and return the groups to group again.

        `grouped` are the speaker's grouped articles that stand after `start` (within `LOOKBACK`): they were
        grouped before the article at `start` arrived, and had it come first, their statements could be opened,
        joined and worded otherwise. Each statement holding a report of theirs is removed and made again from its
        reports that stand before `start` (the same opener, so the same id); their groups, those that joined
        nothing too, are returned, to be grouped again in order with the ones in hand."""
        if not grouped:
            return []
        later = self.store.get_articles([article_id for _, article_id in grouped])
        key = speaker_key(speaker)
        affected = self.store.statements_reporting(speaker, [article.id for article in later])
        claims = self.store.delete_statements([statement.id for statement in affected])
        before = {q.article_id for statement in affected for q in statement.quotes if _report_order(q) < start}
        earlier = self.store.get_articles(sorted(before))
        for statement in affected:
            self.matcher.forget(statement.id)
            reported = [q.article_id for q in sorted(statement.quotes, key=_report_order)]
            self.removed.append(
                Removed(statement.id, reported, [claim for claim in claims if claim.statement_id == statement.id])
            )
            own = set(reported)
            groups = [group for article in earlier if article.id in own for group in _groups(article, key)]
            if groups:
                self._restore(sorted(groups, key=lambda group: _position(group.article)))
        return [group for article in later for group in _groups(article, key)]

    def _restore(self, groups: list[Group]) -> None:
        """A statement as the groups that stand before a rewind's start made it: the first opened it (so its id
        is the one it had), each later one joined it."""
        statement = _new_statement(groups[0])
        statement.quotes = _reports(groups[0], statement)
        for group in groups[1:]:
            _absorb(statement, group, _reports(group, statement))
        self.store.save_statement(statement)
        self.placed.update((group.article.id, statement.id) for group in groups)

    def carry_claims(self) -> None:
        """An alert claimed for a statement that a rewind removed and did not make again (its opener now joins an
        earlier statement) is claimed, as it stands (sent, pending or failed, with its Message-ID), for the
        statement its earliest report now belongs to: the analyst was told about that statement already, and
        `alert.alert_stage` finds the claim and sends nothing for it."""
        made = set(self.placed.values())
        for gone in self.removed:
            if gone.statement_id in made:
                continue
            target = next((self.placed[i] for i in gone.articles if i in self.placed), None)
            if target is None:  # none of its reports joins a statement now: nothing to alert about
                continue
            for claim in gone.claims:
                self.store.claim_alert(replace(claim, statement_id=target))


def _before(store: Store, group: Group, later: dict[str, Statement]) -> list[Statement] | None:
    """The group's candidates as they stood before it, in one pass in time order: each statement with its reports
    that stand before it, its first fetch and first publication theirs. `later` are the speaker's statements that
    hold reports of its later grouped articles, with all their reports; the others' reports all stand before it
    (else None). None too when a candidate's kind or text might have been another before it (a full text that
    joined after it), or when the store's bound on candidates might have cut some."""
    position, since = _position(group.article), article_time(group.article) - LOOKBACK
    listed = store.statement_candidates(group.speaker, since, CANDIDATES, group.article.id)
    views: list[Statement] = []
    for statement in listed:
        if statement.id not in later:
            if any(_report_order(quote) >= position for quote in statement.quotes):
                return None
            views.append(statement)
    for statement in later.values():
        kept = [quote for quote in statement.quotes if _report_order(quote) < position]
        if not kept or any(quote.fetched is None for quote in kept):
            if kept:
                return None
            continue
        if statement.kind == "full_text" and not any(quote.kind == "full_text" for quote in kept):
            return None
        first_seen = min(aware(quote.fetched) for quote in kept if quote.fetched is not None)
        if first_seen >= since:
            views.append(
                replace(statement, quotes=kept, first_seen=first_seen, published=min(map(_report_order, kept))[0])
            )
    return views if len(listed) < CANDIDATES and len(views) < CANDIDATES else None


def _grouped_after(
    store: Store, by_speaker: dict[str, list[Group]], starts: dict[str, tuple[datetime, str]], in_hand: set[str]
) -> dict[str, list[tuple[datetime, str]]]:
    """By speaker, the grouped articles (not those in hand) that stand after the speaker's first one in hand, within
    `LOOKBACK` of it: one query for the batch."""
    if not starts:
        return {}
    since, until = min(starts.values())[0], max(starts.values())[0] + LOOKBACK
    grouped: dict[str, list[tuple[datetime, str]]] = {}
    speakers = [groups[0].speaker for groups in by_speaker.values()]
    for speaker, appeared, article_id in store.speaker_articles(speakers, since, until):
        key = speaker_key(speaker)
        start = starts.get(key)
        if (
            start is None
            or article_id in in_hand
            or not start < (appeared, article_id)
            or appeared > start[0] + LOOKBACK
        ):
            continue
        grouped.setdefault(key, []).append((appeared, article_id))
    return grouped


def attach_statements(articles: list[Article], store: Store) -> StatementReport:
    """Give every speaker's attributions in each article a statement: the one they report, or a new one.

    One speaker's attributions in one article are one statement. They join a
    stored statement by that speaker (among the `CANDIDATES` most recent) when
    they carry its words — a repeated quote, a fragment or paraphrase of its full
    text, or a full text its quotes came from — or report the same occasion: the
    same day's statement, about the same event, while its full text is unknown.
    Otherwise they make a new statement, if any of them is a statement at all (a
    headline fragment, a caption or a scrap never is). Running it again over the
    same articles changes nothing.

    Articles are grouped in the order they appeared (`_position`), each speaker's apart (no statement is two
    speakers'), and what that order gives does not depend on how they were batched: a speaker's articles that
    stand after this batch's first one and were grouped already are grouped again after it (`Grouping.rewind`).
    """
    grouping = Grouping(store, Matcher(store))
    by_speaker: dict[str, list[Group]] = {}
    for article in articles:
        for group in _groups(article):
            by_speaker.setdefault(speaker_key(group.speaker), []).append(group)
    starts = {key: min(_position(group.article) for group in groups) for key, groups in by_speaker.items()}
    grouped = _grouped_after(store, by_speaker, starts, {article.id for article in articles})
    for key in sorted(by_speaker):
        groups = sorted(by_speaker[key], key=lambda group: _position(group.article))
        joins = grouping.unchanged_joins(groups, grouped[key]) if key in grouped else []
        if joins is None:
            groups += grouping.rewind(groups[0].speaker, starts[key], grouped[key])
            joins = []
        for group, statement in zip(groups, joins, strict=False):
            grouping.join(group, statement, matched=True)
        for group in sorted(groups[len(joins) :], key=lambda group: _position(group.article)):
            grouping.attach(group)
    grouping.carry_claims()
    return grouping.report
