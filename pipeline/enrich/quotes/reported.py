"""Reported speech: "X said (that) …", "…, she said.", "according to X, …".

The direct-quote strategies start from a quotation and look for its speaker;
these start from a sentence and look for a reporting verb whose clause is what
someone said without quotation marks. The content is the reported clause, to
the end of the sentence or the clause that ends it (";", ", adding …",
", according to …"); quoted fragments inside it stay part of it ("she said the
plan was “a disaster”"), while a clause that is itself a quotation ("He said:
“…”") is left to the direct strategies. Speakers are the same candidates the
direct strategies find and are resolved by the same `Resolver`.

As for direct quotes, the strategies are an ordered list of small named
functions (`REPORTED_STRATEGIES`); the first that finds an attribution in a
sentence wins, and its name is the attribution's `rule`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pipeline.enrich import lexicon
from pipeline.enrich.entities import PERSON, TITLES
from pipeline.enrich.quotes.candidates import (
    clause_subject,
    closing_speaker,
    mention_after,
    mention_ending,
    sentence_subject,
    subject_before,
)
from pipeline.enrich.quotes.cues import STATE_FORMS, is_cue, speaker_of_cue, states_subject
from pipeline.enrich.quotes.frame import (
    Attribution,
    Candidate,
    Context,
    Item,
    frame,
    token_candidate,
    token_text,
)
from pipeline.enrich.quotes.words import (
    ATTRIBUTION_TAILS,
    COORDINATORS,
    CUES,
    DAYS,
    DETERMINERS,
    NOUN_MARKERS,
    NP_BREAKS,
    PREPOSITIONS,
    PRONOUNS,
    verb_forms,
)

# A reported clause needs this many words outside quotation marks; fewer is a fragment, a title or a direct quote.
MIN_WORDS = 3


def _reported_verbs() -> dict[str, str]:
    """Every form of every verb in reported_verbs.tsv, with its complement ("bare" or "that")."""
    verbs: dict[str, str] = {}
    for row in lexicon.rows("reported_verbs.tsv"):
        spelled = lexicon.column(row, 1)
        forms = verb_forms(row[0]) if spelled == "regular" else {f.strip() for f in spelled.split(",")}
        for form in forms:
            verbs[form] = lexicon.column(row, 2)
    return verbs


REPORTED_VERBS = _reported_verbs()


def _complement_verbs() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Every form of every verb in complement_verbs.tsv, with the complements it takes (each a tuple of words)."""
    verbs: dict[str, tuple[tuple[str, ...], ...]] = {}
    for row in lexicon.rows("complement_verbs.tsv"):
        spelled = lexicon.column(row, 1)
        forms = verb_forms(row[0]) if spelled == "regular" else {f.strip() for f in spelled.split(",")}
        pattern = tuple(lexicon.column(row, 2).split())
        for form in forms:
            verbs[form] = (*verbs.get(form, ()), pattern)
    return verbs


COMPLEMENT_VERBS = _complement_verbs()


