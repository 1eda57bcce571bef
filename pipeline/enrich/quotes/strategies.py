"""The attribution strategies: an ordered list of small, named rules.

`attribute()` tries them in the order of `STRATEGIES` for each quotation and
keeps the first that finds a speaker candidate; the quote records the
strategy's name as its `rule`, so an error can be traced to the rule that made
it. The first group reads the quote's own sentence (after the quote, then
before it, then further along); the second carries a speaker over from the
previous sentence, quote or paragraph. To add a strategy, write a function
`(site: Site) -> Attribution | None` and put it in the list where it should
win over the ones after it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipeline.enrich.entities import ORG, PERSON, Mention
from pipeline.enrich.quotes.candidates import (
    clause_subject,
    mention_after,
    sentence_subject,
    subject_before,
)
from pipeline.enrich.quotes.cues import cue_attribution, inverted, is_cue, speaker_of_cue
from pipeline.enrich.quotes.frame import (
    Attribution,
    Candidate,
    Context,
    Item,
    frame,
    lower,
    token_candidate,
    token_text,
)
from pipeline.enrich.quotes.sources import SPEAKING_NOUNS, head_noun
from pipeline.enrich.quotes.spans import QuoteSpan
from pipeline.enrich.quotes.words import CUES, DETERMINERS, NAMING, NP_BREAKS


@dataclass
class Site:
    """One quotation and where it stands: its sentence frame and the attributions made so far."""

    ctx: Context
    qi: int  # the quote's index in ctx.spans
    items: list[Item]  # the frame of the quote's sentence
    q: int | None  # the quote's index in items (None when the frame missed it)
    sentences: Sequence[tuple[int, int]]
    s_index: int  # the sentence the quote starts in
    done: dict[int, Attribution]  # attributions of the quotes before, by quote index

    @property
    def span(self) -> QuoteSpan:
        return self.ctx.spans[self.qi]

    def after_quote(self) -> int:
        """Where the words after the quote start, past one comma or dash."""
        assert self.q is not None
        a = self.q + 1
        if a < len(self.items) and lower(self.ctx, self.items[a]) in {",", "—", "–", "-"}:
            a += 1
        return a


Strategy = Callable[[Site], Attribution | None]

BYLINE_DASHES = frozenset({"―", "—", "–", "--", "-"})
# Words that open a clause of its own after a quote: a cue beyond them is not the quote's.
_NEW_CLAUSE = frozenset({"and", "but", "when", "because", "after", "before", "while", "although", "if"})


# --- the quote's own sentence ------------------------------------------------------------------------------


def dash_signature(site: Site) -> Attribution | None:
    """ "“…” ― Sonya Herridge": a dash, then a name that ends the line, signs the quote (vox pops, epigraphs, tweets).

    The name may carry a handle, an age or a place after a comma or bracket,
    but nothing that reads as a sentence going on.
    """
    if site.q is None:
        return None
    ctx, items, d = site.ctx, site.items, site.q + 1
    if d + 1 >= len(items) or lower(ctx, items[d]) not in BYLINE_DASHES or items[d + 1][0] != "T":
        return None
    dash = items[d][1]
    return _signed_by(ctx, ctx.ent_start.get(items[d + 1][1]), token_text(ctx, dash), ctx.token_starts[dash])


def _cue_right_after(site: Site) -> int | None:
    """The position of a cue right after the quote, if there is one.

    With no comma after the quote, "the “disheartened” state of …" is a noun, not "…," states Ryan.
    """
    if site.q is None:
        return None
    a = site.after_quote()
    span = site.span
    closed = bool(re.search(r"[,!?]\W*$", site.ctx.text[span.end - 1 : span.outer_end]))
    if a < len(site.items) and is_cue(site.ctx, site.items, a, far=a == site.q + 1 and not closed):
        return a
    return None


def participle_after_quote(site: Site) -> Attribution | None:
    """ "… of “New York values,” saying …": a participle takes the subject of the clause before;
    whoever follows it ("telling Fox 35") is the one addressed."""
    a = _cue_right_after(site)
    if a is None or not lower(site.ctx, site.items[a]).endswith("ing") or not site.q:
        return None
    ctx, items, q = site.ctx, site.items, site.q
    return cue_attribution(ctx, items, a, clause_subject(ctx, items, q) or sentence_subject(ctx, items, q))


def cue_then_speaker_after_quote(site: Site) -> Attribution | None:
    """ "“…,” said Jane Smith" / "“…,” according to the statement": the cue, then its speaker."""
    a = _cue_right_after(site)
    if a is None or lower(site.ctx, site.items[a]).endswith("ing"):
        return None
    offset = 2 if lower(site.ctx, site.items[a]) == "according" else 1
    return cue_attribution(site.ctx, site.items, a, mention_after(site.ctx, site.items, a + offset, len(site.items)))


def speaker_then_cue_after_quote(site: Site) -> Attribution | None:
    """ "“…,” Jane Smith said": the first cue after the quote in its clause, and the subject before it."""
    if site.q is None:
        return None
    ctx, items, q = site.ctx, site.items, site.q
    a = site.after_quote()
    for c in range(a, min(len(items), a + 14)):
        if items[c][0] == "Q" or lower(ctx, items[c]) in {".", ";", "?", "!"}:
            break
        if lower(ctx, items[c]) in _NEW_CLAUSE and any(is_cue(ctx, items, k, before=True) for k in range(q)):
            # "He voiced a wish for “…,” and he pronounced …", "X said Y was “right” when he said …":
            # a new clause; the cue before has the quote
            break
        if is_cue(ctx, items, c, far=c > a):
            return cue_attribution(ctx, items, c, subject_before(ctx, items, c, a))
    return None


def unknown_verb_after_quote(site: Site) -> Attribution | None:
    """ "“…,” Trump conceded" / "“…,” the nominee riffed": a name or pronoun then a verb the lexicon does not know."""
    if site.q is None:
        return None
    ctx, items, n = site.ctx, site.items, len(site.items)
    a = site.after_quote()
    if a + 1 >= n or items[a][0] != "T":
        return None
    cand, k = _subject_opening(ctx, items, a)
    if cand is None or k + 1 >= n or items[k + 1][0] != "T":
        return None
    verb = items[k + 1][1]
    if (
        ctx.lowercase[verb]
        and ctx.alphas[verb]
        and ctx.lowers[verb].endswith(("ed", "s"))
        and ctx.lowers[verb] not in {"was", "is", "has", "does", "as", "his", "this", "its"}
    ):
        return Attribution(cand, token_text(ctx, verb), ctx.token_starts[verb])
    return None


def _subject_opening(ctx: Context, items: Sequence[Item], a: int) -> tuple[Candidate | None, int]:
    """A person, "he"/"she" or a "the …" phrase opening the words at items[a], and the item it ends on."""
    n = len(items)
    first = items[a][1]
    mention = ctx.ent_token.get(first)
    k = a
    if mention is not None and mention.label == PERSON and mention.tok_start == first:
        while k + 1 < n and items[k + 1][0] == "T" and items[k + 1][1] < mention.tok_end:
            k += 1
        return token_candidate(ctx, mention.tok_start, mention.tok_end - 1, "entity", mention), k
    if ctx.lowers[first] in {"he", "she"}:
        return token_candidate(ctx, first, first, "pronoun"), k
    if ctx.lowers[first] in {"the", "a", "an"}:
        while k + 1 < n and k - a < 6 and items[k + 1][0] == "T":
            nxt = items[k + 1][1]
            low = ctx.lowers[nxt]
            if ctx.puncts[nxt] or low in NP_BREAKS or (ctx.lowercase[nxt] and low.endswith("ed") and k > a):
                break
            k += 1
        return token_candidate(ctx, first, items[k][1], "np"), k
    return None, k


def cue_before_quote(site: Site) -> Attribution | None:
    """ "Jane Smith said … “…”": the nearest cue before the quote, and its speaker.

    A cue whose subject can be no speaker ("She says it underscores that …", "Ryan said the protests demand
    that Americans engage in “…”") reports inside another's words: the cue before it, if it has a speaker that
    can speak, is the quote's.
    """
    if site.q is None:
        return None
    ctx, items = site.ctx, site.items
    inner: Attribution | None = None
    for c in range(site.q - 1, -1, -1):
        if is_cue(ctx, items, c, before=True):
            found = speaker_of_cue(ctx, items, c, site.done)
            if found and not _cannot_speak(ctx, found.candidate):
                return found
            inner = inner or found
            if not found and (c == 0 or lower(ctx, items[c - 1]) != "to"):
                return inner
            # "Rubio said that by refusing to say the words …, Democrats are “…”": an infinitive's cue found
            # no speaker of its own, so the cue before it may have one
    return inner


def _cannot_speak(ctx: Context, cand: Candidate | None) -> bool:
    """ "it", "the protests", "the recent spate of shootings": a subject that is no person, group, organisation or
    document, so a cue it governs reports a claim inside someone else's words."""
    if cand is None:
        return False
    phrase = ctx.text[cand.start : cand.end]
    if cand.kind == "pronoun":
        return phrase.lower() == "it"
    words = phrase.split()
    if words and words[0].lower() in DETERMINERS:
        words = words[1:]
    if cand.kind != "np" or not words or words[0][:1].isupper():
        return False  # a name the tagger missed ("Politifact") may well speak
    head = head_noun(words)
    if head[:1].isupper():
        return False  # "one Democrat familiar with the talks"
    head = head.lower()
    return head not in SPEAKING_NOUNS and not head.endswith(("ist", "ists", "ian", "ians"))


def name_before_colon(site: Site) -> Attribution | None:
    """ "… doesn't surprise pollster Daron Shaw: “…”": a name right before the colon introduces the quote;
    otherwise the subject of the sentence the colon ends."""
    q = site.q
    if not q or lower(site.ctx, site.items[q - 1]) != ":":
        return None
    ctx, items = site.ctx, site.items
    named = ctx.ent_end.get(items[q - 2][1]) if q > 1 and items[q - 2][0] == "T" else None
    if named is not None and named.label in {PERSON, ORG, "NAME"}:
        subject: Candidate | None = token_candidate(ctx, named.tok_start, named.tok_end - 1, "entity", named)
    else:
        subject = sentence_subject(ctx, items, q - 1)
    return Attribution(subject, ":", ctx.token_starts[items[q - 1][1]]) if subject is not None else None


def cue_later_in_sentence(site: Site) -> Attribution | None:
    """ "“…” … Jane Smith said", "“…” that Sanders can catch Clinton, said Steve Elmendorf": a cue further along."""
    if site.q is None:
        return None
    ctx, items, n = site.ctx, site.items, len(site.items)
    a = site.after_quote()
    for c in range(a, n):
        if not is_cue(ctx, items, c):
            continue
        if lower(ctx, items[c]) == "according":
            found = cue_attribution(ctx, items, c, mention_after(ctx, items, c + 2, n))
        else:
            found = cue_attribution(ctx, items, c, subject_before(ctx, items, c, a))
            if found is None and inverted(ctx, items, c):
                found = cue_attribution(ctx, items, c, mention_after(ctx, items, c + 1, n))
        if found:
            return found
    return None


def in_their_words(site: Site) -> Attribution | None:
    """ "It had, in her words, become “unhealthy.”", "because, in her words, “he knows how to do it.”": the
    quoted words of a sentence that says whose words they are belong to whoever "his", "her" or "their" is."""
    q = site.q
    if not q:
        return None
    ctx, items = site.ctx, site.items
    for k in range(q - 1, 1, -1):
        if lower(ctx, items[k]) != "words":
            continue
        owner = k - 2 if lower(ctx, items[k - 1]) == "own" else k - 1
        if owner < 1 or lower(ctx, items[owner - 1]) != "in" or lower(ctx, items[owner]) not in _OWNERS:
            return None
        subject = sentence_subject(ctx, items, q)
        if subject is not None and ctx.text[subject.start : subject.end].lower() == _OWNERS[lower(ctx, items[owner])]:
            return Attribution(subject, "words", None)  # "She has touted …, in her words, “…”": the subject says it
        return Attribution(token_candidate(ctx, items[owner][1], items[owner][1], "pronoun"), "words", None)
    return None


# Each possessive and the subject pronoun of the same person.
_OWNERS = {"his": "he", "her": "she", "their": "they"}


# --- carried over from around the sentence -----------------------------------------------------------------


def signature_below(site: Site) -> Attribution | None:
    """ "“…”" ending its paragraph, then "- Bernie Sanders." on the next line: the signature of a pulled quote."""
    ctx, span = site.ctx, site.span
    line_end = ctx.text.find("\n", span.outer_end)
    if line_end < 0 or len(ctx.text[span.outer_end : line_end].strip()) > 2:
        return None
    below = _DASH_BELOW.match(ctx.text, line_end)
    if below is None:
        return None
    mention = ctx.ent_start.get(bisect.bisect_left(ctx.token_starts, below.end()))
    if mention is not None and mention.start != below.end():
        return None
    return _signed_by(ctx, mention, below.group(1), below.start(1))


def colon_ending_previous_sentence(site: Site) -> Attribution | None:
    """ "Trump said:" ending the previous paragraph introduces the quote that follows."""
    ctx, sentences, s_index = site.ctx, site.sentences, site.s_index
    if s_index == 0:
        return None
    start, end = sentences[s_index - 1]
    if not ctx.text[start:end].rstrip().endswith(":"):
        return None
    items = frame(ctx, start, end)
    for c in range(len(items) - 1, -1, -1):
        if items[c][0] == "T" and is_cue(ctx, items, c):
            return speaker_of_cue(ctx, items, c, site.done)
    # "The campaign released the following statement:" — no reporting verb, but the colon still hands over
    if ctx.text[sentences[s_index][0] : site.span.outer_start].strip() or any(item[0] == "Q" for item in items):
        return None
    subject = sentence_subject(ctx, items, len(items) - 1)
    if subject is None or subject.kind == "np":
        return None
    return Attribution(subject, ":", ctx.token_starts[items[-1][1]])


def continues_previous_quote(site: Site) -> Attribution | None:
    """A quote with no cue continues the previous quote when nothing but its paragraph break separates them."""
    ctx, spans, qi, done = site.ctx, site.ctx.spans, site.qi, site.done
    if qi == 0 or qi - 1 not in done:
        return None
    prev = spans[qi - 1]
    gap = ctx.text[prev.outer_end : spans[qi].outer_start]
    if gap.count("\n") > 2 or len(gap) > 250:
        return None
    line_start = ctx.text.rfind("\n", 0, spans[qi].outer_start) + 1
    sentence_opening = re.search(r"[.!?…][\"”’')]*\s+$", ctx.text[line_start : spans[qi].outer_start])
    if ctx.text[line_start : spans[qi].outer_start].strip() and not sentence_opening:
        return None
    return done[qi - 1]


def quote_only_paragraph(site: Site) -> Attribution | None:
    """A paragraph that is nothing but a quote goes on with the last speaker quoted a paragraph or two before.

    Unattributed quotes in between (a phrase in the reporter's own sentence)
    do not break the chain: the speaker was introduced earlier and is still
    the one talking.
    """
    ctx, spans, qi, span = site.ctx, site.ctx.spans, site.qi, site.span
    line_start = ctx.text.rfind("\n", 0, span.outer_start) + 1
    line_end = ctx.text.find("\n", span.outer_end)
    line_end = len(ctx.text) if line_end < 0 else line_end
    if ctx.text[line_start : span.outer_start].strip() or len(ctx.text[span.outer_end : line_end].strip()) > 2:
        return None
    reach = line_start
    for _ in range(2):
        end = reach - 1
        while end > 0 and ctx.text[end - 1].isspace():
            end -= 1
        reach = ctx.text.rfind("\n", 0, max(end, 0)) + 1
    for earlier in range(qi - 1, -1, -1):
        if spans[earlier].outer_end < reach or span.outer_start - spans[earlier].outer_end > 700:
            return None
        if earlier in site.done:
            return site.done[earlier]
    return None


def cue_in_previous_sentence(site: Site) -> Attribution | None:
    """ "…, he said. Good information can drive out bad only when "…"": the speaker carries over.

    Only the sentence just before, in the same paragraph or ending the previous
    one when the quote opens its own paragraph, is trusted.
    """
    ctx, sentences, s_index, quote_start = site.ctx, site.sentences, site.s_index, site.span.outer_start
    if s_index == 0:
        return None
    start, end = sentences[s_index - 1]
    tail = ctx.text[start + len(ctx.text[start:end].rstrip()) : quote_start]
    if "\n" in tail and ctx.text[sentences[s_index][0] : quote_start].strip():
        return None
    items = frame(ctx, start, end)
    for c in range(len(items) - 1, -1, -1):
        if items[c][0] == "Q":
            return None
        if is_cue(ctx, items, c, before=True):
            found = speaker_of_cue(ctx, items, c, site.done)
            if found is None and c + 1 < len(items):
                found = cue_attribution(ctx, items, c, mention_after(ctx, items, c + 1, len(items)))
            return found
    return None


def person_subject_without_cue(site: Site) -> Attribution | None:
    """ "Bolton thought the “Neocons For Hillary” buzz was …": with no reporting verb at all, the quoted words
    are still the person's own when that person is the sentence's subject."""
    ctx, items, q = site.ctx, site.items, site.q
    if q is None or q <= 1:
        return None
    if lower(ctx, items[q - 1]) in NAMING:
        return None  # "a class called “Perception”" names a thing
    subject = sentence_subject(ctx, items, q)
    if subject is None or subject.kind == "np":
        return None
    if subject.kind == "entity" and (subject.mention is None or subject.mention.label != PERSON):
        return None
    after = bisect.bisect_left(ctx.token_starts, subject.end)
    if after < len(ctx.lowers) and ctx.lowers[after] in {"and", "&"}:
        return None  # "Trump and Kim … signed a statement agreeing to “…”": nobody's own words
    return Attribution(subject, None)


# --- after reported speech --------------------------------------------------------------------------------


def quote_paragraph_after_reported_speech(
    ctx: Context, qi: int, done: dict[int, Attribution], reported: Sequence[tuple[int, int, Attribution]]
) -> Attribution | None:
    """ "Schultz stated in a blog post that the threats came from the same addresses. ¶ “Multiple IPs …”": a
    paragraph that is nothing but a quote, after a paragraph whose last attribution is reported speech, goes on
    with that speaker, as `quote_only_paragraph` does after a quote; a paragraph between that attributes nothing
    and quotes nothing ("At 25, Gillis was diagnosed with Crohn's disease.") does not break the chain. Run once
    reported speech is found (its strategies start from sentences, after the quotes); `reported` holds (start,
    end, attribution) in text order.
    """
    span = ctx.spans[qi]
    text = ctx.text
    line_start = text.rfind("\n", 0, span.outer_start) + 1
    line_end = text.find("\n", span.outer_end)
    line_end = len(text) if line_end < 0 else line_end
    if text[line_start : span.outer_start].strip() or len(text[span.outer_end : line_end].strip()) > 2:
        return None
    for _ in range(2):
        previous_end = len(text[:line_start].rstrip())
        line_start = text.rfind("\n", 0, previous_end) + 1
        if previous_end <= line_start:
            return None
        last = max(
            (end for start, end, _attribution in reported if line_start <= start < previous_end),
            default=None,
        )
        quoted = [k for k in range(qi) if line_start <= ctx.spans[k].outer_start < previous_end]
        if last is not None:
            carried = next(a for start, end, a in reported if end == last and line_start <= start < previous_end)
            return None if any(k in done and ctx.spans[k].outer_end > last for k in quoted) else carried
        if quoted:
            return None
    return None


# --- helpers ---------------------------------------------------------------------------------------------

_DASH_BELOW = re.compile(r"\s*([-―—–]+)\s*")


def _signed_by(ctx: Context, mention: Mention | None, dash: str, dash_at: int) -> Attribution | None:
    """The attribution of a quote signed by `mention` after a dash, if the name really is a signature."""
    if mention is None or mention.label not in {PERSON, ORG, "NAME"} or not _signs_line(ctx, mention):
        return None
    signer = token_candidate(ctx, mention.tok_start, mention.tok_end - 1, "entity", mention)
    return Attribution(signer, dash, dash_at)


def _signs_line(ctx: Context, mention: Mention) -> bool:
    """Whether the name ends its line, but for a handle, an age, a place or a few words about the person
    (", 34, Texas", ", tweeting after the speech") — not a sentence going on (", however, disagreed")."""
    line_end = ctx.text.find("\n", mention.end)
    rest = ctx.text[mention.end : len(ctx.text) if line_end < 0 else line_end].strip()
    if not rest or rest in {".", ":"} or rest[0] in "(@":
        return True
    words = re.findall(r"[\w’'-]+", rest)
    return (
        rest[0] == ","
        and len(words) <= 10
        and not any(
            (word.lower() in CUES and not word.endswith("ing")) or (word.islower() and word.endswith("ed"))
            for word in words
        )
    )


# The order is the precedence: the first strategy that finds a speaker wins, and its name is the quote's rule.
STRATEGIES: list[Strategy] = [
    dash_signature,
    participle_after_quote,
    cue_then_speaker_after_quote,
    speaker_then_cue_after_quote,
    unknown_verb_after_quote,
    cue_before_quote,
    name_before_colon,
    cue_later_in_sentence,
    in_their_words,
    signature_below,
    colon_ending_previous_sentence,
    continues_previous_quote,
    quote_only_paragraph,
    person_subject_without_cue,
    cue_in_previous_sentence,
]