def _claim_nouns() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Every form of every noun in claim_nouns.tsv, with the complements it takes (each a tuple of words)."""
    nouns: dict[str, tuple[tuple[str, ...], ...]] = {}
    for row in lexicon.rows("claim_nouns.tsv"):
        pattern = tuple(lexicon.column(row, 1).split())
        for form in row[0].split(","):
            nouns[form.strip()] = (*nouns.get(form.strip(), ()), pattern)
    return nouns


CLAIM_NOUNS = _claim_nouns()


def _stance_weights() -> dict[str, float]:
    """The linear model `learned_cue_object` scores its candidates with: feature name → weight
    (stance_model.tsv, trained on PolNeAR train by bench/learn_stance.py; how, when and with which threshold is in
    the file's header). Its "w=" rows name the cue words it reads."""
    return {row[0]: float(lexicon.column(row, 1)) for row in lexicon.rows("stance_model.tsv")}


STANCE_WEIGHTS = _stance_weights()
# The words `learned_cue_object` tries as a cue: those the model has a weight for.
LEARNED_CUES = frozenset(feature[2:] for feature in STANCE_WEIGHTS if feature.startswith("w=") and feature != "w=*")
# Pronouns after which any verb is tried as a cue ("they traded barbs", "who wants to unseat …"), past auxiliaries
# and adverbs: the model scores the word by its ending and context when it has no weight of its own.
_SUBJECT_PRONOUNS = frozenset({"he", "she", "they", "i", "we", "who"})
# Any sentence that can hold reported speech has one of these words (in any case, as a whole word).
_MAY_REPORT = (
    frozenset(verb.lower() for verb in REPORTED_VERBS)
    | frozenset(COMPLEMENT_VERBS)
    | frozenset(CLAIM_NOUNS)
    | LEARNED_CUES
    | _SUBJECT_PRONOUNS
) | {"according"}
# A sentence opening with a capitalised name and a colon, which `name_colon_clause` reads ("Paul Ryan: …").
_NAME_COLON = re.compile(r"[A-Z][\w.’'-]*(?: [A-Z][\w.’'-]*){0,3}: ")
# Words a reported clause never opens with: after "said" they start a phrase about the saying, not what was said.
NOT_CLAUSE_OPENERS = lexicon.words("not_clause_openers.txt") | PREPOSITIONS
# Words that end a speaker's descriptive phrase rather than describe the speaker.
_PHRASE_ENDS = NP_BREAKS | PREPOSITIONS
# Words a speaker's mention leaves out before it ("the", "former Gov.").
_BEFORE_MENTION = DETERMINERS | TITLES
# Participles that report after a comma: "…, saying …", "…, adding that …".
PARTICIPLES = frozenset(form for form in REPORTED_VERBS if form.endswith("ing"))
# Words after a comma that end the reported clause: a contrast or another attribution begins.
CLAUSE_BREAKS = lexicon.words("clause_breaks.txt")
SAY_TELL = frozenset({"say", "says", "said", "tell", "tells", "told"})
# Verbs whose object is the one addressed before the reported clause: "told reporters (that) …".
ADDRESS_CUES = lexicon.words("address_cues.txt")
# Common addressees that are no name: "told reporters", "told them".
ADDRESSEES = lexicon.words("addressees.txt")
# Nouns naming what a speaker issued: "Kim's statement said …", "a statement from the ministry said …".
UTTERANCES = lexicon.words("utterances.txt")


@dataclass
class Reported:
    """One reported-speech attribution: who (before resolution), the cue, and the reported clause."""

    attribution: Attribution
    start: int
    end: int
    # "indirect" when a rule for a verb or noun of saying found it (the curated lists: reported_verbs.tsv,
    # complement_verbs.tsv, claim_nouns.tsv, "according to"): the content is what was said; "stance" when the
    # model (`learned_cue_object`) found it: an attitude or act (endorsed, criticized, declined …), or a word of
    # saying with a noun phrase for its object ("denied the allegations", "shows Trump ahead"), which names what was
    # said without saying it; a stance is kept but never makes a statement
    kind: str = "indirect"


@dataclass
class Sentence:
    """One sentence as a frame, with the quotations attributed so far (by quote index)."""

    ctx: Context
    items: list[Item]
    done: dict[int, Attribution]
    # The speaker found earlier in the same sentence, when the sentence is read again past a hit: "X said A, but
    # added that B" — "added" has no subject of its own in what is left.
    carried: Candidate | None = None
    words: list[str] = field(default_factory=list)  # each item's lowercase word ("" for a quotation)
    # word(k): items[k]'s lowercase word, "" for a quotation or past either end. The strategies call it hundreds
    # of thousands of times per hundred articles, so it is a dict lookup rather than a method with a range check.
    word: Callable[[int], str] = field(init=False, repr=False)
    # The indices of the items whose word is in REPORTED_VERBS, in order: every strategy starts from such a verb
    # (or from "according"), so each looks only at these instead of testing every item of the sentence.
    verbs: list[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        lowers = self.ctx.lowers  # `lower` of each item, without a call per item
        self.words = [lowers[i] if kind == "T" else "" for kind, i in self.items]
        self.word = _Words(enumerate(self.words)).__getitem__
        self.verbs = [k for k, word in enumerate(self.words) if word in REPORTED_VERBS]

    def verbs_in(self, low: int, high: int) -> list[int]:
        """The indices k of `verbs` with low <= k < high, in order."""
        return self.verbs[bisect.bisect_left(self.verbs, low) : bisect.bisect_left(self.verbs, high)]

    def start_of(self, k: int) -> int:
        item = self.items[k]
        if item[0] == "Q":
            return self.ctx.spans[item[1]].outer_start
        return self.ctx.token_starts[item[1]]

    def end_of(self, k: int) -> int:
        item = self.items[k]
        if item[0] == "Q":
            return self.ctx.spans[item[1]].outer_end
        return self.ctx.token_ends[item[1]]


class _Words(dict[int, str]):
    """Item index → lowercase word; any other index reads as ""."""

    def __missing__(self, key: int) -> str:
        return ""


ReportedStrategy = Callable[[Sentence], Reported | None]

# Quotation marks typed as two apostrophes or backticks (``…'' or ''…''), the convention of some newspapers'
# archived copy: the quote finder pairs only real quotation marks, so here they are punctuation around a clause.
APOSTROPHE_QUOTES = frozenset({"''", "``"})
# Punctuation that closes a quoted clause before its attribution: "…,'' she said", "…?'' he asked", "….'' he said".
_QUOTE_CLOSERS = frozenset({",", "?", "!", "."})
# How many words a sentence closing an apostrophe quotation may have ("Mr. Trump wrote on Twitter.").
MAX_SHORT_ATTRIBUTION = 10

_CLAUSE_PUNCT = frozenset({".", ";", ",", ":", "!", "?", "—", "–", "--", "-", ")", "(", "'", "’", "“", "”", '"'})


def _reporting(sent: Sentence, c: int) -> bool:
    """A verb that reports speech without quotation marks: listed, and not a noun ("the report", "his statement")."""
    word = sent.word(c)
    if word not in REPORTED_VERBS or sent.items[c][0] != "T":
        return False
    if word in CUES:
        # "three said", "Several said": after a number or quantifier the word reads as a noun, unless they are a share
        # of people as the clause's subject
        return is_cue(sent.ctx, sent.items, c, before=True) or _quantity_subject(sent, c) is not None
    return sent.ctx.lowercase[sent.items[c][1]] and sent.word(c - 1) not in NOUN_MARKERS


def _opens_clause(sent: Sentence, c: int, a: int, after_that: bool) -> bool:
    """Whether items[a] can open the clause the verb at items[c] reports."""
    if after_that or _opens_apostrophe_quote(sent, a):
        return True
    if REPORTED_VERBS.get(sent.word(c)) == "that" and _pronoun_clause(sent, a) and not _passive(sent, c):
        return True
    if REPORTED_VERBS.get(sent.word(c)) != "bare" or a >= len(sent.items) or sent.items[a][0] != "T":
        return False
    i = sent.items[a][1]
    if sent.ctx.numbers[i] and sent.word(c) not in SAY_TELL:
        return False  # "added 0.4 per cent": a number, not a clause
    if sent.word(a) == "her" and sent.word(c) not in ADDRESS_CUES:
        return _possessive_her(sent, a)
    return sent.word(a) not in NOT_CLAUSE_OPENERS and not sent.ctx.puncts[i]


# Pronouns that can only be a subject: after "announced", "showed" or "denied" they open a clause, not an object.
_SUBJECT_ONLY = _SUBJECT_PRONOUNS - {"who"}
# Words after "it" that make it a clause's subject ("announced it would …", "denied it was …"): "announced it on
# Tuesday", "found it difficult" keep "it" an object.
_FINITE_AFTER_IT = frozenset(
    {"is", "was", "will", "would", "has", "had", "could", "can", "may", "might", "did", "does"}
)


def _pronoun_clause(sent: Sentence, a: int) -> bool:
    """ "announced she will resign", "new filings show it has less than …": after a verb that otherwise needs "that"
    (the verb more often takes a noun), a subject pronoun and a verb open a clause all the same."""
    following = sent.word(a + 1)
    if sent.word(a) == "it":
        return following in _FINITE_AFTER_IT
    if sent.word(a) not in _SUBJECT_ONLY or not following.isalpha() or sent.items[a + 1][0] != "T":
        return False
    return sent.ctx.lowercase[sent.items[a + 1][1]] and following not in NOT_CLAUSE_OPENERS


def _possessive_her(sent: Sentence, a: int) -> bool:
    """ "said her father had …": after a verb that takes no addressee, "her" before a lowercase word owns the
    clause's subject; "told her", "said of her" stay no clause."""
    k = a + 1
    if k >= len(sent.items) or sent.items[k][0] != "T":
        return False
    i = sent.items[k][1]
    return sent.ctx.lowercase[i] and sent.ctx.alphas[i] and sent.word(k) not in NOT_CLAUSE_OPENERS


def _opens_apostrophe_quote(sent: Sentence, a: int) -> bool:
    """ "She said, ``the plan is dead.''": a clause in apostrophe quotation marks after "said," or "added:"."""
    return sent.word(a) in {",", ":"} and sent.word(a + 1) in APOSTROPHE_QUOTES


def _comma_ending(sent: Sentence, k: int) -> int | None:
    """The comma ending a clause at items[k], or just before a closing apostrophe quote mark there
    ("…,'' she said", "…?'' he asked"); None when there is none."""
    if sent.word(k) == ",":
        return k
    if sent.word(k) in APOSTROPHE_QUOTES and sent.word(k - 1) in _QUOTE_CLOSERS and k >= 2:
        return k - 1
    return None


def _clause_end(sent: Sentence, a: int) -> int:
    """The item index where the clause starting at items[a] ends (exclusive).

    It ends with the sentence, at ";", at a comma before a contrast or a participle
    ("…, while …", "…, adding …", "…, according to …"), or before a coordinated
    reporting verb ("… and added", "… but insists"), which starts a new report.
    """
    items = sent.items
    for k in range(a, len(items)):
        word = sent.word(k)
        if word == ";":
            return k
        following = sent.word(k + 1)
        if word == "," and (following in CLAUSE_BREAKS or following in PARTICIPLES):
            return k
        if word in _RULE_REPORT_COORDINATORS and _rule_reports_again(sent, k + 1):
            return k
    return len(items)


# Coordinators before which a second verb of saying starts a report of its own ("… and added", "… but insists").
_RULE_REPORT_COORDINATORS = frozenset({"and", "but"})


def _rule_reports_again(sent: Sentence, k: int) -> bool:
    """Whether a finite verb of saying stands at items[k], past adverbs ("also", "later", "-ly"): after a
    coordinator it is the speaker's next report, read again with the speaker carried, not part of this clause."""
    while sent.word(k).endswith("ly") or sent.word(k) in _RULE_AGAIN_ADVERBS:
        k += 1
    return not sent.word(k).endswith("ing") and _reporting(sent, k)


_RULE_AGAIN_ADVERBS = frozenset({"also", "later", "then", "now"})


def _content(sent: Sentence, a: int, b: int, min_words: int = MIN_WORDS) -> tuple[int, int] | None:
    """The character span of items[a:b] as a reported clause, or None when it is not one.

    Leading "that" and punctuation and trailing punctuation are trimmed. A
    clause that opens with a quotation is a direct quote ("said “…”").
    """
    while a < b and sent.word(a) in {"that", ",", ":", "—", "–", "--"}:
        a += 1
    while b > a and sent.items[b - 1][0] == "T" and sent.word(b - 1) in _CLAUSE_PUNCT:
        b -= 1
    if b <= a or sent.items[a][0] == "Q":
        return None

    alphas, items = sent.ctx.alphas, sent.items
    words = sum(1 for k in range(a, b) if items[k][0] == "T" and alphas[items[k][1]])
    if words < min_words:
        return None
    return sent.start_of(a), sent.end_of(b - 1)


def _skip_tail(sent: Sentence, a: int) -> tuple[int, bool]:
    """Past "on Tuesday", "last week", "earlier" after a verb, or up to a "that" if one comes soon
    ("said in a statement that"), but not past a second report ("said the border would close and added that") nor
    to a relative "that" ("said she backed a plan that would …"); and whether it was a "that"."""
    for k in range(a, min(len(sent.items), a + 10)):
        if sent.items[k][0] == "Q" or sent.word(k) in {",", ".", ";", ":"}:
            break
        if sent.word(k) in _RULE_REPORT_COORDINATORS and _rule_reports_again(sent, k + 1):
            break
        if k > a and _rule_relative_that(sent, k):
            break
        if sent.word(k) == "that":
            return k + 1, True
    return _skip_time(sent, a), False


def _rule_relative_that(sent: Sentence, k: int) -> bool:
    """Whether items[k] is a relative "that" with a verb right after it ("a plan that would close …", "a documentary
    that showed …"): past other words after a verb of saying, such a "that" opens no reported clause."""
    following = sent.word(k + 1)
    return sent.word(k) == "that" and (following in _RULE_RELATIVE_VERBS or following.endswith("ed"))


def _skip_time(sent: Sentence, k: int) -> int:
    """Past "on Tuesday", "last week", "earlier" at items[k]."""
    while k < len(sent.items):
        if sent.word(k) in TIME_WORDS:
            k += 1
        elif sent.word(k) in {"on", "this", "last", "earlier", "late", "early"} and sent.word(k + 1) in TIME_WORDS:
            k += 2
        else:
            break
    return k


_PERIODS = frozenset({"week", "month", "year", "weekend", "night", "morning", "afternoon", "evening"})
# Words of time that may stand between a reporting verb and its clause: "said Tuesday", "said last week".
TIME_WORDS = DAYS | _PERIODS | {"yesterday", "today", "tonight", "earlier", "later", "again", "also", "then"}


def _skip_addressee(sent: Sentence, c: int, a: int) -> int:
    """ "told reporters", "told CBC News", "told the Globe and Mail": the one addressed, after an address verb."""
    if sent.word(c) not in ADDRESS_CUES:
        return a
    for k in range(a, min(len(sent.items), a + 8)):
        if sent.word(k) == "that":
            return k + 1
        if sent.items[k][0] == "Q" or sent.word(k) in {",", ".", ";", ":"}:
            return k
    mention = sent.ctx.ent_start.get(sent.items[a][1]) if a < len(sent.items) and sent.items[a][0] == "T" else None
    if mention is not None:
        k = a
        while k < len(sent.items) and sent.items[k][0] == "T" and sent.items[k][1] < mention.tok_end:
            k += 1
        return k
    if sent.word(a) in ADDRESSEES:
        return a + 1
    if sent.word(a) in {"the", "a", "an"}:
        return min(len(sent.items), a + 2)
    return a


def _subject(sent: Sentence, c: int) -> Candidate | None:
    """The subject before the verb at items[c]; "the report", "a new study" too, which the cue finders skip
    because "report" is itself a reporting verb."""
    found = subject_before(sent.ctx, sent.items, c, 0)
    if found is None:
        found = _quantity_subject(sent, c) or _distant_subject(sent, c)
    if found is not None or c < 2 or sent.word(c - 1) not in UTTERANCES:
        return found
    first = c - 2
    while first > 0 and sent.items[first][0] == "T" and sent.word(first) not in DETERMINERS and c - first < 4:
        first -= 1
    if sent.word(first) not in DETERMINERS or sent.items[first][0] != "T":
        return None
    return token_candidate(sent.ctx, sent.items[first][1], sent.items[c - 1][1], "np")


# How many items a speaker's descriptions may take between the name and the verb ("Ana Kovac, 21, a junior from …").
MAX_DESCRIPTION = 30


def _distant_subject(sent: Sentence, c: int) -> Candidate | None:
    """ "Ana Kovac, 21, a junior from Las Vegas, said …", "Tom Ruiz, 24, who was visiting from Ohio, told me …": a
    person named where the clause opens, set off by a comma, with descriptions between the name and the verb at
    items[c] (which `subject_before` reads one at a time and so loses at an age or a second relative clause)."""
    if sent.word(c - 1) != ",":
        return None
    ctx, items = sent.ctx, sent.items
    for j in range(min(c - 1, MAX_OPENING)):
        if items[j][0] != "T":
            return None
        mention = ctx.ent_start.get(items[j][1])
        if mention is None or (j > 0 and sent.word(j - 1) != ","):
            continue
        last = j + mention.tok_end - mention.tok_start
        if mention.label != PERSON or sent.word(last) != "," or c - last > MAX_DESCRIPTION:
            return None
        if any(items[k][0] == "Q" or sent.word(k) in _DESCRIPTION_ENDS for k in range(last, c)):
            return None
        return token_candidate(ctx, mention.tok_start, mention.tok_end - 1, "entity", mention)
    return None


# How far into the sentence the name may open (past "On Tuesday," or "In Iowa,").
MAX_OPENING = 8
# What a description between a name and its verb never holds: the end of a clause, or another reporting verb.
_DESCRIPTION_ENDS = frozenset({";", ":", "said", "says", "told"})


# A share of the people polled as a subject: "One in three said", "Almost half said", "56 percent of Democrats said",
# "Several said" (as PolNeAR marks them: the words before the verb are the Source).
_QUANTITY = re.compile(
    r"(?:(?:nearly|almost|about|roughly|more than|fewer than|less than|over|just|only|some)\s+)?"
    r"(?:\d[\d.,]*\s*(?:percent|%)|one|two|three|four|five|six|seven|eight|nine|ten|half|a third|a quarter|"
    r"two-thirds|three-quarters|a majority|most|many|several|a few)"
    r"(?:\s+(?:in|of|out of)\s+[\w’'-]+(?:\s+[\w’'-]+){0,4})?",
    re.IGNORECASE,
)
# How many words a share subject may have ("56 percent of registered Democratic voters polled").
MAX_QUANTITY_WORDS = 9
# The shares a stance cue's subject may be besides those (PolNeAR marks them as its Source: "Most believe …", "Both
# want …", "Others see …", "Neither man has spoken …", "some Democrats fear …"); the words of saying keep `_QUANTITY`.
_STANCE_QUANTITY = re.compile(
    rf"(?:{_QUANTITY.pattern})|(?:(?:all|both|some|others|neither|none|either|each|many|most|few|several)"
    r"(?:\s+(?:of\s+)?[\w’'-]+(?:\s+[\w’'-]+){0,4})?)",
    re.IGNORECASE,
)


# What the word before a share of people is when the share opens its clause.
_QUANTITY_STOPS = frozenset({",", ";", ":", ""})


def _quantity_subject(sent: Sentence, c: int, pattern: re.Pattern[str] = _QUANTITY) -> Candidate | None:
    """A share of people opening the clause right before the verb at items[c] ("One in three said …"), as
    `pattern` reads shares."""
    first = _phrase_start(sent, c - 1, c, MAX_QUANTITY_WORDS, _QUANTITY_STOPS)
    if first < 0 or first >= c or sent.items[first][0] != "T" or sent.items[c - 1][0] != "T":
        return None
    phrase = sent.ctx.text[sent.start_of(first) : sent.end_of(c - 1)]
    if pattern.fullmatch(phrase) is None:
        return None
    return token_candidate(sent.ctx, sent.items[first][1], sent.items[c - 1][1], "share")


def _speaker_of_utterance(ctx: Context, cand: Candidate) -> Candidate:
    """ "Kim's statement said", "the ministry's report found": the owner of the statement is its speaker;
    "the ministry in Seoul said": the speaker is the phrase before its place, not the place; "Almost half said": a
    share of those polled."""
    if cand.kind != "np":
        return cand
    if _QUANTITY.fullmatch(ctx.text[cand.start : cand.end]):
        return Candidate(cand.start, cand.end, "share")  # "Almost half said": kept in its own words
    place = re.search(r"\s(?:in|at|from|near)\s", ctx.text[cand.start : cand.end])
    if place is not None:
        cand = Candidate(cand.start, cand.start + place.start(), "np")
    phrase = ctx.text[cand.start : cand.end]
    head = phrase.split()[-1].lower() if phrase.split() else ""
    if head not in UTTERANCES:
        return cand
    for m in ctx.found:
        if cand.start <= m.start and m.end <= cand.end and ctx.text[m.end : m.end + 2] in {"'s", "’s"}:
            return token_candidate(ctx, m.tok_start, m.tok_end - 1, "entity", m)
    return cand


# --- the strategies ------------------------------------------------------------------------------------------


def according_to_opening(sent: Sentence) -> Reported | None:
    """ "According to the ministry, the talks will resume in May." """
    items, n = sent.items, len(sent.items)
    k = next((k for k in range(min(n, 4)) if sent.word(k) == "according" and sent.word(k + 1) == "to"), None)
    if k is None or sent.word(0) == ",":
        return None  # ", according to X, a pollster": the rest of a sentence read again past a closing "according to"
    comma = next((j for j in range(k + 2, min(n, k + MAX_ACCORDING)) if sent.word(j) == ","), None)
    if comma is None:
        return None
    cand = mention_after(sent.ctx, items, k + 2, comma)
    span = _content(sent, comma + 1, _clause_end(sent, comma + 1))
    if cand is None or span is None:
        return None
    return Reported(Attribution(cand, "according to", sent.start_of(k)), *span)


# How far "According to …," may run before its comma ("According to early results of exit polls conducted for
# The Associated Press and television networks by Edison Research, …"); 16 items cut such sources off.
MAX_ACCORDING = 28


def according_to_closing(sent: Sentence) -> Reported | None:
    """ "The talks will resume in May, according to the ministry." """
    items, n = sent.items, len(sent.items)
    if "according" not in sent.words:
        return None
    for k in range(2, n - 2):
        if sent.word(k) == "according" and sent.word(k + 1) == "to" and sent.word(k - 1) == ",":
            cand = mention_after(sent.ctx, items, k + 2, n)
            span = _content(sent, _clause_start(sent, k - 1), k - 1)
            if cand is not None and span is not None:
                return Reported(Attribution(cand, "according to", sent.start_of(k)), *span)
    return None


def _clause_start(sent: Sentence, limit: int) -> int:
    """Where the clause ending at items[limit] starts: after the last ";" before it, else the sentence start."""
    for k in range(limit - 1, -1, -1):
        if sent.word(k) == ";":
            return k + 1
    return 0


def speaker_verb_clause(sent: Sentence) -> Reported | None:
    """ "The minister said (on Tuesday) (that) the border would stay closed", "She told reporters the deal was off",
    "… and said it was over", "Kim's statement said …": a reporting verb, its speaker found as for a quote that
    follows a cue (`speaker_of_cue`), then the clause it reports."""
    ctx, items = sent.ctx, sent.items
    for c in sent.verbs_in(1, len(items) - 1):
        if (sent.word(c).endswith("ing") and not _progressive(sent, c)) or not _reporting(sent, c):
            continue
        a, after_that = _skip_tail(sent, _skip_addressee(sent, c, c + 1))
        if not _opens_clause(sent, c, a, after_that) or _rule_passive_with_agent(sent, c, a):
            continue  # "said: “…”" is a direct quote, "said during the interview" no clause
        if not (after_that or _opens_apostrophe_quote(sent, a)) and _closes_quotation(sent, c):
            continue  # "“…,” Bond said onstage Tuesday night": what follows is the attribution's tail
        found = speaker_of_cue(ctx, items, c, sent.done)
        subject = found.candidate if found is not None and found.candidate else _subject(sent, c)
        if sent.carried is not None and _coordinated(sent, c) and (subject is None or subject.start > sent.start_of(c)):
            subject = sent.carried  # "…, but added that he hoped it would be done quickly"
        subject = subject or _rule_plural_subject(sent, c)
        if subject is None or subject.start >= sent.start_of(a):
            continue
        span = _content(sent, a, _rule_subordinate_end(sent, c, a, _clause_end(sent, a)))
        if span is not None:
            cand = _speaker_of_utterance(ctx, subject)
            return Reported(Attribution(cand, token_text(ctx, items[c][1]), sent.start_of(c)), *span)
    return None


def _rule_passive_with_agent(sent: Sentence, c: int, a: int) -> bool:
    """Whether the verb at items[c] is a passive with its agent at items[a] ("Both attacks were claimed *by* …", "is
    explained *by* …"): what follows is who did it, not a reported clause (`passive_agent_subject` reads those)."""
    return sent.word(a) == "by" and _passive(sent, c)


def _rule_plural_subject(sent: Sentence, c: int) -> Candidate | None:
    """ "Organizers of both conventions insist they will …", "Many Sanders supporters insist …", "…, while others say
    …": a plain noun phrase with a plural head right before the verb at items[c] (past auxiliaries and adverbs),
    which the name-led subject readers pass over; None when the phrase runs into punctuation, a quotation or a
    word that ends a phrase within `MAX_PLURAL_SUBJECT` words."""
    k = _back_past(sent, c - 1, _VERB_MODIFIERS)
    head = sent.word(k)
    if k == c or not head.isalpha() or not (head in _RULE_PLURAL_WORDS or _rule_plural(head)):
        return None
    first = _phrase_start(sent, k, k, MAX_PLURAL_SUBJECT, _RULE_PHRASE_STOPS)
    if any(
        sent.items[j][0] != "T" or not sent.word(j).replace("’s", "").replace("'s", "").isalpha()
        for j in range(first, k)
    ):
        return None
    before = sent.word(first - 1)
    if before in _RULE_NOT_BEFORE_SUBJECT or any(sent.word(j) in _RULE_NOT_IN_SUBJECT for j in range(first, k)):
        return None  # "What the documents say is …", "higher than city reports say it is": no one's saying
    return token_candidate(sent.ctx, sent.items[first][1], sent.items[k][1], "np")


def _rule_plural(word: str) -> bool:
    """A lowercase or capitalised word that reads as a plural noun ("supporters", "Democrats"), not "-ss" or "-us"."""
    return len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ous"))


# How many words a plain plural subject may have ("Organizers of both conventions").
MAX_PLURAL_SUBJECT = 6
# Heads of such a subject that do not end in "-s".
_RULE_PLURAL_WORDS = frozenset({"another", "people", "police", "staff", "public"})
_RULE_WH_WORDS = frozenset({"what", "how", "why", "whom", "whose"})
# Words before such a phrase that make it no one's saying: "What the documents say is …", "higher than city reports
# say it is".
_RULE_NOT_BEFORE_SUBJECT = _RULE_WH_WORDS | {"than"}


# Conjunctions that open a subordinate clause ("While Kovac said …, the council …").
_RULE_SUBORDINATORS = lexicon.words("subordinators.txt")


def _rule_subordinate_end(sent: Sentence, c: int, a: int, end: int) -> int:
    """Where a clause reported by the verb at items[c] ends when the verb stands in a subordinate clause ("While
    only 7 percent said they are undecided, 27 percent …", "When Sanders said at a rally that …, he …"): at the
    first comma after items[a], where the main clause begins; else at `end`."""
    k = c - 1
    while k >= 0 and sent.word(k) not in _RULE_CLAUSE_STOPS:
        if sent.word(k) in _RULE_SUBORDINATORS:
            return next((j for j in range(a, end) if sent.word(j) == ","), end)
        k -= 1
    return end


# What ends the stretch before a verb that a subordinating conjunction may open.
_RULE_CLAUSE_STOPS = frozenset({",", ";", ":", "—", "–", "--", ""})


# How many items back from a verb the quotation it closes may end ("…,” the assailant, John McGraw, told …").
MAX_CLOSING_SPEAKER = 10
# Words between a quotation and a verb that show the verb is not the one closing it.
_NOT_CLOSING = frozenset({".", ";", ":", "that", "but", "and", "while", "when", "as"})


def _closes_quotation(sent: Sentence, c: int) -> bool:
    """Whether the verb at items[c] closes a quotation just before its speaker ("“…,” Trump told Fox News host Sean
    Hannity earlier this month", "…,'' Mr. Kosa told a plenary session"): what follows it is where and to whom, not a
    reported clause."""
    for k in range(c - 1, max(-1, c - 1 - MAX_CLOSING_SPEAKER), -1):
        if sent.items[k][0] == "Q":
            return sent.items[k][1] in sent.done  # a title in quotation marks is attributed to no one
        if sent.word(k) in APOSTROPHE_QUOTES:
            return True
        if sent.word(k) in _NOT_CLOSING or sent.word(k) in REPORTED_VERBS:
            return False
    return False


# Forms of "be" that make a participle after them a progressive: "is saying", "’s been telling".
_PROGRESSIVE_AUXILIARIES = frozenset({"is", "are", "was", "were", "been", "am", "'s", "’s", "'re", "’re"})
# Words besides adverbs in "-ly" that may stand between a progressive's "be" and its participle ("he's *now* saying").
_PROGRESSIVE_ADVERBS = frozenset({"now", "not", "also", "still", "already"})


def _back_past(sent: Sentence, k: int, modifiers: frozenset[str] = frozenset()) -> int:
    """The nearest item at or before items[k] that is neither an adverb in "-ly" nor one of `modifiers` (items[0] at
    the latest): the word before a verb's modifiers, where its auxiliary, subject or relative pronoun stands."""
    while k > 0 and (sent.word(k).endswith("ly") or sent.word(k) in modifiers):
        k -= 1
    return k


def _phrase_start(sent: Sentence, first: int, end: int, most: int, stops: frozenset[str]) -> int:
    """Where a phrase that ends before items[end] and reaches back at least to items[first] starts: walked back
    while the word before it is none of `stops`, the phrase taking at most `most` items (items[0] at the
    latest). The subject readers' shared walk: a share ("One in three"), a passive's subject, a plural subject."""
    while first > 0 and end - first < most and sent.word(first - 1) not in stops:
        first -= 1
    return first


def _progressive(sent: Sentence, c: int) -> bool:
    """Whether the participle at items[c] is a progressive ("Capitalists are saying that's true", "he's now
    suggesting that …"), past adverbs and "not": a finite verb, not a participle after a comma."""
    return sent.word(_back_past(sent, c - 1, _PROGRESSIVE_ADVERBS)) in _PROGRESSIVE_AUXILIARIES


def _coordinated(sent: Sentence, c: int) -> bool:
    """Whether the verb at items[c] follows a coordinator, past adverbs: "but added", "and also said"."""
    return sent.word(_back_past(sent, c - 1)) in COORDINATORS


def clause_then_speaker_verb(sent: Sentence) -> Reported | None:
    """ "The border will stay closed, the minister said (on Tuesday)." """
    ctx, items, n = sent.ctx, sent.items, len(sent.items)
    tail = max(1, n - MAX_TAIL) + 1
    # after apostrophe quote marks the verb may stand anywhere: "…,'' Mr. Ackman said at the time, adding that …"
    first = 1 if not APOSTROPHE_QUOTES.isdisjoint(sent.words) else tail
    for c in reversed(sent.verbs_in(first, n)):
        if not _reporting_after(sent, c):
            continue
        subject = _subject(sent, c)
        comma = _comma_before(sent, subject)
        # "…,'' Lael Brainard, a Fed governor, said in a speech last month.": the apostrophe quote marks say where
        # the clause ends, however long the speaker's apposition and what follows the verb
        quoted = comma is not None and sent.word(comma + 1) in APOSTROPHE_QUOTES
        if not ((c >= tail and _ends_attribution(sent, c)) or quoted):
            continue
        if subject is None or comma is None:
            return None
        # "''It's embarrassing,'' Mr. Rubel said.": the marks make two words a clause
        span = _content(sent, _clause_start(sent, comma), comma, 2 if quoted else MIN_WORDS)
        if span is None:
            return None
        return Reported(
            Attribution(_speaker_of_utterance(ctx, subject), token_text(ctx, items[c][1]), sent.start_of(c)), *span
        )
    return None


def speaker_verb_inside_clause(sent: Sentence) -> Reported | None:
    """ "The emails, the Times said, covered work topics", "This campaign, he says, is different": an attribution
    set off by commas inside the clause it reports; the content is the whole clause around it."""
    ctx, items, n = sent.ctx, sent.items, len(sent.items)
    for c in sent.verbs_in(2, n - 2):
        if not _reporting_after(sent, c):
            continue
        a, after_that = _skip_tail(sent, _skip_addressee(sent, c, c + 1))
        if sent.word(a) != "," or a + 1 >= n or after_that:
            continue  # "Mr. Trump asserted that, abortion aside, …": a clause after "that", not an aside
        subject = _subject(sent, c)
        comma = _comma_before(sent, subject)
        if subject is None or comma is None:
            continue
        end = comma if _rule_aside_ends(sent, a + 1) else _clause_end(sent, a + 1)
        span = _content(sent, _clause_start(sent, comma), end)
        if span is not None:
            return Reported(
                Attribution(_speaker_of_utterance(ctx, subject), token_text(ctx, items[c][1]), sent.start_of(c)), *span
            )
    return None


def _rule_aside_ends(sent: Sentence, k: int) -> bool:
    """Whether what follows an attribution set off by commas at items[k] is no rest of the clause it interrupts: a
    participle other than "including" ("Sales were great, he said, *wiping* sweat off his face"; "…, Spicer said,
    *adding* …") or a preposition of the occasion ("…, he said, *on* condition of anonymity"); the clause then ends
    before the attribution."""
    word = sent.word(k)
    if k >= len(sent.items) or sent.items[k][0] != "T" or not sent.ctx.lowercase[sent.items[k][1]]:
        return False
    return (word.endswith("ing") and len(word) > 5 and word != "including") or word in _RULE_ASIDE_PREPOSITIONS


# Prepositions that open a phrase about the saying after an aside ("…, he said, *on* condition of anonymity", "…, she
# said, *before* leaving"); not "to", which goes on with the clause ("Nor does she have any plans, advisers say, *to*
# take cues from …").
_RULE_ASIDE_PREPOSITIONS = frozenset({"on", "before", "after", "during", "without", "despite", "at", "in"})


# Past forms of saying that do not end in "-ed".
_PAST_SAYING = frozenset({"said", "wrote", "told", "found", "showed", "shown"})


def as_speaker_verb_clause(sent: Sentence) -> Reported | None:
    """ "As the Times noted, the senator raised $1 million", "…, and as Comey noted, others could still be charged":
    "as", a speaker and a reporting verb in the past set off by a comma before the clause they report."""
    ctx, items, n = sent.ctx, sent.items, len(sent.items)
    for c in sent.verbs_in(2, n - 2):
        if not (_reporting_after(sent, c) and (sent.word(c).endswith("ed") or sent.word(c) in _PAST_SAYING)):
            continue  # "As Ana Kovac reports, …" leads into a reporter's own segment; "as some hope, …" no one's words
        comma = _skip_time(sent, c + 1)
        subject = _subject(sent, c)
        if sent.word(comma) != "," or subject is None:
            continue
        opener = next((k for k in range(c - 1, -1, -1) if sent.start_of(k) < subject.start), -1)
        while opener > 0 and sent.word(opener) in _BEFORE_MENTION:
            opener -= 1  # "As *the* Times noted"
        if sent.word(opener) != "as" or sent.word(opener - 1) not in {"", ",", "and", "but"}:
            continue
        span = _content(sent, comma + 1, _clause_end(sent, comma + 1))
        if span is not None:
            cand = _speaker_of_utterance(ctx, subject)
            return Reported(Attribution(cand, token_text(ctx, items[c][1]), sent.start_of(c)), *span)
    return None


def clause_then_verb_speaker(sent: Sentence) -> Reported | None:
    """ "The border will stay closed, said Ana Kovac, the minister." """
    ctx, items, n = sent.ctx, sent.items, len(sent.items)
    for c in sent.verbs_in(2, n - 1):
        comma = _comma_ending(sent, c - 1)
        if comma is None or not _reporting_after(sent, c):
            continue
        # "…,'' said Mr. Burman of the Tax Policy Center": after apostrophe quote marks the verb is inverted whoever
        # follows it; after a bare comma only a name that closes the clause is its speaker
        if sent.word(c - 1) not in APOSTROPHE_QUOTES and not closing_speaker(ctx, items, c + 1):
            continue
        cand = mention_after(ctx, items, c + 1, n)
        span = _content(sent, _clause_start(sent, comma), comma)
        if cand is not None and span is not None:
            return Reported(Attribution(cand, token_text(ctx, items[c][1]), sent.start_of(c)), *span)
    return None


def participle_clause(sent: Sentence) -> Reported | None:
    """ "The minister defended the plan, saying it would create jobs": the clause's subject is the speaker."""
    ctx, items = sent.ctx, sent.items
    for c in sent.verbs_in(1, len(items) - 1):  # every participle is a reported verb
        if sent.word(c - 1) != "," or sent.word(c) not in PARTICIPLES:
            continue
        subject = clause_subject(ctx, items, c) or _person_opening(sent, c) or sentence_subject(ctx, items, c)
        subject = subject or _attribution_subject(sent, c - 2) or sent.carried
        a, after_that = _skip_tail(sent, _skip_addressee(sent, c, c + 1))
        if subject is None or not (after_that or _opens_clause(sent, c, a, False) or sent.word(c) == "saying"):
            continue
        if a < len(items) and items[a][0] == "Q":
            continue
        span = _content(sent, a, _clause_end(sent, a))
        if span is not None:
            return Reported(Attribution(subject, token_text(ctx, items[c][1]), sent.start_of(c)), *span)
    return None


def participle_after_conjunction(sent: Sentence) -> Reported | None:
    """ "She defended the plan while acknowledging that it would cost more", "He ended the debate by arguing that …",
    "…, before predicting that …": a participle of saying after a conjunction or preposition (past adverbs: "while
    *also* suggesting"), then "that"; its speaker is the clause's subject, as for a participle after a comma. Not a
    participle of finding out or thinking ("after determining that …", `thinking_participles.txt`)."""
    ctx, items = sent.ctx, sent.items
    for c in sent.verbs_in(2, len(items) - 2):
        if sent.word(c) not in PARTICIPLES or sent.word(c + 1) != "that" or sent.word(c) in _RULE_THINKING:
            continue
        if sent.word(_back_past(sent, c - 1)) not in _RULE_PARTICIPLE_OPENERS:
            continue
        subject = clause_subject(ctx, items, c) or _person_opening(sent, c) or sentence_subject(ctx, items, c)
        subject = subject or sent.carried  # "X vowed to …, while acknowledging that …", read again past X's hit
        span = _content(sent, c + 2, _clause_end(sent, c + 2)) if subject is not None else None
        if subject is not None and span is not None:
            return Reported(Attribution(subject, token_text(ctx, items[c][1]), sent.start_of(c)), *span)
    return None


# Conjunctions and prepositions before a participle of saying whose subject is the clause's: "while acknowledging
# that", "by arguing that", "after insisting that".
_RULE_PARTICIPLE_OPENERS = frozenset({"while", "by", "after", "before", "when", "since", "without", "despite"})
# Participles of finding out or thinking ("after determining that …"): no one's words.
_RULE_THINKING = lexicon.words("thinking_participles.txt")


def _attribution_subject(sent: Sentence, k: int) -> Candidate | None:
    """The subject of a reporting verb at items[k] that closes what came before ("“…,” she said, adding that …"):
    a participle after it reports for the same speaker."""
    if k < 1 or not _reporting_after(sent, k):
        return None
    return subject_before(sent.ctx, sent.items, k, 0)


def name_colon_clause(sent: Sentence) -> Reported | None:
    """ "Paul Ryan: The decision defies explanation" (a headline), "KOVAC: We will balance the budget" (a transcript):
    a sentence that opens with a person's name and a colon gives that person's words after it."""
    if not sent.items or sent.items[0][0] != "T":
        return None
    mention = sent.ctx.ent_start.get(sent.items[0][1])
    if mention is None or mention.label != PERSON:
        return None
    colon = mention.tok_end - mention.tok_start
    if sent.word(colon) != ":" or colon + 1 >= len(sent.items):
        return None
    span = _content(sent, colon + 1, _clause_end(sent, colon + 1))
    if span is None:
        return None
    cand = token_candidate(sent.ctx, mention.tok_start, mention.tok_end - 1, "entity", mention)
    return Reported(Attribution(cand, ":", sent.start_of(colon)), *span)


def speaker_verb_complement(sent: Sentence) -> Reported | None:
    """ "Trump pledged to build a wall", "Sanders called for a ban on …", "She urged Congress to act", "He accused
    the president of lying": a verb whose statement is its complement, not a clause (`complement_verbs.tsv`); the
    speaker is the subject before it, or the clause's subject for a participle ("…, vowing to fight on")."""
    ctx, items = sent.ctx, sent.items
    for c, word in enumerate(sent.words):
        patterns = COMPLEMENT_VERBS.get(word)
        if patterns is None or c == 0 or not ctx.lowercase[items[c][1]] or sent.word(c - 1) in NOUN_MARKERS:
            continue
        if _passive(sent, c):
            continue  # "was asked whether …", "was accused of …": the subject is the one addressed
        a = _skip_time(sent, c + 1)
        start = next((s for pattern in patterns if (s := _complement_start(sent, a, pattern)) is not None), None)
        subject = _complement_subject(sent, c) if start is not None else None
        if start is None or subject is None:
            continue
        span = _complement_content(sent, start)
        if span is not None:
            cand = _speaker_of_utterance(ctx, subject)
            return Reported(Attribution(cand, token_text(ctx, items[c][1]), sent.start_of(c)), *span)
    return None


def owner_noun_complement(sent: Sentence) -> Reported | None:
    """ "Trump's claim that the election was rigged", "his promise to build a wall", "her call for a ban": a noun
    naming a statement (`claim_nouns.tsv`), its owner before it the speaker, its complement the content."""
    ctx, items = sent.ctx, sent.items
    for k, word in enumerate(sent.words):
        patterns = CLAIM_NOUNS.get(word)
        if patterns is None or k == 0:
            continue
        start = next((s for pattern in patterns if (s := _complement_start(sent, k + 1, pattern)) is not None), None)
        owner = _owner(sent, k) if start is not None else None
        if start is None or owner is None:
            continue
        span = _content(sent, start, _complement_end(sent, start))
        if span is not None:
            return Reported(Attribution(owner, token_text(ctx, items[k][1]), sent.start_of(k)), *span)
    return None


# The most words a headline may have; a longer first line is a sentence of the story.
MAX_HEADLINE_WORDS = 25
# The most items a headline's source may take before its verb ("Former Clinton Pollster", "Jeb Bush Super PAC Chief")
# (6 and 12 were measured on PolNeAR train: 9 finds 11 Contents more than 6, 12 none more than 9).
MAX_HEADLINE_SOURCE = 9


# A visible character: the first one in a text opens its first line.
_VISIBLE = re.compile(r"\S")


def _headline(sent: Sentence) -> bool | None:
    """Whether the sentence is the article's headline in Title Case (most words of four letters or more capitalised: a
    story's opening sentence is not); False for a headline in sentence case, None when it is no headline: not the
    whole of the first line, not above more text, or too long."""
    ctx = sent.ctx
    if not sent.items:
        return None
    start = sent.start_of(0)
    first = _VISIBLE.search(ctx.text)  # reads only the spaces before the first line, however long the text
    if first is not None and first.start() < start:
        return None  # a visible character before it: not the first line
    line_end = ctx.text.find("\n", start)
    if line_end == -1:
        return None  # a headline stands above a story
    if sent.end_of(len(sent.items) - 1) > line_end:
        return None
    words = ctx.text[start:line_end].split()
    if len(words) > MAX_HEADLINE_WORDS:
        return None
    long_words = [w for w in words if len(w) >= 4 and w[0].isalpha()]
    capitalised = sum(1 for w in long_words if w[0].isupper())
    return capitalised * 10 >= len(long_words) * 8


# The most items a sentence-case headline's source may take before its colon ("Clinton camp: …", "IG report: …").
MAX_PLAIN_HEADLINE_SOURCE = 4


def headline_verb_clause(sent: Sentence) -> Reported | None:
    """ "Ana Kovac Says Harbour Tax Will Go", "Mayor: Ferry Contract Was Rigged", "Council Backs Kovac": a headline,
    whose words are capitalised (the rules above read lowercase verbs only), with a short source, a verb of saying or
    a colon (kind "indirect") or one of the model's words (kind "stance", unscored), and what follows to its end. A
    headline attribution never makes a statement (statements.makes_a_statement: a heading is never one)."""
    title = _headline(sent)
    if title is None or (not title and sent.word(0) in DETERMINERS):
        return None  # "The Latest: …" names a running column, not who speaks
    ctx, items = sent.ctx, sent.items
    # in sentence case only "Source: …" is read ("Poll: Trump and Clinton hold narrow leads"): a lowercase verb is
    # the rules' above, and a first line in sentence case may as well be the story's first sentence
    for c in range(1, min(len(items) - 1, (MAX_HEADLINE_SOURCE if title else MAX_PLAIN_HEADLINE_SOURCE) + 1)):
        word = sent.word(c)
        if items[c][0] != "T" or not (word == ":" or (title and (word in REPORTED_VERBS or word in LEARNED_CUES))):
            continue
        if word.endswith("ly") or word in _VERB_MODIFIERS:
            continue  # "Kovac Quietly Praises …": an adverb before the verb is no cue
        if any(items[k][0] != "T" or ctx.puncts[items[k][1]] for k in range(c)) or _rule_headline_label(sent, c):
            return None
        span = _content(sent, c + 1, len(items), 1 if title else MIN_WORDS)
        if span is None:
            return None
        kind = "indirect" if word == ":" or word in REPORTED_VERBS else "stance"
        # "Trump May Not Have Suggested …", "Obama Just Nominated …": the source ends before them
        last = _back_past(sent, c - 1, _VERB_MODIFIERS)
        cand = token_candidate(ctx, items[0][1], items[last][1], "np")
        mention = ctx.ent_start.get(items[0][1])
        if mention is not None and mention.tok_end - 1 == items[last][1]:
            cand = token_candidate(ctx, mention.tok_start, mention.tok_end - 1, "entity", mention)
        return Reported(Attribution(cand, token_text(ctx, items[c][1]), sent.start_of(c)), *span, kind)
    return None


# Labels before a headline's colon that name the kind of item, not a source ("Breaking: …", "BYLINE: …").
_RULE_HEADLINE_LABELS = lexicon.words("headline_labels.txt")


def _rule_headline_label(sent: Sentence, c: int) -> bool:
    """Whether the words before a headline's colon at items[c] are a label ("Breaking: …", "Revealed: …"), not who
    speaks."""
    return sent.word(c) == ":" and " ".join(sent.words[:c]) in _RULE_HEADLINE_LABELS


# Words that open a passive's subject where the sentence goes on: its content starts after the last of them.
_SUBJECT_STARTS = frozenset({",", ";", ":", "—", "–", "and", "but", "while", "because", "after", "as", "when", "if"})
# How many items a passive's subject may take ("News of the PGA's move was first reported by …").
MAX_PASSIVE_SUBJECT = 10


def passive_agent_subject(sent: Sentence) -> Reported | None:
    """ "News of the move was first reported by the Miami Herald", "Both attacks were claimed by the Islamic State": a
    curated verb of saying in the passive, with its agent after "by"; the agent is the source and the passive's subject
    what it reported. Kind "stance": the subject names what was said, not the words (as "announced *his
    resignation*"). The model's words are left out ("The route was criticized by …": tried, as many more wrong
    predictions as right ones), and so are verbs of address ("was asked by": the subject is the one asked)."""
    ctx, items, n = sent.ctx, sent.items, len(sent.items)
    for c in range(1, n - 2):
        word = sent.word(c)
        if sent.word(c + 1) != "by" or not (word.endswith("ed") or word in _PAST_SAYING or word == "written"):
            continue
        if word in COMPLEMENT_VERBS or word in ADDRESS_CUES or word not in REPORTED_VERBS:
            continue
        auxiliary = _passive_auxiliary(sent, c)
        agent = mention_after(ctx, items, c + 2, n) if auxiliary is not None else None
        if auxiliary is None or agent is None:
            continue
        # "…, which was claimed by": the relative pronoun opens the subject
        first = auxiliary - 1 if sent.word(auxiliary - 1) in _PASSIVE_RELATIVES else auxiliary
        first = _phrase_start(sent, first, auxiliary, MAX_PASSIVE_SUBJECT, _SUBJECT_STARTS)
        if sent.word(first) in _SUBJECT_STARTS or any(items[k][0] != "T" for k in range(first, auxiliary)):
            continue
        if any(sent.word(k) in _PASSIVE_RELATIVES for k in range(first, auxiliary - 1)):
            continue  # "a state so blue that its race will be …": the subject is no phrase of its own
        span = _content(sent, first, auxiliary, 1)
        if span is not None:
            return Reported(Attribution(agent, token_text(ctx, items[c][1]), sent.start_of(c)), *span, "stance")
    return None


def _passive_auxiliary(sent: Sentence, c: int) -> int | None:
    """Where the auxiliaries of a passive participle at items[c] begin ("*was* first reported", "*has been* widely
    shared"), past adverbs; None when no form of "be" stands before it."""
    k = _back_past(sent, c - 1, _PASSIVE_ADVERBS)
    if sent.word(k) not in _PASSIVE_AUXILIARIES:
        return None
    while k > 0 and (sent.word(k - 1) in _PASSIVE_AUXILIARIES or sent.word(k - 1) in _MODALS):
        k -= 1
    return k


# Words besides adverbs in "-ly" that may stand between a passive's "be" and its participle ("was *first* reported").
_PASSIVE_ADVERBS = frozenset({"first", "later", "also", "since"})
# What may stand before a passive's "be": "*has* been", "*will* be", "*could not* be".
_MODALS = frozenset(
    {"has", "have", "had", "will", "would", "could", "can", "may", "should", "might", "must", "not", "also", "to"}
)
# Relative pronouns: a passive after one has it for its subject ("the attacks, which were claimed by …"); one
# inside the words before a passive ("so blue that its race …") leaves it no subject phrase of its own.
_PASSIVE_RELATIVES = frozenset({"which", "who", "that"})


def learned_cue_object(sent: Sentence) -> Reported | None:
    """ "Sanders criticized the trade deal with China", "He cited a drop in crime", "…, citing the new figures": a
    word PolNeAR's annotators mark as an attribution's cue in train, whose content is its object to the clause's
    first comma and whose speaker is its subject (as for the complement verbs); each such candidate is kept when a
    linear model trained on PolNeAR train scores it above its threshold (`stance_model.tsv`, bench/learn_stance.py).
    The model also reads the curated words of saying, in the shapes their rules leave, but never a clause after one
    (`_CLAUSE_OPENERS`: that is reported speech): what it finds is a stance. A cue after "be" is tried too (but
    not a word of saying: "was asked whether …"), and the model weighs it by its word (`after_be`): "are wary of …"
    is the subject's stance, "was criticized" is not.
    A noun with an owner is a cue of its owner ("his support for …"). When the verb has no subject of its own within
    reach, a relative's antecedent, a share of people, or the sentence's subject is tried (`_stance_subject`), and
    the model is told which (its weights for such candidates are their own)."""
    ctx, items = sent.ctx, sent.items
    pronoun = not _SUBJECT_PRONOUNS.isdisjoint(sent.words)  # else no word can follow one
    for c, word in enumerate(sent.words):
        owned = sent.word(c - 1) in _OWNER_MARKERS  # "his support for …", "Turkey's refusal to …"
        if c == 0 or not ctx.lowercase[items[c][1]] or (sent.word(c - 1) in NOUN_MARKERS and not owned):
            continue
        if word not in LEARNED_CUES and not (pronoun and _after_pronoun(sent, c)):
            continue
        # "was asked whether …", "was told": a word of saying after "be" has the one addressed as its subject; other
        # words after "be" ("are wary of", "was criticized") are the model's to weigh (`after_be`)
        if (word in REPORTED_VERBS or word in COMPLEMENT_VERBS) and _passive(sent, c):
            continue
        v = _verb_after_adverb(sent, c)  # "Trump largely eschewed politics": the object follows the verb
        a = _cue_particles(sent, _skip_time(sent, v + 1))
        if not _learned_object(sent, a, word) or (word in REPORTED_VERBS and sent.word(a) in _CLAUSE_OPENERS):
            continue  # a clause after a word of saying is reported speech, which the rules before this one read
        end = _complement_end(sent, a)
        span = _content(sent, a, end, MIN_LEARNED_WORDS)
        if span is None or any(_cue_after_name(sent, k) for k in range(a + 1, end)):
            continue  # "sent a letter to Mayor Lena Ortiz asking …": the letter's request, not the senders' stance
        subject, how = (_owner(sent, c), "owner") if owned else _stance_subject(sent, c)
        if how == "reduced":  # "Democrats supporting Clinton have pointed to …": the phrase is the clause's subject
            end = next((k for k in range(a + 1, end) if sent.word(k) in _STANCE_FINITE), end)
            span = _content(sent, a, end, MIN_LEARNED_WORDS) or span
        if subject is not None and stance_score(stance_features(sent, c, a, end, subject, how)) > 0:
            cand = _speaker_of_utterance(ctx, subject)
            return Reported(Attribution(cand, token_text(ctx, items[v][1]), sent.start_of(v)), *span, "stance")
    return None


def _verb_after_adverb(sent: Sentence, c: int) -> int:
    """Where the verb of a cue that opens with an adverb stands ("has *repeatedly* threatened to …", "*quickly*
    lined up behind …": PolNeAR's annotators mark the adverb as the cue's head, so the model has learnt it as a
    word): the word after it when that can be a verb; else items[c] itself."""
    word = sent.words[c]
    if not (word.endswith("ly") or word in _VERB_MODIFIERS) or c + 1 >= len(sent.items):
        return c
    if sent.items[c + 1][0] != "T" or not sent.ctx.lowercase[sent.items[c + 1][1]]:
        return c
    following = sent.words[c + 1]
    if not following.isalpha() or following in _NOT_VERBS or following in _AUXILIARIES or following.endswith("ly"):
        return c
    return c + 1


# Words that open a clause rather than a noun phrase: after a curated word of saying, what follows them is what was
# said ("has long said *that* …", "said *she* …"), reported speech, which the model leaves alone; a noun phrase
# ("denied *the allegations*", "announced *his resignation*") names what was said without saying it: a stance.
_CLAUSE_OPENERS = frozenset({"that", "there"}) | (PRONOUNS - {"you"})


# Words that are never the verb after such a pronoun: the curated words of saying (other rules read them) and the
# words that open no verb phrase.
_NOT_VERBS = (
    frozenset(REPORTED_VERBS) | frozenset(COMPLEMENT_VERBS) | DETERMINERS | PREPOSITIONS | PRONOUNS | COORDINATORS
)


def _stance_subject(sent: Sentence, c: int) -> tuple[Candidate | None, str]:
    """The source of a stance cue at items[c] and how it was found (`stance_features` tells the model): the cue's
    own subject (`_complement_subject`, ""); the name a relative "who" or "which" right before the verb stands for
    ("Republicans, who oppose the deal, …", "relative"); a share of people opening the clause ("Most believe …",
    "Both want …", "share"); the speaker of a "said" the participle follows ("…,” he said, citing …", "said");
    else the sentence's subject when the verb has none within reach ("Sanders, after a week of rallies in three
    states, criticized …", "sentence"). A participle after a comma or a name gets none of the last: its own clause
    has been read, or ruled out ("a letter to Minister Payne asking …": the letter asks)."""
    subject = _complement_subject(sent, c)
    if subject is not None:
        return subject, ""
    relative = _relative_subject(sent, c)
    if relative is not None:
        return relative, "relative"
    share = _quantity_subject(sent, c, _STANCE_QUANTITY)
    if share is not None:
        return share, "share"
    reduced = _stance_reduced_relative(sent, c)
    if reduced is not None:
        return reduced, "reduced"
    if _participle_with_own_subject(sent, c):
        said = _said_before(sent, c)
        return said, "said" if said is not None else ""
    distant = sentence_subject(sent.ctx, sent.items, c)
    if distant is not None and sent.ctx.text[distant.start : distant.end].lower() in DETERMINERS:
        return None, ""  # "The remarks came days after envoys met … to discuss …": a bare "The" names no one
    return distant, "sentence" if distant is not None else ""


# What the word before a participle is when the participle does not qualify a noun phrase ending there: "is
# backing", "by backing", "and supporting", "the backing".
_STANCE_NOT_NOUNS = NOUN_MARKERS | PREPOSITIONS | DETERMINERS | COORDINATORS | PRONOUNS | _SUBJECT_PRONOUNS


def _stance_reduced_relative(sent: Sentence, c: int) -> Candidate | None:
    """ "a super PAC *backing* Jeb Bush", "Democrats *supporting* Mrs. Clinton": a participle right after a noun
    phrase (no comma between, not a person's name: "a letter to Mayor Ortiz asking …" is the letter's request)
    qualifies it, and that phrase is the stance's source."""
    if not sent.word(c).endswith("ing") or c < 1 or sent.items[c - 1][0] != "T":
        return None
    before = sent.word(c - 1)
    if not before.isalpha() or before in _STANCE_NOT_NOUNS or before in _VERB_MODIFIERS or before.endswith("ly"):
        return None
    mention = sent.ctx.ent_token.get(sent.items[c - 1][1])
    if mention is not None and mention.label == PERSON:
        return None
    return mention_ending(sent.ctx, sent.items, c - 1, 0)


# Relative pronouns whose antecedent is the subject of the verb after them.
_RELATIVES = frozenset({"who", "which", "whom"})


def _relative_subject(sent: Sentence, c: int) -> Candidate | None:
    """ "Elmendorf, who supports Clinton", "black voters, who overwhelmingly rejected …", "two Democrats, both of
    whom opposed …": the phrase a relative pronoun before the verb at items[c] (past auxiliaries and adverbs)
    stands for, which `subject_before` does not read through."""
    k = _back_past(sent, c - 1, _VERB_MODIFIERS)
    if sent.word(k) not in _RELATIVES:
        return None
    if sent.word(k - 1) == "of" and k >= 3:
        k -= 2  # "both of whom", "many of whom": the antecedent is before the share
    j = k - 1
    if sent.word(j) == ",":
        j -= 1
    if j < 0 or sent.items[j][0] != "T":
        return None
    return mention_ending(sent.ctx, sent.items, j, 0)


def _said_before(sent: Sentence, c: int) -> Candidate | None:
    """ "…,” he said, citing …", "…, Sanders continued, referring to …": the speaker of the verb of saying that
    closes the clause before the participle at items[c]."""
    if c < 3 or sent.word(c - 1) != "," or sent.word(c - 2) not in REPORTED_VERBS:
        return None
    return subject_before(sent.ctx, sent.items, c - 2, 0)


def _participle_with_own_subject(sent: Sentence, c: int) -> bool:
    """ "…, vowing …", "a letter to Minister Payne asking …": a participle whose subject `_complement_subject` reads
    (or rules out) from the words right before it."""
    if not sent.word(c).endswith("ing"):
        return False
    before = sent.items[c - 1]
    return sent.word(c - 1) == "," or (before[0] == "T" and before[1] in sent.ctx.ent_token)


def _after_pronoun(sent: Sentence, c: int) -> bool:
    """Whether items[c] is a word that may be a verb right after a subject pronoun, past auxiliaries and adverbs."""
    word = sent.words[c]
    if word in _NOT_VERBS or word in _AUXILIARIES or not word.isalpha() or word.endswith("ly"):
        return False
    return sent.word(_back_past(sent, c - 1, _VERB_MODIFIERS)) in _SUBJECT_PRONOUNS


# Prepositions that belong to a cue before its object: "referring to …", "railed against …", "went after …".
_CUE_PARTICLES = PREPOSITIONS | {"about", "against", "over", "after"}
# Adverb particles of a phrasal cue, before its object or a preposition: "pointed out …", "laid out …", "lashed out
# at …", "weighed in on …", "pushed back on …".
_ADVERB_PARTICLES = frozenset({"out", "back", "in", "up", "down", "off"})


def _cue_particles(sent: Sentence, a: int) -> int:
    """Where a cue's object opens past the particles at items[a] that belong to the cue ("railed against …",
    "lashed out at …", "pointed out …")."""
    if sent.word(a) == "out" and sent.word(a + 1) == "of":
        return a  # "walked out of the chamber": a place left, no phrasal cue ("out" opens no object)
    if sent.word(a) in _ADVERB_PARTICLES and sent.word(a + 1) in _CUE_PARTICLES:
        return a + 2
    if sent.word(a) in _CUE_PARTICLES or (sent.word(a) in _ADVERB_PARTICLES and sent.word(a) != "in"):
        return a + 1
    return a


def stance_score(features: list[str]) -> float:
    """The model's score of one candidate: the sum of its features' weights (the bias and the threshold are
    folded into the "bias" row, so a candidate is kept above 0)."""
    weights = STANCE_WEIGHTS
    return weights.get("bias", 0.0) + sum(weights.get(feature, 0.0) for feature in features)


# Word classes the model's features name instead of the word itself, beside it.
_AUXILIARIES = frozenset({"has", "have", "had", "is", "are", "was", "were", "will", "would", "could", "can", "may"})
# Finite verbs that make a "that" right before them a relative pronoun (besides past forms in "-ed").
_RULE_RELATIVE_VERBS = _AUXILIARIES | {"might", "should"}
# What may stand between a subject and its verb: auxiliaries, their contractions, negation, adverbs of time.
_VERB_MODIFIERS = _AUXILIARIES | frozenset(
    {"do", "does", "did", "not", "n't", "n’t", "'s", "’s", "'d", "’d", "'ve", "’ve", "'ll", "’ll", "'re", "’re"}
    | {"also", "still", "just", "never", "already", "even", "then", "should", "might", "must"}
)
# Words that end the object of a participle qualifying a noun phrase: the verb of the clause that phrase opens, or
# a relative clause of the object's own ("a Democrat supporting Clinton *who* is trying …").
_STANCE_FINITE = _AUXILIARIES | frozenset(REPORTED_VERBS) | {"who", "which", "that"}
_OPENER_CLASSES = (("that", frozenset({"that"})), ("det", DETERMINERS), ("pron", PRONOUNS), ("to", frozenset({"to"})))


def stance_features(sent: Sentence, c: int, a: int, end: int, subject: Candidate, how: str = "") -> list[str]:
    """What the model knows of a candidate: its cue word, the words around it, the kind of its subject, where its
    object opens and how long it runs. Bench/learn_stance.py trains on exactly these."""
    word, before, opener, before_object = sent.word(c), sent.word(c - 1), sent.word(a), sent.word(a - 1)
    opener_class = next((name for name, group in _OPENER_CLASSES if opener in group), "")
    if not opener_class:
        opener_class = "cap" if sent.items[a][0] == "T" and not sent.ctx.lowercase[sent.items[a][1]] else "other"
    length = end - a
    size = "1" if length <= 1 else "2" if length == 2 else "3-5" if length <= 5 else "6-12" if length <= 12 else "13+"
    label = subject.mention.label if subject.mention is not None else ""
    return [
        f"w={word if word in LEARNED_CUES else '*'}",
        f"suffix={word[-2:]}",
        f"before={before if before in _AUXILIARIES or before in {',', 'and', 'not', 'to'} else 'other'}",
        f"opener={opener}",
        f"opener_class={opener_class}",
        f"w_opener={word}|{opener_class}",
        f"w_particle={word}|{before_object if before_object in _CUE_PARTICLES else ''}",
        f"subject={how + ':' if how else ''}{subject.kind}{label}",
        f"length={size}",
        f"to_end={end >= len(sent.items) - 1}",
        f"carried={sent.carried is not None}",
        f"position={'first' if c <= 3 else 'later'}",
        f"after_be={word if _passive(sent, c) else ''}",
        f"gap={_subject_gap(sent, c, subject)}",
    ]


def _subject_gap(sent: Sentence, c: int, subject: Candidate) -> str:
    """How many items stand between a candidate's subject and its cue at items[c], in classes: a subject right
    before its verb is more often the one PolNeAR marks than one read across descriptions or clauses."""
    gap = sum(1 for k in range(c) if sent.start_of(k) >= subject.end)
    return "0" if gap == 0 else "1-2" if gap <= 2 else "3-6" if gap <= 6 else "7+"


MIN_LEARNED_WORDS = 1


# Personal pronouns that can only be an object (and "her", which may be one).
_OBJECT_PRONOUNS = frozenset({"him", "her", "them", "us", "me"})
# Object pronouns and "more" open a stance cue's object ("endorsed *her*", "see *him* as the stronger candidate",
# "offering *more* dire warnings"), though after a word of saying they open no clause (`NOT_CLAUSE_OPENERS`).
_OBJECT_OPENERS = _OBJECT_PRONOUNS | {"more"}


def _learned_object(sent: Sentence, a: int, cue: str = "") -> bool:
    """Whether an object opens at items[a] after the cue word `cue`: a word that can open a clause or phrase, not
    "by" (a passive's agent: "offered by the city") and not a number ("declined 1.2 per cent": a price, not a
    statement); an object pronoun too after a cue that is no word of saying."""
    opens = sent.word(a) in _OBJECT_OPENERS and cue not in REPORTED_VERBS and cue not in COMPLEMENT_VERBS
    if not opens and (_object_end(sent, a, None) is None or sent.word(a) == "by"):
        return False
    return not sent.ctx.numbers[sent.items[a][1]]


# Forms of "be" and "get" that make the participle after them a passive: "was criticized", "has been praised".
_PASSIVE_AUXILIARIES = frozenset({"be", "been", "being", "is", "are", "was", "were", "get", "gets", "got"})


def _passive(sent: Sentence, c: int) -> bool:
    """Whether the verb at items[c] is a passive participle: a form of "be" before it, past adverbs ("was referring
    to" is no passive)."""
    if sent.word(c).endswith("ing"):
        return False
    return sent.word(_back_past(sent, c - 1)) in _PASSIVE_AUXILIARIES


# Possessive pronouns that own a statement: "his claim", "their call".
_POSSESSIVES = frozenset({"his", "her", "their", "its"})
# What makes a cue word a noun with an owner, who is its source: "*his* support for …", "Turkey*'s* refusal to …".
_OWNER_MARKERS = _POSSESSIVES | {"’s", "'s"}
# How many lowercase words may stand between an owner and its noun ("Trump's repeated false claims").
MAX_NOUN_MODIFIERS = 2


def _owner(sent: Sentence, k: int) -> Candidate | None:
    """Who owns the noun at items[k]: a possessive pronoun or a name with "'s" before it, past a few lowercase
    modifiers; None when there is none ("the claim that …" names no one)."""
    ctx, items = sent.ctx, sent.items
    j = k - 1
    while j > 0 and k - j <= MAX_NOUN_MODIFIERS and _plain_word(sent, j) and sent.word(j) not in _POSSESSIVES:
        j -= 1
    if items[j][0] != "T":
        return None
    if sent.word(j) in _POSSESSIVES:
        return token_candidate(ctx, items[j][1], items[j][1], "pronoun")
    if sent.word(j) not in {"'s", "’s"} or j == 0 or items[j - 1][0] != "T":
        return None
    mention = ctx.ent_token.get(items[j - 1][1])
    if mention is None:
        return None
    return token_candidate(ctx, mention.tok_start, mention.tok_end - 1, "entity", mention)


# The longest object a complement reads before the word that follows it ("urged *the Senate's leaders* to act").
MAX_OBJECT = 8
# Words opening a complement that are not part of what was said: "called *for* a ban", "called *on* Congress to".
_PARTICLES = frozenset({"for", "on", "about"})
# Words opening a reported question ("asked whether …"), which is the content even after the one asked.
_QUESTION_OPENERS = frozenset({"whether", "if"})
# Words after "to" that show it is no infinitive: "pledged to the voters", "promised to them".
_NOT_INFINITIVES = DETERMINERS | PRONOUNS | ADDRESSEES


def _complement_start(sent: Sentence, a: int, pattern: tuple[str, ...]) -> int | None:
    """Where the content starts when the complement `pattern` follows at items[a] ("for", "object to", …); None
    when it does not follow."""
    start: int | None = None
    k = a
    for n, part in enumerate(pattern):
        if part == "object":
            end = _object_end(sent, k, pattern[n + 1] if n + 1 < len(pattern) else None)
            if end is None:
                return None
            start, k = k if start is None else start, end
        elif part == "named":
            if not _named_object(sent, k):
                return None
            start, k = k if start is None else start, k + 2  # "called *him divisive*"
        elif part == "to" and sent.word(k) == "not" and sent.word(k + 1) == "to":
            start, k = k if start is None else start, k + 1  # "vowed not to …", "urged voters not to …"
            if not _infinitive(sent, k + 1):
                return None
            k += 1
        elif sent.word(k) != part or (part == "to" and not _infinitive(sent, k + 1)):
            return None
        elif part in _QUESTION_OPENERS:
            start, k = k, k + 1  # "asked the minister *whether …*": the question, not the one asked
        else:
            start = k + 1 if start is None and part in _PARTICLES else k if start is None else start
            k += 1
    return start


# Object pronouns after which a naming verb's predicate follows: "called *him* divisive".
_NAMED_PRONOUNS = _OBJECT_PRONOUNS | {"it"}
# Words after such a pronoun that make the verb no naming: "called him back", "called it quits".
_NOT_PREDICATES = NOT_CLAUSE_OPENERS | TIME_WORDS | frozenset({"back", "up", "out", "off", "quits", "and", "or"})


def _named_object(sent: Sentence, k: int) -> bool:
    """ "called *him* a liar", "calling *them* rapists": an object pronoun at items[k], then a predicate that names
    it (a lowercase word, a determiner or an apostrophe quotation), not a particle or a time ("called him back",
    "called her on Tuesday")."""
    if sent.word(k) not in _NAMED_PRONOUNS or k + 1 >= len(sent.items) or sent.items[k + 1][0] != "T":
        return False
    i = sent.items[k + 1][1]
    following = sent.word(k + 1)
    if following in APOSTROPHE_QUOTES:
        return True
    return sent.ctx.lowercase[i] and following.isalpha() and following not in _NOT_PREDICATES


def _complement_content(sent: Sentence, start: int) -> tuple[int, int] | None:
    """The span of a complement starting at items[start]; a naming ("called *him divisive* and …") ends at a
    coordinator, where the sentence goes on, and its two words are content enough."""
    end = _complement_end(sent, start)
    if sent.word(start) not in _NAMED_PRONOUNS:
        return _content(sent, start, end)
    end = next((k for k in range(start + 2, end) if sent.word(k) in COORDINATORS), end)
    return _content(sent, start, end, 2)


def _complement_end(sent: Sentence, a: int) -> int:
    """Where a complement starting at items[a] ends: at the clause's end or its first comma, since what follows a
    comma there is more often the sentence going on ("…, who pledged to fight on, declined to …")."""
    end = _clause_end(sent, a)
    return next((k for k in range(a, end) if sent.word(k) == ","), end)


def _object_end(sent: Sentence, k: int, following: str | None) -> int | None:
    """Where a short object at items[k] ends: at the word `following` it (within `MAX_OBJECT` words, with no
    punctuation or quotation between), or anywhere when nothing follows it; None when no object is there."""
    if k >= len(sent.items) or sent.items[k][0] != "T" or sent.ctx.puncts[sent.items[k][1]]:
        return None
    if sent.word(k) in NOT_CLAUSE_OPENERS:
        return None
    if following is None:
        return k + 1
    for j in range(k + 1, min(len(sent.items), k + MAX_OBJECT + 1)):
        if sent.word(j) == following:
            return j
        if sent.items[j][0] != "T" or sent.ctx.puncts[sent.items[j][1]]:
            return None
    return None


def _infinitive(sent: Sentence, k: int) -> bool:
    """Whether items[k] can be the verb of an infinitive: a lowercase word, no determiner or pronoun."""
    if k >= len(sent.items) or sent.items[k][0] != "T":
        return False
    i = sent.items[k][1]
    return sent.ctx.lowercase[i] and sent.ctx.alphas[i] and sent.word(k) not in _NOT_INFINITIVES


def _complement_subject(sent: Sentence, c: int) -> Candidate | None:
    """The speaker of the complement verb at items[c]: the subject before it ("Trump has vowed"), the first
    verb's after a coordinator ("… and vowed"), the clause's for a participle after a comma ("…, vowing"), or the
    speaker found earlier in the sentence when the participle follows what that speaker's attribution took."""
    ctx, items = sent.ctx, sent.items
    if sent.word(c).endswith("ing") and sent.word(c - 1) == ",":
        found = clause_subject(ctx, items, c) or _person_opening(sent, c) or sentence_subject(ctx, items, c)
        return found or sent.carried  # "X defended the plan, citing …": the sentence read again past X's hit
    if _participle_after_name(sent, c):
        return None  # "a letter to Minister Marise Payne asking Australia to …": the letter asks, not the minister
    subject = _subject(sent, c)
    if subject is None and _coordinated(sent, c):
        subject = sent.carried or sentence_subject(ctx, items, c)
    return subject


def _participle_after_name(sent: Sentence, k: int) -> bool:
    """ "a letter to Mayor Lena Ortiz *asking* the city to …": a participle right after a name, whose subject is
    the thing sent or written before the name, not the name and not the sentence's subject."""
    before = sent.items[k - 1]
    return sent.word(k).endswith("ing") and before[0] == "T" and before[1] in sent.ctx.ent_token


def _cue_after_name(sent: Sentence, k: int) -> bool:
    """A participle that is a cue of its own (a word of saying, a complement verb or a model word: "asking",
    "urging") right after a name inside a stance cue's object: what follows is the request of the thing sent, not
    a stance of the cue's subject. Other "-ing" words after a name ("criticized Clinton *during* the debate") are
    no such cue."""
    word = sent.word(k)
    return (word in REPORTED_VERBS or word in COMPLEMENT_VERBS or word in LEARNED_CUES) and _participle_after_name(
        sent, k
    )


def _person_opening(sent: Sentence, limit: int) -> Candidate | None:
    """A person named among the first words of the sentence ("Finance Minister Ana Kovac defended …")."""
    for k in range(min(limit, 6)):
        mention = sent.ctx.ent_token.get(sent.items[k][1]) if sent.items[k][0] == "T" else None
        if mention is not None and mention.label == PERSON:
            return token_candidate(sent.ctx, mention.tok_start, mention.tok_end - 1, "entity", mention)
        if sent.word(k) == ",":
            return None
    return None


def _reporting_after(sent: Sentence, c: int) -> bool:
    """A verb closing a reported clause ("…, she said", "…, the report found"): any verb the list has."""
    word = sent.word(c)
    if word not in REPORTED_VERBS or sent.items[c][0] != "T":
        return False
    if word in STATE_FORMS and not states_subject(sent.ctx, sent.items, c):
        return False  # "Rust Belt states that …", "Michigan, a trade-sensitive state, where …": the noun
    return is_cue(sent.ctx, sent.items, c) if word in CUES else sent.ctx.lowercase[sent.items[c][1]]


# How far from the sentence's end the verb of a closing attribution may stand ("…,'' she told an audience at …").
MAX_TAIL = 16


def _ends_attribution(sent: Sentence, c: int) -> bool:
    """What follows the verb at items[c] closes an attribution: a few words of time or place ("…, she said on
    Tuesday"), the one addressed ("…, officials told reporters"), or anything after a clause in apostrophe quotes,
    whose marks already say where it ends ("…,'' she said in one of her debates with …")."""
    if _trailing(sent, c + 1) and c >= len(sent.items) - 7:
        return True
    if sent.word(c) in ADDRESS_CUES and _trailing(sent, _skip_addressee(sent, c, c + 1)):
        return True
    for k in range(c - 1, max(0, c - 8), -1):
        if sent.word(k) in APOSTROPHE_QUOTES:
            return sent.word(k - 1) in _QUOTE_CLOSERS
        if sent.items[k][0] == "Q" or sent.ctx.puncts[sent.items[k][1]]:
            return False
    return False


def _trailing(sent: Sentence, a: int) -> bool:
    """Only a time or a place (or nothing) follows: "…, she said on Tuesday." """
    rest = [sent.word(k) for k in range(a, len(sent.items))]
    rest = [w for w in rest if w not in {".", "!", "?", ";"}]
    return (
        len(rest) <= 4
        and all(w in ATTRIBUTION_TAILS or w in DAYS or w in _PERIODS or w.isalpha() for w in rest)
        and (not rest or rest[0] in ATTRIBUTION_TAILS or rest[0] in DAYS)
    )


def _plain_word(sent: Sentence, k: int) -> bool:
    """A lowercase word that can describe a speaker ("former", "nonpartisan"), not a word that ends a phrase."""
    item = sent.items[k]
    word = sent.word(k)
    return item[0] == "T" and sent.ctx.lowercase[item[1]] and word.isalpha() and word not in _PHRASE_ENDS


def _comma_before(sent: Sentence, subject: Candidate | None) -> int | None:
    """The comma that sets off a speaker ("…, the ministry said"), past the determiner, titles and one lowercase
    word the speaker's mention leaves out ("…, former Gov. Jeb Bush said", "…, the nonpartisan Congressional
    Budget Office reported"); None when there is none."""
    if subject is None:
        return None
    k = next((k for k in range(len(sent.items)) if sent.start_of(k) == subject.start), 0) - 1
    while k > 0 and sent.word(k) in _BEFORE_MENTION:
        k -= 1
    if k > 0 and _plain_word(sent, k):
        k -= 1
        while k > 0 and sent.word(k) in DETERMINERS:
            k -= 1
    comma = _comma_ending(sent, k) if k >= 1 else None
    return comma if comma is not None and comma >= 1 else None


# Words before a plain subject that end the search for its start.
_RULE_PHRASE_STOPS = _SUBJECT_STARTS | frozenset({"", "that", "who", "which", "than", "to", "with", "where", "while"})
# Words that are never inside such a subject: verbs, pronouns and words of saying ("the figures he cited show …").
_RULE_NOT_IN_SUBJECT = PRONOUNS | _AUXILIARIES | frozenset(REPORTED_VERBS) | NOT_CLAUSE_OPENERS | _RULE_WH_WORDS


# The order is the precedence within a sentence: the first strategy that finds an attribution wins.
REPORTED_STRATEGIES: list[ReportedStrategy] = [
    according_to_opening,
    according_to_closing,
    clause_then_verb_speaker,
    clause_then_speaker_verb,
    as_speaker_verb_clause,
    speaker_verb_inside_clause,
    speaker_verb_clause,
    participle_clause,
    name_colon_clause,
    speaker_verb_complement,
    owner_noun_complement,
    participle_after_conjunction,
    headline_verb_clause,
    passive_agent_subject,
    learned_cue_object,
]


_WORD = re.compile(r"\w+")


def _may_report(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] has a word of `_MAY_REPORT`: a set lookup per word, where one regex alternating
    200 verbs cost a seventh of the whole analysis."""
    return not _MAY_REPORT.isdisjoint(map(str.lower, _WORD.findall(text, start, end)))


# Where a reported clause always ends: a semicolon, or a sentence end before an apostrophe quote mark and a
# capital ("…,'' she said. ''It was …"), which the sentence splitter (made for real quotation marks) runs across.
# (One character class first, then the branch by looking back at it: the engine skips to the next ";", ".", "!"
# or "?" at C speed rather than trying both branches at every position; the same matches as
# `;\s+|[.!?](?:''|``)?\s+(?=(?:''|``)[A-Z0-9])`.)
_CLAUSE_CUT = re.compile(r"[;.!?](?:(?<=;)\s+|(?<=[.!?])(?:''|``)?\s+(?=(?:''|``)[A-Z0-9]))")


def _reading_units(text: str, sentences: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The sentences, also cut at semicolons ("…, he said; his agents found …") and where a new sentence opens
    with apostrophe quote marks."""
    cut: list[tuple[int, int]] = []
    for start, end in sentences:
        if cut and _closes_apostrophe_quote(text, cut[-1]) and _short_attribution(text, start, end):
            start = cut.pop()[0]
        for match in _CLAUSE_CUT.finditer(text, start, end):
            cut.append((start, match.end()))
            start = match.end()
        cut.append((start, end))
    return cut


def _closes_apostrophe_quote(text: str, unit: tuple[int, int]) -> bool:
    return text[unit[0] : unit[1]].rstrip().endswith((".''", "?''", "!''"))


def _short_attribution(text: str, start: int, end: int) -> bool:
    """ "Mr. Trump wrote on Twitter.": a short sentence with a reporting verb, which the sentence splitter cuts off
    from the apostrophe quotation it closes (it keeps it with a quotation in real quotation marks)."""
    words = text[start:end].split()
    return len(words) <= MAX_SHORT_ATTRIBUTION and any(w.strip(".,").lower() in REPORTED_VERBS for w in words)


def find_reported(
    ctx: Context, sentences: Sequence[tuple[int, int]], done: dict[int, Attribution]
) -> list[tuple[Reported, str]]:
    """Every reported-speech attribution in the text, with the name of the strategy that found it.

    After one is found, the rest of its sentence is read again for another
    ("Clinton said A, while Sanders argued that B").
    """
    found: list[tuple[Reported, str]] = []
    for start, end in _reading_units(ctx.text, sentences):
        if not _may_report(ctx.text, start, end) and not _NAME_COLON.match(ctx.text, start, end):
            continue  # no reporting verb at all: framing the sentence would cost more than the rest
        items = frame(ctx, start, end)
        carried: Candidate | None = None
        while len(items) >= MIN_WORDS + 2:
            sent = Sentence(ctx, items, done, carried)
            hit = next(
                (
                    (reported, strategy.__name__)
                    for strategy in REPORTED_STRATEGIES
                    if (reported := strategy(sent)) is not None and reported.attribution.candidate is not None
                ),
                None,
            )
            if hit is None:
                break
            before = _before_cue(sent, hit)
            if before is not None:
                found.append((before, learned_cue_object.__name__))
            found.append(hit)
            carried = hit[0].attribution.candidate
            items = [item for k, item in enumerate(items) if sent.start_of(k) >= hit[0].end]
    return found


# The fewest items a stance can be read from: a subject, its cue and an object ("Clinton attacked Trump").
MIN_STANCE_ITEMS = 3


def _before_cue(sent: Sentence, hit: tuple[Reported, str]) -> Reported | None:
    """ "Clinton attacked Trump, saying he would …": the stance model's reading (`learned_cue_object`, and it alone)
    of the words before an earlier hit's cue and content, which the sentence loop never reads again once the hit
    has taken the sentence. Only a stretch that ends as a clause does (`_stance_stretch_end`), up to the
    hit's cue ("Kovac, who praised the plan, said …") or else its speaker ("Kovac praised the plan, but Reyes
    said …"); None when there is none or the hit is the model's own (it has read those words)."""
    reported, rule = hit
    if rule == learned_cue_object.__name__:
        return None
    cue = reported.attribution.cue_start
    limit = min(reported.start, cue if cue is not None else reported.start)
    speaker = reported.attribution.candidate
    for end in (limit, min(limit, speaker.start) if speaker is not None else limit):
        n = _stance_stretch_end(
            sent, next((k for k in range(len(sent.items)) if sent.start_of(k) >= end), len(sent.items))
        )
        if n is not None:
            found = learned_cue_object(Sentence(sent.ctx, sent.items[:n], sent.done, sent.carried))
            return found if found is not None and found.attribution.candidate is not None else None
    return None


# Words that end the stretch before a hit as a clause, besides a comma and a coordinator: a subordinator or a
# relative whose clause the hit is ("… his Iowa win over Trump *as* he urges …", "… the delegate system, *which* he
# said …"); the stretch is read without it. Not a condition ("if", "unless", "once"): the model was trained without
# those (one more right train prediction with them, not retrained for).
_STANCE_STRETCH_LINKS = (_RULE_SUBORDINATORS - {"if", "unless", "once"}) | _RELATIVES | {"where"}


def _stance_stretch_end(sent: Sentence, n: int) -> int | None:
    """How many of the items before a hit (the first `n`) the stance model reads (`_before_cue`): all of them when
    they end as a clause does, at a comma or a coordinator ("Clinton attacked Trump, saying …"); all but the last
    when that is a subordinator or a relative ("attacked Trump as he said …"); None when the stretch ends inside
    a phrase ("The court rejected Ana Kovac's claim that …") or holds too few items."""
    last = sent.word(n - 1)
    if last in _STANCE_STRETCH_LINKS:
        n -= 1
    elif last != "," and last not in COORDINATORS:
        return None
    return n if n >= MIN_STANCE_ITEMS else None
